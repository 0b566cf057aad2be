package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/store"
)

var (
	pluginBuildsMu sync.Mutex
	pluginBuilds   = map[string]string{}
)

// buildPlugin builds ./plugins/NAME once per test binary, alone in a
// plugins directory of its own; TestMain removes it.
func buildPlugin(t *testing.T, name string) string {
	t.Helper()
	pluginBuildsMu.Lock()
	defer pluginBuildsMu.Unlock()
	if bin, ok := pluginBuilds[name]; ok {
		return bin
	}
	dir, err := os.MkdirTemp("", "warroom-"+name)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "plugins", name)
	build := exec.Command("go", "build", "-o", bin, "./plugins/"+name)
	build.Dir = repo()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, out)
	}
	pluginBuilds[name] = bin
	return bin
}

// pluginLayout is buildPlugin with the plugin trusted by a SHA256SUMS
// beside it, so the shared fleet layout (and the tests that use it
// alone) keeps only the local fleet.
func pluginLayout(t *testing.T, name string) string {
	t.Helper()
	bin := buildPlugin(t, name)
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if err := os.WriteFile(filepath.Join(filepath.Dir(bin), "SHA256SUMS"), []byte(hex.EncodeToString(sum[:])+"  "+name+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return bin
}

// scrapeLayout is the scrape monitoring source, built once.
func scrapeLayout(t *testing.T) string { return pluginLayout(t, "scrape") }

// The demo's second release ships checkout 4.9.0, which answers 700 ms
// late: on the local fleet with the scrape source, the judge catches it at
// its first canary and the run rolls back — what 'make demo' shows.
func TestDemoBadReleaseRollsBack(t *testing.T) {
	if testing.Short() {
		t.Skip("deploys on real processes")
	}
	// Its fleet and bakes take under a core: it runs beside the other
	// parallel tests (the exec plugin's kill tests, mostly waiting),
	// after the sequential ones, so never beside the canary end-to-end
	// test's three fleets.
	t.Parallel()
	bin := fleetLayout(t)
	fleet := filepath.Join(filepath.Dir(bin), "plugins", "localfleet")
	scrape := scrapeLayout(t)
	dir := t.TempDir()
	cfg := fmt.Sprintf(`plugins:
  - name: localfleet
    path: %s
    kinds: [deploy-target]
  - name: scrape
    path: %s
    kinds: [monitoring-source]
    settings: {targets_file: ../localfleet/scrape-targets.json, interval: 500ms}
`, fleet, scrape)
	if err := os.WriteFile(filepath.Join(dir, "plugins.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	demo := filepath.Join(dir, "demo")
	cmd := exec.Command(bin, "--plugins", filepath.Join(dir, "plugins.yaml"), "demo", "--headless", "--once",
		"--dir", demo, "--spec", demoSpecWithoutGates(t), "--release", "checkout-2026-12", "--env", "dev")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the bad release succeeded:\n%s", out)
	}
	c := demoCLI(t, filepath.Join(demo, "warroom.db"))
	var run deploy.Run
	c.json(&run, "deploy", "status")
	if run.State != deploy.RunRolledBack || !strings.Contains(run.Reason, "canary judged worse than baseline") ||
		!strings.Contains(run.Reason, "checkout 4.9.0") {
		t.Fatalf("run %s: %s\n%s", run.State, run.Reason, out)
	}
	t.Logf("%s", run.Reason)
}

// The bad version's canary is rolled back by the live judge, reading the
// local fleet's instances through the scrape source, within seconds of
// taking traffic; the evidence says how long it took.
func TestJudgeRollsBackABadCanaryOnTheLocalFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("deploys on real processes")
	}
	bin := fleetLayout(t)
	fleet := filepath.Join(filepath.Dir(bin), "plugins", "localfleet")
	scrape := scrapeLayout(t)
	dir := t.TempDir()
	now := time.Now().UTC()
	spec := fmt.Sprintf(`teams:
  - name: payments
    escalation: [{name: Ana, email: ana@example.com}]
services:
  - name: api
    owner: payments
    tier: 1
    version: 1.0.0
    deploy: {target: localfleet, strategy: canary, canary_steps: [20, 100], bake_time: 3m, instances: 1}
environments:
  - name: dev
    order: 1
releases:
  - name: bad
    window: {start: %q, end: %q}
    scope: [{service: api, version: 2.0.0}]
`, now.Add(-time.Hour).Format(time.RFC3339), now.Add(6*time.Hour).Format(time.RFC3339))
	if err := os.WriteFile(filepath.Join(dir, "org.yaml"), []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`plugins:
  - name: localfleet
    path: %s
    kinds: [deploy-target]
    settings: {faults: "api@2.0.0=latency=700ms", traffic_rps: "40"}
  - name: scrape
    path: %s
    kinds: [monitoring-source]
    settings: {targets_file: ../localfleet/scrape-targets.json, interval: 500ms}
`, fleet, scrape)
	if err := os.WriteFile(filepath.Join(dir, "plugins.yaml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	c := &cli{t: t, db: filepath.Join(dir, "warroom.db")}
	c.ok("apply", "-f", filepath.Join(dir, "org.yaml"))
	cmd := exec.Command(bin, "--db", c.db, "--plugins", filepath.Join(dir, "plugins.yaml"), "deploy", "start", "bad", "--follow")
	out, _ := cmd.CombinedOutput()
	var run deploy.Run
	c.json(&run, "deploy", "status")
	if run.State != deploy.RunRolledBack || !strings.Contains(run.Reason, "canary judged worse than baseline") {
		t.Fatalf("run %s: %s\n%s", run.State, run.Reason, out)
	}
	// The step's evidence is the judgement: its verdict, its reason, and
	// the analysis with the time from the canary's start to the verdict.
	var j struct {
		Verdict  string `json:"verdict"`
		Evidence struct {
			DecidedAfter float64 `json:"decided_after_s"`
		} `json:"evidence"`
	}
	if err := json.Unmarshal(run.Steps[0].Evidence, &j); err != nil {
		t.Fatalf("evidence %s: %v", run.Steps[0].Evidence, err)
	}
	ev := j.Evidence
	if j.Verdict != "rollback" || ev.DecidedAfter <= 0 || ev.DecidedAfter > 60 {
		t.Errorf("decided after %.1f s, want within seconds (evidence %s)", ev.DecidedAfter, run.Steps[0].Evidence)
	}
	t.Logf("judged after %.1f s: %s", ev.DecidedAfter, run.Reason)

	// The judge recorded the metrics it saw, for the console's charts:
	// both cohorts, with the canary's injected latency in its p99.
	s, err := store.OpenExisting(context.Background(), c.db)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	samples, err := s.CanarySamples(context.Background(), run.ID, run.Steps[0].Index, time.Time{}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var base, can, slow int
	for _, sm := range samples {
		switch sm.Cohort {
		case "baseline":
			base++
		case "canary":
			can++
			if sm.P99Ms >= 500 {
				slow++
			}
		}
	}
	if base == 0 || base != can || slow == 0 {
		t.Errorf("samples recorded: %d baseline, %d canary, %d canary with p99 >= 500 ms: %+v", base, can, slow, samples)
	}
}
