package cart

import "testing"

func TestTotalAndMerge(t *testing.T) {
	a := []Line{{SKU: "x", Qty: 1, PriceCents: 250}}
	b := []Line{{SKU: "x", Qty: 2, PriceCents: 250}, {SKU: "y", Qty: 1, PriceCents: 100}, {SKU: "z", PriceCents: 9}}
	m := Merge(a, b)
	if len(m) != 3 || m[0].Qty != 3 {
		t.Fatalf("Merge = %+v", m)
	}
	if got := Total(m); got != 850 {
		t.Errorf("Total = %d, want 850", got)
	}
}

func BenchmarkMerge(b *testing.B) {
	x := []Line{{SKU: "a", Qty: 1}, {SKU: "b", Qty: 1}}
	for b.Loop() {
		Merge(x, x)
	}
}
