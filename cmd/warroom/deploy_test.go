package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
)

// execPlugin builds the exec plugin once per test binary.
func execPlugin(t *testing.T) string { return buildPlugin(t, "exec") }

// deployWorld is a small organisation whose release window is open now,
// deployed by the exec plugin with scripts that record what they do in
// dir: the deployments (one line per idempotency key), the versions
// running, the traffic.
type deployWorld struct {
	c       *cli
	dir     string
	plugins string
}

func newDeployWorld(t *testing.T, badVersion string) *deployWorld {
	t.Helper()
	w := &deployWorld{c: newCLI(t), dir: t.TempDir()}
	now := time.Now().UTC()
	spec := fmt.Sprintf(`teams:
  - name: payments
    escalation: [{name: Ana, email: ana@example.com}]
services:
  - name: ledger
    owner: payments
    tier: 0
    version: 1.0.0
    provides: [{api: ledger-api, version: 1.0.0}]
    deploy: {target: scripts, strategy: rolling}
  - name: checkout
    owner: payments
    tier: 1
    version: 1.0.0
    requires: [{api: ledger-api, range: ^1}]
    deploy: {target: scripts, strategy: canary, canary_steps: [50, 100]}
environments:
  - name: dev
    order: 1
  - name: prod
    order: 2
    production: true
    regions:
      - {name: eu-west, time_zone: Europe/Dublin, low_traffic: {start: "01:00", end: "05:00"}}
      - {name: us-east, time_zone: America/New_York, low_traffic: {start: "01:00", end: "05:00"}}
releases:
  - name: train
    window: {start: %q, end: %q}
    scope:
      - {service: ledger, version: 1.1.0}
      - {service: checkout, version: %s}
`, now.Add(-time.Hour).Format(time.RFC3339), now.Add(6*time.Hour).Format(time.RFC3339), badVersion)
	specFile := filepath.Join(w.dir, "org.yaml")
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	d := w.dir
	w.plugins = filepath.Join(w.dir, "plugins.yaml")
	cfg := fmt.Sprintf(`# The scripts have no metrics: canaries are promoted when their bake ends.
canary_judge: none
plugins:
  - name: scripts
    path: %s
    kinds: [deploy-target]
    settings:
      deploy: 'echo "$WARROOM_IDEMPOTENCY_KEY" >> %[2]s/deploys.log; echo "$WARROOM_VERSION" > %[2]s/running-$WARROOM_SERVICE-$WARROOM_ENVIRONMENT-$WARROOM_REGION'
      verify: 'if [ "$WARROOM_VERSION" = "6.6.6" ]; then echo "GET /checkout returned 500 for 31 of 40 requests" >&2; exit 1; fi'
      set_traffic: 'echo "$WARROOM_SERVICE $WARROOM_ENVIRONMENT $WARROOM_REGION $WARROOM_WEIGHTS" >> %[2]s/traffic.log'
      rollback: 'echo "$WARROOM_VERSION" > %[2]s/running-$WARROOM_SERVICE-$WARROOM_ENVIRONMENT-$WARROOM_REGION; echo "$WARROOM_IDEMPOTENCY_KEY" >> %[2]s/rollbacks.log'
`, execPlugin(t), d)
	if err := os.WriteFile(w.plugins, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	w.c.ok("apply", "-f", specFile)
	w.c.ok("--plugins", w.plugins, "plugins", "trust", "scripts")
	return w
}

func (w *deployWorld) lines(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(w.dir, name))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(strings.TrimSpace(string(b)))
}

func (w *deployWorld) running(t *testing.T, svc, env, region string) string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(w.dir, "running-"+svc+"-"+env+"-"+region))
	return strings.TrimSpace(string(b))
}

func TestDeployFollowSucceedsThroughEnvironmentsAndRegions(t *testing.T) {
	w := newDeployWorld(t, "2.0.0")
	r := w.c.run("--plugins", w.plugins, "deploy", "start", "train", "--follow", "--ignore-low-traffic")
	if r.code != 0 {
		t.Fatalf("deploy --follow: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if !strings.Contains(r.stdout, "succeeded") {
		t.Errorf("follow output does not end with success:\n%s", r.stdout)
	}
	var status struct {
		Run     string `json:"run"`
		Release string `json:"release"`
		State   string `json:"state"`
		Steps   []struct {
			Wave    int    `json:"wave"`
			Service string `json:"service"`
			Env     string `json:"env"`
			Region  string `json:"region"`
			State   string `json:"state"`
		} `json:"steps"`
	}
	w.c.json(&status, "deploy", "status")
	if status.State != "succeeded" || status.Release != "train" || len(status.Steps) != 6 {
		t.Fatalf("status: %+v", status)
	}
	for _, s := range status.Steps {
		if s.State != "done" {
			t.Errorf("step %+v not done", s)
		}
	}
	for _, env := range []struct{ env, region string }{{"dev", ""}, {"prod", "eu-west"}, {"prod", "us-east"}} {
		if v := w.running(t, "checkout", env.env, env.region); v != "2.0.0" {
			t.Errorf("checkout in %s/%s runs %q", env.env, env.region, v)
		}
	}
	deploys := w.lines(t, "deploys.log")
	seen := map[string]bool{}
	for _, k := range deploys {
		if seen[k] {
			t.Errorf("key %s deployed twice", k)
		}
		seen[k] = true
	}
	if len(deploys) != 6 {
		t.Errorf("%d deployments, want 6: %v", len(deploys), deploys)
	}
	if traffic := strings.Join(w.lines(t, "traffic.log"), " "); !strings.Contains(traffic, "2.0.0=50,1.0.0=50") || !strings.Contains(traffic, "2.0.0=100,1.0.0=0") {
		t.Errorf("canary traffic steps missing: %s", traffic)
	}
	if out := w.c.ok("audit", "verify"); !strings.HasPrefix(out, "ok: ") {
		t.Errorf("audit: %s", out)
	}
	// An abort of a finished run is refused, clearly, and audited nowhere.
	r = w.c.run("deploy", "abort", status.Run)
	if r.code != exitRefused || !strings.Contains(r.stderr, "the run has already ended (succeeded)") {
		t.Errorf("abort of a succeeded run: exit %d %q", r.code, r.stderr)
	}
}

func TestFailedSmokeCheckRollsBackAutomatically(t *testing.T) {
	w := newDeployWorld(t, "6.6.6")
	r := w.c.run("--plugins", w.plugins, "deploy", "start", "train", "--env", "dev", "--follow")
	if r.code != 1 {
		t.Fatalf("deploy of a bad version: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var run deploy.Run
	w.c.json(&run, "deploy", "status")
	if run.State != deploy.RunRolledBack || !strings.Contains(run.Reason, "GET /checkout returned 500") {
		t.Fatalf("state %s, reason %q", run.State, run.Reason)
	}
	if v := w.running(t, "checkout", "dev", ""); v != "1.0.0" {
		t.Errorf("checkout runs %q after the rollback, want 1.0.0", v)
	}
	if v := w.running(t, "ledger", "dev", ""); v != "1.0.0" {
		t.Errorf("ledger runs %q after the rollback, want 1.0.0", v)
	}
	var events []struct {
		Actor   string `json:"actor"`
		Command string `json:"command"`
		Summary string `json:"summary"`
		Payload struct {
			Reason string `json:"reason"`
		} `json:"payload"`
	}
	w.c.json(&events, "audit", "list")
	found := false
	for _, e := range events {
		if e.Command == "deploy auto-rollback" && strings.Contains(e.Payload.Reason, "returned 500") {
			found = true
		}
	}
	if !found {
		t.Errorf("no audited auto-rollback with the evidence")
	}
}

func TestOperatorCommandsAreCheckedAndAudited(t *testing.T) {
	w := newDeployWorld(t, "2.0.0")
	var run deploy.Run
	w.c.json(&run, "--plugins", w.plugins, "deploy", "start", "train", "--env", "dev")
	if run.State != deploy.RunPending {
		t.Fatalf("a run started without --follow is %s", run.State)
	}
	if r := w.c.run("--as", "bob", "deploy", "pause", run.ID, "--reason", "waiting for the CAB"); r.code != 0 {
		t.Fatalf("pause: %d %s", r.code, r.stderr)
	}
	if r := w.c.run("deploy", "pause", run.ID); r.code != exitRefused || !strings.Contains(r.stderr, "pause applies to runs that are") {
		t.Errorf("second pause: %d %q", r.code, r.stderr)
	}
	if r := w.c.run("deploy", "skip", run.ID, "1"); r.code != exitRefused || !strings.Contains(r.stderr, "needs a reason") {
		t.Errorf("skip without reason: %d %q", r.code, r.stderr)
	}
	if r := w.c.run("--as", "carol", "deploy", "continue", run.ID); r.code != 0 {
		t.Fatalf("continue: %d %s", r.code, r.stderr)
	}
	if r := w.c.run("--plugins", w.plugins, "deploy", "resume", run.ID); r.code != 0 {
		t.Fatalf("resume: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var events []struct {
		Actor   string `json:"actor"`
		Command string `json:"command"`
	}
	w.c.json(&events, "audit", "list")
	want := map[string]string{"deploy pause": "bob", "deploy continue": "carol", "deploy start": "tester", "deploy resume": "tester"}
	for _, e := range events {
		if who, ok := want[e.Command]; ok && who == e.Actor {
			delete(want, e.Command)
		}
	}
	if len(want) > 0 {
		t.Errorf("commands not audited with their actor: %v", want)
	}
}

// A run started without --follow is picked up and driven by a running
// 'warroom serve', which stops cleanly on SIGTERM.
func TestServeDrivesRunsStartedElsewhere(t *testing.T) {
	w := newDeployWorld(t, "2.0.0")
	serve := exec.Command(warroomBin, "--db", w.c.db, "--plugins", w.plugins, "serve", "--poll", "200ms")
	var out strings.Builder
	serve.Stdout, serve.Stderr = &out, &out
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer serve.Process.Kill() //nolint:errcheck
	var run deploy.Run
	w.c.json(&run, "--plugins", w.plugins, "deploy", "start", "train", "--env", "dev", "--ignore-low-traffic")
	deadline := time.Now().Add(60 * time.Second)
	for {
		var cur deploy.Run
		w.c.json(&cur, "deploy", "status", run.ID)
		if cur.State.Terminal() {
			if cur.State != deploy.RunSucceeded {
				t.Fatalf("serve ended the run %s: %s\n%s", cur.State, cur.Reason, out.String())
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not finish the run in 60s (state %s)\n%s", cur.State, out.String())
		}
		time.Sleep(100 * time.Millisecond) // polling a condition with a deadline
	}
	_ = serve.Process.Signal(syscall.SIGTERM)
	if err := serve.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v\n%s", err, out.String())
	}
}

// deploy status names the steps in flight side by side in one wave.
func TestDeployStatusShowsTheStepsInFlight(t *testing.T) {
	r := &deploy.Run{ID: "run-1", Release: "r1", State: deploy.RunRunning, StartedBy: "ana", Environments: []string{"dev"},
		Steps: []deploy.Step{
			{Index: 1, Wave: 1, Service: "a", Env: "dev", Version: "2", State: deploy.StepDone},
			{Index: 2, Wave: 2, Service: "b", Env: "dev", Version: "2", State: deploy.StepDeploying},
			{Index: 3, Wave: 2, Service: "c", Env: "dev", Region: "eu", Version: "2", State: deploy.StepBaking},
			{Index: 4, Wave: 2, Service: "d", Env: "dev", Version: "2", State: deploy.StepPending},
		}}
	var b strings.Builder
	printRun(&b, r)
	if !strings.Contains(b.String(), "in flight (2): 2 b/dev (deploying), 3 c/dev/eu (baking)\n") {
		t.Errorf("status:\n%s", b.String())
	}
}

func TestDeployRetryAndBakeScaleAtTheCommandLine(t *testing.T) {
	w := newDeployWorld(t, "2.0.0")
	// NaN and Inf parse as floats; near the float's range a bake's
	// duration overflowed.
	for _, x := range []string{"-1", "NaN", "Inf", "1e308"} {
		if r := w.c.run("--plugins", w.plugins, "deploy", "start", "train", "--bake-scale", x); r.code != 2 || !strings.Contains(r.stderr, "--bake-scale must be a number from 0 (no bake) to 1000") {
			t.Errorf("bake scale %s: exit %d %q", x, r.code, r.stderr)
		}
	}
	if r := w.c.run("--plugins", w.plugins, "deploy", "start", "train", "--parallel", "-2"); r.code != 2 {
		t.Errorf("negative parallel: exit %d %q", r.code, r.stderr)
	}
	var run deploy.Run
	w.c.json(&run, "--plugins", w.plugins, "deploy", "start", "train", "--env", "dev", "--bake-scale", "0", "--parallel", "4")
	if !run.Options.NoBake || run.Options.Parallel != 4 {
		t.Errorf("options %+v: want no bake, parallel 4", run.Options)
	}
	if r := w.c.run("deploy", "retry", run.ID, "1"); r.code != exitRefused || !strings.Contains(r.stderr, "retry applies to runs that are running, paused, failed") {
		t.Errorf("retry in a pending run: exit %d %q", r.code, r.stderr)
	}
	w.c.ok("deploy", "pause", run.ID)
	if r := w.c.run("deploy", "retry", run.ID, "1"); r.code != exitRefused || !strings.Contains(r.stderr, "only a failed step can be tried again") {
		t.Errorf("retry of a pending step: exit %d %q", r.code, r.stderr)
	}
	if r := w.c.run("deploy", "retry", run.ID, "x"); r.code != 2 {
		t.Errorf("retry of step x: exit %d", r.code)
	}
	help := w.c.ok("deploy", "start", "--help")
	if !strings.Contains(help, "from 0 (no bake at all) to 1000") {
		t.Errorf("help does not say what --bake-scale 0 means:\n%s", help)
	}
}
