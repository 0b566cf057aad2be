package main

import (
	"context"
	"os/exec"
	"path/filepath"
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
	bin := filepath.Join(t.TempDir(), "tickets-local")
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
	if info.Name != "tickets-local" || len(info.Kinds) != 1 || info.Kinds[0] != sdk.KindTicketing {
		t.Errorf("info %+v", info)
	}
	wantCode(t, conn.Configure(ctx, sdk.Config{StateDir: t.TempDir(), Settings: map[string]string{"urll": "x"}}),
		sdk.CodeInvalid, `unknown setting "urll"`)
	if err := conn.Configure(ctx, sdk.Config{StateDir: t.TempDir(), Settings: map[string]string{"approvals_required": "2"}}); err != nil {
		t.Fatal(err)
	}
	tk := conn.Ticketing()
	caps, err := tk.Describe(ctx)
	if err != nil || caps.System != "local" || !caps.Approvals {
		t.Fatalf("Describe = %+v, %v", caps, err)
	}
	c, err := tk.CreateChange(ctx, sdk.CreateChangeRequest{IdempotencyKey: "k", Spec: spec("normal")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = tk.Transition(ctx, sdk.TransitionRequest{ID: c.ID, ToState: "approved", Actor: "alice"})
	wantCode(t, err, sdk.CodeFailedPrecondition, "nobody approves their own change")
	for _, who := range []string{"bob", "carol"} {
		if c, err = tk.Transition(ctx, sdk.TransitionRequest{ID: c.ID, ToState: "approved", Actor: who, Role: "operations"}); err != nil {
			t.Fatal(err)
		}
	}
	if c.State != "approved" || len(c.Approvals) != 2 {
		t.Errorf("change %+v", c)
	}
	_, err = tk.Transition(ctx, sdk.TransitionRequest{ID: c.ID, ToState: "closed"})
	wantCode(t, err, sdk.CodeFailedPrecondition, "it can move to scheduled, implementing or cancelled")
	_, err = tk.GetChange(ctx, "CHG-999999")
	if sdk.CodeOf(err) != sdk.CodeNotFound {
		t.Errorf("GetChange of an unknown id: %v", err)
	}
	r, err := tk.Notify(ctx, sdk.NotifyRequest{IdempotencyKey: "n", To: []string{"ops"}, Subject: "hi", ChangeID: c.ID})
	if err != nil || r.MessageID != "MSG-000001" {
		t.Errorf("Notify = %+v, %v", r, err)
	}
}
