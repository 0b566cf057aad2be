package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/warroom/warroom/plugins/sdk"
)

// target is the localfleet deploy target: the sdk side (configuration,
// idempotency journal, validation) of the fleet.
type target struct {
	log hclog.Logger

	mu         sync.Mutex
	configured bool
	cfg        config
	journal    *journal
	lock       *fleetLock
	fleet      *fleet
	inflight   map[string]chan struct{} // closed when the call of the key ends
	startedAt  time.Time
	// supervised: run by the supervisor, whose plugin process holds the
	// fleet lock; the target takes it itself otherwise (tests run it
	// in-process).
	supervised bool
}

var _ sdk.DeployTarget = (*target)(nil)

func newTarget(log hclog.Logger) *target {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &target{log: log}
}

// Configure validates the settings, takes the fleet lock of the state
// dir and opens the journal. Called again with the same settings it does
// nothing; with others, only while nothing runs.
func (t *target) Configure(ctx context.Context, cfg sdk.Config) error {
	c, err := parseConfig(cfg)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.configured {
		if reflect.DeepEqual(c, t.cfg) {
			return nil
		}
		if c.stateDir == t.cfg.stateDir {
			// Another warroom (or the same with other settings) adopts
			// the fleet: what runs keeps running, with the new settings.
			t.cfg = c
			t.fleet.reconfigure(c)
			t.log.Info("settings changed", "state_dir", c.stateDir, "service_binary", c.binary)
			return nil
		}
		if n := t.fleet.runningTotal(); n > 0 {
			return sdk.Errorf(sdk.CodeFailedPrecondition,
				"localfleet: the fleet of %s runs %d processes: stop it first to move to %s (`localfleet stop %s`)", t.cfg.stateDir, n, c.stateDir, t.cfg.stateDir)
		}
		t.closeLocked()
	}
	var lock *fleetLock
	if !t.supervised {
		if lock, err = acquireLock(c.stateDir); err != nil {
			return err
		}
	}
	j, err := openJournal(filepath.Join(c.stateDir, journalFile))
	if err != nil {
		lock.release()
		return fmt.Errorf("localfleet: %w", err)
	}
	t.cfg, t.lock, t.journal = c, lock, j
	t.fleet = newFleet(c, t.log)
	t.startedAt = time.Now()
	t.configured = true
	t.log.Info("local fleet ready", "state_dir", c.stateDir, "service_binary", c.binary)
	return nil
}

// Close stops the fleet (every process is reaped) and gives up the lock.
func (t *target) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closeLocked()
}

func (t *target) closeLocked() {
	if !t.configured {
		return
	}
	t.fleet.close()
	t.journal.Close()
	t.lock.release()
	t.configured = false
}

// idleExit is the configured idle_exit (its default before Configure).
func (t *target) idleExit() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.configured {
		return defaultIdleExit
	}
	return t.cfg.idleExit
}

func (t *target) state() (*fleet, *journal, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.configured {
		return nil, nil, sdk.Errorf(sdk.CodeFailedPrecondition, "localfleet: not configured yet")
	}
	return t.fleet, t.journal, nil
}

// claim marks a key as running: two calls with one key at once would
// both see it unapplied and both act. A call that finds its key running
// waits for that call to end: the caller that made it is gone (a plugin
// process killed, by warroom or by warroom's host after a timeout, whose
// call the supervisor is still winding down) and this is its repeat,
// which then acts, or replays what the first one finished.
func (t *target) claim(ctx context.Context, op, key string) (func(), error) {
	if key == "" {
		return func() {}, nil
	}
	for {
		t.mu.Lock()
		running, busy := t.inflight[key]
		if !busy {
			if t.inflight == nil {
				t.inflight = map[string]chan struct{}{}
			}
			done := make(chan struct{})
			t.inflight[key] = done
			t.mu.Unlock()
			return func() {
				t.mu.Lock()
				delete(t.inflight, key)
				t.mu.Unlock()
				close(done)
			}, nil
		}
		t.mu.Unlock()
		select {
		case <-running:
		case <-ctx.Done():
			return nil, sdk.Errorf(sdk.CodeFailedPrecondition,
				"localfleet: a %s with idempotency key %q is still running; wait for it to end (%v)", op, key, ctx.Err())
		}
	}
}

// replayable returns the finished journal entry of a key, if any.
func replayable(j *journal, op, key string) (entry, bool, error) {
	if key == "" {
		return entry{}, false, nil
	}
	e, ok := j.lookup(key)
	if !ok || e.State == keyStarted {
		return entry{}, false, nil
	}
	if e.Op != op {
		return entry{}, false, invalid("idempotency key %q was used for a %s, not a %s", key, e.Op, op)
	}
	return e, true, nil
}

// refused reports whether an error turned a request down without
// changing anything worth remembering: the key is then not recorded as
// failed, and a repeat acts again (the strategies converge, so running
// one twice is safe).
func refused(err error) bool {
	if errors.Is(err, errFull) {
		return true
	}
	var e *sdk.Error
	if errors.As(err, &e) {
		return e.Code == sdk.CodeInvalid || e.Code == sdk.CodeFailedPrecondition || e.Code == sdk.CodeUnavailable
	}
	return false
}

// outcome turns a strategy's error into the call's: refusals keep their
// code, anything else is the deployment failing.
func outcome(what string, err error) error {
	var e *sdk.Error
	switch {
	case errors.As(err, &e):
		return err
	case errors.Is(err, errFull):
		return sdk.Errorf(sdk.CodeFailedPrecondition, "localfleet: %s: %v", what, err)
	}
	return sdk.Errorf(sdk.CodeInternal, "localfleet: %s failed: %v", what, err)
}

// Describe reports what the target can do.
func (t *target) Describe(ctx context.Context) (sdk.Capabilities, error) {
	return sdk.Capabilities{
		Strategies:        []string{rolling, blueGreen, canary},
		TrafficShifting:   true,
		Stateful:          true,
		ServiceKinds:      []string{"stateless", "stateful", "database", "queue"},
		BlueGreenStateful: false,
		MaxParallel:       0,
		Status:            true,
	}, nil
}

// Preflight checks that a step can start: the demo service can run, the
// strategy fits, the faults parse, and the fleet has room.
func (t *target) Preflight(ctx context.Context, req sdk.PreflightRequest) ([]sdk.Check, error) {
	f, _, err := t.state()
	if err != nil {
		return nil, err
	}
	var checks []sdk.Check
	add := func(name string, err error, ok string) {
		c := sdk.Check{Name: name, Passed: err == nil, Message: ok}
		if err != nil {
			c.Message = err.Error()
		}
		checks = append(checks, c)
	}
	add("service-binary", checkBinary(f.conf().binary), f.conf().binary+" is executable")

	strategy := req.Strategy
	if strategy == "" {
		strategy = rolling
	}
	var serr error
	if !slices.Contains([]string{rolling, blueGreen, canary}, strategy) {
		serr = fmt.Errorf("unknown strategy %q: this target offers rolling, blue-green and canary", strategy)
	}
	add("strategy", serr, strategy+" is offered")

	ff, ferr := f.conf().faultsFor(req.Target.Service, req.Version)
	if ferr == nil {
		var rf faultSet
		if rf, ferr = requestFaults(req.Settings); ferr == nil {
			ff = ff.merge(rf)
		}
	}
	msg := "no fault configured for " + req.Target.Service + " " + req.Version
	if len(ff) > 0 {
		msg = req.Target.Service + " " + req.Version + " will run with faults: " + ff.String()
	}
	add("faults", ferr, msg)

	n := min(defaultInstances, f.conf().maxInstances)
	need := 1 // a rolling batch
	if strategy != rolling {
		need = n
	}
	g := f.existing(req.Target)
	if g == nil || g.runningCount() == 0 {
		need += n // the version being replaced may have to come up first
	}
	free := f.freeSlots()
	var cerr error
	if need > free && !f.conf().evictIdle {
		cerr = fmt.Errorf("the fleet runs %d of at most %d demo-service processes (max_processes); this step needs up to %d more: raise max_processes, lower max_instances, or set evict_idle=true",
			f.conf().maxProcesses-free, f.conf().maxProcesses, need)
	}
	add("capacity", cerr, fmt.Sprintf("the fleet runs %d of at most %d processes; this step needs up to %d more", f.conf().maxProcesses-free, f.conf().maxProcesses, need))
	return checks, nil
}

// events adapts an EventSink: stamps events, and stops sending once the
// stream is gone (the context then ends the work).
type events struct {
	sink sdk.EventSink
	mu   sync.Mutex
	err  error
}

func (e *events) send(ev sdk.DeployEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return
	}
	ev.At = time.Now().UTC()
	e.err = e.sink.Send(ev)
}

// Deploy deploys a version with a strategy, streaming progress.
func (t *target) Deploy(ctx context.Context, req sdk.DeployRequest, sink sdk.EventSink) error {
	if req.Target.Service == "" || req.Target.Environment == "" || req.Version == "" {
		return invalid("deploy needs a service, an environment and a version")
	}
	if strings.ContainsAny(req.Target.Service+req.Version, "@=,; \t\n") {
		return invalid("service %q or version %q contains a character out of @=,; or a space", req.Target.Service, req.Version)
	}
	f, j, err := t.state()
	if err != nil {
		return err
	}
	f.inUse(req.Target)
	defer f.inUse(req.Target)
	release, err := t.claim(ctx, opDeploy, req.IdempotencyKey)
	if err != nil {
		return err
	}
	defer release()
	if e, ok, err := replayable(j, opDeploy, req.IdempotencyKey); err != nil {
		return err
	} else if ok {
		return replay(e, sink)
	}
	p, err := f.planDeploy(req)
	if err != nil {
		return err
	}
	rec := entry{
		Key: req.IdempotencyKey, Op: opDeploy, State: keyStarted, At: time.Now().UTC(),
		Service: req.Target.Service, Environment: req.Target.Environment, Region: req.Target.Region,
		Version: req.Version, FromVersion: req.FromVersion, Strategy: p.strategy, Instances: p.n,
	}
	if err := j.record(rec); err != nil {
		return fmt.Errorf("localfleet: deploy not started: %w", err)
	}
	ev := &events{sink: sink}
	err = f.deploy(ctx, p, &progress{send: ev.send})
	return t.finish(ctx, j, rec, fmt.Sprintf("deploy of %s %s to %s", req.Target.Service, req.Version, endpointKey(req.Target)), err)
}

// finish records how a change ended and returns the call's outcome.
func (t *target) finish(ctx context.Context, j *journal, rec entry, what string, err error) error {
	if err != nil && (ctx.Err() != nil || refused(err)) {
		// Interrupted or turned down: the key stays "started", so a
		// repeated call acts again.
		if ctx.Err() != nil {
			return fmt.Errorf("localfleet: %s interrupted: %w", what, ctx.Err())
		}
		return outcome(what, err)
	}
	rec.At = time.Now().UTC()
	if err != nil {
		out := outcome(what, err)
		rec.State, rec.Message = keyFailed, out.Error()
		if jerr := j.record(rec); jerr != nil {
			return fmt.Errorf("%v; and the journal: %w", out, jerr)
		}
		return out
	}
	rec.State = keyDone
	if err := j.record(rec); err != nil {
		return fmt.Errorf("localfleet: the %s succeeded but its outcome could not be recorded: %w", what, err)
	}
	return nil
}

// replay reports a finished key instead of acting again.
func replay(e entry, sink sdk.EventSink) error {
	at := e.At.UTC().Format(time.RFC3339)
	if e.State == keyFailed {
		msg := fmt.Sprintf("already attempted with idempotency key %q at %s and it failed; not done again: %s", e.Key, at, e.Message)
		sink.Send(sdk.DeployEvent{At: time.Now().UTC(), Phase: e.Op, Message: msg, Done: true, Failed: true, Replayed: true})
		return sdk.Errorf(sdk.CodeInternal, "localfleet: %s", msg)
	}
	msg := fmt.Sprintf("already applied with idempotency key %q at %s (%s %s); not done again", e.Key, at, e.Service, orNothing(e.Version))
	return sink.Send(sdk.DeployEvent{At: time.Now().UTC(), Phase: e.Op, Message: msg, Percent: 100, Done: true, Replayed: true})
}

// Rollback puts the traffic back on ToVersion and stops the others.
func (t *target) Rollback(ctx context.Context, req sdk.RollbackRequest, sink sdk.EventSink) error {
	if req.Target.Service == "" || req.Target.Environment == "" {
		return invalid("rollback needs a service and an environment")
	}
	f, j, err := t.state()
	if err != nil {
		return err
	}
	f.inUse(req.Target)
	defer f.inUse(req.Target)
	release, err := t.claim(ctx, opRollback, req.IdempotencyKey)
	if err != nil {
		return err
	}
	defer release()
	if e, ok, err := replayable(j, opRollback, req.IdempotencyKey); err != nil {
		return err
	} else if ok {
		return replay(e, sink)
	}
	rec := entry{
		Key: req.IdempotencyKey, Op: opRollback, State: keyStarted, At: time.Now().UTC(),
		Service: req.Target.Service, Environment: req.Target.Environment, Region: req.Target.Region,
		Version: req.ToVersion, FromVersion: req.FromVersion, Message: req.Reason,
	}
	if err := j.record(rec); err != nil {
		return fmt.Errorf("localfleet: rollback not started: %w", err)
	}
	ev := &events{sink: sink}
	err = f.rollback(ctx, req, &progress{send: ev.send})
	rec.Message = ""
	return t.finish(ctx, j, rec, fmt.Sprintf("rollback of %s to %s", endpointKey(req.Target), orNothing(req.ToVersion)), err)
}

// SetTraffic splits a target's traffic between versions.
func (t *target) SetTraffic(ctx context.Context, req sdk.SetTrafficRequest) ([]sdk.TrafficWeight, error) {
	f, j, err := t.state()
	if err != nil {
		return nil, err
	}
	f.inUse(req.Target)
	defer f.inUse(req.Target)
	if err := validateWeights(req.Weights); err != nil {
		return nil, err
	}
	release, err := t.claim(ctx, opSetTraffic, req.IdempotencyKey)
	if err != nil {
		return nil, err
	}
	defer release()
	if e, ok, err := replayable(j, opSetTraffic, req.IdempotencyKey); err != nil {
		return nil, err
	} else if ok {
		if e.State == keyFailed {
			return nil, sdk.Errorf(sdk.CodeInternal, "localfleet: already attempted with idempotency key %q at %s and it failed; not done again: %s",
				e.Key, e.At.UTC().Format(time.RFC3339), e.Message)
		}
		return slices.Clone(e.Weights), nil
	}
	rec := entry{
		Key: req.IdempotencyKey, Op: opSetTraffic, State: keyStarted, At: time.Now().UTC(),
		Service: req.Target.Service, Environment: req.Target.Environment, Region: req.Target.Region,
		Weights: slices.Clone(req.Weights),
	}
	// A refusal (nothing runs) is checked before the journal hears of
	// the call, so that a refused key leaves no trace.
	if err := f.checkTraffic(f.existing(req.Target), req.Target, req.Weights); err != nil {
		return nil, err
	}
	if err := j.record(rec); err != nil {
		return nil, fmt.Errorf("localfleet: set_traffic not started: %w", err)
	}
	err = f.setTraffic(ctx, req.Target, req.Weights)
	if err := t.finish(ctx, j, rec, "traffic split of "+endpointKey(req.Target), err); err != nil {
		return nil, err
	}
	return slices.Clone(req.Weights), nil
}

// validateWeights checks a split: distinct versions, each 0..100,
// summing to 100.
func validateWeights(ws []sdk.TrafficWeight) error {
	if len(ws) == 0 {
		return invalid("set_traffic: no weights given")
	}
	seen := map[string]bool{}
	sum := 0
	for _, w := range ws {
		switch {
		case w.Version == "":
			return invalid("set_traffic: a weight has no version")
		case w.Percent < 0 || w.Percent > 100:
			return invalid("set_traffic: weight %d of %s is outside 0..100", w.Percent, w.Version)
		case seen[w.Version]:
			return invalid("set_traffic: version %s appears twice", w.Version)
		}
		seen[w.Version] = true
		sum += w.Percent
	}
	if sum != 100 {
		return invalid("set_traffic: weights sum to %d, not 100", sum)
	}
	return nil
}

// Verify runs the smoke checks of a deployed version.
func (t *target) Verify(ctx context.Context, req sdk.VerifyRequest) ([]sdk.Check, error) {
	f, _, err := t.state()
	if err != nil {
		return nil, err
	}
	if req.Target.Service == "" || req.Version == "" {
		return nil, invalid("verify needs a service and a version")
	}
	f.inUse(req.Target)
	return f.verify(ctx, req)
}

// Status reports what runs now, probed now, and the applied keys.
func (t *target) Status(ctx context.Context, req sdk.StatusRequest) (sdk.Status, error) {
	f, j, err := t.state()
	if err != nil {
		return sdk.Status{}, err
	}
	f.inUse(req.Target)
	f.refreshHealth(ctx, req.Target)
	t.mu.Lock()
	startedAt := t.startedAt
	t.mu.Unlock()
	return sdk.Status{
		Services:    f.status(req.Target, j.lastChanges(), startedAt),
		AppliedKeys: j.appliedKeys(),
	}, nil
}
