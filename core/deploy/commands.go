package deploy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/warroom/warroom/core/gates"
)

// Operator applies operators' commands to runs: checked against the state
// machine, committed with their actor through the journal. Commands work
// from any process; the process driving the run sees them on its next
// look at the journal.
type Operator struct {
	Journal Journal
	Clock   Clock
	// Approvals, when set, is the policy an approval quorum is counted
	// with (approval_ttl, who may approve); without it, the defaults (the
	// engine counts again with its own before the run enters).
	Approvals ApprovalPolicy
}

// OperatorRequest is one command with its arguments.
type OperatorRequest struct {
	Command Command
	RunID   string
	Actor   string
	Step    int    // skip, retry
	Reason  string // skip (required), pause, abort, rollback
}

// Do applies the command and returns the run as committed. The run's
// header changes guarded by its version, and each step the command
// changes (continue, skip, retry) by the step's revision.
func (o *Operator) Do(ctx context.Context, req OperatorRequest) (*Run, error) {
	for attempt := 0; ; attempt++ {
		r, err := o.Journal.LoadRun(ctx, req.RunID)
		if err != nil {
			return nil, err
		}
		from := r.Header()
		before := make([]StepStatus, len(r.Steps))
		for i := range r.Steps {
			before[i] = r.Steps[i].Status()
		}
		summary, extra, err := applyCommand(r, req, o.Clock.Now(), approvalPolicy(ctx, o.Approvals))
		if err != nil {
			return nil, err
		}
		h := r.Header()
		h.Version = from.Version
		c := Change{RunID: r.ID, Header: &h}
		for i := range r.Steps {
			if st := r.Steps[i].Status(); !st.same(before[i]) {
				c.Steps = append(c.Steps, StepChange{From: before[i].State, To: st})
			}
		}
		payload := map[string]any{"run": r.ID, "from": from.State, "to": r.State, "step": req.Step, "reason": req.Reason}
		for k, v := range extra {
			payload[k] = v
		}
		got, err := o.Journal.Apply(ctx, c, Audit{
			Actor:   req.Actor,
			Command: "deploy " + string(req.Command),
			Summary: summary,
			Payload: payload,
		})
		if errors.Is(err, ErrConflict) && attempt < 10 {
			continue // the engine moved the run on meanwhile: decide again on the new state
		}
		if err != nil {
			return nil, err
		}
		r.SetHeader(got)
		for _, sc := range c.Steps {
			r.Steps[sc.To.Index-1].Rev = sc.To.Rev + 1
		}
		return r, nil
	}
}

// applyCommand changes r as the command says, or refuses. It returns the
// audit event's summary, and what its payload says beyond the command.
func applyCommand(r *Run, req OperatorRequest, now time.Time, pol gates.Policy) (string, map[string]any, error) {
	// Only a run paused for insufficient evidence is continued into a
	// promotion: the operator saw that reason. (A run paused otherwise is
	// only continued; a weight that waits is then judged again and, still
	// with no verdict, pauses the run again with the reason.)
	waiting := r.State == RunPaused && strings.HasPrefix(r.Reason, ReasonInsufficient)
	summary, err := applyCommandTo(r, req, now, pol)
	if err == nil && r.State != RunWaiting && r.State != RunAwaitingApproval {
		r.Wait = nil // what it waited on is no longer what holds it
	}
	if err == nil && r.State == RunAwaitingApproval && r.Wait != nil && r.Wait.Approval != nil {
		return summary, map[string]any{"approval": r.Wait.Approval}, nil
	}
	if err != nil || req.Command != CmdContinue || r.State != RunRunning || !waiting {
		return summary, nil, err
	}
	// A canary weight that baked as long as it may with no verdict waits
	// for an operator: continuing the run is the operator's decision to
	// promote it without proof, audited as such with the judge's reason.
	var promoted []map[string]any
	for i := range r.Steps {
		if s := &r.Steps[i]; s.AwaitsOperator() {
			what, p := promoteByOperator(s, req.Actor, now)
			summary += "; " + what
			promoted = append(promoted, p)
		}
	}
	if promoted == nil {
		return summary, nil, nil
	}
	return summary, map[string]any{"promoted_without_proof": promoted}, nil
}

func applyCommandTo(r *Run, req OperatorRequest, now time.Time, pol gates.Policy) (string, error) {
	if err := checkCommand(req.Command, r); err != nil {
		return "", err
	}
	why := ""
	if req.Reason != "" {
		why = ": " + req.Reason
	}
	r.UpdatedAt = now
	switch req.Command {
	case CmdPause:
		r.State = RunPaused
		r.Reason = "paused by " + req.Actor + why
		return fmt.Sprintf("paused run %s%s", r.ID, why), nil
	case CmdContinue:
		if r.State == RunAwaitingApproval {
			// One approval more; the run enters once the quorum of the
			// environment is met (gates.Quorum: distinct people, live,
			// never the starter). Until then it keeps awaiting, saying
			// how many it has.
			env := r.nextEnv()
			r.Approvals = append(r.Approvals, Approval{Environment: env, By: req.Actor, At: now})
			q := r.quorum(env, now, pol)
			if !q.Met {
				since := now
				if r.Wait != nil && r.Wait.Env == env {
					since = r.Wait.Since
				}
				r.Wait, r.Reason = r.approvalWait(env, q, since)
				return fmt.Sprintf("approved run %s into %s: approval %d/%d (%s)", r.ID, env, q.Have, q.Need, q.Reason), nil
			}
			r.State, r.Reason = RunRunning, ""
			return fmt.Sprintf("approved run %s into %s (%s)", r.ID, env, q.Reason), nil
		}
		// A step that failed its pre-flight checks is tried again.
		for i := range r.Steps {
			if s := &r.Steps[i]; s.State == StepFailed && !s.touchedTarget() {
				s.State, s.Error = StepPending, ""
			}
		}
		r.State, r.Reason = RunRunning, ""
		return fmt.Sprintf("continued run %s", r.ID), nil
	case CmdResume:
		if r.State == RunPaused {
			// A step waiting for an operator's decision keeps the run
			// paused: driving it here decides nothing.
			for i := range r.Steps {
				if s := &r.Steps[i]; s.AwaitsOperator() {
					return fmt.Sprintf("resumed run %s in this process; it stays paused: step %d (%s) waits for an operator ('deploy continue' promotes it, 'deploy rollback' rolls back)",
						r.ID, s.Index, s.Describe()), nil
				}
			}
			r.State, r.Reason = RunRunning, ""
		}
		return fmt.Sprintf("resumed run %s in this process", r.ID), nil
	case CmdAbort:
		r.State = RunAborted
		r.Reason = "aborted by " + req.Actor + why
		return fmt.Sprintf("aborted run %s%s", r.ID, why), nil
	case CmdRollback:
		r.State = RunRollingBack
		r.Reason = "rollback requested by " + req.Actor + why
		return fmt.Sprintf("rollback of run %s requested%s", r.ID, why), nil
	case CmdRetry:
		s, ok := r.Step(req.Step)
		if !ok {
			return "", &RefusedError{Command: "retry", RunID: r.ID, State: r.State, Why: fmt.Sprintf("the run has no step %d (steps are 1 to %d)", req.Step, len(r.Steps))}
		}
		if s.State != StepFailed {
			return "", &RefusedError{Command: "retry", RunID: r.ID, State: r.State,
				Why: fmt.Sprintf("step %d (%s) is %s; only a failed step can be tried again", s.Index, s.Describe(), s.State)}
		}
		// A new attempt, with a new idempotency key: what the failed one
		// did is not replayed, it is done again.
		s.State, s.Error, s.Progress = StepPending, "", "retry requested by "+req.Actor
		s.StartedAt, s.EndedAt, s.BakeUntil, s.Weight = nil, nil, nil, 0
		r.State, r.Reason = RunRunning, ""
		return fmt.Sprintf("retry of step %d (%s) requested%s", s.Index, s.Describe(), why), nil
	case CmdSkip:
		if req.Reason == "" {
			return "", &RefusedError{Command: "skip", RunID: r.ID, State: r.State, Why: "a skip needs a reason (--reason)"}
		}
		s, ok := r.Step(req.Step)
		if !ok {
			return "", &RefusedError{Command: "skip", RunID: r.ID, State: r.State, Why: fmt.Sprintf("the run has no step %d (steps are 1 to %d)", req.Step, len(r.Steps))}
		}
		if !CanStep(s.State, StepSkipped) || s.touchedTarget() {
			return "", &RefusedError{Command: "skip", RunID: r.ID, State: r.State,
				Why: fmt.Sprintf("step %d (%s) is %s; only a pending step, or one that failed before changing anything, can be skipped", s.Index, s.Describe(), s.State)}
		}
		s.State = StepSkipped
		s.Error = "skipped by " + req.Actor + ": " + req.Reason
		if r.State == RunFailed {
			r.State, r.Reason = RunPaused, "paused after a skip; continue to go on"
		}
		return fmt.Sprintf("skipped step %d (%s): %s", s.Index, s.Describe(), req.Reason), nil
	}
	return "", fmt.Errorf("unknown command %q", req.Command)
}

// touchedTarget reports whether a failed step got as far as changing its
// target (it failed deploying or after), so it must be rolled back rather
// than retried or skipped.
// StartedAt is set when a step enters deploying, before its first call
// that changes the target.
func (s *Step) touchedTarget() bool { return s.StartedAt != nil }

// nextEnv is the environment of the first unfinished step.
func (r *Run) nextEnv() string {
	for _, s := range r.Steps {
		if !s.State.Terminal() {
			return s.Env
		}
	}
	return ""
}
