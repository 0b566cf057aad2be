package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/warroom/warroom/plugins/conformance"
	"github.com/warroom/warroom/plugins/sdk"
)

// launched is the plugin binary running as warroom runs it.
type launched struct {
	client *plugin.Client
	cmd    *exec.Cmd
	conn   *sdk.Conn
}

func launch(t *testing.T) *launched {
	t.Helper()
	cmd := exec.Command(pluginBin)
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  sdk.Handshake,
		Plugins:          sdk.PluginSet(),
		Cmd:              cmd,
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		AutoMTLS:         true,
		Logger:           hclog.NewNullLogger(),
	})
	t.Cleanup(client.Kill)
	rpc, err := client.Client()
	if err != nil {
		t.Fatalf("launch %s: %v", pluginBin, err)
	}
	raw, err := rpc.Dispense(sdk.PluginName)
	if err != nil {
		t.Fatal(err)
	}
	return &launched{client: client, cmd: cmd, conn: raw.(*sdk.Conn)}
}

// children returns the pids of the demo-service processes whose parent
// is pid.
func children(pid int) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		f := strings.Fields(s[i+1:])
		if len(f) > 2 && f[1] == strconv.Itoa(pid) && strings.Contains(s[:i], "(demo-service") {
			out = append(out, child)
		}
	}
	return out
}

func allGone(pids []int) func() bool {
	return func() bool {
		for _, p := range pids {
			if !gone(p) {
				return false
			}
		}
		return true
	}
}

func deployVia(t *testing.T, l *launched, key string) {
	t.Helper()
	s := &sink{}
	err := l.conn.DeployTarget().Deploy(context.Background(), sdk.DeployRequest{
		IdempotencyKey: key, Target: payments, Version: "3.2.0", FromVersion: "3.1.0",
		Strategy: "canary", Instances: 2,
	}, s)
	if err != nil {
		t.Fatalf("deploy through the plugin: %v\n%s", err, s.messages())
	}
}

// TestPluginProcessOwnsItsFleet runs the plugin binary: one fleet per
// state dir, and no demo-service outlives the plugin, however it ends
// (SIGKILL, SIGTERM, warroom's graceful stop).
func TestPluginProcessOwnsItsFleet(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	// The default service_binary: bin/demo-service beside bin/plugins/.
	cfg := sdk.Config{StateDir: dir, Settings: map[string]string{"traffic_rps": "50"}}

	a := launch(t)
	if err := a.conn.Configure(ctx, cfg); err != nil {
		t.Fatalf("configure: %v", err)
	}
	deployVia(t, a, "run/1/1")
	pids := children(a.cmd.Process.Pid)
	if len(pids) != 4 {
		t.Fatalf("the plugin runs %d demo-service processes, want 4 (2 baseline, 2 canary)", len(pids))
	}

	b := launch(t)
	err := b.conn.Configure(ctx, cfg)
	want := "another warroom process (pid " + strconv.Itoa(os.Getpid()) + ") runs this local fleet"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("second plugin on one state dir: %v, want %q", err, want)
	}

	// SIGKILL: Pdeathsig takes the fleet down with the plugin.
	a.cmd.Process.Signal(syscall.SIGKILL)
	waitFor(t, "the fleet to die with its plugin (SIGKILL)", allGone(pids))

	// The lock died too (once the kernel has finished tearing the
	// process down, which can come after its leader looks gone); the
	// journal did not.
	waitFor(t, "the lock to be free after its holder died", func() bool {
		return b.conn.Configure(ctx, cfg) == nil
	})
	st, err := b.conn.DeployTarget().Status(ctx, sdk.StatusRequest{Target: payments})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Services) != 1 || len(st.Services[0].Versions) != 0 || len(st.AppliedKeys) != 1 || st.AppliedKeys[0] != "run/1/1" {
		t.Errorf("status of a new fleet: %+v", st)
	}
	deployVia(t, b, "run/1/2")
	pids = children(b.cmd.Process.Pid)
	if len(pids) != 4 {
		t.Fatalf("%d processes after the second deploy", len(pids))
	}
	// warroom's graceful stop.
	b.client.Kill()
	waitFor(t, "the fleet to stop with its plugin (graceful)", allGone(pids))

	// SIGTERM.
	c := launch(t)
	if err := c.conn.Configure(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	deployVia(t, c, "run/1/3")
	pids = children(c.cmd.Process.Pid)
	c.cmd.Process.Signal(syscall.SIGTERM)
	waitFor(t, "the fleet to stop with its plugin (SIGTERM)", allGone(append(pids, c.cmd.Process.Pid)))
	if b, _ := os.ReadFile(filepath.Join(dir, endpointsFile)); strings.TrimSpace(string(b)) != "{}" {
		t.Errorf("endpoints.json after SIGTERM: %s", b)
	}
}

func TestConformance(t *testing.T) {
	conformance.RunT(t, pluginBin, map[string]string{"traffic_rps": "0"})
}
