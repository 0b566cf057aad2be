package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// A plugin fault seen by the process that drives a run (here the deploy
// target crashing under Deploy) is recorded in the store, and plugins
// list run by another process shows it: what, which call, when, and
// which process saw it.
func TestPluginFaultSeenByAnotherProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("runs warroom processes")
	}
	w := newDeployWorld(t, "2.0.0")
	// The deploy script kills its parent: the exec plugin itself.
	cfg := fmt.Sprintf(`canary_judge: none
plugins:
  - name: scripts
    path: %s
    kinds: [deploy-target]
    settings:
      deploy: 'kill -9 $PPID'
      set_traffic: 'true'
      rollback: 'true'
`, execPlugin(t))
	if err := os.WriteFile(w.plugins, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	driver := exec.CommandContext(ctx, warroomBin, "--db", w.c.db, "--plugins", w.plugins, "deploy", "start", "train",
		"--env", "dev", "--follow", "--ignore-low-traffic", "--no-auto-rollback")
	var out strings.Builder
	driver.Stdout, driver.Stderr = &out, &out
	if err := driver.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { driver.Process.Kill(); driver.Wait() }()

	type fault struct {
		Fault, Call, Message, Process string
		At                            time.Time
	}
	type plugin struct {
		Name      string
		Fault     string
		LastError string `json:"last_error"`
		LastFault *fault `json:"last_fault"`
	}
	var (
		listed  []plugin
		scripts plugin
		got     *fault
	)
	pollUntil(t, time.Minute, "the crash to be recorded", func() bool {
		// Another process: it never ran a Deploy, so only the store
		// can tell it of the crash.
		list := exec.Command(warroomBin, "--db", w.c.db, "--plugins", w.plugins, "plugins", "list", "-o", "json")
		b, err := list.Output()
		if err != nil || json.Unmarshal(b, &listed) != nil {
			t.Fatalf("plugins list: %v\n%s", err, b)
		}
		// Other tests may have put built-ins next to the binary.
		i := slices.IndexFunc(listed, func(p plugin) bool { return p.Name == "scripts" })
		if i < 0 {
			t.Fatalf("plugins list does not list scripts:\n%s", b)
		}
		scripts, got = listed[i], listed[i].LastFault
		return got != nil
	})
	wantProcess := fmt.Sprintf("warroom deploy start (pid %d on ", driver.Process.Pid)
	if got.Fault != "crashed" || got.Call != "Deploy" || !strings.HasPrefix(got.Process, wantProcess) ||
		!strings.Contains(got.Message, "plugin scripts: Deploy: the plugin crashed") || time.Since(got.At) > time.Minute {
		t.Errorf("last fault %+v, want a crash of Deploy seen by %q\n%s", got, wantProcess, out.String())
	}
	if scripts.Fault != "crashed" || !strings.Contains(scripts.LastError, "seen by "+wantProcess) {
		t.Errorf("fault %q, last error %q", scripts.Fault, scripts.LastError)
	}
	text := w.c.ok("--plugins", w.plugins, "plugins", "list")
	if !strings.Contains(text, "the plugin crashed") || !strings.Contains(text, "seen by "+wantProcess) {
		t.Errorf("plugins list:\n%s", text)
	}
}
