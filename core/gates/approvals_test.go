package gates

import (
	"slices"
	"testing"
	"time"
)

func TestQuorum(t *testing.T) {
	at := func(h, m int) time.Time { return time.Date(2026, 12, 6, h, m, 0, 0, time.UTC) }
	onlyApprovers := Policy{MayApprove: func(p string, _ []string) bool { return p != "mallory" }}
	for _, tc := range []struct {
		name      string
		approvals []EntryApproval
		need      int
		startedBy string
		policy    Policy
		met       bool
		have      int
		reason    string
	}{
		{"none", nil, 0, "ci-bot", Policy{}, false, 0, "no approval yet (0 of 1): 1 more by approver"},
		{"one of one", []EntryApproval{{"carol", at(12, 3)}}, 1, "ci-bot", Policy{}, true, 1, "approved by carol 12:03 (1 of 1)"},
		{"the same person twice counts once", []EntryApproval{{"carol", at(12, 3)}, {"ops-bot for carol", at(12, 4)}}, 2, "ci-bot", Policy{}, false, 1,
			"approved by carol 12:03 (1 of 2): 1 more by approver"},
		{"quorum of two", []EntryApproval{{"carol", at(12, 3)}, {"ops-bot for dave", at(12, 5)}}, 2, "ci-bot", Policy{}, true, 2,
			"approved by carol 12:03 and ops-bot for dave 12:05 (2 of 2)"},
		{"the starter does not count", []EntryApproval{{"alice", at(12, 3)}}, 1, "ci-bot for alice", Policy{}, false, 0,
			"no approval yet (0 of 1): 1 more by approver; alice's approval does not count: the run was started by ci-bot for alice"},
		{"nor the delegate that started it", []EntryApproval{{"ci-bot for carol", at(12, 3)}}, 1, "ci-bot for alice", Policy{}, false, 0,
			"no approval yet (0 of 1): 1 more by approver; ci-bot for carol's approval does not count: the run was started by ci-bot for alice"},
		{"expired", []EntryApproval{{"carol", at(12, 3).Add(-24 * time.Hour)}}, 1, "ci-bot", Policy{}, false, 0,
			"no approval yet (0 of 1): 1 more by approver; 1 expired (approvals count for 24h)"},
		{"a shorter ttl", []EntryApproval{{"carol", at(11, 0)}}, 1, "ci-bot", Policy{ApprovalTTL: time.Hour}, false, 0,
			"no approval yet (0 of 1): 1 more by approver; 1 expired (approvals count for 1h)"},
		{"not an approver", []EntryApproval{{"mallory", at(12, 3)}}, 1, "ci-bot", onlyApprovers, false, 0,
			"no approval yet (0 of 1): 1 more by approver; mallory's approval does not count: not one of approver"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Quorum(tc.approvals, tc.need, tc.startedBy, []string{"approver"}, at(12, 30), tc.policy)
			if got.Met != tc.met || got.Have != tc.have || got.Reason != tc.reason || got.Need != max(tc.need, 1) {
				t.Errorf("got %+v\nwant met %v have %d reason %q", got, tc.met, tc.have, tc.reason)
			}
		})
	}
	if got := Quorum([]EntryApproval{{"carol", time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)}}, 1, "ci-bot", nil, now, Policy{}); !got.Met || !slices.Equal(got.Approvers, []string{"carol"}) {
		t.Errorf("no approvers named: %+v", got)
	}
}
