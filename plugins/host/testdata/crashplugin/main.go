// Command crashplugin is a deploy target for the host's tests that dies in
// the middle of calls: Describe works, Preflight exits the process, Deploy
// exits after its first event.
package main

import (
	"context"
	"os"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

func main() {
	sdk.Serve(sdk.Plugin{Name: "crashplugin", Version: "0.1.0", DeployTarget: target{}})
}

type target struct{}

func (target) Describe(context.Context) (sdk.Capabilities, error) {
	return sdk.Capabilities{Strategies: []string{"rolling"}}, nil
}

func (target) Preflight(context.Context, sdk.PreflightRequest) ([]sdk.Check, error) {
	os.Exit(3)
	return nil, nil
}

func (target) Deploy(ctx context.Context, req sdk.DeployRequest, events sdk.EventSink) error {
	_ = events.Send(sdk.DeployEvent{At: time.Now(), Percent: 10})
	os.Exit(4)
	return nil
}

func (target) SetTraffic(context.Context, sdk.SetTrafficRequest) ([]sdk.TrafficWeight, error) {
	panic("SetTraffic is not expected")
}

func (target) Verify(context.Context, sdk.VerifyRequest) ([]sdk.Check, error) {
	return nil, nil
}

func (target) Rollback(context.Context, sdk.RollbackRequest, sdk.EventSink) error { return nil }

func (target) Status(context.Context, sdk.StatusRequest) (sdk.Status, error) {
	return sdk.Status{}, nil
}
