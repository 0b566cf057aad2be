// Command hangplugin is a deploy target for the host's tests that stops
// answering: Describe works, Preflight never returns (it ignores its
// context), Deploy sends one event and then goes quiet forever.
package main

import (
	"context"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

func main() {
	sdk.Serve(sdk.Plugin{Name: "hangplugin", Version: "0.1.0", DeployTarget: target{}})
}

type target struct{}

func (target) Describe(context.Context) (sdk.Capabilities, error) {
	return sdk.Capabilities{Strategies: []string{"rolling"}}, nil
}

func (target) Preflight(context.Context, sdk.PreflightRequest) ([]sdk.Check, error) {
	select {}
}

func (target) Deploy(ctx context.Context, req sdk.DeployRequest, events sdk.EventSink) error {
	_ = events.Send(sdk.DeployEvent{At: time.Now(), Percent: 10})
	select {}
}

func (target) SetTraffic(context.Context, sdk.SetTrafficRequest) ([]sdk.TrafficWeight, error) {
	select {}
}

func (target) Verify(context.Context, sdk.VerifyRequest) ([]sdk.Check, error) { return nil, nil }

func (target) Rollback(context.Context, sdk.RollbackRequest, sdk.EventSink) error { return nil }

func (target) Status(context.Context, sdk.StatusRequest) (sdk.Status, error) {
	return sdk.Status{}, nil
}
