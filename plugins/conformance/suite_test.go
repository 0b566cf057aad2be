package conformance

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/plugins/host"
	"github.com/warroom/warroom/plugins/sdk"
)

// These tests drive the suite in-process against fakes, so that each
// verdict of a check is pinned without a plugin process; the tests in
// conformance_test.go run real binaries.

type fake struct {
	info      sdk.Info
	configure func(sdk.Config) error
	dt        sdk.DeployTarget
	ms        sdk.MonitoringSource
	tk        sdk.Ticketing
}

func (f *fake) Info(context.Context) (sdk.Info, error) { return f.info, nil }
func (f *fake) Configure(_ context.Context, c sdk.Config) error {
	if f.configure != nil {
		return f.configure(c)
	}
	for k := range c.Settings {
		if k != "root" {
			return sdk.Errorf(sdk.CodeInvalid, "unknown setting %q", k)
		}
	}
	return nil
}
func (f *fake) DeployTarget() sdk.DeployTarget         { return f.dt }
func (f *fake) MonitoringSource() sdk.MonitoringSource { return f.ms }
func (f *fake) Ticketing() sdk.Ticketing               { return f.tk }

// goodTarget is a correct in-memory deploy target.
type goodTarget struct {
	mu      sync.Mutex
	applied map[string]bool
	running map[string]string
}

func (g *goodTarget) Describe(context.Context) (sdk.Capabilities, error) {
	return sdk.Capabilities{Strategies: []string{"rolling", "canary"}, TrafficShifting: true, Status: true}, nil
}
func (g *goodTarget) Preflight(context.Context, sdk.PreflightRequest) ([]sdk.Check, error) {
	return []sdk.Check{{Name: "space", Passed: true}}, nil
}
func (g *goodTarget) Deploy(_ context.Context, r sdk.DeployRequest, ev sdk.EventSink) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.applied[r.IdempotencyKey] {
		return ev.Send(sdk.DeployEvent{Done: true, Replayed: true, Percent: 100, Message: "again"})
	}
	if g.applied == nil {
		g.applied, g.running = map[string]bool{}, map[string]string{}
	}
	g.applied[r.IdempotencyKey] = true
	g.running[r.Target.Service] = r.Version
	ev.Send(sdk.DeployEvent{Percent: 50})
	return ev.Send(sdk.DeployEvent{Done: true, Percent: 100})
}
func (g *goodTarget) SetTraffic(_ context.Context, r sdk.SetTrafficRequest) ([]sdk.TrafficWeight, error) {
	sum := 0
	for _, w := range r.Weights {
		sum += w.Percent
	}
	if sum != 100 {
		return nil, sdk.Errorf(sdk.CodeInvalid, "weights sum to %d", sum)
	}
	return r.Weights, nil
}
func (g *goodTarget) Verify(context.Context, sdk.VerifyRequest) ([]sdk.Check, error) {
	return []sdk.Check{{Name: "http", Passed: true}}, nil
}
func (g *goodTarget) Rollback(_ context.Context, _ sdk.RollbackRequest, ev sdk.EventSink) error {
	return ev.Send(sdk.DeployEvent{Done: true, Percent: 100})
}
func (g *goodTarget) Status(_ context.Context, r sdk.StatusRequest) (sdk.Status, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var st sdk.Status
	for svc, v := range g.running {
		st.Services = append(st.Services, sdk.ServiceStatus{
			Target:   sdk.Target{Service: svc, Environment: r.Target.Environment},
			Versions: []sdk.VersionStatus{{Version: v, Instances: 1, Ready: 1, Weight: 100}},
			Healthy:  true,
		})
	}
	return st, nil
}

// goodSource is a correct monitoring source.
type goodSource struct{}

func (goodSource) Describe(context.Context) (sdk.MonitoringCapabilities, error) {
	return sdk.MonitoringCapabilities{Metrics: []sdk.MetricDescriptor{{Name: "requests", Kind: "counter"}}, Watch: true}, nil
}
func (goodSource) Query(_ context.Context, r sdk.QueryRequest) ([]sdk.Series, error) {
	return []sdk.Series{{Metric: r.Metric, Points: []sdk.Point{{T: 1, V: 1}, {T: 2, V: 2}}}}, nil
}
func (goodSource) Watch(ctx context.Context, _ sdk.WatchRequest, w sdk.SampleWriter) error {
	id := w.Series("requests", nil)
	for t := int64(1); ctx.Err() == nil; t++ {
		w.Write(id, t, 1)
		if t%100 == 0 {
			w.Flush()
		}
	}
	return nil
}
func (goodSource) Alerts(context.Context, sdk.AlertsRequest) ([]sdk.Alert, error) {
	return []sdk.Alert{{Name: "HighErrors", State: "firing"}}, nil
}
func (goodSource) Logs(context.Context, sdk.LogsRequest) (sdk.LogsResult, error) {
	return sdk.LogsResult{Lines: []sdk.LogLine{{Message: "hello"}}}, nil
}

// goodTickets is a correct ticketing system.
type goodTickets struct {
	mu      sync.Mutex
	byKey   map[string]string
	changes map[string]*sdk.Change
}

func (g *goodTickets) Describe(context.Context) (sdk.TicketingCapabilities, error) {
	return sdk.TicketingCapabilities{System: "fake", States: []string{"submitted", "approved", "closed"}}, nil
}
func (g *goodTickets) CreateChange(_ context.Context, r sdk.CreateChangeRequest) (sdk.Change, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if id, ok := g.byKey[r.IdempotencyKey]; ok {
		return *g.changes[id], nil
	}
	if g.byKey == nil {
		g.byKey, g.changes = map[string]string{}, map[string]*sdk.Change{}
	}
	id := fmt.Sprintf("CHG-%d", len(g.changes)+1)
	g.byKey[r.IdempotencyKey] = id
	g.changes[id] = &sdk.Change{ID: id, State: "submitted", Spec: r.Spec}
	return *g.changes[id], nil
}
func (g *goodTickets) GetChange(_ context.Context, id string) (sdk.Change, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.changes[id]
	if !ok {
		return sdk.Change{}, sdk.Errorf(sdk.CodeNotFound, "no change %s", id)
	}
	return *c, nil
}
func (g *goodTickets) Comment(_ context.Context, r sdk.CommentRequest) (sdk.Change, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c := g.changes[r.ID]
	c.Comments = append(c.Comments, sdk.Comment{Author: r.Author, Body: r.Body})
	return *c, nil
}
func (g *goodTickets) Transition(_ context.Context, r sdk.TransitionRequest) (sdk.Change, error) {
	return sdk.Change{}, sdk.Errorf(sdk.CodeFailedPrecondition, "cannot move to %s", r.ToState)
}
func (g *goodTickets) Notify(context.Context, sdk.NotifyRequest) (sdk.NotifyResult, error) {
	return sdk.NotifyResult{Delivered: []string{"conformance-team"}}, nil
}

func goodFake() *fake {
	return &fake{
		info: sdk.Info{
			Name: "good", Version: "1.2.3",
			Kinds:    []sdk.Kind{sdk.KindDeployTarget, sdk.KindMonitoringSource, sdk.KindTicketing},
			Settings: []sdk.SettingSpec{{Name: "root", Default: "/tmp"}},
		},
		dt: &goodTarget{}, ms: goodSource{}, tk: &goodTickets{},
	}
}

func runFake(t *testing.T, f *fake, opts Options) Report {
	t.Helper()
	if opts.CheckTimeout == 0 {
		opts.CheckTimeout = 5 * time.Second
	}
	rep := Report{Passed: true}
	run(context.Background(), f, opts, &rep)
	return rep
}

func results(rep Report) map[string]Result {
	m := map[string]Result{}
	for _, c := range rep.Checks {
		m[c.Name] = c
	}
	return m
}

func TestGoodFakePassesEveryCheck(t *testing.T) {
	rep := runFake(t, goodFake(), Options{Sandboxed: true})
	if !rep.Passed {
		t.Fatalf("failed: %+v", rep.Failed())
	}
	want := len(suite([]sdk.Kind{sdk.KindDeployTarget, sdk.KindMonitoringSource, sdk.KindTicketing}))
	if len(rep.Checks) != want {
		t.Errorf("%d checks, want %d", len(rep.Checks), want)
	}
	if rep.Plugin != "good" {
		t.Errorf("plugin %q", rep.Plugin)
	}
}

func TestWithoutSandboxOnlyReadOnlyChecksRun(t *testing.T) {
	f := goodFake()
	rep := runFake(t, f, Options{})
	if !rep.Passed {
		t.Fatalf("failed: %+v", rep.Failed())
	}
	mutating := map[string]bool{}
	for _, c := range suite(f.info.Kinds) {
		mutating[c.name] = c.mutates
	}
	for _, c := range rep.Checks {
		if mutating[c.Name] {
			t.Errorf("mutating check %s ran outside a sandbox", c.Name)
		}
	}
	if len(f.dt.(*goodTarget).applied) != 0 {
		t.Error("deployed outside a sandbox")
	}
}

// badTarget breaks one rule per call.
type badTarget struct{ goodTarget }

func (*badTarget) Describe(context.Context) (sdk.Capabilities, error) {
	return sdk.Capabilities{Strategies: []string{"teleport"}, MaxParallel: -1}, nil
}
func (*badTarget) Deploy(_ context.Context, _ sdk.DeployRequest, ev sdk.EventSink) error {
	ev.Send(sdk.DeployEvent{Done: true, Percent: 100})
	return ev.Send(sdk.DeployEvent{Done: true, Percent: 100})
}
func (*badTarget) SetTraffic(context.Context, sdk.SetTrafficRequest) ([]sdk.TrafficWeight, error) {
	return []sdk.TrafficWeight{{Version: "a", Percent: 130}}, nil
}
func (*badTarget) Rollback(context.Context, sdk.RollbackRequest, sdk.EventSink) error {
	return &host.CallError{Plugin: "bad", Call: "Rollback", Fault: host.FaultCrashed, Err: fmt.Errorf("the plugin crashed (exit status 3)")}
}
func (*badTarget) Status(context.Context, sdk.StatusRequest) (sdk.Status, error) {
	return sdk.Status{Services: []sdk.ServiceStatus{{Versions: []sdk.VersionStatus{{Version: "1", Weight: 130}}}}}, nil
}

// hanging is a badTarget whose Verify and SetTraffic ignore their
// context and never return: the suite must give up on them, and stop
// calling after the second.
type hanging struct{ badTarget }

func (*hanging) Verify(context.Context, sdk.VerifyRequest) ([]sdk.Check, error) {
	select {}
}

func (*hanging) SetTraffic(context.Context, sdk.SetTrafficRequest) ([]sdk.TrafficWeight, error) {
	select {}
}

func TestBadTargetFailsWithReasons(t *testing.T) {
	f := goodFake()
	f.info.Version = "not-semver"
	f.info.Kinds = []sdk.Kind{sdk.KindDeployTarget}
	f.configure = func(sdk.Config) error { return nil }
	f.dt = &hanging{}
	rep := runFake(t, f, Options{Sandboxed: true, CheckTimeout: 200 * time.Millisecond})
	if rep.Passed {
		t.Fatal("passed")
	}
	got := results(rep)
	want := map[string]string{
		"info":                              "not a semantic version",
		"configure/unknown-setting":         "accepted the unknown setting",
		"deploy-target/describe":            `unknown strategy "teleport"`,
		"deploy-target/status":              "weights sum to 130",
		"deploy-target/deploy":              "2 done events",
		"deploy-target/verify":              "timeout: ",
		"deploy-target/set-traffic-invalid": "timeout: ",
		"deploy-target/set-traffic":         "not run: the plugin timed out in deploy-target/verify and deploy-target/set-traffic-invalid",
		"deploy-target/rollback":            "not run",
	}
	for name, substr := range want {
		r, ok := got[name]
		switch {
		case !ok:
			t.Errorf("%s: no result", name)
		case r.Passed:
			t.Errorf("%s passed: %s", name, r.Message)
		case !strings.Contains(r.Message, substr):
			t.Errorf("%s: message %q does not contain %q", name, r.Message, substr)
		}
	}
}

func TestFaultsAreNamed(t *testing.T) {
	f := goodFake()
	f.info.Kinds = []sdk.Kind{sdk.KindDeployTarget}
	f.dt = &badTarget{}
	rep := runFake(t, f, Options{Sandboxed: true})
	r := results(rep)["deploy-target/rollback"]
	if r.Passed || !strings.HasPrefix(r.Message, "crashed: ") {
		t.Errorf("rollback: %+v", r)
	}
}

func TestInterruptedSuiteStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep := Report{Passed: true}
	run(ctx, goodFake(), Options{Sandboxed: true}, &rep)
	if rep.Passed || len(rep.Checks) == 0 {
		t.Fatalf("%+v", rep)
	}
	for _, c := range rep.Checks {
		if c.Passed || !strings.Contains(c.Message, "interrupted") {
			t.Errorf("%s: %+v", c.Name, c)
		}
	}
}
