// Command fast is the plugin of warroom's benchmarks on the SDK side: a
// deploy target whose Describe returns a constant, and a monitoring source
// whose Watch writes samples of one series as fast as the SDK takes them.
// plugins/bench runs it through warroom's host beside the bare go-plugin
// echo plugin (testdata/plugins/echo).
package main

import (
	"context"

	"github.com/warroom/warroom/plugins/sdk"
)

func main() {
	sdk.Serve(sdk.Plugin{
		Name:             "fast",
		Version:          "1.0.0",
		Description:      "answers at once (a benchmark plugin)",
		DeployTarget:     target{},
		MonitoringSource: source{},
	})
}

type target struct{}

var caps = sdk.Capabilities{Strategies: []string{"rolling"}, Status: true}

func (target) Describe(context.Context) (sdk.Capabilities, error) { return caps, nil }

func (target) Preflight(context.Context, sdk.PreflightRequest) ([]sdk.Check, error) {
	return []sdk.Check{{Name: "ok", Passed: true}}, nil
}

func (target) Deploy(context.Context, sdk.DeployRequest, sdk.EventSink) error { return nil }

func (target) SetTraffic(_ context.Context, req sdk.SetTrafficRequest) ([]sdk.TrafficWeight, error) {
	return nil, sdk.Errorf(sdk.CodeUnimplemented, "no traffic shifting")
}

func (target) Verify(context.Context, sdk.VerifyRequest) ([]sdk.Check, error) {
	return []sdk.Check{{Name: "ok", Passed: true}}, nil
}

func (target) Rollback(context.Context, sdk.RollbackRequest, sdk.EventSink) error { return nil }

func (target) Status(context.Context, sdk.StatusRequest) (sdk.Status, error) {
	return sdk.Status{Services: []sdk.ServiceStatus{}}, nil
}

type source struct{}

func (source) Describe(context.Context) (sdk.MonitoringCapabilities, error) {
	return sdk.MonitoringCapabilities{Watch: true, Metrics: []sdk.MetricDescriptor{{Name: "requests", Kind: "counter"}}}, nil
}

func (source) Query(context.Context, sdk.QueryRequest) ([]sdk.Series, error) { return nil, nil }

// Watch writes until the watcher goes away; the context is looked at once
// every 100 samples so that the loop measures the SDK, not the context.
func (source) Watch(ctx context.Context, _ sdk.WatchRequest, w sdk.SampleWriter) error {
	id := w.Series("requests", map[string]string{"service": "fast"})
	for t := int64(1); ; t++ {
		if err := w.Write(id, t, float64(t)); err != nil {
			return nil
		}
		if t%100 == 0 && ctx.Err() != nil {
			return nil
		}
	}
}

func (source) Alerts(context.Context, sdk.AlertsRequest) ([]sdk.Alert, error) { return nil, nil }

func (source) Logs(context.Context, sdk.LogsRequest) (sdk.LogsResult, error) {
	return sdk.LogsResult{}, nil
}
