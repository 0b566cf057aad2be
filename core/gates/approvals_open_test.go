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
