package main

import (
	"errors"
	"testing"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/plugins/host"
	"github.com/warroom/warroom/plugins/sdk"
)

// The engine sees the fault codes of the plugin contract.
func TestPluginFaultsAreClassifiedForTheEngine(t *testing.T) {
	for _, tc := range []struct {
		name         string
		err          error
		refused, out bool
	}{
		{"failed precondition", sdk.Errorf(sdk.CodeFailedPrecondition, "cluster upgrading"), true, false},
		{"refused through the host", &host.CallError{Plugin: "p", Call: "deploy", Fault: host.FaultRefused, Err: sdk.Errorf(sdk.CodeFailedPrecondition, "no")}, true, false},
		{"unavailable", sdk.Errorf(sdk.CodeUnavailable, "api down"), false, true},
		{"crashed", &host.CallError{Plugin: "p", Call: "deploy", Fault: host.FaultCrashed, Err: errors.New("EOF")}, false, true},
		{"timeout", &host.CallError{Plugin: "p", Call: "deploy", Fault: host.FaultTimeout, Err: errors.New("deadline")}, false, false},
		{"internal", sdk.Errorf(sdk.CodeInternal, "boom"), false, false},
	} {
		got := classify(tc.err)
		if errors.Is(got, deploy.ErrTargetRefused) != tc.refused || errors.Is(got, deploy.ErrTargetUnavailable) != tc.out {
			t.Errorf("%s: %v (refused %v, unavailable %v)", tc.name, got, errors.Is(got, deploy.ErrTargetRefused), errors.Is(got, deploy.ErrTargetUnavailable))
		}
		if !errors.Is(got, tc.err) {
			t.Errorf("%s: the plugin's error is lost: %v", tc.name, got)
		}
	}
	if classify(nil) != nil {
		t.Error("nil is not an error")
	}
}
