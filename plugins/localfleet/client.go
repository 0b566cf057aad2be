package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/warroom/warroom/plugins/localfleet/fleetctl"
	"github.com/warroom/warroom/plugins/sdk"
)

// supervisorStartTimeout bounds a new supervisor's start: it listens in
// milliseconds.
const supervisorStartTimeout = 10 * time.Second

// helloTimeout bounds the question a plugin asks a supervisor it finds:
// one that does not answer (stopped, hung) is reported, not waited for.
const helloTimeout = 5 * time.Second

// remote is the plugin process's deploy target: it holds the fleet lock
// of the state dir (one warroom drives a fleet at a time) and forwards
// every call to the fleet's supervisor, starting one when none runs.
type remote struct {
	log hclog.Logger

	mu       sync.Mutex
	cfg      sdk.Config // as given to Configure, StateDir absolute
	stateDir string
	lock     *fleetLock
	c        *fleetctl.Client
	pid      int // the supervisor's, as it said
}

var _ sdk.DeployTarget = (*remote)(nil)

func newRemote(log hclog.Logger) *remote {
	if log == nil {
		log = hclog.NewNullLogger()
	}
	return &remote{log: log}
}

// Configure validates the settings, takes the fleet lock and adopts the
// state dir's supervisor if one runs (the instances and proxies it runs,
// the journal), giving it the settings. With none it starts none: the
// first call that needs the fleet does, so that configuring the plugin
// (`warroom plugins list`, a check) leaves nothing running.
func (r *remote) Configure(ctx context.Context, cfg sdk.Config) error {
	// Checked here too, so that a bad setting is refused without a
	// supervisor; parseConfig also creates the state dir (0700).
	c, err := parseConfig(cfg)
	if err != nil {
		return err
	}
	cfg.StateDir = c.stateDir
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.lock != nil && r.stateDir != c.stateDir {
		r.lock.release()
		r.lock = nil
	}
	if r.lock == nil {
		if r.lock, err = acquireLock(c.stateDir); err != nil {
			return err
		}
		r.stateDir = c.stateDir
		r.c = fleetctl.New(c.stateDir)
	}
	r.cfg = cfg
	if err := r.connectLocked(ctx, false); err != nil {
		if errors.Is(err, fleetctl.ErrNotRunning) {
			return nil // started by the first call
		}
		return err
	}
	return r.configureLocked(ctx)
}

func (r *remote) configureLocked(ctx context.Context) error {
	if err := r.c.Call(ctx, "configure", r.cfg, nil); err != nil {
		return r.failed("configure", err)
	}
	return nil
}

// connectLocked makes sure a supervisor of this protocol answers,
// starting one if none runs and start is set (else the error matches
// fleetctl.ErrNotRunning).
func (r *remote) connectLocked(ctx context.Context, start bool) error {
	hctx, cancel := context.WithTimeout(ctx, helloTimeout)
	h, err := r.c.Hello(hctx)
	timedOut := errors.Is(hctx.Err(), context.DeadlineExceeded)
	cancel()
	if err != nil && ctx.Err() == nil && timedOut {
		return sdk.Errorf(sdk.CodeUnavailable, "localfleet: the fleet's supervisor of %s (pid %s) did not answer within %s: "+
			"see its log %s, or stop it (`localfleet stop %s`; kill -9 that pid if it does not stop)",
			r.stateDir, fleetctl.LockHolder(filepath.Join(r.stateDir, fleetctl.LockFile)), helloTimeout, filepath.Join(r.stateDir, fleetctl.LogFile), r.stateDir)
	}
	if errors.Is(err, fleetctl.ErrNotRunning) {
		if !start {
			return err
		}
		h, err = r.startSupervisorLocked(ctx)
	}
	if err != nil {
		return r.failed("connect", err)
	}
	if h.Protocol != fleetctl.Protocol {
		return sdk.Errorf(sdk.CodeFailedPrecondition,
			"localfleet: the supervisor of %s (pid %d, localfleet %s) speaks protocol %d, this plugin %d (it was rebuilt while the fleet ran): "+
				"stop the fleet with `localfleet stop %s` and try again", r.stateDir, h.PID, h.Version, h.Protocol, fleetctl.Protocol, r.stateDir)
	}
	if r.pid != h.PID {
		what := "adopted"
		if h.Processes == 0 {
			what = "connected to"
		}
		r.log.Info("local fleet "+what, "supervisor_pid", h.PID, "processes", h.Processes, "state_dir", r.stateDir, "supervisor_started", h.StartedAt)
	}
	r.pid = h.PID
	return nil
}

// startSupervisorLocked starts `localfleet supervise STATE_DIR` detached
// (its own session, so that neither warroom's kill of the plugin's
// process group nor a terminal's signals reach it; no Pdeathsig) and
// waits until it answers.
func (r *remote) startSupervisorLocked(ctx context.Context) (fleetctl.Hello, error) {
	exe, err := os.Executable()
	if err != nil {
		return fleetctl.Hello{}, fmt.Errorf("the plugin's own path: %w", err)
	}
	logPath := filepath.Join(r.stateDir, fleetctl.LogFile)
	logf, err := stateMode(r.stateDir).OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND)
	if err != nil {
		return fleetctl.Hello{}, fmt.Errorf("supervisor log: %w", err)
	}
	defer logf.Close() // the child has its own copy
	off, _ := logf.Seek(0, 2)
	// /proc/self/exe is the very binary warroom verified and started,
	// even if the file at its path was replaced since.
	cmd := exec.Command("/proc/self/exe", "supervise", r.stateDir)
	cmd.Args[0] = exe
	cmd.Dir = r.stateDir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = supervisorEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fleetctl.Hello{}, fmt.Errorf("start %s supervise: %w", exe, err)
	}
	exited := make(chan struct{})
	go func() {
		// Reaped here while this plugin process lives; after it, by
		// whoever adopts orphans.
		cmd.Wait()
		close(exited)
	}()
	r.log.Info("supervisor started", "pid", cmd.Process.Pid, "state_dir", r.stateDir, "log", logPath)
	deadline := time.NewTimer(supervisorStartTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		h, err := r.c.Hello(ctx)
		if err == nil {
			return h, nil
		}
		if !errors.Is(err, fleetctl.ErrNotRunning) {
			return h, err
		}
		select {
		case <-exited:
			return h, fmt.Errorf("the supervisor (pid %d) exited at start: %s (log %s)", cmd.Process.Pid, logTail(logPath, off), logPath)
		case <-deadline.C:
			return h, fmt.Errorf("the supervisor (pid %d) did not answer within %s (log %s)", cmd.Process.Pid, supervisorStartTimeout, logPath)
		case <-ctx.Done():
			return h, ctx.Err()
		case <-tick.C:
		}
	}
}

// supervisorEnv is the plugin's environment (warroom's host already
// reduced it) without go-plugin's variables, which are the plugin's.
func supervisorEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PLUGIN_") && !strings.HasPrefix(kv, "WARROOM_PLUGIN") {
			env = append(env, kv)
		}
	}
	return env
}

// logTail is the last line the supervisor wrote after offset.
func logTail(path string, offset int64) string {
	f, err := os.Open(path)
	if err != nil {
		return "(no log)"
	}
	defer f.Close()
	f.Seek(offset, 0)
	last := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" && !strings.HasPrefix(l, "{") {
			last = l
		}
	}
	if last == "" {
		return "no message"
	}
	return last
}

// failed words an error of reaching the supervisor; its answers (sdk
// errors) pass as they are.
func (r *remote) failed(what string, err error) error {
	var se *sdk.Error
	var sink *fleetctl.SinkError
	switch {
	case errors.As(err, &sink):
		return sink.Err // warroom's end of the stream, not the supervisor
	case errors.As(err, &se) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return err
	}
	pid := "unknown pid"
	if r.pid != 0 {
		pid = fmt.Sprintf("pid %d", r.pid)
	}
	return sdk.Errorf(sdk.CodeUnavailable, "localfleet: %s: the fleet's supervisor of %s (%s) is unreachable: %v; its log is %s",
		what, r.stateDir, pid, err, filepath.Join(r.stateDir, fleetctl.LogFile))
}

// client returns the supervisor's client once configured.
func (r *remote) client() (*fleetctl.Client, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.c == nil {
		return nil, sdk.Errorf(sdk.CodeFailedPrecondition, "localfleet: not configured yet")
	}
	return r.c, nil
}

// call makes a call to the supervisor. One that found no supervisor
// (none started yet, or it was stopped, or died and its fleet with it)
// starts one, which starts empty, and calls again: nothing had been
// sent.
func (r *remote) call(ctx context.Context, method string, do func(*fleetctl.Client) error) error {
	c, err := r.client()
	if err != nil {
		return err
	}
	err = do(c)
	if errors.Is(err, fleetctl.ErrNotRunning) {
		r.mu.Lock()
		if r.pid != 0 {
			r.log.Warn("the supervisor is gone: starting a new one (its fleet starts empty)", "previous_pid", r.pid)
		}
		err = r.connectLocked(ctx, true)
		if err == nil {
			err = r.configureLocked(ctx)
		}
		r.mu.Unlock()
		if err != nil {
			return err
		}
		err = do(c)
	}
	if err != nil {
		r.mu.Lock()
		defer r.mu.Unlock()
		return r.failed(method, err)
	}
	return nil
}

func (r *remote) Describe(ctx context.Context) (sdk.Capabilities, error) {
	// What the target can do does not depend on a fleet.
	return (&target{}).Describe(ctx)
}

func (r *remote) Preflight(ctx context.Context, req sdk.PreflightRequest) ([]sdk.Check, error) {
	var out []sdk.Check
	err := r.call(ctx, "preflight", func(c *fleetctl.Client) error { return c.Call(ctx, "preflight", req, &out) })
	return out, err
}

func (r *remote) Deploy(ctx context.Context, req sdk.DeployRequest, sink sdk.EventSink) error {
	return r.call(ctx, "deploy", func(c *fleetctl.Client) error { return c.Stream(ctx, "deploy", req, sink.Send) })
}

func (r *remote) Rollback(ctx context.Context, req sdk.RollbackRequest, sink sdk.EventSink) error {
	return r.call(ctx, "rollback", func(c *fleetctl.Client) error { return c.Stream(ctx, "rollback", req, sink.Send) })
}

func (r *remote) SetTraffic(ctx context.Context, req sdk.SetTrafficRequest) ([]sdk.TrafficWeight, error) {
	var out []sdk.TrafficWeight
	err := r.call(ctx, "set_traffic", func(c *fleetctl.Client) error { return c.Call(ctx, "set_traffic", req, &out) })
	return out, err
}

func (r *remote) Verify(ctx context.Context, req sdk.VerifyRequest) ([]sdk.Check, error) {
	var out []sdk.Check
	err := r.call(ctx, "verify", func(c *fleetctl.Client) error { return c.Call(ctx, "verify", req, &out) })
	return out, err
}

func (r *remote) Status(ctx context.Context, req sdk.StatusRequest) (sdk.Status, error) {
	var out sdk.Status
	err := r.call(ctx, "status", func(c *fleetctl.Client) error { return c.Call(ctx, "status", req, &out) })
	return out, err
}

// Close gives the fleet lock up; the fleet keeps running for the next
// plugin process to adopt.
func (r *remote) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lock.release()
	r.lock = nil
}
