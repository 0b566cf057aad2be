package host_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/plugins/host"
	"github.com/warroom/warroom/plugins/sdk"
)

// TestCrashRestarts: a plugin that dies in a call fails that call with
// FaultCrashed, and the next call starts it again.
func TestCrashRestarts(t *testing.T) {
	ctx := context.Background()
	h, _ := newHost(t, host.Options{}, plugin("crashplugin"))
	dt, _ := h.DeployTarget(ctx, "crashplugin")
	if _, err := dt.Describe(ctx); err != nil {
		t.Fatal(err)
	}

	_, err := dt.Preflight(ctx, sdk.PreflightRequest{})
	wantFault(t, err, "crashplugin", "Preflight", host.FaultCrashed)
	if msg := err.Error(); !strings.Contains(msg, "crashed (exit status 3)") || !strings.HasSuffix(msg, "it will be restarted on next use") {
		t.Errorf("crash message: %s", msg)
	}
	st := h.List(ctx)[0] // List starts it again to learn its health
	if !st.Healthy || !st.Running || st.Fault != host.FaultCrashed || !strings.Contains(st.LastError, "Preflight") {
		t.Errorf("List after a crash and restart: %+v", st)
	}
	if _, err := dt.Describe(ctx); err != nil {
		t.Fatalf("call after the crash: %v", err)
	}

	// A crash in the middle of a stream.
	var evs events
	err = dt.Deploy(ctx, sdk.DeployRequest{Version: "1"}, &evs)
	wantFault(t, err, "crashplugin", "Deploy", host.FaultCrashed)
	if len(evs) > 1 || len(evs) == 1 && evs[0].Done {
		t.Errorf("events before the crash: %+v", evs) // the one sent may die with the process
	}
	if _, err := dt.Describe(ctx); err != nil {
		t.Fatalf("call after the crash: %v", err)
	}
}

// TestHangTimesOut: a call that hangs fails when its deadline passes, a
// stream that goes quiet when its idle timeout passes; the process is
// killed and the next call starts a new one.
func TestHangTimesOut(t *testing.T) {
	ctx := context.Background()
	pc := plugin("hangplugin")
	pc.Timeout = 300 * time.Millisecond
	pc.StreamIdleTimeout = 300 * time.Millisecond
	h, _ := newHost(t, host.Options{}, pc)
	dt, _ := h.DeployTarget(ctx, "hangplugin")
	if _, err := dt.Describe(ctx); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	_, err := dt.Preflight(ctx, sdk.PreflightRequest{})
	took := time.Since(start)
	wantFault(t, err, "hangplugin", "Preflight", host.FaultTimeout)
	if want := "plugin hangplugin: Preflight: timed out after 300ms; it will be restarted on next use"; err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
	if took < 250*time.Millisecond || took > time.Second {
		t.Errorf("the hung call failed after %s, want about 300ms", took)
	}
	if _, err := dt.Describe(ctx); err != nil {
		t.Fatalf("call after the timeout: %v", err)
	}

	start = time.Now()
	var evs events
	err = dt.Deploy(ctx, sdk.DeployRequest{Version: "1"}, &evs)
	took = time.Since(start)
	wantFault(t, err, "hangplugin", "Deploy", host.FaultTimeout)
	if !strings.Contains(err.Error(), "timed out: no event for 300ms") || len(evs) != 1 {
		t.Errorf("quiet stream: %v after %d events", err, len(evs))
	}
	if took < 300*time.Millisecond || took > 1500*time.Millisecond {
		t.Errorf("the quiet stream failed after %s, want just after 300ms", took)
	}
	if _, err := dt.Describe(ctx); err != nil {
		t.Fatalf("call after the timeout: %v", err)
	}
}

// TestCallerCancellationIsNoFault: the caller giving up is not the
// plugin's fault: the plugin stays up and healthy.
func TestCallerCancellationIsNoFault(t *testing.T) {
	ctx := context.Background()
	h, _ := newHost(t, host.Options{}, plugin("hangplugin"))
	dt, _ := h.DeployTarget(ctx, "hangplugin")
	if _, err := dt.Describe(ctx); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err := dt.Preflight(cctx, sdk.PreflightRequest{})
	if !errors.Is(err, context.DeadlineExceeded) || host.FaultOf(err) != "" {
		t.Fatalf("cancelled call: %v (fault %q)", err, host.FaultOf(err))
	}
	if st := h.List(ctx)[0]; !st.Healthy || !st.Running || st.LastError != "" {
		t.Errorf("after the caller's cancellation: %+v", st)
	}
}

// TestMalformedAnswers: answers that decode but cannot be true fail the
// call and restart the plugin.
func TestMalformedAnswers(t *testing.T) {
	ctx := context.Background()
	h, _ := newHost(t, host.Options{}, plugin("liarplugin"))
	dt, _ := h.DeployTarget(ctx, "liarplugin")
	for _, tc := range []struct {
		call string
		do   func() error
		want string
	}{
		{"Describe", func() error { _, err := dt.Describe(ctx); return err }, `unknown strategy "yolo"`},
		{"Preflight", func() error { _, err := dt.Preflight(ctx, sdk.PreflightRequest{}); return err }, "a check without a name"},
		{"SetTraffic", func() error {
			_, err := dt.SetTraffic(ctx, sdk.SetTrafficRequest{Weights: []sdk.TrafficWeight{{Version: "1", Percent: 100}}})
			return err
		}, "weights sum to 90%"},
		{"Deploy", func() error { return dt.Deploy(ctx, sdk.DeployRequest{Version: "1"}, nil) }, "150%, outside 0..100"},
		{"Status", func() error { _, err := dt.Status(ctx, sdk.StatusRequest{}); return err }, "5 of 2 instances ready"},
	} {
		err := tc.do()
		wantFault(t, err, "liarplugin", tc.call, host.FaultMalformed)
		if !strings.Contains(err.Error(), "malformed answer: ") || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, sdk.ErrMalformed) {
			t.Errorf("%s: %v, want it to say %q", tc.call, err, tc.want)
		}
	}
	// Verify's answer is fine: the plugin was started again.
	if _, err := dt.Verify(ctx, sdk.VerifyRequest{}); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestMalformedInfo(t *testing.T) {
	ctx := context.Background()
	h, _ := newHost(t, host.Options{},
		plugin("badinfoplugin"),
		plugin("crashplugin", sdk.KindTicketing), // serves deploy-target only
	)
	dt, _ := h.DeployTarget(ctx, "badinfoplugin")
	_, err := dt.Describe(ctx)
	wantFault(t, err, "badinfoplugin", "Info", host.FaultMalformed)
	if !strings.Contains(err.Error(), "no name") {
		t.Errorf("Info without a name: %v", err)
	}
	tk, _ := h.Ticketing(ctx, "crashplugin")
	_, err = tk.Describe(ctx)
	wantFault(t, err, "crashplugin", "Info", host.FaultMalformed)
	if !strings.Contains(err.Error(), "serves deploy-target, not ticketing") {
		t.Errorf("kind mismatch: %v", err)
	}
	for _, st := range h.List(ctx) {
		if st.Healthy || st.Running || st.Fault != host.FaultMalformed {
			t.Errorf("List: %+v", st)
		}
	}
}

func TestBadHandshake(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct{ mode, want string }{
		{"version", "incompatible API version"},
		{"netrpc", "unsupported plugin protocol"},
		{"garbage", "Unrecognized remote plugin message"},
		{"silent", "timeout while waiting for plugin to start"},
	} {
		pc := plugin("badhandshake")
		pc.StartTimeout = 500 * time.Millisecond
		h, _ := newHost(t, host.Options{Env: []string{"BAD_HANDSHAKE=" + tc.mode}}, pc)
		dt, _ := h.DeployTarget(ctx, "badhandshake")
		start := time.Now()
		_, err := dt.Describe(ctx)
		wantFault(t, err, "badhandshake", "Describe", host.FaultHandshake)
		if !strings.Contains(err.Error(), "could not start the plugin") || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want it to say %q", tc.mode, err, tc.want)
		}
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("%s: failed after %s", tc.mode, d)
		}
		h.Close()
		if kids := children(t); len(kids) > 0 {
			t.Errorf("%s: processes left: %v", tc.mode, kids)
		}
	}
}

// TestWatchIdleAndSinkErrors: a Watch that goes quiet fails with
// FaultTimeout; an error of the caller's own writer is returned as it is.
func TestWatchIdleAndSinkErrors(t *testing.T) {
	ctx := context.Background()
	pc := plugin("okplugin", sdk.KindMonitoringSource)
	pc.StreamIdleTimeout = 200 * time.Millisecond
	h, _ := newHost(t, host.Options{}, pc)
	ms, _ := h.MonitoringSource(ctx, "okplugin")

	start := time.Now()
	err := ms.Watch(ctx, sdk.WatchRequest{Interval: time.Hour}, &samples{stopAt: -1})
	wantFault(t, err, "okplugin", "Watch", host.FaultTimeout)
	if d := time.Since(start); d < 200*time.Millisecond || d > 1500*time.Millisecond {
		t.Errorf("quiet Watch failed after %s, want about 200ms", d)
	}

	errFull := errors.New("disk full")
	err = ms.Watch(ctx, sdk.WatchRequest{Interval: time.Millisecond}, failingWriter{errFull})
	if err != errFull {
		t.Errorf("Watch with a failing writer: %v, want the writer's error as it is", err)
	}
	if st := h.List(ctx)[0]; !st.Healthy || !strings.Contains(st.LastError, "no event for 200ms") {
		t.Errorf("List: %+v", st)
	}
}

type failingWriter struct{ err error }

func (failingWriter) Series(string, map[string]string) sdk.SeriesID { return 1 }
func (w failingWriter) Write(sdk.SeriesID, int64, float64) error    { return w.err }
func (failingWriter) Flush() error                                  { return nil }
