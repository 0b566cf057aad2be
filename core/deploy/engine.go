package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
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
	// Gates, when set, keeps a run out of an environment until every gate
	// the environment names is pass or waived for the services of the
	// wave entering it: the run waits (RunWaiting) and goes on by itself,
	// looking again every GatePoll (default DefaultGatePoll).
	Gates    GateChecker
	GatePoll time.Duration
	// Approvals, when set, is the policy approvals to enter an
	// environment are counted with (approval_ttl, who may approve);
	// without it, the defaults.
	Approvals ApprovalPolicy
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
	// Retries bounds how many times a call the target answered
	// Unavailable (or a plugin crash) is made again with the same
	// idempotency key before the step fails (default 3); Backoff is the
	// wait before the first retry, doubled for each next one (default 1s).
	Retries int
	Backoff time.Duration
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

func (e *Engine) retries() int {
	if e.Retries > 0 {
		return e.Retries
	}
	return 3
}

func (e *Engine) backoff(try int) time.Duration {
	b := e.Backoff
	if b <= 0 {
		b = time.Second
	}
	return b << try
}

// awaitRetry audits retry try+1 of a call that failed (why) and waits
// its backoff; how says what the retry keeps (" with the same key").
func (e *Engine) awaitRetry(ctx context.Context, d *driven, s *Step, try int, why, how string) error {
	wait := e.backoff(try)
	if err := e.note(ctx, d, s, fmt.Sprintf("%s: retry %d of %d in %s%s", why, try+1, e.retries(), wait, how)); err != nil {
		return err
	}
	return e.Clock.Sleep(ctx, wait)
}

func (e *Engine) ttl() time.Duration {
	if e.LeaseTTL > 0 {
		return e.LeaseTTL
	}
	return 15 * time.Second
}

// driven is the engine's copy of a run it drives: the plan read once, the
// header and the steps' statuses kept current by the engine's own commits
// and, when another process changed the run, by reading them again. The
// steps of one wave run in goroutines of their own: mu guards the copy.
type driven struct {
	mu sync.Mutex
	r  *Run
	// stale says another process changed a step: read the statuses again.
	stale bool
	// unhealthy counts, per step, the looks in a row at which the target
	// said the step's service was unhealthy during its bake.
	unhealthy map[int]int
	// fresh marks the steps this driver itself took into deploying: their
	// key was never sent to the target, so there is no need to ask the
	// target whether it applied it (one Status call less per step).
	fresh map[int]bool
	// since is when this driver took the run; judged marks the canary
	// steps it has asked the judge about since (a judge's evidence lives
	// in its process: a bake begun before is begun again, see
	// judgeCanary).
	since  time.Time
	judged map[int]bool
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

	r, err := e.Journal.LoadRun(ctx, runID)
	if err != nil {
		return nil, err
	}
	d := &driven{r: r, since: e.Clock.Now()}
	if !r.State.Terminal() {
		if err := e.reconcile(ctx, d); err != nil && !errors.Is(err, errStale) {
			return e.stopped(ctx, d, err)
		}
	}
	for {
		if err := e.refresh(ctx, d); err != nil {
			return e.stopped(ctx, d, err)
		}
		state := d.state()
		if state.Terminal() {
			return d.r, nil
		}
		switch state {
		case RunPending:
			err = e.commit(ctx, d, 0, "", RunPending, "deploy engine", func(h *RunHeader, _ *Step) (string, any) {
				h.State = RunRunning
				return "run started", nil
			})
		case RunPaused, RunAwaitingApproval:
			err = e.Clock.Sleep(ctx, e.poll())
		case RunWaiting:
			err = e.recheckGates(ctx, d)
		case RunRollingBack:
			err = e.rollbackNext(ctx, d)
		case RunRunning:
			err = e.advance(ctx, d)
		}
		if err != nil && !errors.Is(err, errStale) {
			return e.stopped(ctx, d, err)
		}
	}
}

// stopped is what Drive returns when it stops before the run ended.
func (e *Engine) stopped(ctx context.Context, d *driven, err error) (*Run, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
		return d.r, cause
	}
	return d.r, err
}

func (d *driven) state() RunState {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.r.State
}

// step returns a copy of a step.
func (d *driven) step(index int) Step {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.r.Steps[index-1]
}

// refresh reads the run's header, and the steps' statuses when another
// process changed the run (every operator's command bumps the header's
// version): a look at one row otherwise, whatever the size of the run.
func (e *Engine) refresh(ctx context.Context, d *driven) error {
	h, err := e.Journal.RunHeader(ctx, d.r.ID)
	if err != nil {
		return err
	}
	d.mu.Lock()
	stale := d.stale || h.Version != d.r.Version
	d.stale = false
	d.mu.Unlock()
	var sts []StepStatus
	if stale {
		if sts, err = e.Journal.StepStatuses(ctx, d.r.ID); err != nil {
			d.mu.Lock()
			d.stale = true
			d.mu.Unlock()
			return err
		}
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if h.Version >= d.r.Version {
		d.r.SetHeader(h)
	}
	for _, st := range sts {
		if st.Index >= 1 && st.Index <= len(d.r.Steps) {
			// A commit of this process newer than what was read stays.
			if s := &d.r.Steps[st.Index-1]; st.Rev >= s.Rev {
				s.SetStatus(st)
			}
		}
	}
	return nil
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

// commit changes the run's header and (index > 0) one of its steps, if
// the step is still in state want and (ifState set) the run in ifState:
// fn gets copies to change and says what happened, for the audit event
// committed with the change. It returns errStale if the premise did not
// hold or another process changed the step meanwhile.
func (e *Engine) commit(ctx context.Context, d *driven, index int, want StepState, ifState RunState, command string,
	fn func(h *RunHeader, s *Step) (what string, payload any)) error {
	d.mu.Lock()
	h := d.r.Header()
	if ifState != "" && h.State != ifState {
		d.mu.Unlock()
		return errStale
	}
	var s Step
	var before StepStatus
	if index > 0 {
		if index > len(d.r.Steps) || d.r.Steps[index-1].State != want {
			d.mu.Unlock()
			return errStale
		}
		s = d.r.Steps[index-1]
		before = s.Status()
	}
	d.mu.Unlock()
	h0 := h
	h0.Approvals = slices.Clone(h.Approvals)
	h0.Wait = h.Wait.clone()
	what, payload := fn(&h, &s)
	now := e.Clock.Now()
	c := Change{RunID: d.r.ID}
	if index > 0 && !s.Status().same(before) {
		c.Steps = []StepChange{{From: before.State, To: s.Status()}}
	}
	if h.State != h0.State || h.Reason != h0.Reason || len(h.Approvals) != len(h0.Approvals) || !sameWait(h.Wait, h0.Wait) {
		h.UpdatedAt = now
		c.Header = &h
		c.IfState = h0.State
	}
	if c.Header == nil && len(c.Steps) == 0 {
		return nil
	}
	if payload == nil {
		p := map[string]any{"run": d.r.ID, "state": h.State}
		if index > 0 {
			p["step"], p["step_state"] = index, s.State
		}
		payload = p
	}
	got, err := e.Journal.Apply(ctx, c, Audit{Actor: "engine", Command: command, Summary: fmt.Sprintf("run %s: %s", d.r.ID, what), Payload: payload})
	if errors.Is(err, ErrConflict) {
		d.mu.Lock()
		d.stale = true
		d.mu.Unlock()
		return errStale
	}
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(c.Steps) > 0 {
		st := s.Status()
		st.Rev = before.Rev + 1
		if cur := &d.r.Steps[index-1]; cur.Rev <= before.Rev {
			cur.SetStatus(st)
		}
	}
	applied := c.Header != nil && got.State == h.State && got.Reason == h.Reason
	switch {
	case applied && got.Version == h0.Version+1, c.Header == nil && got.Version == h0.Version:
		// Nobody else changed the run meanwhile.
	default:
		d.stale = true
	}
	if got.Version >= d.r.Version {
		v := d.r.Version
		d.r.SetHeader(got)
		if d.stale {
			d.r.Version = v // read again on the next refresh
		}
	}
	d.r.UpdatedAt = now
	if e.OnChange != nil {
		e.OnChange(d.r, what)
	}
	return nil
}

// group is the steps [lo, hi) that run side by side with step i (0-based):
// the service steps of i's wave in i's environment. A migration phase is
// a group of its own.
func (r *Run) group(i int) (lo, hi int) {
	s := &r.Steps[i]
	same := func(p *Step) bool {
		return s.Kind != KindMigration && p.Kind != KindMigration && p.Env == s.Env && p.Wave == s.Wave
	}
	lo, hi = i, i+1
	for lo > 0 && same(&r.Steps[lo-1]) {
		lo--
	}
	for hi < len(r.Steps) && same(&r.Steps[hi]) {
		hi++
	}
	return lo, hi
}

// advance moves a running run on: it finishes the steps of the first
// unfinished wave side by side, up to the environment's limit.
func (e *Engine) advance(ctx context.Context, d *driven) error {
	d.mu.Lock()
	r := d.r
	first := r.next()
	if first == nil {
		d.mu.Unlock()
		return e.commit(ctx, d, 0, "", RunRunning, "deploy engine", func(h *RunHeader, _ *Step) (string, any) {
			h.State, h.Reason = RunSucceeded, ""
			return fmt.Sprintf("succeeded: %d steps done", len(r.Steps)-r.count(StepSkipped)), nil
		})
	}
	lo, hi := r.group(first.Index - 1)
	var (
		failed, rolling   *Step
		started, inFlight bool
	)
	for i := lo; i < hi; i++ {
		s := &r.Steps[i]
		switch s.State {
		case StepFailed, StepRolledBack:
			if failed == nil {
				c := *s
				failed = &c
			}
		case StepRollingBack:
			if rolling == nil {
				c := *s
				rolling = &c
			}
		case StepPreflight, StepDeploying, StepVerifying, StepBaking:
			inFlight = true
		}
		if s.State != StepPending {
			started = true
		}
	}
	env, wave := first.Env, first.Wave
	stage := r.stage(env)
	entered := r.entered(env, lo)
	services := r.services(lo, hi)
	var lastEnd time.Time
	for i := lo - 1; i >= 0 && r.Steps[i].Env == env; i-- {
		if p := &r.Steps[i]; p.Wave < wave && p.EndedAt != nil && p.EndedAt.After(lastEnd) {
			lastEnd = *p.EndedAt
		}
	}
	reason := r.Reason
	d.mu.Unlock()

	switch {
	case rolling != nil:
		// A step rolling back in a running run: an interrupted rollback
		// of a run an operator continued. Finish it first.
		return e.rollbackStep(ctx, d, rolling)
	case failed != nil && !inFlight:
		// The wave's steps in flight have finished; the failure stands.
		return e.failRun(ctx, d, failed)
	}
	if !started {
		// Bake time between waves: the previous wave of this environment
		// must have been done for the stage's bake time.
		now := e.Clock.Now()
		if bake := r.Options.bake(stage.BakeTime); bake > 0 && !lastEnd.IsZero() {
			if until := lastEnd.Add(bake); until.After(now) {
				why := fmt.Sprintf("baking wave %d in %s until %s", wave-1, env, until.UTC().Format("15:04:05 UTC"))
				if reason != why {
					if err := e.setReason(ctx, d, why); err != nil {
						return err
					}
				}
				return e.Clock.Sleep(ctx, min(until.Sub(now), e.poll()))
			}
		}
		// Entering the environment (or its next wave), once the bake
		// between waves is over: its gates, one check for the wave's
		// services; then, once per environment, the approval quorum.
		if blocks := e.checkGates(ctx, r.Release, env, services); len(blocks) > 0 {
			return e.enterGates(ctx, d, env, blocks)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if stage.Approval && !entered {
			now, pol := e.Clock.Now(), approvalPolicy(ctx, e.Approvals)
			d.mu.Lock()
			q := r.quorum(env, now, pol)
			wait, why := r.approvalWait(env, q, now)
			d.mu.Unlock()
			if !q.Met {
				return e.commit(ctx, d, 0, "", RunRunning, "deploy engine", func(h *RunHeader, _ *Step) (string, any) {
					h.State, h.Reason, h.Wait = RunAwaitingApproval, why, wait
					return fmt.Sprintf("awaiting approval to enter %s: %s", env, q.Reason),
						map[string]any{"run": r.ID, "state": h.State, "env": env, "approval": wait.Approval}
				})
			}
		}
	}
	return e.runWave(ctx, d, lo, hi, r.parallel(stage))
}

// runWave drives the steps [lo, hi) of one wave, up to limit at once,
// until each is finished or the run stops running. A failed step stops
// new starts; the steps in flight go on to their end.
func (e *Engine) runWave(ctx context.Context, d *driven, lo, hi, limit int) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	slots := make(chan struct{}, max(limit, 1))
	for i := lo; i < hi; i++ {
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		d.mu.Lock()
		st, running, failed := d.r.Steps[i].State, d.r.State == RunRunning, d.r.failedIn(lo, hi)
		d.mu.Unlock()
		mu.Lock()
		stop := first != nil
		mu.Unlock()
		if st.Terminal() || st == StepRollingBack || (st == StepPending && (!running || failed || stop)) {
			<-slots
			continue
		}
		wg.Add(1)
		go func(index int) {
			defer wg.Done()
			defer func() { <-slots }()
			if err := e.runStep(ctx, d, index, lo); err != nil && !errors.Is(err, errStale) {
				mu.Lock()
				if first == nil {
					first = err
				}
				mu.Unlock()
			}
		}(i + 1)
	}
	wg.Wait()
	return first
}

// failedIn reports whether a step of [lo, hi) failed.
func (r *Run) failedIn(lo, hi int) bool {
	for i := lo; i < hi; i++ {
		if st := r.Steps[i].State; st == StepFailed || st == StepRolledBack || st == StepRollingBack {
			return true
		}
	}
	return false
}

// runStep moves one step through its states until it is finished, the
// run stops running, or (before it started) another step of its wave
// failed.
func (e *Engine) runStep(ctx context.Context, d *driven, index, waveStart int) error {
	lo, hi := d.r.group(index - 1)
	for {
		if err := e.refresh(ctx, d); err != nil {
			return err
		}
		d.mu.Lock()
		s, running, failed := d.r.Steps[index-1], d.r.State == RunRunning, d.r.failedIn(lo, hi)
		d.mu.Unlock()
		if !running {
			return nil
		}
		var err error
		switch s.State {
		case StepPending:
			if failed {
				return nil
			}
			err = e.start(ctx, d, &s)
		case StepPreflight:
			err = e.preflight(ctx, d, &s, waveStart)
		case StepDeploying:
			err = e.deploy(ctx, d, &s)
		case StepVerifying:
			err = e.verify(ctx, d, &s)
		case StepBaking:
			err = e.bake(ctx, d, &s)
		default:
			return nil
		}
		if err != nil && !errors.Is(err, errStale) {
			return err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
}

// failRun decides what a failed step means for the run, once the steps
// of its wave in flight have finished: the automatic rollback, a failed
// run for an operator, or (when it changed nothing) a pause.
func (e *Engine) failRun(ctx context.Context, d *driven, s *Step) error {
	command := "deploy engine"
	if s.touchedTarget() && d.r.Options.AutoRollback {
		command = "deploy auto-rollback"
	}
	return e.commit(ctx, d, 0, "", RunRunning, command, func(h *RunHeader, _ *Step) (string, any) {
		what := fmt.Sprintf("step %d %s is %s: %s", s.Index, s.Describe(), s.State, s.Error)
		switch {
		case s.touchedTarget() && d.r.Options.AutoRollback:
			h.State, h.Reason = RunRollingBack, "automatic rollback: "+what
		case s.touchedTarget():
			h.State, h.Reason = RunFailed, what+"; 'deploy rollback' undoes the run, 'deploy retry' tries the step again"
		default:
			h.State, h.Reason = RunPaused, what+"; 'deploy continue' retries it"
		}
		return h.Reason, map[string]any{"run": d.r.ID, "step": s.Index, "service": s.Service, "env": s.Env, "region": s.Region,
			"reason": s.Error, "evidence": s.Evidence, "state": h.State}
	})
}

// setReason records why a running run waits.
func (e *Engine) setReason(ctx context.Context, d *driven, why string) error {
	return e.commit(ctx, d, 0, "", RunRunning, "deploy engine", func(h *RunHeader, _ *Step) (string, any) {
		h.Reason = why
		return why, nil
	})
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

// start takes a pending step into pre-flight, after the region's
// low-traffic window. (The approval to enter its environment and the
// bake time after the previous wave are waited for by its wave.)
func (e *Engine) start(ctx context.Context, d *driven, s *Step) error {
	r := d.r
	now := e.Clock.Now()
	if s.NotBefore != nil && !r.Options.IgnoreLowTraffic && s.NotBefore.After(now) {
		why := fmt.Sprintf("waiting for the low-traffic window of %s/%s at %s", s.Env, s.Region, s.NotBefore.UTC().Format("2006-01-02 15:04 UTC"))
		d.mu.Lock()
		same := r.Reason == why
		d.mu.Unlock()
		if !same {
			if err := e.setReason(ctx, d, why); err != nil {
				return err
			}
		}
		return e.Clock.Sleep(ctx, min(s.NotBefore.Sub(now), e.poll()))
	}
	return e.commit(ctx, d, s.Index, StepPending, "", "deploy engine", func(h *RunHeader, s *Step) (string, any) {
		s.State = StepPreflight
		s.Attempt++
		s.Error = ""
		if h.State == RunRunning && (strings.HasPrefix(h.Reason, "waiting for the low-traffic window") || strings.HasPrefix(h.Reason, "baking wave")) {
			h.Reason = ""
		}
		return fmt.Sprintf("step %d %s: pre-flight checks (attempt %d)", s.Index, s.Describe(), s.Attempt), nil
	})
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

func (e *Engine) preflight(ctx context.Context, d *driven, s *Step, waveStart int) error {
	r := d.r
	now := e.Clock.Now()
	var checks []Check
	// Every step of the earlier waves must be finished: waves in order.
	d.mu.Lock()
	for i := range r.Steps[:waveStart] {
		if p := &r.Steps[i]; p.State != StepDone && p.State != StepSkipped {
			checks = append(checks, Check{Name: "previous-steps-done", Message: fmt.Sprintf("step %d (%s) is %s", p.Index, p.Describe(), p.State)})
			break
		}
	}
	d.mu.Unlock()
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
		if ctx.Err() != nil {
			return ctx.Err()
		}
		checks = append(checks, Check{Name: "target-reachable", Message: err.Error()})
	} else {
		checks = append(checks, Check{Name: "target-reachable", Passed: true, Message: "target " + s.Target + " answered"})
	}
	failed := failedChecks(checks)
	evidence, _ := json.Marshal(map[string]any{"checks": checks})
	return e.commit(ctx, d, s.Index, StepPreflight, "", "deploy engine", func(h *RunHeader, s *Step) (string, any) {
		s.Evidence = evidence
		if len(failed) > 0 {
			s.State = StepFailed
			s.Error = "pre-flight failed: " + strings.Join(failed, "; ")
			if h.State == RunRunning {
				h.State = RunPaused
				h.Reason = fmt.Sprintf("step %d (%s) failed its pre-flight checks: %s. Fix it and 'deploy continue' to retry, or skip, roll back or abort",
					s.Index, s.Describe(), strings.Join(failed, "; "))
			}
			return fmt.Sprintf("step %d %s: pre-flight failed: %s", s.Index, s.Describe(), strings.Join(failed, "; ")), nil
		}
		s.State = StepDeploying
		now := e.Clock.Now()
		s.StartedAt = &now
		s.Progress = "deploying"
		d.markFresh(s.Index)
		return fmt.Sprintf("step %d %s: deploying (%s)", s.Index, s.Describe(), s.Strategy), nil
	})
}

// markFresh records that this driver takes step index into deploying
// (called inside commit's fn, before the commit: a commit that fails
// leaves the step as it was, and deploy never sees it fresh).
func (d *driven) markFresh(index int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fresh == nil {
		d.fresh = map[int]bool{}
	}
	d.fresh[index] = true
}

// takeFresh reports whether this driver took step index into deploying
// itself, and forgets it.
func (d *driven) takeFresh(index int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	f := d.fresh[index]
	delete(d.fresh, index)
	return f
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
func (e *Engine) deploy(ctx context.Context, d *driven, s *Step) error {
	r := d.r
	t, err := e.Targets.Target(ctx, s.Target)
	if err != nil {
		return e.fail(ctx, d, s, StepDeploying, "deploy target unavailable: "+err.Error(), nil)
	}
	key := s.Key(r.ID)
	req := r.request(s, key)
	var replayed bool
	fresh := d.takeFresh(s.Index)
	for try := 0; ; try++ {
		var st Status
		if !fresh || try > 0 {
			// The key may have been sent before (by a driver that died,
			// or by this one before the target went away): ask.
			st, err = t.Status(ctx, req)
		}
		if err == nil {
			if replayed = st.Applied(key); !replayed {
				var out Outcome
				out, err = t.Deploy(ctx, req, func(Event) {})
				replayed = out.Replayed
			}
		}
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err() // interrupted, not failed: the next driver reconciles
		}
		switch {
		case errors.Is(err, ErrTargetRefused):
			return e.refused(ctx, d, s, err)
		case errors.Is(err, ErrTargetUnavailable) && try < e.retries():
			// Same key again after a wait: a deployment the target
			// finished before it went away is not repeated (Status).
			if err := e.awaitRetry(ctx, d, s, try, fmt.Sprintf("target unavailable (%v)", err), " with the same key"); err != nil {
				return err
			}
			continue
		}
		return e.failDeploy(ctx, d, s, t, "deploy failed: "+err.Error())
	}
	if s.Strategy == model.BlueGreen {
		// The new colour is up and idle: switch traffic to it. The old
		// colour stays for an instant rollback.
		if err := t.SetTraffic(ctx, r.request(s, key+"/switch"), []Weight{{Version: s.Version, Percent: 100}}); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return e.fail(ctx, d, s, StepDeploying, "blue-green switch failed: "+err.Error(), nil)
		}
	}
	return e.commit(ctx, d, s.Index, StepDeploying, "", "deploy engine", func(_ *RunHeader, s *Step) (string, any) {
		s.State = StepVerifying
		s.Progress = "deployed"
		if s.Strategy == model.BlueGreen {
			s.Progress = "switched to the new colour"
		}
		note := ""
		if replayed {
			note = " (already applied before a restart: not repeated)"
		}
		return fmt.Sprintf("step %d %s: deployed%s; smoke checks", s.Index, s.Describe(), note), nil
	})
}

func (e *Engine) verify(ctx context.Context, d *driven, s *Step) error {
	r := d.r
	t, err := e.Targets.Target(ctx, s.Target)
	if err != nil {
		return e.fail(ctx, d, s, StepVerifying, "deploy target unavailable: "+err.Error(), nil)
	}
	var checks []Check
	for try := 0; ; try++ {
		checks, err = t.Verify(ctx, r.request(s, s.Key(r.ID)))
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !errors.Is(err, ErrTargetUnavailable) || try >= e.retries() {
			return e.fail(ctx, d, s, StepVerifying, "smoke checks could not run: "+err.Error(), nil)
		}
		// Smoke checks that could not run say nothing about the version:
		// a target that is down, crashed or hung (a loaded host) is asked
		// again, as a deployment is, before the step fails.
		if err := e.awaitRetry(ctx, d, s, try, fmt.Sprintf("smoke checks could not run (%v)", err), ""); err != nil {
			return err
		}
	}
	if failed := failedChecks(checks); len(failed) > 0 {
		return e.fail(ctx, d, s, StepVerifying, "smoke checks failed: "+strings.Join(failed, "; "), map[string]any{"checks": checks})
	}
	evidence, _ := json.Marshal(map[string]any{"checks": checks})
	return e.commit(ctx, d, s.Index, StepVerifying, "", "deploy engine", func(_ *RunHeader, s *Step) (string, any) {
		s.Evidence = evidence
		s.State = StepBaking
		s.Progress = "smoke checks passed"
		if s.Strategy != model.Canary {
			until := e.Clock.Now().Add(r.Options.bake(s.BakeTime))
			s.BakeUntil = &until
		} else {
			// The intent of the first shift goes with this commit.
			s.Progress = shifting(s.nextWeight())
		}
		return fmt.Sprintf("step %d %s: smoke checks passed (%d)", s.Index, s.Describe(), len(checks)), nil
	})
}

// bake watches a deployed step: canary weights one by one with the
// judge's verdicts, or the bake time of other strategies, failing it on
// a firing alert.
func (e *Engine) bake(ctx context.Context, d *driven, s *Step) error {
	r := d.r
	if s.Strategy == model.Canary && s.BakeUntil == nil {
		return e.shift(ctx, d, s)
	}
	now := e.Clock.Now()
	if alerts := e.firing(ctx, s); len(alerts) > 0 {
		return e.fail(ctx, d, s, StepBaking, "alert firing: "+strings.Join(alerts, ", "), map[string]any{"alerts": alerts})
	}
	if st, sick := e.unhealthy(ctx, d, s, r.Options.bake(s.BakeTime) > 0); sick {
		return e.fail(ctx, d, s, StepBaking, "the target reports the service unhealthy during its bake", map[string]any{"status": st})
	}
	// Without a bake there is no window to judge a canary in (a judge
	// asked about no time at all sees noise): its weights go on at once.
	// Without a judge (canary_judge: none) a canary goes on when its bake
	// time is over, as any other step.
	if bake := r.Options.bake(s.BakeTime); s.Strategy == model.Canary && e.Judge != nil && bake > 0 {
		return e.judgeCanary(ctx, d, s, now, bake)
	}
	if !now.Before(*s.BakeUntil) {
		why := "bake time over"
		switch {
		case r.Options.NoBake:
			why = "no bake: --bake-scale 0"
		case s.BakeTime == 0:
			why = "no bake time"
		}
		return e.promote(ctx, d, s, why, nil)
	}
	return e.Clock.Sleep(ctx, min(s.BakeUntil.Sub(now), e.poll()))
}

// unhealthy asks the target how the step's service is; twice unhealthy
// in a row (one look may catch an instance between two health probes)
// fails the step, as an alert does.
func (e *Engine) unhealthy(ctx context.Context, d *driven, s *Step, baking bool) (Status, bool) {
	if !baking {
		return Status{}, false // no bake (--bake-scale 0, no bake time): nothing to watch
	}
	t, err := e.Targets.Target(ctx, s.Target)
	if err != nil {
		return Status{}, false
	}
	st, err := t.Status(ctx, d.r.request(s, s.Key(d.r.ID)))
	d.mu.Lock()
	defer d.mu.Unlock()
	if err != nil || !st.Known || st.Healthy {
		delete(d.unhealthy, s.Index)
		return st, false
	}
	if d.unhealthy == nil {
		d.unhealthy = map[int]int{}
	}
	d.unhealthy[s.Index]++
	if d.unhealthy[s.Index] < 2 {
		return st, false
	}
	delete(d.unhealthy, s.Index)
	return st, true
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
func (e *Engine) shift(ctx context.Context, d *driven, s *Step) error {
	r := d.r
	next := s.nextWeight()
	if s.Progress != shifting(next) {
		if err := e.commit(ctx, d, s.Index, StepBaking, "", "deploy engine", func(_ *RunHeader, s *Step) (string, any) {
			s.Progress = shifting(next)
			return fmt.Sprintf("step %d %s: shifting %d%% of traffic to the canary", s.Index, s.Describe(), next), nil
		}); err != nil {
			return err
		}
		c := d.step(s.Index)
		s = &c
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
		return e.fail(ctx, d, s, StepBaking, fmt.Sprintf("shifting %d%% to the canary failed: %v", next, err), nil)
	}
	return e.commit(ctx, d, s.Index, StepBaking, "", "deploy engine", func(_ *RunHeader, s *Step) (string, any) {
		s.Weight = next
		s.Progress = fmt.Sprintf("canary %d%%", next)
		until := e.Clock.Now().Add(r.Options.bake(s.BakeTime))
		s.BakeUntil = &until
		return fmt.Sprintf("step %d %s: canary at %d%%, baking until %s", s.Index, s.Describe(), next, until.UTC().Format("15:04:05")), nil
	})
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
func (e *Engine) promote(ctx context.Context, d *driven, s *Step, why string, judged *Judgement) error {
	var evidence json.RawMessage
	if judged != nil {
		// An extended bake's record stays with the verdict that ended it.
		evidence, _ = json.Marshal(CanaryEvidence{Judgement: *judged, Bake: s.Extension()})
	}
	return e.commit(ctx, d, s.Index, StepBaking, "", "deploy engine", func(_ *RunHeader, s *Step) (string, any) {
		if evidence != nil {
			s.Evidence = evidence
		}
		if s.Strategy == model.Canary && s.Weight < 100 {
			// The intent of the next shift goes with the promotion.
			s.BakeUntil = nil
			s.Progress = shifting(s.nextWeight())
			return fmt.Sprintf("step %d %s: canary at %d%% promoted (%s); shifting %d%% of traffic to it", s.Index, s.Describe(), s.Weight, why, s.nextWeight()), nil
		}
		s.State = StepDone
		s.Progress = "done"
		now := e.Clock.Now()
		s.EndedAt = &now
		s.BakeUntil = nil
		return fmt.Sprintf("step %d %s: done (%s)", s.Index, s.Describe(), why), nil
	})
}

// note records where a step is (its progress), audited.
func (e *Engine) note(ctx context.Context, d *driven, s *Step, progress string) error {
	return e.commit(ctx, d, s.Index, s.State, "", "deploy engine", func(_ *RunHeader, s *Step) (string, any) {
		s.Progress = progress
		return fmt.Sprintf("step %d %s: %s", s.Index, s.Describe(), progress), nil
	})
}

// refused records a target's clean refusal (FailedPrecondition): the step
// changed nothing and waits for an operator, with the target's message.
func (e *Engine) refused(ctx context.Context, d *driven, s *Step, err error) error {
	return e.commit(ctx, d, s.Index, s.State, "", "deploy engine", func(h *RunHeader, s *Step) (string, any) {
		s.State = StepFailed
		s.StartedAt = nil // nothing was changed: continue retries it, skip may skip it
		s.Error = err.Error()
		now := e.Clock.Now()
		s.EndedAt = &now
		what := fmt.Sprintf("step %d %s waits for an operator: %v", s.Index, s.Describe(), err)
		if h.State == RunRunning {
			h.State = RunPaused
			h.Reason = what + ". When it is fixed, 'deploy continue' tries it again; or skip it, roll back or abort"
		}
		return what, map[string]any{"run": d.r.ID, "step": s.Index, "service": s.Service, "env": s.Env, "region": s.Region,
			"reason": err.Error(), "state": h.State}
	})
}

// failDeploy records a failed deployment. Whether it must be rolled back
// depends on whether the target changed anything: a target that says
// what runs, and neither applied the key nor runs the version, was not
// changed, so the failure waits for an operator instead.
func (e *Engine) failDeploy(ctx context.Context, d *driven, s *Step, t Target, reason string) error {
	st, err := t.Status(ctx, d.r.request(s, s.Key(d.r.ID)))
	if ctx.Err() != nil {
		return ctx.Err()
	}
	untouched := err == nil && st.Known && !st.Applied(s.Key(d.r.ID)) && !st.Runs(s.Version)
	if !untouched {
		return e.fail(ctx, d, s, StepDeploying, reason, nil)
	}
	return e.commit(ctx, d, s.Index, StepDeploying, "", "deploy engine", func(h *RunHeader, s *Step) (string, any) {
		s.State = StepFailed
		s.StartedAt = nil
		s.Error = reason + " (the target says nothing changed)"
		now := e.Clock.Now()
		s.EndedAt = &now
		return fmt.Sprintf("step %d %s failed: %s", s.Index, s.Describe(), s.Error), map[string]any{"run": d.r.ID, "step": s.Index,
			"service": s.Service, "env": s.Env, "region": s.Region, "reason": s.Error, "target_runs": st.Versions, "state": h.State}
	})
}

// fail records a step's failure with its evidence. What it means for the
// run (the automatic rollback, or a failed run for an operator) is
// decided once the other steps of its wave in flight have finished.
func (e *Engine) fail(ctx context.Context, d *driven, s *Step, want StepState, reason string, evidence any) error {
	return e.commit(ctx, d, s.Index, want, "", "deploy engine", func(h *RunHeader, s *Step) (string, any) {
		s.State = StepFailed
		s.Error = reason
		if evidence != nil {
			s.Evidence, _ = json.Marshal(evidence)
		}
		now := e.Clock.Now()
		s.EndedAt = &now
		return fmt.Sprintf("step %d %s failed: %s", s.Index, s.Describe(), reason), map[string]any{"run": d.r.ID, "step": s.Index,
			"service": s.Service, "env": s.Env, "region": s.Region, "reason": reason, "evidence": evidence, "state": h.State}
	})
}

// rollbackNext undoes the last step that changed a target (the reverse
// of the dependency order: waves run in that order); when none is left
// the run is rolled back.
func (e *Engine) rollbackNext(ctx context.Context, d *driven) error {
	d.mu.Lock()
	var todo *Step
	for i := len(d.r.Steps) - 1; i >= 0; i-- {
		s := &d.r.Steps[i]
		if s.State == StepRollingBack || (s.touchedTarget() && s.State != StepRolledBack && s.State != StepSkipped) {
			c := *s
			todo = &c
			break
		}
	}
	d.mu.Unlock()
	if todo != nil {
		return e.rollbackStep(ctx, d, todo)
	}
	return e.commit(ctx, d, 0, "", RunRollingBack, "deploy engine", func(h *RunHeader, _ *Step) (string, any) {
		h.State = RunRolledBack
		d.mu.Lock()
		n := d.r.count(StepRolledBack)
		d.mu.Unlock()
		return fmt.Sprintf("rolled back (%d steps undone); %s", n, h.Reason), nil
	})
}

func (e *Engine) rollbackStep(ctx context.Context, d *driven, s *Step) error {
	r := d.r
	if s.Kind == KindMigration && !s.Reversible {
		return e.commit(ctx, d, 0, "", "", "deploy engine", func(h *RunHeader, _ *Step) (string, any) {
			h.State = RunFailed
			h.Reason = fmt.Sprintf("cannot roll back %s: the phase is not reversible; restore the schema by hand, then 'deploy skip' it (%s)", s.Describe(), h.Reason)
			return h.Reason, nil
		})
	}
	if s.State != StepRollingBack {
		if err := e.commit(ctx, d, s.Index, s.State, "", "deploy engine", func(_ *RunHeader, s *Step) (string, any) {
			s.State = StepRollingBack
			s.Progress = "rolling back"
			return fmt.Sprintf("step %d %s: rolling back to %s", s.Index, s.Describe(), s.FromVersion), nil
		}); err != nil {
			return err
		}
		c := d.step(s.Index)
		s = &c
	}
	t, err := e.Targets.Target(ctx, s.Target)
	key := s.rollbackKey(r.ID)
	req := r.request(s, key)
	req.Version, req.FromVersion = s.FromVersion, s.Version
	d.mu.Lock()
	req.Reason = r.Reason
	d.mu.Unlock()
	var st Status
	if err == nil {
		st, err = t.Status(ctx, req)
	}
	if err == nil && st.Known && !st.Applied(s.Key(r.ID)) && !st.Runs(s.Version) && !st.Applied(key) {
		// The target says the step never applied: nothing to undo.
		return e.commit(ctx, d, s.Index, StepRollingBack, "", "deploy engine", func(_ *RunHeader, s *Step) (string, any) {
			s.State = StepRolledBack
			s.Progress = "never applied: nothing to undo"
			now := e.Clock.Now()
			s.EndedAt = &now
			return fmt.Sprintf("step %d %s: not rolled back, the target says it was never applied", s.Index, s.Describe()), nil
		})
	}
	if err == nil && !st.Applied(key) {
		_, err = t.Rollback(ctx, req, func(Event) {})
	}
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return e.commit(ctx, d, s.Index, StepRollingBack, "", "deploy engine", func(h *RunHeader, s *Step) (string, any) {
			s.State = StepFailed
			s.Error = "rollback failed: " + err.Error()
			h.State = RunFailed
			h.Reason = fmt.Sprintf("rollback of step %d (%s) failed: %v; fix it and run 'deploy rollback %s' again", s.Index, s.Describe(), err, r.ID)
			return h.Reason, nil
		})
	}
	return e.commit(ctx, d, s.Index, StepRollingBack, "", "deploy engine", func(_ *RunHeader, s *Step) (string, any) {
		s.State = StepRolledBack
		s.Progress = "rolled back to " + s.FromVersion
		now := e.Clock.Now()
		s.EndedAt = &now
		return fmt.Sprintf("step %d %s: rolled back to %s", s.Index, s.Describe(), s.FromVersion), nil
	})
}

// reconcile is what a driver does first when it takes a run over: it
// asks the target about every step in flight (deploying, verifying,
// baking, shifting traffic) and about the finished steps of the current
// wave, and deploys again, as a new attempt with a new idempotency key,
// each step whose version the target no longer runs. A step being
// deployed is left to deploy, which asks the target whether its key was
// applied: no deployment is repeated for a key the target reports done.
// Each redeployment is recorded and audited as a reconciliation.
func (e *Engine) reconcile(ctx context.Context, d *driven) error {
	d.mu.Lock()
	r := d.r
	var check []Step
	if first := r.next(); first != nil && r.State != RunRollingBack {
		lo, hi := r.group(first.Index - 1)
		for i := lo; i < hi; i++ {
			if st := r.Steps[i].State; st == StepDone || st == StepVerifying || st == StepBaking {
				check = append(check, r.Steps[i])
			}
		}
		// Steps in flight elsewhere (an operator continued past them).
		for i := range r.Steps {
			if (i < lo || i >= hi) && (r.Steps[i].State == StepVerifying || r.Steps[i].State == StepBaking) {
				check = append(check, r.Steps[i])
			}
		}
	}
	d.mu.Unlock()
	for i := range check {
		s := &check[i]
		t, err := e.Targets.Target(ctx, s.Target)
		if err != nil {
			continue // the step's own call reports an unreachable target
		}
		st, err := t.Status(ctx, r.request(s, s.Key(r.ID)))
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			continue
		}
		if !st.Known || st.Runs(s.Version) {
			continue
		}
		was := s.State
		evidence := map[string]any{"run": r.ID, "step": s.Index, "service": s.Service, "env": s.Env, "region": s.Region,
			"was": was, "attempt": s.Attempt, "target_runs": st.Versions}
		err = e.commit(ctx, d, s.Index, was, "", "deploy reconcile", func(_ *RunHeader, s *Step) (string, any) {
			s.State = StepDeploying
			s.Attempt++
			s.Weight, s.BakeUntil, s.EndedAt, s.Error = 0, nil, nil, ""
			s.Progress = fmt.Sprintf("reconciled: the target no longer runs %s; deploying again", s.Version)
			evidence["new_attempt"] = s.Attempt
			return fmt.Sprintf("step %d %s was %s, but the target no longer runs %s: deploying it again (attempt %d)",
				s.Index, s.Describe(), was, s.Version, s.Attempt), evidence
		})
		if err != nil && !errors.Is(err, errStale) {
			return err
		}
	}
	return nil
}
