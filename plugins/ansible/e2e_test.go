package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/warroom/warroom/plugins/sdk"
)

// launch starts the plugin binary TestMain built, as warroom would.
func launch(t *testing.T) *sdk.Conn {
	t.Helper()
	<-buildDone
	if buildErr != nil {
		if testing.Short() || pluginBin == "" {
			t.Skip(buildErr)
		}
		t.Fatal(buildErr)
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          sdk.PluginSet(),
		Cmd:              exec.Command(pluginBin),
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
	needAnsible(t)
	t.Parallel()
	ctx := context.Background()
	conn := launch(t)
	info, err := conn.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info.Name != "ansible" || len(info.Settings) != len(settingSpecs) || len(info.Kinds) != 1 || info.Kinds[0] != sdk.KindDeployTarget {
		t.Errorf("info %+v", info)
	}

	dir := t.TempDir()
	state, out := filepath.Join(dir, "state"), filepath.Join(dir, "out")
	os.Mkdir(out, 0o755)
	pb := filepath.Join(dir, "deploy.yml")
	if err := os.WriteFile(pb, []byte(`
- hosts: all
  gather_facts: false
  tasks:
    - name: Install payments {{ warroom_version }}
      shell: echo "{{ warroom_version }}" >> {{ out }}/installed
    - name: Wait for payments
      debug: msg="payments {{ warroom_version }} is up"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	wantCode(t, conn.Configure(ctx, sdk.Config{StateDir: state, Settings: map[string]string{"deploy_playbok": pb}}),
		sdk.CodeInvalid, `unknown setting "deploy_playbok"`)
	wantCode(t, conn.Configure(ctx, sdk.Config{StateDir: state, Settings: map[string]string{"deploy_playbook": pb + ".missing"}}),
		sdk.CodeInvalid, "deploy.yml.missing does not exist")
	if err := conn.Configure(ctx, sdk.Config{StateDir: state, Settings: map[string]string{
		"deploy_playbook": pb, "extra_vars": `{"out": "` + out + `"}`,
	}}); err != nil {
		t.Fatal(err)
	}
	dt := conn.DeployTarget()

	s := &sink{}
	req := sdk.DeployRequest{IdempotencyKey: "e2e-1", Target: payments, Version: "3.2.0"}
	if err := dt.Deploy(ctx, req, s); err != nil {
		t.Fatal(err)
	}
	ev := s.all()
	var tasks []string
	for _, e := range ev {
		if strings.HasPrefix(e.Message, "TASK [") {
			tasks = append(tasks, e.Phase)
		}
	}
	if !slices.Equal(tasks, []string{"Install payments 3.2.0", "Wait for payments"}) {
		t.Errorf("task events %v", tasks)
	}
	if last := ev[len(ev)-1]; !last.Done || last.Failed || last.Percent != 100 {
		t.Errorf("last event %+v", last)
	}
	if !slices.ContainsFunc(ev, func(e sdk.DeployEvent) bool {
		return e.Phase == "Wait for payments" && e.Message == `ok: [localhost] => {"msg": "payments 3.2.0 is up"}`
	}) {
		t.Errorf("events %+v", ev)
	}

	s = &sink{}
	if err := dt.Deploy(ctx, req, s); err != nil {
		t.Fatal(err)
	}
	if ev := s.all(); len(ev) != 1 || !ev[0].Done || !ev[0].Replayed {
		t.Errorf("replay events %+v", ev)
	}
	if n := lines(t, filepath.Join(out, "installed")); n != 1 {
		t.Errorf("ran %d times", n)
	}
	st, err := dt.Status(ctx, sdk.StatusRequest{Target: sdk.Target{Environment: "prod"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Services) != 1 || !slices.Equal(st.AppliedKeys, []string{"e2e-1"}) {
		t.Errorf("status %+v", st)
	}
	// No rollback playbook: a coded refusal, which the SDK ends the
	// stream with (a done event would carry no code).
	s = &sink{}
	err = dt.Rollback(ctx, sdk.RollbackRequest{IdempotencyKey: "rb", Target: payments, ToVersion: "3.1.0"}, s)
	if err == nil || !strings.Contains(err.Error(), "no rollback playbook configured") {
		t.Errorf("rollback err %v", err)
	}
	if sdk.CodeOf(err) == sdk.CodeInternal {
		t.Errorf("rollback err %v lost its code", err)
	}
	if ev := s.all(); len(ev) != 0 {
		t.Errorf("rollback events %+v", ev)
	}
}
