package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/warroom/warroom/core/model"
)

// Engine drives runs. One engine may drive several runs, one Drive call
// each; a run is driven only by the process holding its lease.
type Engine struct {
	Journal Journal
	Targets Targets
	Clock   Clock
	Judge   Judge  // optional: canaries are promoted when their bake ends
	Alerts  Alerts // optional
	Gate    Gate   // optional: windows, freezes, artifacts
	// Owner names this process in leases: host:pid:nonce.
	Owner string
	// LeaseTTL is how long a lease outlives its last renewal (default
	// 15s): a dead process's runs can be taken over after that.
	LeaseTTL time.Duration
	// Poll is how often a waiting engine looks at the journal for
	// operators' commands and asks the judge (default 1s).
	Poll time.Duration
	// OnChange, when set, hears every commit with a line saying what
	// happened (for --follow and the console).
	OnChange func(r *Run, what string)
	// Dead, when set, tells whether the owner of a lease is known to be
	// dead (a process of this host that no longer exists), so its runs
	// are taken over at once instead of when the lease expires.
	Dead func(owner string) bool
}

func (e *Engine) poll() time.Duration {
	if e.Poll > 0 {
		return e.Poll
	}
	return time.Second
}

func (e *Engine) ttl() time.Duration {
	if e.LeaseTTL > 0 {
		return e.LeaseTTL
	}
	return 15 * time.Second
}

// Drive runs the run until it ends (succeeded, failed, aborted, rolled
// back) or ctx ends. It waits while the run is paused or awaits an
// approval. It returns ErrLeaseHeld if another live process drives it.
func (e *Engine) Drive(ctx context.Context, runID string) (*Run, error) {
	if err := e.lease(ctx, runID); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	defer e.Journal.ReleaseLease(context.WithoutCancel(ctx), runID, e.Owner) //nolint:errcheck // best effort: an unreleased lease expires
	go e.renewLease(ctx, cancel, runID)

	for {
		r, err := e.Journal.LoadRun(ctx, runID)
		if err != nil {
			return nil, err
		}
		if r.State.Terminal() {
			return r, nil
		}
		switch r.State {
		case RunPending:
			_, err = e.update(ctx, runID, func(r *Run) (string, error) {
				if r.State != RunPending {
					return "", errStale
				}
				r.State = RunRunning
				return "run started", nil
			})
		case RunPaused, RunAwaitingApproval:
			err = e.Clock.Sleep(ctx, e.poll())
		case RunRollingBack:
			err = e.rollbackNext(ctx, r)
		case RunRunning:
			err = e.advance(ctx, r)
		}
		if err != nil && !errors.Is(err, errStale) {
			if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
				return r, cause
			}
			return r, err
		}
	}
}

// lease takes the run's lease, breaking one whose holder is dead.
func (e *Engine) lease(ctx context.Context, runID string) error {
	until := e.Clock.Now().Add(e.ttl())
	err := e.Journal.AcquireLease(ctx, runID, e.Owner, until)
	var held *LeaseHeldError
	if errors.As(err, &held) && e.Dead != nil && e.Dead(held.Holder) {
		return e.Journal.BreakLease(ctx, runID, held.Holder, e.Owner, until)
	}
	return err
}

// renewLease keeps the lease alive in real time while the run is driven;
// losing it stops the drive.
func (e *Engine) renewLease(ctx context.Context, cancel context.CancelCauseFunc, runID string) {
	t := time.NewTicker(e.ttl() / 3)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := e.Journal.AcquireLease(ctx, runID, e.Owner, e.Clock.Now().Add(e.ttl())); err != nil {
				if ctx.Err() == nil {
					cancel(fmt.Errorf("lost the lease of run %s: %w", runID, err))
				}
				return
			}
		}
	}
}

// errStale abandons an update whose premise no longer holds: something
// else changed the run; the drive loop reads it again.
var errStale = errors.New("run changed")

// update applies fn to the freshest run and commits it with an engine
// audit event, retrying when another process committed meanwhile.
func (e *Engine) update(ctx context.Context, runID string, fn func(r *Run) (string, error)) (*Run, error) {
	return e.updateAudited(ctx, runID, "deploy engine", func(r *Run) (string, any, error) {
		what, err := fn(r)
		return what, nil, err
	})
}

func (e *Engine) updateAudited(ctx context.Context, runID, command string, fn func(r *Run) (string, any, error)) (*Run, error) {
	for attempt := 0; ; attempt++ {
		r, err := e.Journal.LoadRun(ctx, runID)
		if err != nil {
			return nil, err
		}
		next := r.Clone()
		what, payload, err := fn(next)
		if err != nil {
			return r, err
		}
		next.UpdatedAt = e.Clock.Now()
		if payload == nil {
			payload = map[string]any{"run": runID, "state": next.State}
		}
		out, err := e.Journal.Commit(ctx, next, Audit{Actor: "engine", Command: command, Summary: fmt.Sprintf("run %s: %s", runID, what), Payload: payload})
		if errors.Is(err, ErrConflict) && attempt < 20 {
			continue
		}
		if err != nil {
			return nil, err
		}
		if e.OnChange != nil {
			e.OnChange(out, what)
		}
		return out, nil
	}
}

// stepUpdate changes one step if it is still in the expected state.
func (e *Engine) stepUpdate(ctx context.Context, runID string, index int, want StepState, fn func(r *Run, s *Step) string) (*Run, error) {
	return e.update(ctx, runID, func(r *Run) (string, error) {
		s, ok := r.Step(index)
		if !ok || s.State != want {
			return "", errStale
		}
		return fn(r, s), nil
	})
}

// advance moves a running run one transition forward.
func (e *Engine) advance(ctx context.Context, r *Run) error {
	s := r.next()
	if s == nil {
		_, err := e.update(ctx, r.ID, func(r *Run) (string, error) {
			if r.State != RunRunning || r.next() != nil {
				return "", errStale
			}
			r.State = RunSucceeded
			r.Reason = ""
			return fmt.Sprintf("succeeded: %d steps done", r.count(StepDone)), nil
		})
		return err
	}
	switch s.State {
	case StepPending:
		return e.start(ctx, r, s)
	case StepPreflight:
		return e.preflight(ctx, r, s)
	case StepDeploying:
		return e.deploy(ctx, r, s)
	case StepVerifying:
		return e.verify(ctx, r, s)
	case StepBaking:
		return e.bake(ctx, r, s)
	case StepRollingBack:
		// A step rolling back in a running run: an interrupted rollback of
		// a run an operator continued. Finish it first.
		return e.rollbackStep(ctx, r, s)
	case StepFailed, StepRolledBack:
		// It failed while an operator had paused the run, who then let it
		// go on: the failure still stands.
		_, err := e.update(ctx, r.ID, func(r *Run) (string, error) {
			if r.State != RunRunning {
				return "", errStale
			}
			what := fmt.Sprintf("step %d %s is %s: %s", s.Index, s.Describe(), s.State, s.Error)
			switch {
			case s.touchedTarget() && r.Options.AutoRollback:
				r.State, r.Reason = RunRollingBack, "automatic rollback: "+what
			case s.touchedTarget():
				r.State, r.Reason = RunFailed, what
			default:
				r.State, r.Reason = RunPaused, what+"; 'deploy continue' retries it"
			}
			return r.Reason, nil
		})
		return err
	}
	return fmt.Errorf("step %d in unexpected state %s", s.Index, s.State)
}

// next is the first step a forward run still has to finish. A failed
// step stops the run there until it is retried, skipped or rolled back.
func (r *Run) next() *Step {
	for i := range r.Steps {
		if st := r.Steps[i].State; st != StepDone && st != StepSkipped {
			return &r.Steps[i]
		}
	}
	return nil
}

func (r *Run) count(st StepState) int {
	n := 0
	for _, s := range r.Steps {
		if s.State == st {
			n++
		}
	}
	return n
}

// start takes a pending step into pre-flight, after the waits that come
// before it: an approval to enter its environment, the bake time after
// the previous wave, the region's low-traffic window.
func (e *Engine) start(ctx context.Context, r *Run, s *Step) error {
	now := e.Clock.Now()
	st := r.stage(s.Env)
	if st.Approval && !r.approved(s.Env) {
		_, err := e.update(ctx, r.ID, func(r *Run) (string, error) {
			if r.State != RunRunning {
				return "", errStale
			}
			r.State = RunAwaitingApproval
			r.Reason = fmt.Sprintf("approval required to enter %s: 'warroom deploy continue %s' approves", s.Env, r.ID)
			return "awaiting approval to enter " + s.Env, nil
		})
		return err
	}
	if until, why := r.waitUntil(s, now); until.After(now) {
		if r.Reason != why {
			if _, err := e.update(ctx, r.ID, func(r *Run) (string, error) {
				if r.State != RunRunning {
					return "", errStale
				}
				r.Reason = why
				return why, nil
			}); err != nil {
				return err
			}
		}
		return e.Clock.Sleep(ctx, min(until.Sub(now), e.poll()))
	}
	_, err := e.stepUpdate(ctx, r.ID, s.Index, StepPending, func(r *Run, s *Step) string {
		s.State = StepPreflight
		s.Attempt++
		s.Error = ""
		r.Reason = ""
		return fmt.Sprintf("step %d %s: pre-flight checks (attempt %d)", s.Index, s.Describe(), s.Attempt)
	})
	return err
}

// waitUntil is when a pending step may start, and why it waits.
func (r *Run) waitUntil(s *Step, now time.Time) (time.Time, string) {
	var until time.Time
	why := ""
	// Bake time between waves: the previous wave of this environment
	// must have been done for the stage's bake time.
	if bake := r.Options.bake(r.stage(s.Env).BakeTime); bake > 0 {
		var lastEnd time.Time
		for _, p := range r.Steps {
			if p.Env == s.Env && p.Wave < s.Wave && p.EndedAt != nil && p.EndedAt.After(lastEnd) {
				lastEnd = *p.EndedAt
			}
		}
		if t := lastEnd.Add(bake); !lastEnd.IsZero() && t.After(until) && !r.startedWave(s) {
			until = t
			why = fmt.Sprintf("baking wave %d in %s until %s", s.Wave-1, s.Env, t.UTC().Format("15:04:05 UTC"))
		}
	}
	if s.NotBefore != nil && !r.Options.IgnoreLowTraffic && s.NotBefore.After(until) {
		until = *s.NotBefore
		why = fmt.Sprintf("waiting for the low-traffic window of %s/%s at %s", s.Env, s.Region, s.NotBefore.UTC().Format("2006-01-02 15:04 UTC"))
	}
	return until, why
}

// startedWave reports whether another step of s's wave in s's environment
// has started, so the bake between waves was already waited for.
func (r *Run) startedWave(s *Step) bool {
	for _, p := range r.Steps {
		if p.Index != s.Index && p.Env == s.Env && p.Wave == s.Wave && p.State != StepPending {
			return true
		}
	}
	return false
}

// request is what the engine asks of the target for a step.
func (r *Run) request(s *Step, key string) Request {
	return Request{
		IdempotencyKey: key,
		RunID:          r.ID,
		Step:           s.Index,
		Attempt:        s.Attempt,
		Service:        s.Service,
		Environment:    s.Env,
		Region:         s.Region,
		Version:        s.Version,
		FromVersion:    s.FromVersion,
		Artifact:       s.Artifact,
		Strategy:       s.Strategy,
		ServiceKind:    s.ServiceKind,
		BatchSize:      s.BatchSize,
		Instances:      s.Instances,
		Settings:       s.Settings,
	}
}

func (e *Engine) preflight(ctx context.Context, r *Run, s *Step) error {
	now := e.Clock.Now()
	var checks []Check
	// Every earlier step of the run must be finished: waves in order.
	for _, p := range r.Steps[:s.Index-1] {
		if p.State != StepDone && p.State != StepSkipped {
			checks = append(checks, Check{Name: "previous-steps-done", Message: fmt.Sprintf("step %d (%s) is %s", p.Index, p.Describe(), p.State)})
			break
		}
	}
	if e.Gate != nil {
		checks = append(checks, e.Gate.Preflight(ctx, r, s, now)...)
	}
	t, err := e.Targets.Target(ctx, s.Target)
	if err == nil {
		var caps Capabilities
		if caps, err = t.Describe(ctx); err == nil {
			checks = append(checks, strategyFits(s, caps))
		}
	}
	if err == nil {
		var tc []Check
		tc, err = t.Preflight(ctx, r.request(s, s.Key(r.ID)))
		checks = append(checks, tc...)
	}
	if err != nil {
		checks = append(checks, Check{Name: "target-reachable", Message: err.Error()})
	} else {
		checks = append(checks, Check{Name: "target-reachable", Passed: true, Message: "target " + s.Target + " answered"})
	}
	failed := failedChecks(checks)
	evidence, _ := json.Marshal(map[string]any{"checks": checks})
	_, err = e.stepUpdate(ctx, r.ID, s.Index, StepPreflight, func(r *Run, s *Step) string {
		s.Evidence = evidence
		if len(failed) > 0 {
			s.State = StepFailed
			s.Error = "pre-flight failed: " + strings.Join(failed, "; ")
			r.State = RunPaused
			r.Reason = fmt.Sprintf("step %d (%s) failed its pre-flight checks: %s. Fix it and 'deploy continue' to retry, or skip, roll back or abort",
				s.Index, s.Describe(), strings.Join(failed, "; "))
			return fmt.Sprintf("step %d %s: pre-flight failed: %s", s.Index, s.Describe(), strings.Join(failed, "; "))
		}
		s.State = StepDeploying
		now := e.Clock.Now()
		s.StartedAt = &now
		s.Progress = "deploying"
		return fmt.Sprintf("step %d %s: deploying (%s)", s.Index, s.Describe(), s.Strategy)
	})
	return err
}

// strategyFits checks that the target can run the step's strategy for
// its kind of service: a database or queue needs a stateful target, and
// blue-green for one needs a target that keeps both copies consistent.
func strategyFits(s *Step, caps Capabilities) Check {
	c := Check{Name: "strategy-fits"}
	stateful := s.ServiceKind == model.Database || s.ServiceKind == model.Queue || s.ServiceKind == model.Stateful
	switch {
	case len(caps.Strategies) > 0 && !slices.Contains(caps.Strategies, s.Strategy):
		c.Message = fmt.Sprintf("target %s does not do %s deployments (it does %v)", s.Target, s.Strategy, caps.Strategies)
	case stateful && !caps.Stateful:
		c.Message = fmt.Sprintf("target %s cannot deploy a %s service", s.Target, s.ServiceKind)
	case s.Strategy == model.BlueGreen && (s.ServiceKind == model.Database || s.ServiceKind == model.Queue) && !caps.BlueGreenStateful:
		c.Message = fmt.Sprintf("blue-green would run two copies of %s %s; target %s does not say it keeps them consistent: use rolling", s.ServiceKind, s.Service, s.Target)
	default:
		c.Passed = true
		c.Message = fmt.Sprintf("%s on %s", s.Strategy, s.Target)
	}
	return c
}

func failedChecks(cs []Check) []string {
	var out []string
	for _, c := range cs {
		if !c.Passed {
			msg := c.Name
			if c.Message != "" {
				msg += ": " + c.Message
			}
			out = append(out, msg)
		}
	}
	return out
}

// deploy makes sure the step's version is deployed: it asks the target
// whether this attempt's key was applied already (a restart after a
// crash) and deploys only if not.
func (e *Engine) deploy(ctx context.Context, r *Run, s *Step) error {
	t, err := e.Targets.Target(ctx, s.Target)
	if err != nil {
		return e.fail(ctx, r, s, StepDeploying, "deploy target unavailable: "+err.Error(), nil)
	}
	key := s.Key(r.ID)
	req := r.request(s, key)
	st, err := t.Status(ctx, req)
	if err != nil {
		return e.fail(ctx, r, s, StepDeploying, "target status before deploying: "+err.Error(), nil)
	}
	replayed := st.Applied(key)
	if !replayed {
		out, err := t.Deploy(ctx, req, func(Event) {})
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err() // interrupted, not failed: the next driver reconciles
			}
			return e.fail(ctx, r, s, StepDeploying, "deploy failed: "+err.Error(), nil)
		}
		replayed = out.Replayed
	}
	if s.Strategy == model.BlueGreen {
		// The new colour is up and idle: switch traffic to it. The old
		// colour stays for an instant rollback.
		if err := t.SetTraffic(ctx, r.request(s, key+"/switch"), []Weight{{Version: s.Version, Percent: 100}}); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return e.fail(ctx, r, s, StepDeploying, "blue-green switch failed: "+err.Error(), nil)
		}
	}
	_, err = e.stepUpdate(ctx, r.ID, s.Index, StepDeploying, func(r *Run, s *Step) string {
		s.State = StepVerifying
		s.Progress = "deployed"
		if s.Strategy == model.BlueGreen {
			s.Progress = "switched to the new colour"
		}
		note := ""
		if replayed {
			note = " (already applied before a restart: not repeated)"
		}
		return fmt.Sprintf("step %d %s: deployed%s; smoke checks", s.Index, s.Describe(), note)
	})
	return err
}

func (e *Engine) verify(ctx context.Context, r *Run, s *Step) error {
	t, err := e.Targets.Target(ctx, s.Target)
	if err != nil {
		return e.fail(ctx, r, s, StepVerifying, "deploy target unavailable: "+err.Error(), nil)
	}
	checks, err := t.Verify(ctx, r.request(s, s.Key(r.ID)))
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return e.fail(ctx, r, s, StepVerifying, "smoke checks could not run: "+err.Error(), nil)
	}
	if failed := failedChecks(checks); len(failed) > 0 {
		return e.fail(ctx, r, s, StepVerifying, "smoke checks failed: "+strings.Join(failed, "; "), map[string]any{"checks": checks})
	}
	evidence, _ := json.Marshal(map[string]any{"checks": checks})
	_, err = e.stepUpdate(ctx, r.ID, s.Index, StepVerifying, func(r *Run, s *Step) string {
		s.Evidence = evidence
		s.State = StepBaking
		s.Progress = "smoke checks passed"
		if s.Strategy != model.Canary {
			until := e.Clock.Now().Add(r.Options.bake(s.BakeTime))
			s.BakeUntil = &until
		}
		return fmt.Sprintf("step %d %s: smoke checks passed (%d)", s.Index, s.Describe(), len(checks))
	})
	return err
}

// bake watches a deployed step: canary weights one by one with the
// judge's verdicts, or the bake time of other strategies, rolling back on
// a firing alert.
func (e *Engine) bake(ctx context.Context, r *Run, s *Step) error {
	if s.Strategy == model.Canary {
		if s.BakeUntil == nil {
			return e.shift(ctx, r, s)
		}
	}
	now := e.Clock.Now()
	if alerts := e.firing(ctx, s); len(alerts) > 0 {
		return e.fail(ctx, r, s, StepBaking, "alert firing: "+strings.Join(alerts, ", "), map[string]any{"alerts": alerts})
	}
	if s.Strategy == model.Canary && e.Judge != nil {
		j, err := e.Judge.Judge(ctx, CanaryRequest{
			RunID: r.ID, Step: s.Index, Service: s.Service, Environment: s.Env, Region: s.Region,
			Baseline: s.FromVersion, Canary: s.Version, Weight: s.Weight,
			Since: s.BakeUntil.Add(-r.Options.bake(s.BakeTime)), BakeEnds: *s.BakeUntil,
		})
		if err == nil {
			switch j.Verdict {
			case VerdictRollback:
				return e.fail(ctx, r, s, StepBaking, "canary judged worse than baseline: "+j.Reason, j)
			case VerdictPause:
				_, err := e.updateAudited(ctx, r.ID, "deploy engine", func(r *Run) (string, any, error) {
					if r.State != RunRunning {
						return "", nil, errStale
					}
					r.State = RunPaused
					r.Reason = fmt.Sprintf("canary of step %d (%s) paused by the judge: %s", s.Index, s.Describe(), j.Reason)
					return r.Reason, j, nil
				})
				return err
			case VerdictPromote:
				return e.promote(ctx, r, s, "judge: "+j.Reason, &j)
			}
		}
	}
	if !now.Before(*s.BakeUntil) {
		why := "bake time over"
		if s.BakeTime == 0 {
			why = "no bake time"
		}
		return e.promote(ctx, r, s, why, nil)
	}
	return e.Clock.Sleep(ctx, min(s.BakeUntil.Sub(now), e.poll()))
}

func (e *Engine) firing(ctx context.Context, s *Step) []string {
	if e.Alerts == nil {
		return nil
	}
	as, err := e.Alerts.Firing(ctx, s.Service, s.Env, s.Region)
	if err != nil {
		return nil // an unreachable alert source is not an alert
	}
	var names []string
	for _, a := range as {
		names = append(names, a.Name)
	}
	return names
}

// shift moves a canary to its next weight: the intent is committed
// first, then traffic is set with a key of its own, then the bake starts.
func (e *Engine) shift(ctx context.Context, r *Run, s *Step) error {
	next := s.nextWeight()
	if s.Progress != shifting(next) {
		var err error
		r, err = e.stepUpdate(ctx, r.ID, s.Index, StepBaking, func(r *Run, s *Step) string {
			s.Progress = shifting(next)
			return fmt.Sprintf("step %d %s: shifting %d%% of traffic to the canary", s.Index, s.Describe(), next)
		})
		if err != nil {
			return err
		}
		s, _ = r.Step(s.Index)
	}
	t, err := e.Targets.Target(ctx, s.Target)
	if err == nil {
		err = t.SetTraffic(ctx, r.request(s, fmt.Sprintf("%s/w%d", s.Key(r.ID), next)),
			[]Weight{{Version: s.Version, Percent: next}, {Version: s.FromVersion, Percent: 100 - next}})
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return e.fail(ctx, r, s, StepBaking, fmt.Sprintf("shifting %d%% to the canary failed: %v", next, err), nil)
	}
	_, err = e.stepUpdate(ctx, r.ID, s.Index, StepBaking, func(r *Run, s *Step) string {
		s.Weight = next
		s.Progress = fmt.Sprintf("canary %d%%", next)
		until := e.Clock.Now().Add(r.Options.bake(s.BakeTime))
		s.BakeUntil = &until
		return fmt.Sprintf("step %d %s: canary at %d%%, baking until %s", s.Index, s.Describe(), next, until.UTC().Format("15:04:05"))
	})
	return err
}

func shifting(w int) string { return fmt.Sprintf("shifting to %d%%", w) }

// nextWeight is the canary weight after the current one.
func (s *Step) nextWeight() int {
	for _, w := range s.CanarySteps {
		if w > s.Weight {
			return w
		}
	}
	return 100
}

// promote ends a bake: a canary goes to its next weight, anything else
// (and a canary at 100%) is done.
// A judge's promotion is kept as the step's evidence: the console and the
// audit trail show why a canary went on, not only why one was stopped.
func (e *Engine) promote(ctx context.Context, r *Run, s *Step, why string, judged *Judgement) error {
	var evidence json.RawMessage
	if judged != nil {
		evidence, _ = json.Marshal(judged)
	}
	_, err := e.stepUpdate(ctx, r.ID, s.Index, StepBaking, func(r *Run, s *Step) string {
		if evidence != nil {
			s.Evidence = evidence
		}
		if s.Strategy == model.Canary && s.Weight < 100 {
			s.BakeUntil = nil
			return fmt.Sprintf("step %d %s: canary at %d%% promoted (%s)", s.Index, s.Describe(), s.Weight, why)
		}
		s.State = StepDone
		s.Progress = "done"
		now := e.Clock.Now()
		s.EndedAt = &now
		s.BakeUntil = nil
		return fmt.Sprintf("step %d %s: done (%s)", s.Index, s.Describe(), why)
	})
	return err
}

// fail records a step's failure with its evidence and either starts the
// automatic rollback or, without it, fails the run for an operator.
func (e *Engine) fail(ctx context.Context, r *Run, s *Step, want StepState, reason string, evidence any) error {
	_, err := e.updateAudited(ctx, r.ID, "deploy auto-rollback", func(r *Run) (string, any, error) {
		s, ok := r.Step(s.Index)
		if !ok || s.State != want {
			return "", nil, errStale
		}
		s.State = StepFailed
		s.Error = reason
		if evidence != nil {
			s.Evidence, _ = json.Marshal(evidence)
		}
		now := e.Clock.Now()
		s.EndedAt = &now
		what := fmt.Sprintf("step %d %s failed: %s", s.Index, s.Describe(), reason)
		switch {
		case r.State != RunRunning:
			// An operator paused or aborted meanwhile: record the failure,
			// leave the run's state to them.
		case r.Options.AutoRollback:
			r.State = RunRollingBack
			r.Reason = "automatic rollback: " + what
			what = r.Reason
		default:
			r.State = RunFailed
			r.Reason = what + "; 'deploy rollback' undoes the run, 'deploy skip' and 'continue' go on"
		}
		return what, map[string]any{"run": r.ID, "step": s.Index, "service": s.Service, "env": s.Env, "region": s.Region,
			"reason": reason, "evidence": evidence, "state": r.State}, nil
	})
	return err
}

// rollbackNext undoes the last step that changed a target; when none is
// left the run is rolled back.
func (e *Engine) rollbackNext(ctx context.Context, r *Run) error {
	for i := len(r.Steps) - 1; i >= 0; i-- {
		s := &r.Steps[i]
		if s.State == StepRollingBack || (s.touchedTarget() && s.State != StepRolledBack && s.State != StepSkipped) {
			return e.rollbackStep(ctx, r, s)
		}
	}
	_, err := e.update(ctx, r.ID, func(r *Run) (string, error) {
		if r.State != RunRollingBack {
			return "", errStale
		}
		r.State = RunRolledBack
		return fmt.Sprintf("rolled back (%d steps undone); %s", r.count(StepRolledBack), r.Reason), nil
	})
	return err
}

func (e *Engine) rollbackStep(ctx context.Context, r *Run, s *Step) error {
	if s.Kind == KindMigration && !s.Reversible {
		_, err := e.update(ctx, r.ID, func(r *Run) (string, error) {
			r.State = RunFailed
			r.Reason = fmt.Sprintf("cannot roll back %s: the phase is not reversible; restore the schema by hand, then 'deploy skip' it (%s)", s.Describe(), r.Reason)
			return r.Reason, nil
		})
		return err
	}
	if s.State != StepRollingBack {
		from := s.State
		var err error
		r, err = e.stepUpdate(ctx, r.ID, s.Index, from, func(r *Run, s *Step) string {
			s.State = StepRollingBack
			s.Progress = "rolling back"
			return fmt.Sprintf("step %d %s: rolling back to %s", s.Index, s.Describe(), s.FromVersion)
		})
		if err != nil {
			return err
		}
		s, _ = r.Step(s.Index)
	}
	t, err := e.Targets.Target(ctx, s.Target)
	key := s.rollbackKey(r.ID)
	req := r.request(s, key)
	req.Version, req.FromVersion = s.FromVersion, s.Version
	req.Reason = r.Reason
	var st Status
	if err == nil {
		st, err = t.Status(ctx, req)
	}
	if err == nil && !st.Applied(key) {
		_, err = t.Rollback(ctx, req, func(Event) {})
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		_, uerr := e.update(ctx, r.ID, func(r *Run) (string, error) {
			if s, ok := r.Step(s.Index); ok {
				s.State = StepFailed
				s.Error = "rollback failed: " + err.Error()
			}
			r.State = RunFailed
			r.Reason = fmt.Sprintf("rollback of step %d (%s) failed: %v; fix it and run 'deploy rollback %s' again", s.Index, s.Describe(), err, r.ID)
			return r.Reason, nil
		})
		return uerr
	}
	_, err = e.stepUpdate(ctx, r.ID, s.Index, StepRollingBack, func(r *Run, s *Step) string {
		s.State = StepRolledBack
		s.Progress = "rolled back to " + s.FromVersion
		now := e.Clock.Now()
		s.EndedAt = &now
		return fmt.Sprintf("step %d %s: rolled back to %s", s.Index, s.Describe(), s.FromVersion)
	})
	return err
}
