// Command liarplugin is a deploy target for the host's tests whose answers
// decode but cannot be true: an unknown strategy, weights that do not sum
// to 100, progress beyond 100%, more instances ready than exist.
package main

import (
	"context"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

func main() {
	sdk.Serve(sdk.Plugin{Name: "liarplugin", Version: "0.1.0", DeployTarget: target{}})
}

type target struct{}

func (target) Describe(context.Context) (sdk.Capabilities, error) {
	return sdk.Capabilities{Strategies: []string{"yolo"}}, nil
}

func (target) Preflight(context.Context, sdk.PreflightRequest) ([]sdk.Check, error) {
	return []sdk.Check{{Name: "", Passed: true}}, nil
}

func (target) Deploy(ctx context.Context, req sdk.DeployRequest, events sdk.EventSink) error {
	return events.Send(sdk.DeployEvent{At: time.Now(), Percent: 150})
}

func (target) SetTraffic(_ context.Context, req sdk.SetTrafficRequest) ([]sdk.TrafficWeight, error) {
	return []sdk.TrafficWeight{{Version: "1", Percent: 50}, {Version: "2", Percent: 40}}, nil
}

func (target) Verify(context.Context, sdk.VerifyRequest) ([]sdk.Check, error) {
	return []sdk.Check{{Name: "smoke", Passed: true}}, nil
}

func (target) Rollback(context.Context, sdk.RollbackRequest, sdk.EventSink) error { return nil }

func (target) Status(context.Context, sdk.StatusRequest) (sdk.Status, error) {
	return sdk.Status{Services: []sdk.ServiceStatus{{
		Target:   sdk.Target{Service: "api"},
		Versions: []sdk.VersionStatus{{Version: "1", Instances: 2, Ready: 5, Weight: 100}},
	}}}, nil
}
