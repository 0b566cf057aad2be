package host_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/plugins/host"
	"github.com/warroom/warroom/plugins/sdk"
)

var allKinds = []sdk.Kind{sdk.KindDeployTarget, sdk.KindMonitoringSource, sdk.KindTicketing}

type events []sdk.DeployEvent

func (e *events) Send(ev sdk.DeployEvent) error { *e = append(*e, ev); return nil }

// TestHostServesEveryKind drives a well-behaved plugin through the
// hardened clients of all three kinds.
func TestHostServesEveryKind(t *testing.T) {
	ctx := context.Background()
	pc := plugin("okplugin", allKinds...)
	pc.Settings = map[string]string{"greeting": "hello from the test"}
	stateRoot := t.TempDir()
	h, logs := newHost(t, host.Options{StateDir: stateRoot}, pc)

	dt, err := h.DeployTarget(ctx, "okplugin")
	if err != nil {
		t.Fatal(err)
	}
	if caps, err := dt.Describe(ctx); err != nil || !slices.Equal(caps.Strategies, []string{"rolling", "canary"}) {
		t.Fatalf("Describe = %+v, %v", caps, err)
	}
	if checks, err := dt.Preflight(ctx, sdk.PreflightRequest{}); err != nil || len(checks) != 1 {
		t.Errorf("Preflight = %+v, %v", checks, err)
	}
	var evs events
	if err := dt.Deploy(ctx, sdk.DeployRequest{IdempotencyKey: "r/1/1", Version: "1.0.0"}, &evs); err != nil {
		t.Errorf("Deploy: %v", err)
	}
	if len(evs) != 3 || !evs[len(evs)-1].Done {
		t.Errorf("Deploy events = %+v, want two progress events and done", evs)
	}
	w := []sdk.TrafficWeight{{Version: "1", Percent: 90}, {Version: "2", Percent: 10}}
	if got, err := dt.SetTraffic(ctx, sdk.SetTrafficRequest{Weights: w}); err != nil || !slices.Equal(got, w) {
		t.Errorf("SetTraffic = %+v, %v", got, err)
	}
	if _, err := dt.Verify(ctx, sdk.VerifyRequest{}); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := dt.Rollback(ctx, sdk.RollbackRequest{IdempotencyKey: "rb"}, nil); err != nil {
		t.Errorf("Rollback: %v", err)
	}
	if st, err := dt.Status(ctx, sdk.StatusRequest{Target: sdk.Target{Environment: "prod"}}); err != nil || len(st.Services) != 1 {
		t.Errorf("Status = %+v, %v", st, err)
	}
	// A failed deployment is the plugin's answer: the plugin stays.
	err = dt.Deploy(ctx, sdk.DeployRequest{}, nil)
	wantFault(t, err, "okplugin", "Deploy", host.FaultRefused)
	if !strings.Contains(err.Error(), "no version to deploy") || strings.Contains(err.Error(), "restarted") {
		t.Errorf("failed deployment: %v", err)
	}

	ms, err := h.MonitoringSource(ctx, "okplugin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ms.Describe(ctx); err != nil {
		t.Errorf("monitoring Describe: %v", err)
	}
	if s, err := ms.Query(ctx, sdk.QueryRequest{Metric: "errors"}); err != nil || len(s) != 1 {
		t.Errorf("Query = %+v, %v", s, err)
	}
	if a, err := ms.Alerts(ctx, sdk.AlertsRequest{}); err != nil || len(a) != 1 {
		t.Errorf("Alerts = %+v, %v", a, err)
	}
	if l, err := ms.Logs(ctx, sdk.LogsRequest{Limit: 10}); err != nil || len(l.Lines) != 1 {
		t.Errorf("Logs = %+v, %v", l, err)
	}
	wctx, cancel := context.WithCancel(ctx)
	sw := &samples{stopAt: 5, cancel: cancel}
	if err := ms.Watch(wctx, sdk.WatchRequest{Interval: time.Millisecond}, sw); err != nil {
		t.Errorf("Watch ended by the caller: %v, want nil", err)
	}
	if sw.n < 5 {
		t.Errorf("Watch wrote %d samples, want at least 5", sw.n)
	}

	tk, err := h.Ticketing(ctx, "okplugin")
	if err != nil {
		t.Fatal(err)
	}
	c, err := tk.CreateChange(ctx, sdk.CreateChangeRequest{Spec: sdk.ChangeSpec{Title: "ship it"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tk.GetChange(ctx, c.ID); err != nil || got.ID != c.ID {
		t.Errorf("GetChange = %+v, %v", got, err)
	}
	// A refusal keeps the plugin's code.
	_, err = tk.GetChange(ctx, "CHG-404")
	ce := wantFault(t, err, "okplugin", "GetChange", host.FaultRefused)
	if ce.Code() != sdk.CodeNotFound || !errors.Is(err, sdk.ErrNotFound) {
		t.Errorf("GetChange of a missing change: code %v, %v", ce.Code(), err)
	}

	list := h.List(ctx)
	if len(list) != 1 {
		t.Fatalf("List = %+v", list)
	}
	st := list[0]
	sum, _ := host.Checksum(bin("okplugin"))
	if st.Name != "okplugin" || st.Version != "1.2.3" || !st.Trusted || st.TrustSource != host.TrustBuild ||
		st.SHA256 != sum || !st.Healthy || !st.Running || st.LastError != "" || !slices.Equal(st.Kinds, allKinds) {
		t.Errorf("List = %+v", st)
	}

	// The plugin's stdout and stderr go to the log, and it got its state
	// directory, private to warroom's user.
	waitFor(t, 5*time.Second, "the plugin's output in the log", func() bool {
		l := logs.String()
		return strings.Contains(l, `okplugin stdout: configured with "hello from the test"`) &&
			strings.Contains(l, "okplugin stderr: state in "+filepath.Join(stateRoot, "okplugin"))
	})
	if fi, err := os.Stat(filepath.Join(stateRoot, "okplugin")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("state directory: %v, %v", fi, err)
	}
}

// samples is a SampleWriter that cancels the Watch after stopAt samples.
type samples struct {
	n      int
	stopAt int
	cancel context.CancelFunc
}

func (s *samples) Series(string, map[string]string) sdk.SeriesID { return 1 }
func (s *samples) Write(sdk.SeriesID, int64, float64) error {
	if s.n++; s.n == s.stopAt {
		s.cancel()
	}
	return nil
}
func (s *samples) Flush() error { return nil }

func TestHostNotConfigured(t *testing.T) {
	ctx := context.Background()
	h, _ := newHost(t, host.Options{}, plugin("okplugin", sdk.KindTicketing))
	if _, err := h.DeployTarget(ctx, "nope"); !errors.Is(err, host.ErrNotConfigured) || !strings.Contains(err.Error(), "okplugin") {
		t.Errorf("unknown plugin: %v", err)
	}
	if _, err := h.DeployTarget(ctx, "okplugin"); !errors.Is(err, host.ErrNotConfigured) {
		t.Errorf("kind not configured: %v", err)
	}
	if _, err := h.Ticketing(ctx, "okplugin"); err != nil {
		t.Errorf("configured kind: %v", err)
	}
}

// TestRefusedSettings: a plugin refusing its settings cannot be used; the
// error says so and List shows it unhealthy.
func TestRefusedSettings(t *testing.T) {
	ctx := context.Background()
	pc := plugin("okplugin")
	pc.Settings = map[string]string{"colour": "blue"}
	h, _ := newHost(t, host.Options{}, pc)
	dt, _ := h.DeployTarget(ctx, "okplugin")
	_, err := dt.Describe(ctx)
	ce := wantFault(t, err, "okplugin", "Configure", host.FaultRefused)
	if ce.Code() != sdk.CodeInvalid || !strings.Contains(err.Error(), `unknown setting "colour"`) {
		t.Errorf("refused settings: %v", err)
	}
	st := h.List(ctx)[0]
	if st.Healthy || st.Running || !strings.Contains(st.LastError, "colour") || st.Fault != host.FaultRefused {
		t.Errorf("List after refused settings: %+v", st)
	}
}

func TestCloseTwiceAndCallAfterClose(t *testing.T) {
	ctx := context.Background()
	h, _ := newHost(t, host.Options{}, plugin("okplugin"))
	dt, _ := h.DeployTarget(ctx, "okplugin")
	if _, err := dt.Describe(ctx); err != nil {
		t.Fatal(err)
	}
	h.Close()
	if kids := children(t); len(kids) > 0 {
		t.Fatalf("after Close: %v", kids)
	}
	h.Close()
	if _, err := dt.Describe(ctx); !errors.Is(err, host.ErrClosed) {
		t.Errorf("call after Close: %v, want ErrClosed", err)
	}
}

// TestCloseAbandonsStart: Close does not wait for a plugin that never
// finishes its handshake.
func TestCloseAbandonsStart(t *testing.T) {
	ctx := context.Background()
	pc := plugin("badhandshake")
	pc.StartTimeout = time.Minute
	h, _ := newHost(t, host.Options{Env: []string{"BAD_HANDSHAKE=silent"}}, pc)
	dt, _ := h.DeployTarget(ctx, "badhandshake")
	errc := make(chan error, 1)
	go func() { _, err := dt.Describe(ctx); errc <- err }()
	waitFor(t, 10*time.Second, "the plugin process to start", func() bool { return len(children(t)) > 0 })
	start := time.Now()
	h.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %s", d)
	}
	if err := <-errc; !errors.Is(err, host.ErrClosed) {
		t.Errorf("call during Close: %v, want ErrClosed", err)
	}
}
