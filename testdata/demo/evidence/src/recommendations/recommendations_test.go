package recommendations

import "testing"

func TestCompleteTheLook(t *testing.T) {
	catalog := []Item{
		{SKU: "jacket", Looks: []string{"city"}},
		{SKU: "boots", Looks: []string{"city"}, Score: 0.9},
		{SKU: "scarf", Looks: []string{"city", "winter"}, Score: 0.5},
		{SKU: "sandals", Looks: []string{"beach"}, Score: 1},
	}
	got := CompleteTheLook(catalog, "jacket", 1)
	if len(got) != 1 || got[0].SKU != "boots" {
		t.Errorf("CompleteTheLook = %+v, want boots", got)
	}
}

func BenchmarkCompleteTheLook(b *testing.B) {
	catalog := make([]Item, 500)
	for i := range catalog {
		catalog[i] = Item{SKU: string(rune('a' + i%26)), Looks: []string{"l" + string(rune('a'+i%7))}, Score: float64(i % 13)}
	}
	for b.Loop() {
		CompleteTheLook(catalog, "c", 10)
	}
}

func TestBlend(t *testing.T) {
	got := Blend(map[string]float64{"a": 1}, map[string]float64{"a": 1, "b": 1}, 0.5)
	if got["a"] != 1 || got["b"] != 0.5 {
		t.Errorf("Blend = %v", got)
	}
}
