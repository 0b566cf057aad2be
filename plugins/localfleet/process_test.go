package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
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

func TestConformance(t *testing.T) {
	conformance.RunT(t, pluginBin, map[string]string{"traffic_rps": "0"})
}
