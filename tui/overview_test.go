package tui

import "testing"

// The Overview gives each canary in flight one clause of its judgement:
// what was decided and on how much, not every test, and at most 100
// characters of it.
func TestFirstClause(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"insufficient evidence: 48 canary requests, about 487 more needed (12 s at the current traffic); not yet proved error rate", "insufficient evidence: 48 canary requests, about 487 more needed (12 s at the current traffic) …"},
		{"canary judged worse than baseline", "canary judged worse than baseline"},
		{"", ""},
		// An error chain is cut at a word within 100 characters.
		{"the canary judge could not judge: reading metrics of mobile-bff 2.4.0: no sample of the cohort yet (not scraped since it started, or since the source did): mobile-bff/dev/eu-west@2.4.0",
			"the canary judge could not judge: reading metrics of mobile-bff 2.4.0: no sample of the cohort yet …"},
	} {
		if got := firstClause(c.in); got != c.want {
			t.Errorf("firstClause(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
