package main

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/warroom/warroom/plugins/sdk"
)

// launch builds this plugin and starts it as warroom would.
func launch(t *testing.T) *sdk.Conn {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the plugin binary")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool")
	}
	bin := filepath.Join(t.TempDir(), "exec-plugin")
	if out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          sdk.PluginSet(),
		Cmd:              exec.Command(bin),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           hclog.NewNullLogger(),
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		t.Fatal(err)
	}
	return raw.(*sdk.Conn)
}

func TestEndToEndThroughTheSDK(t *testing.T) {
	ctx := context.Background()
	conn := launch(t)
	info, err := conn.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "exec" || len(info.Settings) != len(settingSpecs) || len(info.Kinds) != 1 || info.Kinds[0] != sdk.KindDeployTarget {
		t.Errorf("info %+v", info)
	}
	state := t.TempDir()
	wantCode(t, conn.Configure(ctx, sdk.Config{StateDir: state, Settings: map[string]string{"deplyo": "x"}}),
		sdk.CodeInvalid, `unknown setting "deplyo"`)
	if err := conn.Configure(ctx, sdk.Config{StateDir: state, Settings: map[string]string{
		"deploy":   `echo x >> count; echo "::progress 50 halfway"; echo "::phase switching"`,
		"rollback": `echo "no such version" >&2; exit 4`,
	}}); err != nil {
		t.Fatal(err)
	}
	dt := conn.DeployTarget()

	s := &sink{}
	req := sdk.DeployRequest{IdempotencyKey: "e2e-1", Target: api, Version: "1.5.0"}
	if err := dt.Deploy(ctx, req, s); err != nil {
		t.Fatal(err)
	}
	ev := s.all()
	if len(ev) != 4 || ev[1].Percent != 50 || ev[1].Message != "halfway" || ev[2].Phase != "switching" ||
		!ev[3].Done || ev[3].Failed || ev[3].Percent != 100 {
		t.Errorf("events %+v", ev)
	}
	s = &sink{}
	if err := dt.Deploy(ctx, req, s); err != nil {
		t.Fatal(err)
	}
	if ev := s.all(); len(ev) != 1 || !ev[0].Done || !ev[0].Replayed {
		t.Errorf("replay events %+v", ev)
	}
	if n := lines(t, filepath.Join(state, "count")); n != 1 {
		t.Errorf("ran %d times", n)
	}

	rb := sdk.RollbackRequest{IdempotencyKey: "e2e-rb", Target: api, ToVersion: "1.4.0"}
	for _, replay := range []bool{false, true} {
		s = &sink{}
		err := dt.Rollback(ctx, rb, s)
		if err == nil || !strings.Contains(err.Error(), "no such version") {
			t.Errorf("rollback err %v", err)
		}
		ev := s.all()
		if last := ev[len(ev)-1]; !last.Done || !last.Failed || last.Replayed != replay ||
			!strings.Contains(last.Message, "exited with code 4") {
			t.Errorf("replay %v: last event %+v", replay, last)
		}
	}

	st, err := dt.Status(ctx, sdk.StatusRequest{Target: sdk.Target{Environment: "prod"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Services) != 1 || st.Services[0].Healthy || len(st.AppliedKeys) != 1 || st.AppliedKeys[0] != "e2e-1" {
		t.Errorf("status %+v", st)
	}
	_, err = dt.SetTraffic(ctx, sdk.SetTrafficRequest{Target: api, Weights: []sdk.TrafficWeight{{Version: "1", Percent: 100}}})
	wantCode(t, err, sdk.CodeUnimplemented)

	// Without a deploy command: a CodeInvalid error, which the SDK ends
	// the stream with (a done event would carry no code).
	if err := conn.Configure(ctx, sdk.Config{StateDir: state}); err != nil {
		t.Fatal(err)
	}
	s = &sink{}
	err = dt.Deploy(ctx, sdk.DeployRequest{IdempotencyKey: "e2e-2", Target: api, Version: "1.6.0"}, s)
	if err == nil || !strings.Contains(err.Error(), "no deploy command configured: set the deploy setting in the plugin config") {
		t.Errorf("err %v", err)
	}
	wantCode(t, err, sdk.CodeInvalid)
	if ev := s.all(); len(ev) != 0 {
		t.Errorf("events %+v", ev)
	}
}
