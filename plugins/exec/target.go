package main

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/plugins/internal/runner"
	"github.com/warroom/warroom/plugins/sdk"
)

// stepVars are the variables every command gets, empty when its phase
// does not carry them.
var stepVars = []string{
	"WARROOM_SERVICE", "WARROOM_ENVIRONMENT", "WARROOM_REGION", "WARROOM_VERSION",
	"WARROOM_FROM_VERSION", "WARROOM_ARTIFACT_DIGEST", "WARROOM_ARTIFACT_REF",
	"WARROOM_STRATEGY", "WARROOM_BATCH_SIZE", "WARROOM_INSTANCES", "WARROOM_SERVICE_KIND",
	"WARROOM_RUN_ID", "WARROOM_STEP", "WARROOM_ATTEMPT", "WARROOM_IDEMPOTENCY_KEY",
	"WARROOM_WEIGHTS", "WARROOM_REASON", "WARROOM_CHECKS",
}

// target is the exec deploy target.
type target struct {
	mu         sync.Mutex
	configured bool
	cfg        config
	journal    *runner.Journal

	// killGrace is the time between SIGTERM and SIGKILL; zero means
	// runner.DefaultKillGrace.
	killGrace time.Duration
	// now is the clock of events and journal entries; nil means time.Now.
	now func() time.Time
}

var _ sdk.DeployTarget = (*target)(nil)

func (t *target) clock() time.Time {
	if t.now != nil {
		return t.now().UTC()
	}
	return time.Now().UTC()
}

// state returns the configuration and journal, or an error before
// Configure.
func (t *target) state() (config, *runner.Journal, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.configured {
		return config{}, nil, sdk.Errorf(sdk.CodeFailedPrecondition, "exec: not configured yet")
	}
	return t.cfg, t.journal, nil
}

// env builds a command's whole environment.
func env(c config, phase string, vars map[string]string, settings map[string]string) []string {
	m := map[string]string{
		"WARROOM_PHASE":     phase,
		"WARROOM_STATE_DIR": c.stateDir,
	}
	for _, name := range stepVars {
		m[name] = ""
	}
	for k, v := range vars {
		m[k] = v
	}
	for k, v := range settings {
		m["WARROOM_SETTING_"+envName(k)] = v
	}
	return runner.Environ(c.workdir, m)
}

// run runs a phase's command.
func (t *target) run(ctx context.Context, c config, phase string, environ []string, onLine func(string), keepStdout bool) (runner.Result, error) {
	return runner.Run(ctx, runner.Command{
		Name:       phase + " command",
		Path:       c.shell,
		Args:       []string{"-c", c.commands[phase]},
		Dir:        c.workdir,
		Env:        environ,
		Timeout:    c.timeout,
		KillGrace:  t.killGrace,
		OnLine:     onLine,
		KeepStdout: keepStdout,
	})
}

// envName turns a setting name into the tail of a variable name.
func envName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z':
			return r - 'a' + 'A'
		case r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			return r
		}
		return '_'
	}, s)
}

func targetVars(tg sdk.Target) map[string]string {
	return map[string]string{
		"WARROOM_SERVICE":     tg.Service,
		"WARROOM_ENVIRONMENT": tg.Environment,
		"WARROOM_REGION":      tg.Region,
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// Describe reports what the target can do; traffic shifting depends on a
// set_traffic command.
func (t *target) Describe(ctx context.Context) (sdk.Capabilities, error) {
	t.mu.Lock()
	_, shifting := t.cfg.commands[phaseSetTraffic]
	t.mu.Unlock()
	return sdk.Capabilities{
		Strategies:      []string{"rolling", "blue-green", "canary"},
		TrafficShifting: shifting,
		Stateful:        true,
		Status:          true,
	}, nil
}

// Preflight runs the preflight command.
func (t *target) Preflight(ctx context.Context, req sdk.PreflightRequest) ([]sdk.Check, error) {
	c, _, err := t.state()
	if err != nil {
		return nil, err
	}
	vars := targetVars(req.Target)
	vars["WARROOM_VERSION"] = req.Version
	vars["WARROOM_ARTIFACT_DIGEST"] = req.Artifact.Digest
	vars["WARROOM_ARTIFACT_REF"] = req.Artifact.Ref
	vars["WARROOM_STRATEGY"] = req.Strategy
	return t.checks(ctx, c, phasePreflight, env(c, phasePreflight, vars, req.Settings))
}

// Verify runs the verify command.
func (t *target) Verify(ctx context.Context, req sdk.VerifyRequest) ([]sdk.Check, error) {
	c, _, err := t.state()
	if err != nil {
		return nil, err
	}
	vars := targetVars(req.Target)
	vars["WARROOM_VERSION"] = req.Version
	vars["WARROOM_CHECKS"] = strings.Join(req.Checks, ",")
	return t.checks(ctx, c, phaseVerify, env(c, phaseVerify, vars, req.Settings))
}

// checks runs a preflight or verify command and turns its outcome and
// ::check lines into checks.
func (t *target) checks(ctx context.Context, c config, phase string, environ []string) ([]sdk.Check, error) {
	if _, ok := c.commands[phase]; !ok {
		return []sdk.Check{{
			Name:    phase,
			Passed:  true,
			Message: fmt.Sprintf("no %s command configured; nothing checked", phase),
		}}, nil
	}
	var checks []sdk.Check
	last := time.Now()
	res, err := t.run(ctx, c, phase, environ, func(line string) {
		chk, ok := parseCheck(line)
		if !ok {
			return
		}
		now := time.Now()
		chk.Duration, last = now.Sub(last), now
		checks = append(checks, chk)
	}, false)
	if err != nil {
		return nil, err
	}
	evidence := map[string]string{"exit_code": itoa(res.ExitCode)}
	if len(checks) > 0 {
		if !res.OK() {
			checks = append(checks, sdk.Check{
				Name: phase, Passed: false, Message: res.Failure(),
				Duration: res.Duration, Evidence: evidence,
			})
		}
		return checks, nil
	}
	chk := sdk.Check{Name: phase, Passed: res.OK(), Duration: res.Duration, Evidence: evidence}
	if res.OK() {
		chk.Message = res.LastLine
	} else {
		chk.Message = res.Failure()
	}
	return []sdk.Check{chk}, nil
}

// parseCheck reads a `::check NAME pass|fail [MESSAGE]` line. A line
// that starts like one but is malformed is a failed check, so that a typo
// cannot pass silently.
func parseCheck(line string) (sdk.Check, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), "::check")
	if !ok || (rest != "" && rest[0] != ' ' && rest[0] != '\t') {
		return sdk.Check{}, false
	}
	f := strings.Fields(rest)
	if len(f) >= 2 {
		var passed, valid bool
		switch strings.ToLower(f[1]) {
		case "pass":
			passed, valid = true, true
		case "fail":
			valid = true
		}
		if valid {
			return sdk.Check{Name: f[0], Passed: passed, Message: restAfter(rest, 2)}, true
		}
	}
	name := "malformed-check"
	if len(f) > 0 {
		name = f[0]
	}
	return sdk.Check{Name: name, Passed: false,
		Message: fmt.Sprintf("malformed line %q: want ::check NAME pass|fail MESSAGE", line)}, true
}

// restAfter returns s without its first n fields, spacing kept.
func restAfter(s string, n int) string {
	s = strings.TrimLeft(s, " \t")
	for range n {
		i := strings.IndexAny(s, " \t")
		if i < 0 {
			return ""
		}
		s = strings.TrimLeft(s[i:], " \t")
	}
	return s
}

// Deploy runs the deploy command, streaming its stdout as events.
func (t *target) Deploy(ctx context.Context, req sdk.DeployRequest, events sdk.EventSink) error {
	if req.Target.Service == "" || req.Version == "" {
		return sdk.Errorf(sdk.CodeInvalid, "exec: deploy needs a service and a version")
	}
	vars := targetVars(req.Target)
	vars["WARROOM_VERSION"] = req.Version
	vars["WARROOM_FROM_VERSION"] = req.FromVersion
	vars["WARROOM_ARTIFACT_DIGEST"] = req.Artifact.Digest
	vars["WARROOM_ARTIFACT_REF"] = req.Artifact.Ref
	vars["WARROOM_STRATEGY"] = req.Strategy
	vars["WARROOM_BATCH_SIZE"] = itoa(req.BatchSize)
	vars["WARROOM_INSTANCES"] = itoa(req.Instances)
	vars["WARROOM_SERVICE_KIND"] = req.ServiceKind
	vars["WARROOM_RUN_ID"] = req.RunID
	vars["WARROOM_STEP"] = itoa(req.Step)
	vars["WARROOM_ATTEMPT"] = itoa(req.Attempt)
	vars["WARROOM_IDEMPOTENCY_KEY"] = req.IdempotencyKey
	return t.change(ctx, change{
		op: phaseDeploy, key: req.IdempotencyKey, target: req.Target, version: req.Version,
		vars: vars, settings: req.Settings, instances: req.Instances,
	}, events)
}

// Rollback runs the rollback command, streaming its stdout as events.
func (t *target) Rollback(ctx context.Context, req sdk.RollbackRequest, events sdk.EventSink) error {
	if req.Target.Service == "" {
		return sdk.Errorf(sdk.CodeInvalid, "exec: rollback needs a service")
	}
	vars := targetVars(req.Target)
	vars["WARROOM_VERSION"] = req.ToVersion
	vars["WARROOM_FROM_VERSION"] = req.FromVersion
	vars["WARROOM_REASON"] = req.Reason
	vars["WARROOM_RUN_ID"] = req.RunID
	vars["WARROOM_STEP"] = itoa(req.Step)
	vars["WARROOM_IDEMPOTENCY_KEY"] = req.IdempotencyKey
	return t.change(ctx, change{
		op: phaseRollback, key: req.IdempotencyKey, target: req.Target, version: req.ToVersion, vars: vars,
	}, events)
}

// change is a deploy or a rollback.
type change struct {
	op        string
	key       string
	target    sdk.Target
	version   string
	vars      map[string]string
	settings  map[string]string
	instances int
}

func (t *target) change(ctx context.Context, ch change, events sdk.EventSink) error {
	c, j, err := t.state()
	if err != nil {
		return err
	}
	if _, ok := c.commands[ch.op]; !ok {
		// The SDK turns the error into the final done+failed event.
		return sdk.Errorf(sdk.CodeInvalid, "exec: no %s command configured: set the %s setting in the plugin config", ch.op, ch.op)
	}
	call := runner.Call{Op: ch.op, Key: ch.key, Target: ch.target, Version: ch.version, Now: t.clock}
	prev, replayed, err := j.Do(call, func() (string, error) {
		ev := sdk.DeployEvent{Phase: ch.op, InstancesTotal: ch.instances}
		var sendErr error
		send := func(e sdk.DeployEvent) {
			if sendErr != nil {
				return // the stream is gone; the context ends the command
			}
			e.At = t.clock()
			sendErr = events.Send(e)
		}
		send(sdk.DeployEvent{Phase: ch.op, Message: ch.op + " command started", InstancesTotal: ch.instances})
		res, err := t.run(ctx, c, ch.op, env(c, ch.op, ch.vars, ch.settings), func(line string) {
			e := ev
			e.Message = applyDirective(&ev, line)
			e.Phase, e.Percent = ev.Phase, ev.Percent
			send(e)
		}, false)
		if err != nil {
			// Cancelled or never started: the key stays "started", so a
			// repeated call runs the command again.
			return "", err
		}
		if !res.OK() {
			return res.Failure(), nil
		}
		return "", nil
	})
	if replayed {
		ev := runner.ReplayEvent(prev)
		ev.At = t.clock()
		if sendErr := events.Send(ev); err == nil {
			err = sendErr
		}
	}
	if err != nil {
		return fmt.Errorf("exec: %w", err)
	}
	return nil
}

// applyDirective applies a ::progress or ::phase line to the running
// event and returns the message to show.
func applyDirective(ev *sdk.DeployEvent, line string) string {
	trimmed := strings.TrimSpace(line)
	f := strings.Fields(trimmed)
	if len(f) < 2 {
		return line
	}
	switch f[0] {
	case "::progress":
		p, err := strconv.Atoi(strings.TrimSuffix(f[1], "%"))
		if err != nil {
			return line
		}
		ev.Percent = min(max(p, 0), 100)
		return restAfter(trimmed, 2)
	case "::phase":
		ev.Phase = f[1]
		return restAfter(trimmed, 2)
	}
	return line
}

// SetTraffic runs the set_traffic command.
func (t *target) SetTraffic(ctx context.Context, req sdk.SetTrafficRequest) ([]sdk.TrafficWeight, error) {
	c, j, err := t.state()
	if err != nil {
		return nil, err
	}
	if _, ok := c.commands[phaseSetTraffic]; !ok {
		return nil, sdk.Errorf(sdk.CodeUnimplemented, "exec: no set_traffic command configured, so this target does not shift traffic")
	}
	if err := runner.ValidateWeights(req.Weights); err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	parts := make([]string, len(req.Weights))
	for i, w := range req.Weights {
		parts[i] = fmt.Sprintf("%s=%d", w.Version, w.Percent)
	}
	vars := targetVars(req.Target)
	vars["WARROOM_WEIGHTS"] = strings.Join(parts, ",")
	vars["WARROOM_IDEMPOTENCY_KEY"] = req.IdempotencyKey

	call := runner.Call{Op: phaseSetTraffic, Key: req.IdempotencyKey, Target: req.Target, Weights: req.Weights, Now: t.clock}
	prev, replayed, err := j.Do(call, func() (string, error) {
		res, err := t.run(ctx, c, phaseSetTraffic, env(c, phaseSetTraffic, vars, nil), nil, false)
		if err != nil {
			return "", err
		}
		if !res.OK() {
			return res.Failure(), nil
		}
		return "", nil
	})
	if err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	if replayed {
		return slices.Clone(prev.Weights), nil
	}
	return slices.Clone(req.Weights), nil
}

// Status runs the status command, or reports the journal's knowledge
// without one. Applied keys always come from the journal too.
func (t *target) Status(ctx context.Context, req sdk.StatusRequest) (sdk.Status, error) {
	c, j, err := t.state()
	if err != nil {
		return sdk.Status{}, err
	}
	if _, ok := c.commands[phaseStatus]; !ok {
		return sdk.Status{Services: j.Services(req.Target, journalOrigin), AppliedKeys: j.AppliedKeys()}, nil
	}
	res, err := t.run(ctx, c, phaseStatus, env(c, phaseStatus, targetVars(req.Target), nil), nil, true)
	if err != nil {
		return sdk.Status{}, fmt.Errorf("exec: %w", err)
	}
	if !res.OK() {
		return sdk.Status{}, sdk.Errorf(sdk.CodeUnavailable, "exec: %s", res.Failure())
	}
	if res.StdoutCut {
		return sdk.Status{}, sdk.Errorf(sdk.CodeInternal, "exec: status command printed more than %d bytes", runner.MaxStdout)
	}
	if len(bytes.TrimSpace(res.Stdout)) == 0 {
		return sdk.Status{}, sdk.Errorf(sdk.CodeInternal, "exec: status command printed nothing; it must print JSON in the shape of sdk.Status")
	}
	st, err := runner.DecodeStatus(res.Stdout, req.Target)
	if err != nil {
		return sdk.Status{}, sdk.Errorf(sdk.CodeInternal, "exec: status command output: %v", err)
	}
	st.AppliedKeys = runner.MergeKeys(st.AppliedKeys, j.AppliedKeys())
	return st, nil
}
