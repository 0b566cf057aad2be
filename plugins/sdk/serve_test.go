package sdk

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"
)

// helperEnv makes the test binary a plugin: TestHelperPlugin then calls
// Serve the way a plugin's main does.
const helperEnv = "WARROOM_SDK_TEST_PLUGIN"

func TestHelperPlugin(t *testing.T) {
	switch os.Getenv(helperEnv) {
	case "":
		t.Skip("run as a plugin subprocess by TestServe")
	case "valid":
		r := newRecorder()
		p := fakePlugin(r)
		p.Configure = func(ctx context.Context, cfg Config) error { return nil }
		Serve(p)
	case "invalid":
		Serve(Plugin{Name: "broken", Version: "one"})
	}
	os.Exit(3) // Serve returned: not what a plugin's main expects
}

func helperCmd(mode string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperPlugin$")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	return cmd
}

// TestServe launches the plugin as warroom does: a subprocess, gRPC only,
// AutoMTLS, through go-plugin's handshake.
func TestServe(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a subprocess")
	}
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		Plugins:          PluginSet(),
		Cmd:              helperCmd("valid"),
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           hclog.NewNullLogger(),
	})
	defer client.Kill()
	rpc, err := client.Client()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := rpc.Dispense(PluginName)
	if err != nil {
		t.Fatal(err)
	}
	c := raw.(*Conn)
	ctx := context.Background()

	info, err := c.Info(ctx)
	if err != nil || info.Name != "fake" || len(info.Kinds) != 3 {
		t.Fatalf("Info = %+v, %v", info, err)
	}
	if _, err := c.DeployTarget().Describe(ctx); CodeOf(err) != CodeFailedPrecondition {
		t.Errorf("Describe before Configure: %v, want CodeFailedPrecondition", err)
	}
	if err := c.Configure(ctx, Config{}); err != nil {
		t.Fatal(err)
	}
	var log eventLog
	if err := c.DeployTarget().Deploy(ctx, DeployRequest{Version: "1.0.0"}, &log); err != nil || len(log.events) != 1 || !log.events[0].Done {
		t.Errorf("Deploy: %v, events %+v", err, log.events)
	}
	if _, err := c.Ticketing().GetChange(ctx, "CHG-1"); err != nil {
		t.Errorf("GetChange: %v", err)
	}
}

func TestServeInvalidPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a subprocess")
	}
	cmd := helperCmd("invalid")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1", err)
	}
	for _, want := range []string{"cannot serve this plugin", `Version "one"`, "no provider kind"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr %q does not say %q", stderr.String(), want)
		}
	}
}
