package webbff

import (
	"errors"
	"testing"
)

func TestPage(t *testing.T) {
	parts := []Part{{Service: "catalog", HTML: "<h1>"}, {Service: "loyalty", Err: errors.New("down")}, {Service: "reviews", HTML: "★"}}
	got, err := Page(parts, map[string]bool{"catalog": true})
	if err != nil || got != "<h1>★" {
		t.Errorf("Page = %q, %v", got, err)
	}
	if _, err := Page(parts, map[string]bool{"loyalty": true}); err == nil {
		t.Error("a failed required part should fail the page")
	}
}

func BenchmarkPage(b *testing.B) {
	parts := make([]Part, 50)
	for i := range parts {
		parts[i] = Part{Service: "s", HTML: "<div>part</div>"}
	}
	for b.Loop() {
		_, _ = Page(parts, nil)
	}
}
