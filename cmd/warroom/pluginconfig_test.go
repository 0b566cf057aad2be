package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
)

// pluginsListed runs bin's plugins list -o json with the configuration
// file cfg ("" for none) and returns name → origin.
func pluginsListed(t *testing.T, bin, db, cfg string) (names []string, origins map[string]string) {
	t.Helper()
	args := []string{"--db", db}
	if cfg != "" {
		args = append(args, "--plugins", cfg)
	}
	cmd := exec.Command(bin, append(args, "plugins", "list", "-o", "json")...)
	cmd.Dir = t.TempDir() // no ./warroom-plugins.yaml
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("plugins list: %v\n%s", err, out)
	}
	var list []struct{ Name, Origin string }
	if err := json.Unmarshal(out, &list); err != nil {
		t.Fatalf("plugins list -o json: %v\n%s", err, out)
	}
	origins = map[string]string{}
	for _, p := range list {
		names = append(names, p.Name)
		origins[p.Name] = p.Origin
	}
	return names, origins
}

// A --plugins file adds to the built-ins next to the binary and
// overrides them by name; it drops one only with disable.
func TestPluginsFileAddsOverridesAndDisables(t *testing.T) {
	bin := fleetLayout(t) // built-ins: localfleet and scrape
	dir := t.TempDir()
	db := filepath.Join(dir, "warroom.db")
	if names, _ := pluginsListed(t, bin, db, ""); !slices.Equal(names, []string{"localfleet", "scrape"}) {
		t.Fatalf("without a file: %v, want the built-ins localfleet, scrape", names)
	}
	for _, tc := range []struct {
		name, file string
		want       []string
		origins    map[string]string
	}{
		{"adds", fmt.Sprintf("plugins:\n  - name: scripts\n    path: %s\n    kinds: [deploy-target]\n", execPlugin(t)),
			[]string{"localfleet", "scrape", "scripts"}, map[string]string{"localfleet": "built-in", "scrape": "built-in", "scripts": "file"}},
		{"overrides", "plugins:\n  - name: scrape\n    settings: {interval: 500ms}\n",
			[]string{"localfleet", "scrape"}, map[string]string{"localfleet": "built-in", "scrape": "built-in, overridden by file"}},
		{"disables", "disable: [scrape]\n", []string{"localfleet"}, map[string]string{"localfleet": "built-in"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := filepath.Join(t.TempDir(), "plugins.yaml")
			if err := os.WriteFile(cfg, []byte(tc.file), 0o600); err != nil {
				t.Fatal(err)
			}
			names, origins := pluginsListed(t, bin, db, cfg)
			if !slices.Equal(names, tc.want) || !mapsEqual(origins, tc.origins) {
				t.Errorf("plugins %v %v, want %v %v", names, origins, tc.want, tc.origins)
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// A configuration without a monitoring source to judge canaries refuses
// a canary step at pre-flight, saying so; canary_judge: none lets it
// through on bake time alone, because the operator said so.
func TestCanaryWithoutMonitoringSourceFailsPreflight(t *testing.T) {
	if testing.Short() {
		t.Skip("runs warroom processes")
	}
	bin := fleetLayout(t) // built-ins: localfleet and scrape
	w := newDeployWorld(t, "6.6.6")
	scripts := fmt.Sprintf(`  - name: scripts
    path: %s
    kinds: [deploy-target]
    settings:
      deploy: 'echo "$WARROOM_VERSION" > %[2]s/running-$WARROOM_SERVICE-$WARROOM_ENVIRONMENT-$WARROOM_REGION'
      set_traffic: 'true'
      rollback: 'true'
`, execPlugin(t), w.dir)

	refusing := filepath.Join(w.dir, "no-judge.yaml")
	if err := os.WriteFile(refusing, []byte("disable: [scrape]\nplugins:\n"+scripts), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// The run pauses for an operator at the canary step; the follower
	// keeps waiting, so it is stopped once the pause is seen.
	follow := exec.CommandContext(ctx, bin, "--db", w.c.db, "--plugins", refusing, "deploy", "start", "train",
		"--env", "dev", "--follow", "--ignore-low-traffic")
	var out strings.Builder
	follow.Stdout, follow.Stderr = &out, &out
	if err := follow.Start(); err != nil {
		t.Fatal(err)
	}
	stopFollow := func() { follow.Process.Kill(); follow.Wait() }
	defer stopFollow()
	var run deploy.Run
	for {
		r := w.c.run("deploy", "status", "-o", "json")
		if r.code == 0 && json.Unmarshal([]byte(r.stdout), &run) == nil && slices.Contains([]deploy.RunState{deploy.RunPaused,
			deploy.RunSucceeded, deploy.RunFailed, deploy.RunAborted, deploy.RunRolledBack}, run.State) {
			break // paused, or (wrongly) ended
		}
		if ctx.Err() != nil {
			t.Fatalf("the run never paused (state %s)\n%s", run.State, out.String())
		}
		time.Sleep(100 * time.Millisecond) // polling another process's database
	}
	var canaryStep *deploy.Step
	for i := range run.Steps {
		if run.Steps[i].Service == "checkout" {
			canaryStep = &run.Steps[i]
			break
		}
	}
	wantMsg := refusing + " disables the built-in scrape"
	if run.State != deploy.RunPaused || canaryStep == nil || canaryStep.State != deploy.StepFailed ||
		!strings.Contains(canaryStep.Error, "no monitoring source judges canaries") || !strings.Contains(canaryStep.Error, wantMsg) ||
		!strings.Contains(run.Reason, "failed its pre-flight checks") {
		t.Fatalf("run %s (%s); canary step %+v\n%s", run.State, run.Reason, canaryStep, out.String())
	}
	if got := w.running(t, "checkout", "dev", ""); got != "" {
		t.Errorf("the canary was deployed (%s runs) although nothing could judge it", got)
	}
	t.Logf("refused: %s", canaryStep.Error)

	// Said on purpose, the canary runs and is promoted when its bake ends.
	unjudged := filepath.Join(w.dir, "unjudged.yaml")
	if err := os.WriteFile(unjudged, []byte("canary_judge: none\nplugins:\n"+scripts), 0o600); err != nil {
		t.Fatal(err)
	}
	stopFollow()
	w.c.ok("deploy", "abort", run.ID)
	c := exec.CommandContext(ctx, bin, "--db", w.c.db, "--plugins", unjudged, "deploy", "start", "train",
		"--env", "dev", "--follow", "--ignore-low-traffic")
	if b, err := c.CombinedOutput(); err != nil {
		t.Fatalf("with canary_judge: none: %v\n%s", err, b)
	}
	if got := w.running(t, "checkout", "dev", ""); got != "6.6.6" {
		t.Errorf("checkout runs %q in dev, want 6.6.6", got)
	}
}
