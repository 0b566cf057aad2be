package host_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/warroom/warroom/plugins/host"
	"github.com/warroom/warroom/plugins/sdk"
)

// faultLog is a FaultLog in memory.
type faultLog struct {
	mu   sync.Mutex
	recs []host.FaultRecord
}

func (f *faultLog) RecordFault(_ context.Context, r host.FaultRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recs = append(f.recs, r)
	return nil
}

func (f *faultLog) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]string, len(f.recs))
	for i, r := range f.recs {
		out[i] = fmt.Sprintf("%s %s %s %s %t", r.Plugin, r.Fault, r.Call, r.Process, !r.At.IsZero() && r.Message != "")
	}
	return out
}

// Every fault of a plugin reaches the Host's FaultLog once, with the
// process that saw it: refusals (the plugin keeps running), crashes, and
// binaries nobody trusted. A call that fails only because an earlier
// fault stopped the plugin is not a new fault.
func TestFaultLogRecordsEveryFault(t *testing.T) {
	ctx := context.Background()
	log := &faultLog{}
	refusing := plugin("okplugin")
	refusing.Settings = map[string]string{"colour": "blue"}
	untrusted := host.PluginConfig{Name: "stranger", Path: copyBin(t, "okplugin"), Kinds: []sdk.Kind{sdk.KindDeployTarget}}
	polite := plugin("okplugin")
	polite.Name = "polite"
	h, _ := newHost(t, host.Options{Faults: log, Process: "test (pid 1)"}, plugin("crashplugin"), refusing, untrusted, polite)

	crash, _ := h.DeployTarget(ctx, "crashplugin")
	if _, err := crash.Describe(ctx); err != nil {
		t.Fatal(err)
	}
	_, err := crash.Preflight(ctx, sdk.PreflightRequest{})
	wantFault(t, err, "crashplugin", "Preflight", host.FaultCrashed)
	ok, _ := h.DeployTarget(ctx, "okplugin")
	_, err = ok.Describe(ctx)
	wantFault(t, err, "okplugin", "Configure", host.FaultRefused)
	str, _ := h.DeployTarget(ctx, "stranger")
	_, err = str.Describe(ctx)
	wantFault(t, err, "stranger", "Describe", host.FaultUntrusted)

	// A refusal of a running plugin, in a stream; the plugin stays up.
	pol, _ := h.DeployTarget(ctx, "polite")
	err = pol.Deploy(ctx, sdk.DeployRequest{}, &events{})
	wantFault(t, err, "polite", "Deploy", host.FaultRefused)
	if _, err := pol.Describe(ctx); err != nil {
		t.Fatal(err)
	}

	want := []string{
		"crashplugin crashed Preflight test (pid 1) true",
		"okplugin refused Configure test (pid 1) true",
		"stranger untrusted Describe test (pid 1) true",
		"polite refused Deploy test (pid 1) true",
	}
	if got := log.got(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("faults recorded:\n%q\nwant:\n%q", got, want)
	}
}
