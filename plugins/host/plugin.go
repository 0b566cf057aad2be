package host

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/warroom/warroom/plugins/sdk"
	"github.com/warroom/warroom/store/fsmode"
)

// LaunchOptions configure Launch. The zero value launches with the
// default deadlines, no settings, a temporary state directory and no
// logs.
type LaunchOptions struct {
	// Name names the plugin in errors and logs (default: the binary's
	// base name).
	Name string
	// Kinds are the provider kinds the plugin must serve; its Info is
	// checked against them. None: any.
	Kinds []sdk.Kind
	// Settings are handed to the plugin's Configure.
	Settings map[string]string
	// StateDir is the plugin's state directory, created 0700 when
	// missing. Empty: a fresh temporary directory that Kill removes, so a
	// conformance run never touches a real plugin's state.
	StateDir string
	// SHA256 is the checksum (hex) the binary must have. Empty: the
	// binary's checksum now, because launching a path is the operator's
	// explicit intent. go-plugin hashes the binary again right before it
	// executes it either way.
	SHA256 string
	// Deadlines; zero means the default (DefaultTimeout,
	// DefaultStreamIdleTimeout, DefaultStartTimeout).
	Timeout           time.Duration
	StreamIdleTimeout time.Duration
	StartTimeout      time.Duration
	// LogWriter receives the plugin's logs and go-plugin's (hclog text);
	// nil discards them. Never point it at a console's screen.
	LogWriter io.Writer
	// Env is the plugin's whole environment ("KEY=value"); warroom's own
	// environment is not handed down.
	Env []string
}

// Launch starts the plugin binary at path, checks its Info (a name, a
// semantic version, every kind of opts.Kinds) and configures it. It is
// the seam for `warroom plugins check` and the conformance suite: the
// plugin runs with the same hardening as under a Host (checksum verified
// at exec, AutoMTLS, gRPC only, deadlines, answers validated) but is not
// supervised: after a crash, a timeout or a malformed answer it is
// stopped and every later call fails; launch it again to retry.
//
// The caller must Kill the plugin. Errors of the plugin's doing are
// *CallError (fault handshake, untrusted, timeout, malformed, refused,
// crashed); ctx ending aborts the launch.
func Launch(ctx context.Context, path string, opts LaunchOptions) (*Plugin, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("launch %s: %w", path, err)
	}
	name := opts.Name
	if name == "" {
		name = filepath.Base(abs)
	}
	sum := opts.SHA256
	if sum == "" {
		if sum, err = Checksum(abs); err != nil {
			return nil, &CallError{Plugin: name, Call: "launch", Fault: FaultHandshake, Err: binaryError(abs, err)}
		}
	}
	return launch(ctx, launchSpec{
		name:     name,
		path:     abs,
		sum:      sum,
		kinds:    opts.Kinds,
		settings: opts.Settings,
		stateDir: opts.StateDir,
		timeout:  orDefault(opts.Timeout, DefaultTimeout),
		idle:     orDefault(opts.StreamIdleTimeout, DefaultStreamIdleTimeout),
		start:    orDefault(opts.StartTimeout, DefaultStartTimeout),
		logger:   newLogger(opts.LogWriter).Named(name),
		env:      opts.Env,
		call:     "launch",
	})
}

// launchSpec is everything launch needs; Launch and Host fill it.
type launchSpec struct {
	name, path, sum string
	kinds           []sdk.Kind
	settings        map[string]string
	stateDir        string      // "" for a temporary one
	mode            fsmode.Mode // of the state directory, if created here
	warn            func(string)
	timeout, idle   time.Duration
	start           time.Duration
	logger          hclog.Logger
	env             []string
	restart         bool   // a Host starts it again on next use
	call            string // the call that made us launch, for errors
	onStop          func(*Plugin, *CallError)
}

// Plugin is one running plugin process. Its accessors return hardened
// clients; it is safe for concurrent use.
type Plugin struct {
	name, path, sum string
	timeout, idle   time.Duration
	restart         bool
	logger          hclog.Logger
	info            sdk.Info
	tempState       string

	cmd        *exec.Cmd
	pid        int
	client     *plugin.Client
	rpc        *plugin.GRPCClient
	conn       *sdk.Conn
	cancelProc context.CancelFunc
	release    chan struct{} // closed to let the thread that forked the process go

	stopOnce sync.Once
	stopped  chan struct{} // closed when the plugin stops taking calls
	gone     chan struct{} // closed when the process is reaped and cleaned up
	mu       sync.Mutex
	fault    *CallError // what stopped it; nil when it was killed on purpose

	// onStop, when set, is told once when the plugin stops, with the fault
	// that stopped it (nil for Kill). The Host uses it to mark the plugin
	// unhealthy and start it again on next use.
	onStop func(*Plugin, *CallError)
}

func launch(ctx context.Context, s launchSpec) (*Plugin, error) {
	p := &Plugin{
		name:    s.name,
		path:    s.path,
		sum:     s.sum,
		timeout: s.timeout,
		idle:    s.idle,
		restart: s.restart,
		logger:  s.logger,
		onStop:  s.onStop,
		stopped: make(chan struct{}),
		gone:    make(chan struct{}),
	}
	stateDir := s.stateDir
	if stateDir == "" {
		dir, err := os.MkdirTemp("", "warroom-plugin-"+s.name+"-")
		if err != nil {
			return nil, fmt.Errorf("plugin %s: state directory: %w", s.name, err)
		}
		stateDir, p.tempState = dir, dir
	} else if err := s.mode.MkdirAll(stateDir); err != nil {
		return nil, fmt.Errorf("plugin %s: state directory: %w", s.name, err)
	}

	// Resolve symlinks once, so the file hashed is the file executed.
	exe, err := filepath.EvalSymlinks(s.path)
	if err == nil {
		warnWritable(exe, s)
		err = p.process(ctx, exe, s.sum, s.env, s.start, s.logger)
	}
	if err != nil {
		p.removeTempState()
		if ctx.Err() != nil {
			return nil, fmt.Errorf("plugin %s: %s: start abandoned: %w", s.name, s.call, ctx.Err())
		}
		return nil, p.startFault(s.call, err)
	}
	p.logger.Info("plugin started", "path", s.path, "pid", p.pid, "sha256", s.sum)

	p.info, err = unaryOn(ctx, p, "Info", func(ctx context.Context, c *sdk.Conn) (sdk.Info, error) {
		return c.Info(ctx)
	}, checkInfo(s.kinds))
	if err == nil {
		_, err = unaryOn(ctx, p, "Configure", func(ctx context.Context, c *sdk.Conn) (struct{}, error) {
			return struct{}{}, c.Configure(ctx, sdk.Config{Settings: s.settings, StateDir: stateDir})
		}, nil)
	}
	if err != nil {
		// A refusal (bad settings) leaves the process healthy but useless.
		p.stop(nil, false)
		<-p.gone
		return nil, err
	}
	return p, nil
}

// Name is the plugin's name in warroom (not necessarily its Info name).
func (p *Plugin) Name() string { return p.name }

// Path is the plugin's binary.
func (p *Plugin) Path() string { return p.path }

// SHA256 is the checksum the binary was launched with.
func (p *Plugin) SHA256() string { return p.sum }

// PID is the plugin's process id.
func (p *Plugin) PID() int { return p.pid }

// Info is what the plugin said about itself when it started.
func (p *Plugin) Info() sdk.Info { return p.info }

// DeployTarget is the plugin's deploy target, hardened: deadlines,
// validated answers, faults as *CallError.
func (p *Plugin) DeployTarget() sdk.DeployTarget { return &deployTarget{b: p} }

// MonitoringSource is the plugin's monitoring source, hardened.
func (p *Plugin) MonitoringSource() sdk.MonitoringSource { return &monitoringSource{b: p} }

// Ticketing is the plugin's ticketing system, hardened.
func (p *Plugin) Ticketing() sdk.Ticketing { return &ticketing{b: p} }

// Running reports whether the plugin takes calls: not stopped, and its
// process alive.
func (p *Plugin) Running() bool {
	select {
	case <-p.stopped:
		return false
	default:
		return !p.client.Exited()
	}
}

// Err is the fault that stopped the plugin, nil while it runs or after
// Kill.
func (p *Plugin) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fault == nil {
		return nil
	}
	return p.fault
}

// Kill stops the plugin, asking it to shut down first, and waits until
// its process is gone. It is safe to call more than once, and from
// several goroutines.
func (p *Plugin) Kill() {
	p.stop(nil, true)
	<-p.gone
}

// stop stops taking calls and reaps the process in the background
// (Kill waits for gone). A fault kills at once; Kill asks first.
func (p *Plugin) stop(fault *CallError, graceful bool) {
	p.stopOnce.Do(func() {
		p.mu.Lock()
		p.fault = fault
		p.mu.Unlock()
		close(p.stopped)
		if fault != nil {
			p.logger.Error("plugin stopped", "fault", fault.Fault, "error", fault.Error())
		}
		go p.reap(graceful)
		if p.onStop != nil {
			p.onStop(p, fault)
		}
	})
}

// acquire makes *Plugin a backend: calls go to this process while it
// runs, and fail once it stopped.
func (p *Plugin) acquire(_ context.Context, call string) (*Plugin, error) {
	if err := p.stoppedErr(call); err != nil {
		return nil, err
	}
	if exit, ok := p.exitStatus(); ok {
		// It died between calls.
		return nil, p.fail(call, FaultCrashed, &crashError{exit: exit})
	}
	return p, nil
}

// stoppedErr is the error of a call to the plugin once it has stopped, nil
// while it runs. After a fault, calls fail with that fault (a call that
// was in flight when another call's timeout killed the process learns
// why); after Kill, with ErrStopped.
func (p *Plugin) stoppedErr(call string) error {
	select {
	case <-p.stopped:
	default:
		return nil
	}
	p.mu.Lock()
	last := p.fault
	p.mu.Unlock()
	if last == nil {
		return fmt.Errorf("plugin %s: %s: %w", p.name, call, ErrStopped)
	}
	return p.newError(call, last.Fault, &stoppedError{cause: last})
}

// stoppedError is the Err of a call to a plugin a fault stopped.
type stoppedError struct{ cause *CallError }

func (e *stoppedError) Error() string {
	return fmt.Sprintf("the plugin is not running: it was stopped when %s failed (%v)", e.cause.Call, e.cause.Err)
}

func (e *stoppedError) Unwrap() error { return e.cause }

// newError makes a *CallError of this plugin.
func (p *Plugin) newError(call string, fault Fault, err error) *CallError {
	return &CallError{Plugin: p.name, Call: call, Fault: fault, Err: err, restart: p.restart}
}

// fail records a fault; one that stops the plugin kills it.
func (p *Plugin) fail(call string, fault Fault, err error) *CallError {
	ce := p.newError(call, fault, err)
	if fault.restarts() {
		p.stop(ce, false)
	}
	return ce
}

func (p *Plugin) String() string { return p.name + " (pid " + strconv.Itoa(p.pid) + ")" }

// missingKinds returns the kinds of want that info does not list.
func missingKinds(info sdk.Info, want []sdk.Kind) []sdk.Kind {
	var missing []sdk.Kind
	for _, k := range want {
		if !slices.Contains(info.Kinds, k) {
			missing = append(missing, k)
		}
	}
	return missing
}
