// Command okplugin is a well-behaved plugin for the host's tests: it
// serves every provider kind with small, valid answers.
package main

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

func main() {
	sdk.Serve(sdk.Plugin{
		Name:    "okplugin",
		Version: "1.2.3",
		Settings: []sdk.SettingSpec{
			{Name: "greeting", Description: "logged when configured"},
		},
		Configure: func(ctx context.Context, cfg sdk.Config) error {
			for k := range cfg.Settings {
				if k != "greeting" {
					return sdk.Errorf(sdk.CodeInvalid, "unknown setting %q", k)
				}
			}
			// Both must land in warroom's log file, never on its screen.
			fmt.Fprintf(os.Stdout, "okplugin stdout: configured with %q\n", cfg.Settings["greeting"])
			fmt.Fprintf(os.Stderr, "okplugin stderr: state in %s\n", cfg.StateDir)
			return nil
		},
		DeployTarget:     target{},
		MonitoringSource: source{},
		Ticketing:        &tickets{changes: map[string]sdk.Change{}},
	})
}

type target struct{}

func (target) Describe(context.Context) (sdk.Capabilities, error) {
	return sdk.Capabilities{Strategies: []string{"rolling", "canary"}, TrafficShifting: true, Status: true}, nil
}

func (target) Preflight(context.Context, sdk.PreflightRequest) ([]sdk.Check, error) {
	return []sdk.Check{{Name: "reachable", Passed: true}}, nil
}

func (target) Deploy(ctx context.Context, req sdk.DeployRequest, events sdk.EventSink) error {
	if req.Version == "" {
		return sdk.Errorf(sdk.CodeInvalid, "no version to deploy")
	}
	for _, pct := range []int{0, 50} {
		if err := events.Send(sdk.DeployEvent{At: time.Now(), Phase: "rolling", Percent: pct}); err != nil {
			return err
		}
	}
	return nil
}

func (target) SetTraffic(_ context.Context, req sdk.SetTrafficRequest) ([]sdk.TrafficWeight, error) {
	return req.Weights, nil
}

func (target) Verify(context.Context, sdk.VerifyRequest) ([]sdk.Check, error) {
	return []sdk.Check{{Name: "smoke", Passed: true}}, nil
}

func (target) Rollback(ctx context.Context, req sdk.RollbackRequest, events sdk.EventSink) error {
	return events.Send(sdk.DeployEvent{At: time.Now(), Phase: "rollback", Percent: 50})
}

func (target) Status(_ context.Context, req sdk.StatusRequest) (sdk.Status, error) {
	return sdk.Status{Services: []sdk.ServiceStatus{{
		Target:   sdk.Target{Service: "api", Environment: req.Target.Environment},
		Versions: []sdk.VersionStatus{{Version: "1.0.0", Instances: 2, Ready: 2, Weight: 100}},
		Healthy:  true,
	}}}, nil
}

type source struct{}

func (source) Describe(context.Context) (sdk.MonitoringCapabilities, error) {
	return sdk.MonitoringCapabilities{Metrics: []sdk.MetricDescriptor{{Name: "errors", Kind: "counter"}}, Watch: true}, nil
}

func (source) Query(_ context.Context, req sdk.QueryRequest) ([]sdk.Series, error) {
	return []sdk.Series{{Metric: req.Metric, Points: []sdk.Point{{T: 1, V: 1}, {T: 2, V: 2}}}}, nil
}

// Watch writes one sample per interval (default 10ms) until cancelled.
func (source) Watch(ctx context.Context, req sdk.WatchRequest, w sdk.SampleWriter) error {
	every := req.Interval
	if every <= 0 {
		every = 10 * time.Millisecond
	}
	id := w.Series("errors", nil)
	t := time.NewTicker(every)
	defer t.Stop()
	for i := 0; ; i++ {
		if err := w.Write(id, int64(i), float64(i)); err != nil {
			return nil
		}
		if err := w.Flush(); err != nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (source) Alerts(context.Context, sdk.AlertsRequest) ([]sdk.Alert, error) {
	return []sdk.Alert{{Name: "HighErrors", State: "firing"}}, nil
}

func (source) Logs(context.Context, sdk.LogsRequest) (sdk.LogsResult, error) {
	return sdk.LogsResult{Lines: []sdk.LogLine{{At: time.Now(), Message: "hello"}}}, nil
}

type tickets struct {
	mu      sync.Mutex
	changes map[string]sdk.Change
}

func (t *tickets) Describe(context.Context) (sdk.TicketingCapabilities, error) {
	return sdk.TicketingCapabilities{System: "memory", States: []string{"open", "approved"}}, nil
}

func (t *tickets) CreateChange(_ context.Context, req sdk.CreateChangeRequest) (sdk.Change, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := sdk.Change{ID: fmt.Sprintf("CHG-%d", len(t.changes)+1), State: "open", Spec: req.Spec}
	t.changes[c.ID] = c
	return c, nil
}

func (t *tickets) GetChange(_ context.Context, id string) (sdk.Change, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.changes[id]
	if !ok {
		return sdk.Change{}, sdk.Errorf(sdk.CodeNotFound, "no change %s", id)
	}
	return c, nil
}

func (t *tickets) Comment(ctx context.Context, req sdk.CommentRequest) (sdk.Change, error) {
	return t.GetChange(ctx, req.ID)
}

func (t *tickets) Transition(ctx context.Context, req sdk.TransitionRequest) (sdk.Change, error) {
	return t.GetChange(ctx, req.ID)
}

func (t *tickets) Notify(context.Context, sdk.NotifyRequest) (sdk.NotifyResult, error) {
	return sdk.NotifyResult{}, nil
}
