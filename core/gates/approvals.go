package gates

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/warroom/warroom/core/policy"
)

// EntryApproval is one approval to let a run into an environment, as the
// run records it: By is the audit actor ("carol", "ci-bot for carol").
type EntryApproval struct {
	By string
	At time.Time
}

// QuorumResult says whether a run may enter an environment that needs
// approvals, and why.
type QuorumResult struct {
	Met       bool
	Have      int      // distinct people whose approval counts
	Need      int      // the environment's approvals (quorum), at least 1
	Approvers []string // who counted, in the order they approved
	Reason    string   // one line: "approved by carol 12:03 and dave 12:05 (2 of 2)"
}

// Quorum counts the approvals that let a run into an environment needing
// need of them (at least 1): one per person (a delegate's approval is its
// person's), only live ones (policy approval_ttl), only by people who may
// approve (policy MayApprove with the environment's approvers), and
// never by the run's starter or the delegate that started it (four-eyes;
// the store refuses those already, this keeps an approval recorded
// before a rule changed from counting). In open mode (p.Open) the
// starter's approval counts, as the store records it.
func Quorum(approvals []EntryApproval, need int, startedBy string, approvers []string, now time.Time, p Policy) QuorumResult {
	if p.ApprovalTTL <= 0 {
		p.ApprovalTTL = DefaultApprovalTTL
	}
	res := QuorumResult{Need: max(need, 1)}
	starter := actorNames(startedBy)
	var counted, notes []string
	var expired int
	for _, a := range approvals {
		names := actorNames(a.By)
		person := names[0]
		switch {
		case slices.Contains(res.Approvers, person):
		case !p.Open && slices.ContainsFunc(names, func(n string) bool { return slices.Contains(starter, n) }):
			notes = append(notes, fmt.Sprintf("%s's approval does not count: the run was started by %s", a.By, startedBy))
		case !p.Counts(person, approvers):
			notes = append(notes, fmt.Sprintf("%s's approval does not count: not one of %s", a.By, strings.Join(approvers, ", ")))
		case !now.Before(a.At.Add(p.ApprovalTTL)):
			expired++
		default:
			res.Approvers = append(res.Approvers, person)
			counted = append(counted, a.By+" "+When(now, a.At))
		}
	}
	res.Have = len(res.Approvers)
	res.Met = res.Have >= res.Need
	var b strings.Builder
	if len(counted) == 0 {
		b.WriteString("no approval yet")
	} else {
		b.WriteString("approved by " + joinAnd(counted))
	}
	fmt.Fprintf(&b, " (%d of %d)", res.Have, res.Need)
	if !res.Met {
		who := "an approver"
		if len(approvers) > 0 {
			who = strings.Join(approvers, " or ")
		}
		fmt.Fprintf(&b, ": %d more by %s", res.Need-res.Have, who)
	}
	if expired > 0 {
		fmt.Fprintf(&b, "; %d expired (approvals count for %s)", expired, formatTTL(p.ApprovalTTL))
	}
	for _, n := range notes {
		b.WriteString("; " + n)
	}
	res.Reason = b.String()
	return res
}

// actorNames is the person behind an audit actor string first, then the
// delegate that acted for them: "ci-bot for alice" is [alice ci-bot]
// (policy.Parties, the one reading of actor strings), each name without
// the spaces around it.
func actorNames(actor string) []string {
	names := policy.Parties(strings.TrimSpace(actor))
	for i, n := range names {
		names[i] = strings.TrimSpace(n)
	}
	return names
}

func joinAnd(s []string) string {
	if len(s) <= 1 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " and " + s[len(s)-1]
}
