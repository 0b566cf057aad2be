package host_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/plugins/host"
	"github.com/warroom/warroom/plugins/sdk"
)

func TestLaunch(t *testing.T) {
	ctx := context.Background()
	logs := &syncBuffer{}
	p, err := host.Launch(ctx, bin("okplugin"), host.LaunchOptions{Kinds: allKinds, LogWriter: logs})
	if err != nil {
		t.Fatal(err)
	}
	if info := p.Info(); info.Name != "okplugin" || info.Version != "1.2.3" || len(info.Kinds) != 3 {
		t.Errorf("Info = %+v", info)
	}
	if p.Name() != "okplugin" || !p.Running() || !alive(p.PID()) {
		t.Errorf("plugin %s: running %v", p, p.Running())
	}
	if _, err := p.DeployTarget().Describe(ctx); err != nil {
		t.Error(err)
	}
	if _, err := p.MonitoringSource().Describe(ctx); err != nil {
		t.Error(err)
	}
	if _, err := p.Ticketing().Describe(ctx); err != nil {
		t.Error(err)
	}
	// The state directory is a fresh temporary one that Kill removes.
	i := strings.Index(logs.String(), "okplugin stderr: state in ")
	if i < 0 {
		t.Fatalf("no state directory in the log:\n%s", logs)
	}
	state := strings.Fields(logs.String()[i+len("okplugin stderr: state in "):])[0]
	if _, err := os.Stat(state); err != nil {
		t.Errorf("state directory: %v", err)
	}

	pid := p.PID()
	p.Kill()
	p.Kill()
	if alive(pid) || p.Running() || p.Err() != nil {
		t.Errorf("after Kill: alive %v, running %v, err %v", alive(pid), p.Running(), p.Err())
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state directory after Kill: %v", err)
	}
	if _, err = p.DeployTarget().Describe(ctx); !errors.Is(err, host.ErrStopped) || host.FaultOf(err) != "" {
		t.Errorf("call after Kill: %v", err)
	}
	if kids := children(t); len(kids) > 0 {
		t.Errorf("after Kill: %v", kids)
	}
}

// TestLaunchedPluginIsNotRestarted: after a fault, a launched plugin stays
// stopped and says why.
func TestLaunchedPluginIsNotRestarted(t *testing.T) {
	ctx := context.Background()
	p, err := host.Launch(ctx, bin("crashplugin"), host.LaunchOptions{Name: "crashy"})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Kill()
	_, err = p.DeployTarget().Preflight(ctx, sdk.PreflightRequest{})
	wantFault(t, err, "crashy", "Preflight", host.FaultCrashed)
	if strings.Contains(err.Error(), "restarted") {
		t.Errorf("a launched plugin is not restarted: %v", err)
	}
	if host.FaultOf(p.Err()) != host.FaultCrashed {
		t.Errorf("Err = %v", p.Err())
	}
	_, err = p.DeployTarget().Describe(ctx)
	wantFault(t, err, "crashy", "Describe", host.FaultCrashed)
	if !strings.Contains(err.Error(), "stopped when Preflight failed") {
		t.Errorf("call after the crash: %v", err)
	}
	p.Kill()
	if kids := children(t); len(kids) > 0 {
		t.Errorf("after Kill: %v", kids)
	}
}

// TestLaunchVerifiesChecksum: go-plugin itself refuses a binary whose
// checksum is not the one given.
func TestLaunchVerifiesChecksum(t *testing.T) {
	_, err := host.Launch(context.Background(), bin("okplugin"), host.LaunchOptions{SHA256: strings.Repeat("ab", 32)})
	wantFault(t, err, "okplugin", "launch", host.FaultUntrusted)
	if !strings.Contains(err.Error(), "changed since it was trusted") {
		t.Errorf("message: %v", err)
	}
	if kids := children(t); len(kids) > 0 {
		t.Errorf("processes left: %v", kids)
	}
}

func TestLaunchMissing(t *testing.T) {
	_, err := host.Launch(context.Background(), filepath.Join(t.TempDir(), "nope"), host.LaunchOptions{})
	wantFault(t, err, "nope", "launch", host.FaultHandshake)
}

func TestLaunchAbandonedByContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := host.Launch(ctx, bin("badhandshake"), host.LaunchOptions{Env: []string{"BAD_HANDSHAKE=silent"}})
		errc <- err
	}()
	waitFor(t, 10*time.Second, "the plugin process to start", func() bool { return len(children(t)) > 0 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) || host.FaultOf(err) != "" {
		t.Errorf("abandoned launch: %v", err)
	}
	if kids := children(t); len(kids) > 0 {
		t.Errorf("processes left: %v", kids)
	}
}
