package conformance

import (
	"context"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"sync"

	"github.com/warroom/warroom/plugins/host"
	"github.com/warroom/warroom/plugins/sdk"
)

// Run runs the suite against a plugin launched by the caller (who kills
// it). The checks that change something run only with opts.Sandboxed.
// The configuration checks launch short-lived copies of the same binary
// with a temporary state directory, never touching p's configuration.
// After a fault stops p, later checks fail naming that fault; Check,
// which owns its launch, starts the plugin again instead.
func Run(ctx context.Context, p *host.Plugin, opts Options) Report {
	rep := Report{Plugin: p.Info().Name, Passed: true}
	subj := &launched{opts: opts, path: p.Path(), sum: p.SHA256(), name: p.Name(), current: p}
	run(ctx, subj, opts, &rep)
	return rep
}

// Check launches the plugin binary at path in a sandbox (a fresh
// temporary state directory, the settings of opts only, the environment
// of opts.Env only), runs the whole suite against it and kills it. A
// plugin stopped by a fault is launched again, in the same sandbox,
// before the next check, as warroom's host would on next use. The
// report's first check is the launch itself.
func Check(ctx context.Context, path string, opts Options) Report {
	rep := Report{Plugin: filepath.Base(path), Passed: true}
	sandbox, err := os.MkdirTemp("", "warroom-conformance-")
	if err != nil {
		rep.add(Result{Name: "launch", Message: fmt.Sprintf("create a sandbox state directory: %v", err)})
		return rep
	}
	defer os.RemoveAll(sandbox)
	opts.StateDir = sandbox
	opts.Sandboxed = true

	sum, err := host.Checksum(path)
	if err != nil {
		rep.add(Result{Name: "launch", Message: fmt.Sprintf("read %s: %v", path, err)})
		return rep
	}
	subj := &launched{opts: opts, path: path, sum: sum, relaunch: true}
	defer subj.kill()
	p, err := subj.launch(ctx, opts.Settings, sandbox)
	if err != nil {
		rep.add(Result{Name: "launch", Message: describeLaunchErr(err)})
		return rep
	}
	subj.current = p
	rep.Plugin = p.Info().Name
	rep.add(Result{Name: "launch", Passed: true, Message: fmt.Sprintf("started %s %s (pid %d) in a sandbox", p.Info().Name, p.Info().Version, p.PID())})
	run(ctx, subj, opts, &rep)
	return rep
}

// describeLaunchErr words a failed launch like a failed check.
func describeLaunchErr(err error) string {
	if f := host.FaultOf(err); f != "" {
		return string(f) + ": " + err.Error()
	}
	return err.Error()
}

// launched is the subject of a run: the plugin as the host launched it.
type launched struct {
	opts     Options
	path     string
	sum      string
	name     string
	relaunch bool // Check's own launch: start again after a fault

	mu      sync.Mutex
	current *host.Plugin
	owned   []*host.Plugin // launched here, killed by kill
}

func (l *launched) launchOptions(settings map[string]string, stateDir string) host.LaunchOptions {
	var logs io.Writer = io.Discard
	if l.opts.LogWriter != nil {
		logs = l.opts.LogWriter
	}
	return host.LaunchOptions{
		Name:              l.name,
		Settings:          settings,
		StateDir:          stateDir,
		SHA256:            l.sum,
		Timeout:           l.opts.CallTimeout,
		StreamIdleTimeout: l.opts.StreamIdleTimeout,
		StartTimeout:      l.opts.StartTimeout,
		LogWriter:         logs,
		Env:               l.opts.Env,
	}
}

func (l *launched) launch(ctx context.Context, settings map[string]string, stateDir string) (*host.Plugin, error) {
	p, err := host.Launch(ctx, l.path, l.launchOptions(settings, stateDir))
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.owned = append(l.owned, p)
	l.mu.Unlock()
	return p, nil
}

// kill stops every process launched here.
func (l *launched) kill() {
	l.mu.Lock()
	owned := l.owned
	l.owned = nil
	l.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range owned {
		wg.Go(p.Kill)
	}
	wg.Wait()
}

// plugin is the plugin to call now: after a fault stopped it, Check's
// sandbox starts it again.
func (l *launched) plugin(ctx context.Context) (*host.Plugin, error) {
	l.mu.Lock()
	p := l.current
	l.mu.Unlock()
	if p.Running() || !l.relaunch {
		return p, nil
	}
	np, err := l.launch(ctx, l.opts.Settings, l.opts.StateDir)
	if err != nil {
		return nil, fmt.Errorf("start the plugin again after %v: %w", p.Err(), err)
	}
	l.mu.Lock()
	l.current = np
	l.mu.Unlock()
	p.Kill()
	return np, nil
}

func (l *launched) Info(ctx context.Context) (sdk.Info, error) {
	p, err := l.plugin(ctx)
	if err != nil {
		return sdk.Info{}, err
	}
	return p.Info(), nil
}

// Configure launches a copy of the plugin with cfg's settings and a
// temporary state directory, and stops it: host.Launch is what hands a
// plugin its settings.
func (l *launched) Configure(ctx context.Context, cfg sdk.Config) error {
	p, err := host.Launch(ctx, l.path, l.launchOptions(maps.Clone(cfg.Settings), ""))
	if err != nil {
		return err
	}
	p.Kill()
	return nil
}

func (l *launched) DeployTarget() sdk.DeployTarget         { return deployTarget{l} }
func (l *launched) MonitoringSource() sdk.MonitoringSource { return monitoringSource{l} }
func (l *launched) Ticketing() sdk.Ticketing               { return ticketing{l} }

// The kinds, resolving the current process for every call.

type deployTarget struct{ l *launched }

func (d deployTarget) get(ctx context.Context) (sdk.DeployTarget, error) {
	p, err := d.l.plugin(ctx)
	if err != nil {
		return nil, err
	}
	return p.DeployTarget(), nil
}

func (d deployTarget) Describe(ctx context.Context) (sdk.Capabilities, error) {
	t, err := d.get(ctx)
	if err != nil {
		return sdk.Capabilities{}, err
	}
	return t.Describe(ctx)
}

func (d deployTarget) Preflight(ctx context.Context, r sdk.PreflightRequest) ([]sdk.Check, error) {
	t, err := d.get(ctx)
	if err != nil {
		return nil, err
	}
	return t.Preflight(ctx, r)
}

func (d deployTarget) Deploy(ctx context.Context, r sdk.DeployRequest, ev sdk.EventSink) error {
	t, err := d.get(ctx)
	if err != nil {
		return err
	}
	return t.Deploy(ctx, r, ev)
}

func (d deployTarget) SetTraffic(ctx context.Context, r sdk.SetTrafficRequest) ([]sdk.TrafficWeight, error) {
	t, err := d.get(ctx)
	if err != nil {
		return nil, err
	}
	return t.SetTraffic(ctx, r)
}

func (d deployTarget) Verify(ctx context.Context, r sdk.VerifyRequest) ([]sdk.Check, error) {
	t, err := d.get(ctx)
	if err != nil {
		return nil, err
	}
	return t.Verify(ctx, r)
}

func (d deployTarget) Rollback(ctx context.Context, r sdk.RollbackRequest, ev sdk.EventSink) error {
	t, err := d.get(ctx)
	if err != nil {
		return err
	}
	return t.Rollback(ctx, r, ev)
}

func (d deployTarget) Status(ctx context.Context, r sdk.StatusRequest) (sdk.Status, error) {
	t, err := d.get(ctx)
	if err != nil {
		return sdk.Status{}, err
	}
	return t.Status(ctx, r)
}

type monitoringSource struct{ l *launched }

func (m monitoringSource) get(ctx context.Context) (sdk.MonitoringSource, error) {
	p, err := m.l.plugin(ctx)
	if err != nil {
		return nil, err
	}
	return p.MonitoringSource(), nil
}

func (m monitoringSource) Describe(ctx context.Context) (sdk.MonitoringCapabilities, error) {
	s, err := m.get(ctx)
	if err != nil {
		return sdk.MonitoringCapabilities{}, err
	}
	return s.Describe(ctx)
}

func (m monitoringSource) Query(ctx context.Context, r sdk.QueryRequest) ([]sdk.Series, error) {
	s, err := m.get(ctx)
	if err != nil {
		return nil, err
	}
	return s.Query(ctx, r)
}

func (m monitoringSource) Watch(ctx context.Context, r sdk.WatchRequest, w sdk.SampleWriter) error {
	s, err := m.get(ctx)
	if err != nil {
		return err
	}
	return s.Watch(ctx, r, w)
}

func (m monitoringSource) Alerts(ctx context.Context, r sdk.AlertsRequest) ([]sdk.Alert, error) {
	s, err := m.get(ctx)
	if err != nil {
		return nil, err
	}
	return s.Alerts(ctx, r)
}

func (m monitoringSource) Logs(ctx context.Context, r sdk.LogsRequest) (sdk.LogsResult, error) {
	s, err := m.get(ctx)
	if err != nil {
		return sdk.LogsResult{}, err
	}
	return s.Logs(ctx, r)
}

type ticketing struct{ l *launched }

func (t ticketing) get(ctx context.Context) (sdk.Ticketing, error) {
	p, err := t.l.plugin(ctx)
	if err != nil {
		return nil, err
	}
	return p.Ticketing(), nil
}

func (t ticketing) Describe(ctx context.Context) (sdk.TicketingCapabilities, error) {
	s, err := t.get(ctx)
	if err != nil {
		return sdk.TicketingCapabilities{}, err
	}
	return s.Describe(ctx)
}

func (t ticketing) CreateChange(ctx context.Context, r sdk.CreateChangeRequest) (sdk.Change, error) {
	s, err := t.get(ctx)
	if err != nil {
		return sdk.Change{}, err
	}
	return s.CreateChange(ctx, r)
}

func (t ticketing) GetChange(ctx context.Context, id string) (sdk.Change, error) {
	s, err := t.get(ctx)
	if err != nil {
		return sdk.Change{}, err
	}
	return s.GetChange(ctx, id)
}

func (t ticketing) Comment(ctx context.Context, r sdk.CommentRequest) (sdk.Change, error) {
	s, err := t.get(ctx)
	if err != nil {
		return sdk.Change{}, err
	}
	return s.Comment(ctx, r)
}

func (t ticketing) Transition(ctx context.Context, r sdk.TransitionRequest) (sdk.Change, error) {
	s, err := t.get(ctx)
	if err != nil {
		return sdk.Change{}, err
	}
	return s.Transition(ctx, r)
}

func (t ticketing) Notify(ctx context.Context, r sdk.NotifyRequest) (sdk.NotifyResult, error) {
	s, err := t.get(ctx)
	if err != nil {
		return sdk.NotifyResult{}, err
	}
	return s.Notify(ctx, r)
}
