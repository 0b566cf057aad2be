package tui

import "testing"

// The Overview gives each canary in flight one clause of its judgement:
// what was decided and on how much, not every test.
func TestFirstClause(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"insufficient evidence: 48 canary requests, about 487 more needed (12 s at the current traffic); not yet proved error rate", "insufficient evidence: 48 canary requests, about 487 more needed (12 s at the current traffic) …"},
		{"canary judged worse than baseline", "canary judged worse than baseline"},
		{"", ""},
	} {
		if got := firstClause(c.in); got != c.want {
			t.Errorf("firstClause(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
