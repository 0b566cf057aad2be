package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

// minimalPath is the PATH of every command: the host's own PATH is not
// passed on, so a command behaves the same whoever started warroom.
const minimalPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

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
	journal    *journal
	inflight   map[string]bool // idempotency keys of calls running now

	// killGrace is the time between SIGTERM and SIGKILL; zero means
	// defaultKillGrace.
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

func (t *target) grace() time.Duration {
	if t.killGrace > 0 {
		return t.killGrace
	}
	return defaultKillGrace
}

// state returns the configuration and journal, or an error before
// Configure.
func (t *target) state() (config, *journal, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.configured {
		return config{}, nil, sdk.Errorf(sdk.CodeFailedPrecondition, "exec: not configured yet")
	}
	return t.cfg, t.journal, nil
}

// claim marks a key as running in this process; two calls with one key
// at once would both see it unapplied and both run the command.
func (t *target) claim(op, key string) (release func(), err error) {
	if key == "" {
		return func() {}, nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.inflight[key] {
		return nil, sdk.Errorf(sdk.CodeFailedPrecondition,
			"exec: a %s with idempotency key %q is running now; wait for it to end", op, key)
	}
	if t.inflight == nil {
		t.inflight = map[string]bool{}
	}
	t.inflight[key] = true
	return func() {
		t.mu.Lock()
		delete(t.inflight, key)
		t.mu.Unlock()
	}, nil
}

// replayable returns the completed journal entry of a key, if any. A key
// recorded for another operation is a caller's mistake.
func replayable(j *journal, op, key string) (entry, bool, error) {
	if key == "" {
		return entry{}, false, nil
	}
	e, ok := j.lookup(key)
	if !ok || e.State == keyStarted {
		return entry{}, false, nil
	}
	if e.Op != op {
		return entry{}, false, sdk.Errorf(sdk.CodeInvalid,
			"exec: idempotency key %q was used for a %s, not a %s", key, e.Op, op)
	}
	return e, true, nil
}

// env builds a command's whole environment.
func env(c config, phase string, vars map[string]string, settings map[string]string) []string {
	home := os.Getenv("HOME")
	if home == "" {
		home = c.workdir
	}
	m := map[string]string{
		"PATH":              minimalPath,
		"HOME":              home,
		"LANG":              "C.UTF-8",
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
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
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
	command, ok := c.commands[phase]
	if !ok {
		return []sdk.Check{{
			Name:    phase,
			Passed:  true,
			Message: fmt.Sprintf("no %s command configured; nothing checked", phase),
		}}, nil
	}
	var checks []sdk.Check
	last := time.Now()
	res, err := runCommand(ctx, c, t.grace(), runSpec{
		phase:   phase,
		command: command,
		env:     environ,
		onLine: func(line string) {
			chk, ok := parseCheck(line)
			if !ok {
				return
			}
			now := time.Now()
			chk.Duration, last = now.Sub(last), now
			checks = append(checks, chk)
		},
	})
	if err != nil {
		return nil, err
	}
	evidence := map[string]string{"exit_code": itoa(res.exitCode)}
	if len(checks) > 0 {
		if !res.ok() {
			checks = append(checks, sdk.Check{
				Name: phase, Passed: false, Message: res.failure(phase, c.timeout),
				Duration: res.duration, Evidence: evidence,
			})
		}
		return checks, nil
	}
	chk := sdk.Check{Name: phase, Passed: res.ok(), Duration: res.duration, Evidence: evidence}
	if res.ok() {
		chk.Message = res.lastLine
	} else {
		chk.Message = res.failure(phase, c.timeout)
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
	command, ok := c.commands[ch.op]
	if !ok {
		// The SDK turns the error into the final done+failed event.
		return sdk.Errorf(sdk.CodeInvalid, "exec: no %s command configured: set the %s setting in the plugin config", ch.op, ch.op)
	}
	release, err := t.claim(ch.op, ch.key)
	if err != nil {
		return err
	}
	defer release()
	if e, ok, err := replayable(j, ch.op, ch.key); err != nil {
		return err
	} else if ok {
		return t.replay(e, events)
	}

	rec := entry{
		Key: ch.key, Op: ch.op, State: keyStarted, Service: ch.target.Service,
		Environment: ch.target.Environment, Region: ch.target.Region, Version: ch.version,
	}
	rec.At = t.clock()
	if err := j.record(rec); err != nil {
		return fmt.Errorf("exec: %s not started: %w", ch.op, err)
	}

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
	res, err := runCommand(ctx, c, t.grace(), runSpec{
		phase:   ch.op,
		command: command,
		env:     env(c, ch.op, ch.vars, ch.settings),
		onLine: func(line string) {
			e := ev
			e.Message = applyDirective(&ev, line)
			e.Phase, e.Percent = ev.Phase, ev.Percent
			send(e)
		},
	})
	if err != nil {
		// Cancelled or never started: the key stays "started", so a
		// repeated call runs the command again.
		return fmt.Errorf("exec: %w", err)
	}
	rec.At = t.clock()
	if !res.ok() {
		msg := res.failure(ch.op, c.timeout)
		rec.State, rec.Message = keyFailed, msg
		if err := j.record(rec); err != nil {
			return fmt.Errorf("exec: %s; and the journal: %w", msg, err)
		}
		return sdk.Errorf(sdk.CodeInternal, "exec: %s", msg)
	}
	rec.State = keyDone
	if err := j.record(rec); err != nil {
		return fmt.Errorf("exec: the %s command succeeded but its outcome could not be recorded: %w", ch.op, err)
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

// replay reports a completed key instead of running the command again.
func (t *target) replay(e entry, events sdk.EventSink) error {
	at := e.At.UTC().Format(time.RFC3339)
	if e.State == keyFailed {
		// The event says Replayed, which an error alone cannot; the error
		// keeps the outcome plain to a direct caller.
		msg := fmt.Sprintf("already attempted with idempotency key %q at %s and it failed; not run again: %s", e.Key, at, e.Message)
		events.Send(sdk.DeployEvent{At: t.clock(), Phase: e.Op, Message: msg, Done: true, Failed: true, Replayed: true})
		return sdk.Errorf(sdk.CodeInternal, "exec: %s", msg)
	}
	msg := fmt.Sprintf("already applied with idempotency key %q at %s (%s %s); not run again", e.Key, at, e.Service, e.Version)
	return events.Send(sdk.DeployEvent{At: t.clock(), Phase: e.Op, Message: msg, Percent: 100, Done: true, Replayed: true})
}

// SetTraffic runs the set_traffic command.
func (t *target) SetTraffic(ctx context.Context, req sdk.SetTrafficRequest) ([]sdk.TrafficWeight, error) {
	c, j, err := t.state()
	if err != nil {
		return nil, err
	}
	command, ok := c.commands[phaseSetTraffic]
	if !ok {
		return nil, sdk.Errorf(sdk.CodeUnimplemented, "exec: no set_traffic command configured, so this target does not shift traffic")
	}
	if err := validateWeights(req.Weights); err != nil {
		return nil, err
	}
	release, err := t.claim(phaseSetTraffic, req.IdempotencyKey)
	if err != nil {
		return nil, err
	}
	defer release()
	if e, ok, err := replayable(j, phaseSetTraffic, req.IdempotencyKey); err != nil {
		return nil, err
	} else if ok {
		if e.State == keyFailed {
			return nil, sdk.Errorf(sdk.CodeInternal,
				"exec: already attempted with idempotency key %q at %s and it failed; not run again: %s",
				e.Key, e.At.UTC().Format(time.RFC3339), e.Message)
		}
		return slices.Clone(e.Weights), nil
	}

	parts := make([]string, len(req.Weights))
	for i, w := range req.Weights {
		parts[i] = fmt.Sprintf("%s=%d", w.Version, w.Percent)
	}
	vars := targetVars(req.Target)
	vars["WARROOM_WEIGHTS"] = strings.Join(parts, ",")
	vars["WARROOM_IDEMPOTENCY_KEY"] = req.IdempotencyKey

	rec := entry{
		Key: req.IdempotencyKey, Op: phaseSetTraffic, State: keyStarted, At: t.clock(),
		Service: req.Target.Service, Environment: req.Target.Environment, Region: req.Target.Region,
		Weights: slices.Clone(req.Weights),
	}
	if err := j.record(rec); err != nil {
		return nil, fmt.Errorf("exec: set_traffic not started: %w", err)
	}
	res, err := runCommand(ctx, c, t.grace(), runSpec{
		phase: phaseSetTraffic, command: command, env: env(c, phaseSetTraffic, vars, nil),
	})
	if err != nil {
		return nil, fmt.Errorf("exec: %w", err)
	}
	rec.At = t.clock()
	if !res.ok() {
		msg := res.failure(phaseSetTraffic, c.timeout)
		rec.State, rec.Message = keyFailed, msg
		if err := j.record(rec); err != nil {
			return nil, fmt.Errorf("exec: %s; and the journal: %w", msg, err)
		}
		return nil, sdk.Errorf(sdk.CodeInternal, "exec: %s", msg)
	}
	rec.State = keyDone
	if err := j.record(rec); err != nil {
		return nil, fmt.Errorf("exec: the set_traffic command succeeded but its outcome could not be recorded: %w", err)
	}
	return slices.Clone(req.Weights), nil
}

// validateWeights checks a traffic split: distinct versions, each share
// 0..100, summing to 100.
func validateWeights(ws []sdk.TrafficWeight) error {
	if len(ws) == 0 {
		return sdk.Errorf(sdk.CodeInvalid, "exec: set_traffic: no weights given")
	}
	seen := map[string]bool{}
	sum := 0
	for _, w := range ws {
		switch {
		case w.Version == "":
			return sdk.Errorf(sdk.CodeInvalid, "exec: set_traffic: a weight has no version")
		case strings.ContainsAny(w.Version, "=,"):
			return sdk.Errorf(sdk.CodeInvalid, "exec: set_traffic: version %q contains '=' or ','", w.Version)
		case w.Percent < 0 || w.Percent > 100:
			return sdk.Errorf(sdk.CodeInvalid, "exec: set_traffic: weight %d of %s is outside 0..100", w.Percent, w.Version)
		case seen[w.Version]:
			return sdk.Errorf(sdk.CodeInvalid, "exec: set_traffic: version %s appears twice", w.Version)
		}
		seen[w.Version] = true
		sum += w.Percent
	}
	if sum != 100 {
		return sdk.Errorf(sdk.CodeInvalid, "exec: set_traffic: weights sum to %d, not 100", sum)
	}
	return nil
}

// Status runs the status command, or reports the journal's knowledge
// without one. Applied keys always come from the journal too.
func (t *target) Status(ctx context.Context, req sdk.StatusRequest) (sdk.Status, error) {
	c, j, err := t.state()
	if err != nil {
		return sdk.Status{}, err
	}
	command, ok := c.commands[phaseStatus]
	if !ok {
		return sdk.Status{Services: j.status(req.Target), AppliedKeys: j.appliedKeys()}, nil
	}
	res, err := runCommand(ctx, c, t.grace(), runSpec{
		phase: phaseStatus, command: command, env: env(c, phaseStatus, targetVars(req.Target), nil),
		keepStdout: true,
	})
	if err != nil {
		return sdk.Status{}, fmt.Errorf("exec: %w", err)
	}
	if !res.ok() {
		return sdk.Status{}, sdk.Errorf(sdk.CodeUnavailable, "exec: %s", res.failure(phaseStatus, c.timeout))
	}
	if res.stdoutCut {
		return sdk.Status{}, sdk.Errorf(sdk.CodeInternal, "exec: status command printed more than %d bytes", maxStdoutBytes)
	}
	st, err := parseStatus(res.stdout, req.Target)
	if err != nil {
		return sdk.Status{}, err
	}
	st.AppliedKeys = mergeKeys(st.AppliedKeys, j.appliedKeys())
	return st, nil
}

// parseStatus reads a status command's JSON, strictly.
func parseStatus(out []byte, req sdk.Target) (sdk.Status, error) {
	var st sdk.Status
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&st); err != nil {
		if errors.Is(err, io.EOF) {
			return sdk.Status{}, sdk.Errorf(sdk.CodeInternal, "exec: status command printed nothing; it must print JSON in the shape of sdk.Status")
		}
		return sdk.Status{}, sdk.Errorf(sdk.CodeInternal, "exec: status command output is not valid status JSON: %v", err)
	}
	if dec.More() {
		return sdk.Status{}, sdk.Errorf(sdk.CodeInternal, "exec: status command printed more than one JSON document")
	}
	for i := range st.Services {
		s := &st.Services[i]
		if s.Target.Service == "" {
			return sdk.Status{}, sdk.Errorf(sdk.CodeInternal, "exec: status command output: services[%d] has no target.service", i)
		}
		if s.Target.Environment == "" {
			s.Target.Environment = req.Environment
		}
		if s.Target.Region == "" {
			s.Target.Region = req.Region
		}
	}
	return st, nil
}

// mergeKeys returns a's keys then b's not in a.
func mergeKeys(a, b []string) []string {
	seen := make(map[string]bool, len(a)+len(b))
	var out []string
	for _, k := range slices.Concat(a, b) {
		if k != "" && !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out
}
