package deploy

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/warroom/warroom/core/gates"
)

// GateChecker says which gates keep a release's services out of an
// environment: every gate the environment names must be pass or waived
// for each service of the wave that enters. The host implements it over
// the store's gate status, with the organisation's policy (approval TTL,
// who may sign off); one call answers for a whole wave.
type GateChecker interface {
	Blocking(ctx context.Context, release, env string, services []string, now time.Time) ([]GateBlock, error)
}

// ApprovalPolicy is the organisation's rule on approvals as it is now:
// how long one counts (policy approval_ttl) and who may give one.
type ApprovalPolicy interface {
	ApprovalPolicy(ctx context.Context) (gates.Policy, error)
}

// DefaultGatePoll is how often a waiting run's gates are checked again
// when the engine does not say.
const DefaultGatePoll = 2 * time.Second

func (e *Engine) gatePoll() time.Duration {
	if e.GatePoll > 0 {
		return e.GatePoll
	}
	return DefaultGatePoll
}

// approvalPolicy is the policy to count approvals with: the port's, or
// the defaults (24h, anyone) without one or when it cannot be read (the
// CLI has checked the approver's roles already).
func approvalPolicy(ctx context.Context, p ApprovalPolicy) gates.Policy {
	if p == nil {
		return gates.Policy{}
	}
	pol, err := p.ApprovalPolicy(ctx)
	if err != nil {
		return gates.Policy{}
	}
	return pol
}

// quorum counts the run's approvals to enter env with gates.Quorum: one
// per person, live ones only, by people who may approve, never by the
// run's starter or its delegate.
func (r *Run) quorum(env string, now time.Time, pol gates.Policy) gates.QuorumResult {
	st := r.stage(env)
	var entries []gates.EntryApproval
	for _, a := range r.Approvals {
		if a.Environment == env {
			entries = append(entries, gates.EntryApproval{By: a.By, At: a.At})
		}
	}
	return gates.Quorum(entries, st.Approvals, r.StartedBy, st.Approvers, now, pol)
}

// approvalWait is the wait of a run whose quorum to enter env is not met.
func (r *Run) approvalWait(env string, q gates.QuorumResult, since time.Time) (*Wait, string) {
	st := r.stage(env)
	w := &Wait{Env: env, Since: since, Approval: &ApprovalWait{Have: q.Have, Need: q.Need,
		Approvers: slices.Clone(st.Approvers), By: slices.Clone(q.Approvers), Reason: q.Reason}}
	why := fmt.Sprintf("approval %d/%d to enter %s: %s; 'warroom deploy continue %s' approves", q.Have, q.Need, env, q.Reason, r.ID)
	return w, why
}

// entered reports whether the run has entered env before the step at
// index lo (0-based): a step of env before it started. An approval is
// asked once per environment, however many waves it has.
func (r *Run) entered(env string, lo int) bool {
	for i := 0; i < lo; i++ {
		if s := &r.Steps[i]; s.Env == env && (s.StartedAt != nil || s.State == StepDone) {
			return true
		}
	}
	return false
}

// services are the services of the steps [lo, hi), each once.
func (r *Run) services(lo, hi int) []string {
	var out []string
	for i := lo; i < hi; i++ {
		if s := r.Steps[i].Service; s != "" && !slices.Contains(out, s) && r.Steps[i].State == StepPending {
			out = append(out, s)
		}
	}
	return out
}

// checkGates asks which gates block the services of the wave [lo, hi)
// from env. A checker that cannot answer blocks too: a gate nobody could
// read is not a gate that passed.
func (e *Engine) checkGates(ctx context.Context, release, env string, services []string) []GateBlock {
	if e.Gates == nil || len(services) == 0 {
		return nil
	}
	blocks, err := e.Gates.Blocking(ctx, release, env, services, e.Clock.Now())
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return []GateBlock{{Service: strings.Join(services, ","), Gate: "*", State: "error", Reason: "cannot read the gates: " + err.Error()}}
	}
	return blocks
}

// gateReason is the run's reason while gates block it.
func gateReason(env string, blocks []GateBlock) string {
	parts := make([]string, 0, min(len(blocks), 5))
	for i, b := range blocks {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("and %d more", len(blocks)-5))
			break
		}
		parts = append(parts, fmt.Sprintf("%s/%s %s (%s)", b.Service, b.Gate, b.State, b.Reason))
	}
	n := "gate is"
	if len(blocks) != 1 {
		n = "gates are"
	}
	return fmt.Sprintf("waiting to enter %s: %d %s not pass or waived: %s. It goes on by itself once each is pass or waived ('warroom evidence add', 'warroom gate waive')",
		env, len(blocks), n, strings.Join(parts, "; "))
}

// enterGates takes a running run that may not enter env into waiting,
// with what blocks it.
func (e *Engine) enterGates(ctx context.Context, d *driven, env string, blocks []GateBlock) error {
	now := e.Clock.Now()
	return e.commit(ctx, d, 0, "", RunRunning, "deploy engine", func(h *RunHeader, _ *Step) (string, any) {
		h.State, h.Reason = RunWaiting, gateReason(env, blocks)
		h.Wait = &Wait{Env: env, Since: now, Gates: blocks}
		return h.Reason, map[string]any{"run": d.r.ID, "state": h.State, "env": env, "blocking": blocks}
	})
}

// recheckGates is a waiting run's look at its gates, every gate poll:
// one check for the wave that waits. When they clear the run goes on
// (audited); when what blocks changed, the wait says so (audited).
func (e *Engine) recheckGates(ctx context.Context, d *driven) error {
	if err := e.Clock.Sleep(ctx, e.gatePoll()); err != nil {
		return err
	}
	if err := e.refresh(ctx, d); err != nil {
		return err
	}
	d.mu.Lock()
	r := d.r
	if r.State != RunWaiting {
		d.mu.Unlock()
		return nil // an operator paused, skipped, aborted or rolled it back meanwhile
	}
	first := r.next()
	var env string
	var services []string
	if first != nil {
		lo, hi := r.group(first.Index - 1)
		env, services = first.Env, r.services(lo, hi)
	}
	release, wait := r.Release, r.Wait.clone()
	d.mu.Unlock()
	blocks := e.checkGates(ctx, release, env, services)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if len(blocks) == 0 {
		return e.commit(ctx, d, 0, "", RunWaiting, "deploy engine", func(h *RunHeader, _ *Step) (string, any) {
			h.State, h.Reason, h.Wait = RunRunning, "", nil
			what := fmt.Sprintf("gates clear: entering %s", env)
			if env == "" {
				what = "nothing left to wait for"
			}
			return what, map[string]any{"run": d.r.ID, "state": h.State, "env": env, "services": services, "waited_since": waitSince(wait)}
		})
	}
	next := &Wait{Env: env, Since: e.Clock.Now(), Gates: blocks}
	if wait != nil && wait.Env == env {
		next.Since = wait.Since
	}
	if sameWait(wait, next) {
		return nil
	}
	return e.commit(ctx, d, 0, "", RunWaiting, "deploy engine", func(h *RunHeader, _ *Step) (string, any) {
		h.Reason, h.Wait = gateReason(env, blocks), next
		return h.Reason, map[string]any{"run": d.r.ID, "state": h.State, "env": env, "blocking": blocks}
	})
}

func waitSince(w *Wait) any {
	if w == nil {
		return nil
	}
	return w.Since
}
