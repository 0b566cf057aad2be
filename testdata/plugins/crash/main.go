// Command crash is a misbehaving plugin for warroom's tests: a deploy
// target that answers Info and Configure and then dies on every other
// call. Describe, Preflight, SetTraffic, Verify and Status end the process
// abruptly (exit status 3); Deploy and Rollback panic on a goroutine of
// their own, outside any recover the SDK puts around a call, so the whole
// process goes down with a Go panic on its stderr. The host must turn each
// into an error naming the plugin, the call and the fault "crashed", and
// start the plugin again on the next call.
package main

import (
	"context"
	"os"

	"github.com/warroom/warroom/plugins/sdk"
)

func main() {
	sdk.Serve(sdk.Plugin{
		Name:         "crash",
		Version:      "1.0.0",
		Description:  "crashes on every call but Info and Configure (a test plugin)",
		DeployTarget: target{},
	})
}

type target struct{}

func exit() { os.Exit(3) }

// panicElsewhere crashes the process from a goroutine: no recover on the
// call's goroutine can catch it.
func panicElsewhere(ctx context.Context) error {
	go panic("crash: deliberately panicking outside the call")
	<-ctx.Done()
	return ctx.Err()
}

func (target) Describe(context.Context) (sdk.Capabilities, error) {
	exit()
	return sdk.Capabilities{}, nil
}

func (target) Preflight(context.Context, sdk.PreflightRequest) ([]sdk.Check, error) {
	exit()
	return nil, nil
}

func (target) Deploy(ctx context.Context, _ sdk.DeployRequest, _ sdk.EventSink) error {
	return panicElsewhere(ctx)
}

func (target) SetTraffic(context.Context, sdk.SetTrafficRequest) ([]sdk.TrafficWeight, error) {
	exit()
	return nil, nil
}

func (target) Verify(context.Context, sdk.VerifyRequest) ([]sdk.Check, error) {
	exit()
	return nil, nil
}

func (target) Rollback(ctx context.Context, _ sdk.RollbackRequest, _ sdk.EventSink) error {
	return panicElsewhere(ctx)
}

func (target) Status(context.Context, sdk.StatusRequest) (sdk.Status, error) {
	exit()
	return sdk.Status{}, nil
}
