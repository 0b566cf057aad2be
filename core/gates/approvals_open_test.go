package gates

import (
	"testing"
	"time"
)

// TestQuorumOpenMode: with no people declared anyone may do anything, so
// the run's starter's approval counts (as the store records it); with
// people declared it does not.
func TestQuorumOpenMode(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	approvals := []EntryApproval{{By: "captain", At: now.Add(-time.Minute)}}
	if q := Quorum(approvals, 1, "captain", []string{"operations"}, now, Policy{Open: true}); !q.Met || q.Have != 1 {
		t.Errorf("open mode: %+v", q)
	}
	if q := Quorum(approvals, 1, "captain", []string{"operations"}, now, Policy{}); q.Met {
		t.Errorf("enforced: the starter's approval counted: %+v", q)
	}
}

// TestPolicyCounts: a sign-off counts when no approvers are named or the
// policy checks nobody; otherwise only when MayApprove says so.
func TestPolicyCounts(t *testing.T) {
	onlyCarol := Policy{MayApprove: func(p string, _ []string) bool { return p == "carol" }}
	for _, c := range []struct {
		name      string
		p         Policy
		person    string
		approvers []string
		want      bool
	}{
		{"no check", Policy{}, "mallory", []string{"security"}, true},
		{"open", Policy{Open: true}, "mallory", []string{"security"}, true},
		{"no approvers named", onlyCarol, "mallory", nil, true},
		{"an approver", onlyCarol, "carol", []string{"security"}, true},
		{"not an approver", onlyCarol, "mallory", []string{"security"}, false},
	} {
		if got := c.p.Counts(c.person, c.approvers); got != c.want {
			t.Errorf("%s: Counts(%q, %v) = %v, want %v", c.name, c.person, c.approvers, got, c.want)
		}
	}
}
