package mobilebff

import "testing"

func TestTrim(t *testing.T) {
	doc := map[string]any{"sku": "1", "title": "t", "price": 3, "badges": "v", "photos": "p", "internal": true}
	for _, tc := range []struct{ version, want int }{{6, 3}, {7, 4}, {8, 5}} {
		if got := Trim(doc, tc.version); len(got) != tc.want {
			t.Errorf("Trim(v%d) has %d fields, want %d", tc.version, len(got), tc.want)
		}
	}
}

func TestSupported(t *testing.T) {
	for v, want := range map[string]bool{"8.1.0": true, "5.9.9": false, "x": false} {
		if got := Supported(v); got != want {
			t.Errorf("Supported(%q) = %v", v, got)
		}
	}
}

func BenchmarkTrim(b *testing.B) {
	doc := map[string]any{"sku": "1", "title": "t", "price": 3, "badges": "v", "photos": "p"}
	for b.Loop() {
		Trim(doc, 8)
	}
}
