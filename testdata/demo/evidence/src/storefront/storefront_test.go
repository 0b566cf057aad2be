package storefront

import (
	"io"
	"strings"
	"testing"
)

func TestRender(t *testing.T) {
	p := Product{Title: "Coat <new>", Price: "€120", Photos: []string{"a.jpg"}}
	for _, on := range []bool{false, true} {
		var b strings.Builder
		if err := Render(&b, p, on); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "Coat &lt;new&gt;") {
			t.Errorf("Render(toggle %v) = %q: title not escaped", on, b.String())
		}
	}
}

func TestPrice(t *testing.T) {
	for lang, want := range map[string]string{"en-GB": "1,234.50", "de-DE": "1.234,50", "??": "1,234.50"} {
		if got := Price(lang, 123450); got != want {
			t.Errorf("Price(%s) = %q, want %q", lang, got, want)
		}
	}
}

func BenchmarkRender(b *testing.B) {
	p := Product{Title: "Coat", Price: "€120", Photos: []string{"a.jpg", "b.jpg"}}
	for b.Loop() {
		_ = Render(io.Discard, p, true)
	}
}
