package refunds

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRefund(t *testing.T) {
	if err := Refund(1000, []int64{400}, 600); err != nil {
		t.Error(err)
	}
	if err := Refund(1000, []int64{400}, 601); err == nil {
		t.Error("over-refund accepted")
	}
	if got := Remaining(100, []int64{150}); got != 0 {
		t.Errorf("Remaining = %d", got)
	}
}

func TestLoadLimits(t *testing.T) {
	path := filepath.Join(t.TempDir(), "limits")
	if err := os.WriteFile(path, []byte("acme=5000\nzed=10\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, err := LoadLimits(path)
	if err != nil || got["acme"] != 5000 || got["zed"] != 10 {
		t.Errorf("LoadLimits = %v, %v", got, err)
	}
	if err := os.WriteFile(path, []byte("acme"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadLimits(path); err == nil {
		t.Error("bad line accepted")
	}
}

func BenchmarkRemaining(b *testing.B) {
	r := make([]int64, 100)
	for b.Loop() {
		Remaining(1e6, r)
	}
}
