package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/policy"
)

// ErrFourEyes is matched (errors.Is) by every *FourEyesError: the store
// refused a sign-off because the one giving it is the one it would check.
var ErrFourEyes = errors.New("four-eyes rule")

// Actor is who acts: the person the act counts as, and the delegate
// (service account) acting for them, if any. Its String is the audit
// actor: "alice", or "ci-bot for alice".
type Actor struct {
	Person string `json:"person"`
	Via    string `json:"via,omitempty"`
}

// ParseActor reads an audit actor string: "ci-bot for alice" is alice
// through the delegate ci-bot; anything else is one person.
// The parsing is core/policy's, the one reading of actor strings.
func ParseActor(s string) Actor {
	via, person := policy.SplitActor(strings.TrimSpace(s))
	return Actor{Person: person, Via: via}
}

// String is the audit actor, the exact inverse of ParseActor. It is not
// policy.ActorString, which writes a delegate acting for itself as the
// person alone: ParseActor("x for x") (an open-mode --as can say it) must
// read back as it was written, so that the store's audit actor is the
// command's own.
func (a Actor) String() string {
	if a.Via == "" {
		return a.Person
	}
	return a.Via + " for " + a.Person
}

// FourEyesError is the store's refusal of a sign-off (an environment
// entry, a gate sign-off, a waiver, a change approval) by someone who is
// also the other party of it: the run's starter, the waiver's requester,
// the change's filer. A delegate's act counts as its person's, and the
// delegate itself must not be the other party either.
type FourEyesError struct {
	Approver Actor  // who tried to sign off
	Act      string // "approve run r-12 into prod", "waive gate coverage for checkout in release r1"
	Party    Actor  // the other party
	Relation string // "started the run", "requested the waiver", "filed the change"
	Who      string // the name found on both sides
}

func (e *FourEyesError) Error() string {
	return fmt.Sprintf("four-eyes rule: %s may not %s: %s %s (%s); someone else must",
		e.Approver, e.Act, e.Who, e.Relation, e.Party)
}

// Is makes errors.Is(err, ErrFourEyes) true.
func (e *FourEyesError) Is(target error) bool { return target == ErrFourEyes }

// CheckFourEyes returns a *FourEyesError when approver and party share a
// name: the same person, or a delegate on either side that is the other
// side's person or delegate. act and relation only word the error. An
// empty party (nobody started, requested or filed it) never conflicts.
func CheckFourEyes(approver Actor, act string, party Actor, relation string) error {
	if party.Person == "" {
		return nil
	}
	var fe *policy.FourEyesError
	if err := policy.FourEyes(approver.String(), party.String()); errors.As(err, &fe) {
		return &FourEyesError{Approver: approver, Act: act, Party: party, Relation: relation, Who: fe.Shared}
	} else if err != nil {
		return err
	}
	return nil
}

// checkEntryApprovals refuses, with a *FourEyesError, a run header that
// adds an approval to enter an environment given by the run's starter
// (or through the starter's delegate): the engine and every command that
// commits a run go through here, so no caller can forget the rule.
// Approvals the run already had are not checked again.
func (t *Tx) checkEntryApprovals(ctx context.Context, runID string, approvals []deploy.Approval) error {
	if len(approvals) == 0 {
		return nil
	}
	var startedBy, stored string
	if err := t.tx.QueryRowContext(ctx, `SELECT started_by, approvals FROM deploy_runs WHERE id = ?`, runID).Scan(&startedBy, &stored); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %s", deploy.ErrNotFound, runID)
		}
		return fmt.Errorf("store: commit run %s: %w", runID, t.s.busy(err))
	}
	var old []deploy.Approval
	if err := json.Unmarshal([]byte(stored), &old); err != nil {
		return fmt.Errorf("store: run %s: unreadable approvals: %w", runID, err)
	}
	starter := ParseActor(startedBy)
	for _, a := range approvals {
		if slices.ContainsFunc(old, func(o deploy.Approval) bool {
			return o.Environment == a.Environment && o.By == a.By && o.At.Equal(a.At)
		}) {
			continue
		}
		if err := t.fourEyes(ctx, ParseActor(a.By), fmt.Sprintf("approve run %s into %s", runID, a.Environment), starter, "started the run"); err != nil {
			return err
		}
	}
	return nil
}

// peopleKinds are the spec kinds that declare people. While none is
// declared the database is in open mode: anyone may do anything, and the
// four-eyes rule is not applied (identities are whatever --as says, so
// it could not hold anyone to it).
var peopleKinds = []any{string(model.KindPerson)}

// enforced reports whether people are declared, so that the four-eyes
// rule applies.
func (t *Tx) enforced(ctx context.Context) (bool, error) {
	var n int
	err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM objects WHERE kind = ? LIMIT 1)`, peopleKinds...).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: people declared: %w", t.s.busy(err))
	}
	return n > 0, nil
}

// fourEyes is CheckFourEyes in enforced mode, nothing in open mode.
func (t *Tx) fourEyes(ctx context.Context, approver Actor, act string, party Actor, relation string) error {
	if party.Person == "" {
		return nil
	}
	on, err := t.enforced(ctx)
	if err != nil || !on {
		return err
	}
	return CheckFourEyes(approver, act, party, relation)
}

// Enforced reports whether people are declared: then the policy and the
// four-eyes rule apply; otherwise the database is in open mode.
func (s *Store) Enforced(ctx context.Context) (bool, error) {
	var n int
	err := s.r.QueryRowContext(ctx, `SELECT count(*) FROM (SELECT 1 FROM objects WHERE kind = ? LIMIT 1)`, peopleKinds...).Scan(&n)
	if err != nil {
		return false, fmt.Errorf("store: people declared: %w", s.busy(err))
	}
	return n > 0, nil
}
