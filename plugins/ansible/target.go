package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/plugins/internal/runner"
	"github.com/warroom/warroom/plugins/sdk"
)

// target is the ansible deploy target.
type target struct {
	mu         sync.Mutex
	configured bool
	cfg        config
	journal    *runner.Journal

	// killGrace is the time between SIGTERM and SIGKILL; zero means
	// runner.DefaultKillGrace.
	killGrace time.Duration
}

var _ sdk.DeployTarget = (*target)(nil)

func clock() time.Time { return time.Now().UTC() }

// state returns the configuration and journal, or an error before
// Configure.
func (t *target) state() (config, *runner.Journal, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !t.configured {
		return config{}, nil, sdk.Errorf(sdk.CodeFailedPrecondition, "ansible: not configured yet")
	}
	return t.cfg, t.journal, nil
}

// outcome is how one ansible-playbook run went.
type outcome struct {
	playbook string
	res      runner.Result
	tr       *tracker
}

// failure says why the run failed, or "" when it succeeded: the failing
// task, its host and message, and the recap's counts when a task failed;
// the exit code and the stderr tail otherwise (a playbook that does not
// parse, say).
func (o outcome) failure() string {
	if o.res.OK() {
		return ""
	}
	if o.res.TimedOut {
		if cur := o.tr.current(); cur != nil {
			return fmt.Sprintf("ansible task %q timed out: %s", cur.name, o.res.Failure())
		}
		return o.res.Failure()
	}
	f := o.tr.final()
	if f == nil {
		return o.res.Failure()
	}
	msg := fmt.Sprintf("ansible task %q %s", f.task.name, f.describe())
	if r := o.tr.recapSummary(); r != "" {
		msg += " (play recap: " + r + ")"
	}
	return msg
}

// run runs the playbook of a phase with the given extra vars. onUpdate,
// if set, receives each line of progress. statusFile, if set, receives
// the path given to the playbook as warroom_status_file; the file is
// removed when run returns, so read it in onDone.
func (t *target) run(ctx context.Context, c config, phase string, vars map[string]any,
	onUpdate func(update), onDone func(o outcome, statusFile string) error) (outcome, error) {
	playbook := c.playbooks[phase]
	varsPath, statusPath, cleanup, err := callFiles(c, phase)
	if err != nil {
		return outcome{}, fmt.Errorf("%s: extra vars file: %w", phase, err)
	}
	defer cleanup()
	if phase == phaseStatus {
		vars["warroom_status_file"] = statusPath
	}
	if err := writeVars(varsPath, c, vars); err != nil {
		return outcome{}, fmt.Errorf("%s: extra vars file: %w", phase, err)
	}
	tr := newTracker()
	res, err := runner.Run(ctx, runner.Command{
		Name:      "ansible-playbook",
		Path:      c.binary,
		Args:      []string{"-i", c.inventory, playbook, "--extra-vars", "@" + varsPath},
		Dir:       c.workdir,
		Env:       c.environ(),
		Timeout:   c.timeout,
		KillGrace: t.killGrace,
		OnLine: func(line string) {
			u, ok := tr.line(line)
			if ok && onUpdate != nil {
				onUpdate(u)
			}
		},
	})
	if err != nil {
		return outcome{}, err
	}
	o := outcome{playbook: playbook, res: res, tr: tr}
	if onDone != nil {
		return o, onDone(o, statusPath)
	}
	return o, nil
}

// Describe reports what the target can do; traffic shifting depends on a
// playbook for set_traffic.
func (t *target) Describe(ctx context.Context) (sdk.Capabilities, error) {
	t.mu.Lock()
	_, shifting := t.cfg.playbooks[phaseSetTraffic]
	t.mu.Unlock()
	return sdk.Capabilities{
		Strategies:      []string{"rolling", "blue-green", "canary"},
		TrafficShifting: shifting,
		Stateful:        true,
		Status:          true,
	}, nil
}

// Preflight runs the preflight playbook; each task that ran is a check.
func (t *target) Preflight(ctx context.Context, req sdk.PreflightRequest) ([]sdk.Check, error) {
	c, _, err := t.state()
	if err != nil {
		return nil, err
	}
	vars := baseVars(c, phasePreflight, req.Target)
	vars["warroom_version"] = req.Version
	vars["warroom_artifact_digest"] = req.Artifact.Digest
	vars["warroom_artifact_ref"] = req.Artifact.Ref
	vars["warroom_strategy"] = req.Strategy
	vars["warroom_settings"] = settingsVar(req.Settings)
	return t.checks(ctx, c, phasePreflight, vars)
}

// Verify runs the verify playbook; each task that ran is a check.
func (t *target) Verify(ctx context.Context, req sdk.VerifyRequest) ([]sdk.Check, error) {
	c, _, err := t.state()
	if err != nil {
		return nil, err
	}
	vars := baseVars(c, phaseVerify, req.Target)
	vars["warroom_version"] = req.Version
	vars["warroom_checks"] = stringsVar(req.Checks)
	vars["warroom_settings"] = settingsVar(req.Settings)
	return t.checks(ctx, c, phaseVerify, vars)
}

// checks runs a preflight or verify playbook and turns its tasks into
// checks.
func (t *target) checks(ctx context.Context, c config, phase string, vars map[string]any) ([]sdk.Check, error) {
	if _, ok := c.playbooks[phase]; !ok {
		return []sdk.Check{{
			Name:    phase,
			Passed:  true,
			Message: fmt.Sprintf("no %s playbook configured; nothing checked", phase),
		}}, nil
	}
	o, err := t.run(ctx, c, phase, vars, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("ansible: %w", err)
	}
	return o.checks(), nil
}

// checks turns a run into checks: one per task that ran (not skipped on
// every host), named after the task. A task that failed the run is a
// failed check; one whose failure was ignored or rescued passes and says
// so. A run that failed without a failed task (a playbook that does not
// parse, a timeout) adds a failed check; a run in which no task ran is
// one passed check named after the playbook.
func (o outcome) checks() []sdk.Check {
	var checks []sdk.Check
	var failedTask bool
	cur := o.tr.current()
	end := time.Now()
	for _, tk := range o.tr.tasks {
		timedOut := o.res.TimedOut && tk == cur
		if !tk.ran && !timedOut {
			continue
		}
		ended := tk.ended
		if ended.IsZero() {
			ended = end
		}
		chk := sdk.Check{Name: tk.name, Passed: true, Duration: ended.Sub(tk.started)}
		failed, tolerated := o.tr.failuresOf(tk)
		switch {
		case timedOut:
			chk.Passed, chk.Message = false, o.failure()
		case len(failed) > 0:
			chk.Passed = false
			chk.Message = describeAll(failed)
		case len(tolerated) > 0:
			chk.Message = describeAll(tolerated) + " (" + toleratedHow(tolerated) + ")"
		case tk.lastMsg != "":
			chk.Message = tk.lastMsg
		default:
			chk.Message = "ok on " + strings.Join(slices.Compact(slices.Clone(tk.hosts)), ", ")
		}
		failedTask = failedTask || !chk.Passed
		checks = append(checks, chk)
	}
	name := filepath.Base(o.playbook)
	switch {
	case !o.res.OK() && !failedTask:
		checks = append(checks, sdk.Check{Name: name, Passed: false, Message: o.failure(), Duration: o.res.Duration,
			Evidence: map[string]string{"exit_code": strconv.Itoa(o.res.ExitCode)}})
	case len(checks) == 0:
		checks = append(checks, sdk.Check{Name: name, Passed: true, Message: "no task ran", Duration: o.res.Duration})
	}
	return checks
}

func describeAll(fs []*failure) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = f.describe()
	}
	return strings.Join(parts, "; ")
}

func toleratedHow(fs []*failure) string {
	if fs[len(fs)-1].ignored {
		return "ignored"
	}
	return "rescued"
}

// Deploy runs the deploy playbook, streaming its tasks as events.
func (t *target) Deploy(ctx context.Context, req sdk.DeployRequest, events sdk.EventSink) error {
	if req.Target.Service == "" || req.Version == "" {
		return sdk.Errorf(sdk.CodeInvalid, "ansible: deploy needs a service and a version")
	}
	c, _, err := t.state()
	if err != nil {
		return err
	}
	vars := baseVars(c, phaseDeploy, req.Target)
	vars["warroom_version"] = req.Version
	vars["warroom_from_version"] = req.FromVersion
	vars["warroom_artifact_digest"] = req.Artifact.Digest
	vars["warroom_artifact_ref"] = req.Artifact.Ref
	vars["warroom_strategy"] = req.Strategy
	vars["warroom_batch_size"] = req.BatchSize
	vars["warroom_instances"] = req.Instances
	vars["warroom_service_kind"] = req.ServiceKind
	vars["warroom_run_id"] = req.RunID
	vars["warroom_step"] = req.Step
	vars["warroom_attempt"] = req.Attempt
	vars["warroom_idempotency_key"] = req.IdempotencyKey
	vars["warroom_settings"] = settingsVar(req.Settings)
	return t.change(ctx, runner.Call{Op: phaseDeploy, Key: req.IdempotencyKey, Target: req.Target, Version: req.Version},
		vars, req.Instances, events)
}

// Rollback runs the rollback playbook, streaming its tasks as events.
func (t *target) Rollback(ctx context.Context, req sdk.RollbackRequest, events sdk.EventSink) error {
	if req.Target.Service == "" {
		return sdk.Errorf(sdk.CodeInvalid, "ansible: rollback needs a service")
	}
	c, _, err := t.state()
	if err != nil {
		return err
	}
	vars := baseVars(c, phaseRollback, req.Target)
	vars["warroom_version"] = req.ToVersion
	vars["warroom_from_version"] = req.FromVersion
	vars["warroom_reason"] = req.Reason
	vars["warroom_run_id"] = req.RunID
	vars["warroom_step"] = req.Step
	vars["warroom_idempotency_key"] = req.IdempotencyKey
	return t.change(ctx, runner.Call{Op: phaseRollback, Key: req.IdempotencyKey, Target: req.Target, Version: req.ToVersion},
		vars, 0, events)
}

// change runs a deploy or rollback once per idempotency key.
func (t *target) change(ctx context.Context, call runner.Call, vars map[string]any, instances int, events sdk.EventSink) error {
	c, j, err := t.state()
	if err != nil {
		return err
	}
	op := call.Op
	if _, ok := c.playbooks[op]; !ok {
		// The SDK turns the error into the final done+failed event.
		return sdk.Errorf(sdk.CodeInvalid, "ansible: no %s playbook configured: set playbook or %s_playbook in the plugin config", op, op)
	}
	call.Now = clock
	var ranAndFailed bool
	prev, replayed, err := j.Do(call, func() (string, error) {
		var sendErr error
		send := func(e sdk.DeployEvent) {
			if sendErr != nil {
				return // the stream is gone; the context ends the run
			}
			e.At, e.InstancesTotal = clock(), instances
			sendErr = events.Send(e)
		}
		send(sdk.DeployEvent{Phase: op, Message: "ansible-playbook " + filepath.Base(c.playbooks[op]) + " started"})
		o, err := t.run(ctx, c, op, vars, func(u update) {
			phase := u.task
			if phase == "" {
				phase = op
			}
			send(sdk.DeployEvent{Phase: phase, Message: u.message, Percent: u.percent})
		}, nil)
		if err != nil {
			// Cancelled or never started: the key stays "started", so a
			// repeated call runs the playbook again.
			return "", err
		}
		failure := o.failure()
		ranAndFailed = failure != ""
		return failure, nil
	})
	if replayed {
		ev := runner.ReplayEvent(prev)
		ev.At = clock()
		if sendErr := events.Send(ev); err == nil {
			err = sendErr
		}
	}
	if err != nil && !ranAndFailed {
		// A failed run's message names ansible already.
		err = fmt.Errorf("ansible: %w", err)
	}
	return err
}

// SetTraffic runs the set_traffic playbook with the split in
// warroom_weights; warroom_version and warroom_weight are the version
// traffic moves to and its share.
func (t *target) SetTraffic(ctx context.Context, req sdk.SetTrafficRequest) ([]sdk.TrafficWeight, error) {
	c, j, err := t.state()
	if err != nil {
		return nil, err
	}
	if _, ok := c.playbooks[phaseSetTraffic]; !ok {
		return nil, sdk.Errorf(sdk.CodeUnimplemented, "ansible: no set_traffic playbook configured, so this target does not shift traffic")
	}
	if err := runner.ValidateWeights(req.Weights); err != nil {
		return nil, fmt.Errorf("ansible: %w", err)
	}
	to := newVersion(req.Weights, j.Version(req.Target))
	vars := baseVars(c, phaseSetTraffic, req.Target)
	vars["warroom_version"] = to.Version
	vars["warroom_weight"] = to.Percent
	vars["warroom_weights"] = weightsVar(req.Weights)
	vars["warroom_idempotency_key"] = req.IdempotencyKey

	var ranAndFailed bool
	call := runner.Call{Op: phaseSetTraffic, Key: req.IdempotencyKey, Target: req.Target, Weights: req.Weights, Now: clock}
	prev, replayed, err := j.Do(call, func() (string, error) {
		o, err := t.run(ctx, c, phaseSetTraffic, vars, nil, nil)
		if err != nil {
			return "", err
		}
		failure := o.failure()
		ranAndFailed = failure != ""
		return failure, nil
	})
	switch {
	case err != nil && ranAndFailed:
		return nil, err
	case err != nil:
		return nil, fmt.Errorf("ansible: %w", err)
	case replayed:
		return slices.Clone(prev.Weights), nil
	}
	return slices.Clone(req.Weights), nil
}

// Status runs the status playbook and reads the JSON it writes to
// warroom_status_file. Without a status playbook, or when the general
// playbook (not a status_playbook) writes no file, it reports what the
// journal knows. Applied keys always come from the journal too.
func (t *target) Status(ctx context.Context, req sdk.StatusRequest) (sdk.Status, error) {
	c, j, err := t.state()
	if err != nil {
		return sdk.Status{}, err
	}
	fromJournal := func(origin string) sdk.Status {
		return sdk.Status{Services: j.Services(req.Target, origin), AppliedKeys: j.AppliedKeys()}
	}
	if _, ok := c.playbooks[phaseStatus]; !ok {
		return fromJournal(journalOrigin), nil
	}
	var st sdk.Status
	var written bool
	o, err := t.run(ctx, c, phaseStatus, baseVars(c, phaseStatus, req.Target), nil, func(o outcome, statusFile string) error {
		if !o.res.OK() {
			return nil
		}
		data, err := os.ReadFile(statusFile)
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		written = true
		if st, err = runner.DecodeStatus(data, req.Target); err != nil {
			return sdk.Errorf(sdk.CodeInternal, "the status playbook's warroom_status_file: %v", err)
		}
		return nil
	})
	if err != nil {
		return sdk.Status{}, fmt.Errorf("ansible: %w", err)
	}
	if failure := o.failure(); failure != "" {
		return sdk.Status{}, sdk.Errorf(sdk.CodeUnavailable, "ansible: status playbook failed: %s", failure)
	}
	if !written {
		if c.shared[phaseStatus] {
			return fromJournal("the ansible plugin's journal, not observed (the playbook wrote nothing to warroom_status_file in the status phase)"), nil
		}
		return sdk.Status{}, sdk.Errorf(sdk.CodeInternal,
			"ansible: the status playbook succeeded but wrote nothing to warroom_status_file; it must write JSON in the shape of sdk.Status there")
	}
	st.AppliedKeys = runner.MergeKeys(st.AppliedKeys, j.AppliedKeys())
	return st, nil
}
