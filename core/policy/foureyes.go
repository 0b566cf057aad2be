package policy

import (
	"fmt"
	"strings"
)

// Actors are written in the audit as "alice", or "ci-bot for alice" when a
// delegate acts for someone: forSep joins the two.
const forSep = " for "

// ActorString is the audit actor of person acting, through delegate when
// it is not empty: "alice" or "ci-bot for alice".
func ActorString(delegate, person string) string {
	if delegate == "" || delegate == person {
		return person
	}
	return delegate + forSep + person
}

// SplitActor reads an audit actor back: "ci-bot for alice" is delegate
// ci-bot acting for alice; "alice" is alice herself (delegate empty).
func SplitActor(actor string) (delegate, person string) {
	if d, p, ok := strings.Cut(actor, forSep); ok && d != "" && p != "" {
		return d, p
	}
	return "", actor
}

// Parties are the names an actor string involves: the person and, when
// a delegate acted, the delegate too.
func Parties(actor string) []string {
	d, p := SplitActor(actor)
	if d == "" {
		return []string{p}
	}
	return []string{p, d}
}

// FourEyesError is a sign-off four-eyes forbids.
type FourEyesError struct {
	Approver  string // the audit actor signing off
	Requester string // the audit actor who asked (started the run, requested the waiver, filed the change)
	Shared    string // the name both involve
}

func (e *FourEyesError) Error() string {
	if e.Approver == e.Requester || e.Shared == e.Approver {
		return fmt.Sprintf("four-eyes: %s asked for this, so %s cannot also sign it off; another person must", e.Requester, e.Shared)
	}
	return fmt.Sprintf("four-eyes: %s asked for this and %s signs it off, both as %s; another person must", e.Requester, e.Approver, e.Shared)
}

// FourEyes returns a *FourEyesError when approver may not sign off what
// requester asked for: when the two audit actors share a person or a
// delegate. A delegate's sign-off for alice is alice's, and the delegate
// itself is a party too: "ci-bot for bob" may not approve a run
// "ci-bot for alice" started, nor may bob approve a run "ci-bot for bob"
// started. An empty requester (nobody asked) never conflicts.
func FourEyes(approver, requester string) error {
	if requester == "" {
		return nil
	}
	for _, a := range Parties(approver) {
		for _, r := range Parties(requester) {
			if a == r {
				return &FourEyesError{Approver: approver, Requester: requester, Shared: a}
			}
		}
	}
	return nil
}

// Distinct returns the distinct people the sign-offs (audit actors) come
// from, in first-seen order: a quorum of N needs N of them, and one
// person approving twice (or through a delegate) counts once.
func Distinct(actors []string) []string {
	var out []string
	seen := map[string]bool{}
	for _, a := range actors {
		_, p := SplitActor(a)
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// QuorumMet reports whether the sign-offs come from at least need
// distinct people (need < 1 counts as 1).
func QuorumMet(actors []string, need int) bool {
	return len(Distinct(actors)) >= max(need, 1)
}
