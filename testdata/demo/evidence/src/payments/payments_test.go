package payments

import "testing"

func TestAuthorise(t *testing.T) {
	var l Ledger
	id, err := l.Authorise("k1", 500)
	if err != nil || id != "auth-k1" {
		t.Fatalf("Authorise = %q, %v", id, err)
	}
	if _, err := l.Authorise("k1", 500); err != nil {
		t.Errorf("a retry with the same key and amount should succeed: %v", err)
	}
	if _, err := l.Authorise("k1", 900); err == nil {
		t.Error("the same key with another amount should fail")
	}
	if _, err := l.Authorise("k2", 0); err != ErrAmount {
		t.Errorf("zero amount: %v", err)
	}
	if j := RetryJitter(10); j < 0 || j > 10 {
		t.Errorf("RetryJitter(10) = %d", j)
	}
}

func BenchmarkAuthorise(b *testing.B) {
	var l Ledger
	for b.Loop() {
		_, _ = l.Authorise("k", 500)
	}
}
