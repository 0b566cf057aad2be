// Command hang is a misbehaving plugin for warroom's tests: a deploy
// target that answers Info (the SDK answers it from the Plugin value) and
// blocks forever on every other call, Configure included, ignoring the
// call's context. Only the host's deadline ends such a call (fault
// "timeout"), and only killing the process ends the plugin.
package main

import (
	"context"

	"github.com/warroom/warroom/plugins/sdk"
)

func main() {
	sdk.Serve(sdk.Plugin{
		Name:         "hang",
		Version:      "1.0.0",
		Description:  "blocks forever on every call but Info (a test plugin)",
		Configure:    func(context.Context, sdk.Config) error { block(); return nil },
		DeployTarget: target{},
	})
}

// block never returns and deliberately ignores any context.
func block() { select {} }

type target struct{}

func (target) Describe(context.Context) (sdk.Capabilities, error) {
	block()
	return sdk.Capabilities{}, nil
}

func (target) Preflight(context.Context, sdk.PreflightRequest) ([]sdk.Check, error) {
	block()
	return nil, nil
}

func (target) Deploy(context.Context, sdk.DeployRequest, sdk.EventSink) error { block(); return nil }

func (target) SetTraffic(context.Context, sdk.SetTrafficRequest) ([]sdk.TrafficWeight, error) {
	block()
	return nil, nil
}

func (target) Verify(context.Context, sdk.VerifyRequest) ([]sdk.Check, error) {
	block()
	return nil, nil
}

func (target) Rollback(context.Context, sdk.RollbackRequest, sdk.EventSink) error {
	block()
	return nil
}

func (target) Status(context.Context, sdk.StatusRequest) (sdk.Status, error) {
	block()
	return sdk.Status{}, nil
}
