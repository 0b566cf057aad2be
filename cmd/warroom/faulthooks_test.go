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

// The faults of the plugin contract, each driven through a real plugin
// process (testdata/plugins/faulty, whose hooks file says how it
// misbehaves) and a real database: what the run ends as, what 'deploy
// status' shows, what the audit trail holds and which calls the plugin
// saw. (A plugins file without a monitoring source refusing a canary is
// TestCanaryWithoutMonitoringSourceFailsPreflight.)

// faultyPlugin builds testdata/plugins/faulty once per test binary, alone
// in a plugins directory of its own; TestMain removes it.
func faultyPlugin(t *testing.T) string {
	t.Helper()
	pluginBuildsMu.Lock()
	defer pluginBuildsMu.Unlock()
	const name = "testdata/faulty"
	if bin, ok := pluginBuilds[name]; ok {
		return bin
	}
	dir, err := os.MkdirTemp("", "warroom-faulty")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "plugins", "faulty")
	build := exec.Command("go", "build", "-o", bin, "./testdata/plugins/faulty")
	build.Dir = repo()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build faulty: %v\n%s", err, out)
	}
	pluginBuilds[name] = bin
	return bin
}

// faultWorld is one service, ledger 1.0.0 -> 1.1.0 in dev, deployed by
// the faulty plugin with its hooks, calls and state in dir.
type faultWorld struct {
	c       *cli
	dir     string
	plugins string
}

// newFaultWorld applies the organisation, writes the plugins file (with
// extra lines for the plugin's entry, e.g. a timeout) and trusts the
// plugin.
func newFaultWorld(t *testing.T, hooks, extra string) *faultWorld {
	t.Helper()
	if testing.Short() {
		t.Skip("runs a plugin process")
	}
	w := &faultWorld{c: newCLI(t), dir: t.TempDir()}
	now := time.Now().UTC()
	spec := fmt.Sprintf(`teams:
  - name: payments
    escalation: [{name: Ana, email: ana@example.com}]
services:
  - name: ledger
    owner: payments
    tier: 0
    version: 1.0.0
    deploy: {target: faulty, strategy: rolling, bake_time: 20s}
environments:
  - name: dev
    order: 1
releases:
  - name: train
    window: {start: %q, end: %q}
    scope:
      - {service: ledger, version: 1.1.0}
`, now.Add(-time.Hour).Format(time.RFC3339), now.Add(6*time.Hour).Format(time.RFC3339))
	specFile := filepath.Join(w.dir, "org.yaml")
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	w.plugins = filepath.Join(w.dir, "plugins.yaml")
	cfg := fmt.Sprintf(`canary_judge: none
plugins:
  - name: faulty
    path: %s
    kinds: [deploy-target]
%s    settings:
      dir: %s
`, faultyPlugin(t), extra, w.dir)
	if err := os.WriteFile(w.plugins, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	w.hooks(t, hooks)
	w.c.ok("apply", "-f", specFile)
	w.c.ok("--plugins", w.plugins, "plugins", "trust", "faulty")
	return w
}

// hooks replaces the plugin's hooks; it reads them on every call.
func (w *faultWorld) hooks(t *testing.T, hooks string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(w.dir, "hooks"), []byte(hooks), 0o644); err != nil {
		t.Fatal(err)
	}
}

// pluginCall is one line of the plugin's call log.
type pluginCall struct{ call, key, service, env, region, version string }

// calls returns the plugin's calls named call (all of them when empty).
func (w *faultWorld) calls(t *testing.T, call string) []pluginCall {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(w.dir, "calls.log"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []pluginCall
	for line := range strings.Lines(string(b)) {
		f := strings.Fields(line)
		if len(f) != 6 {
			t.Fatalf("call log line %q", line)
		}
		if call == "" || f[0] == call {
			out = append(out, pluginCall{f[0], f[1], f[2], f[3], f[4], f[5]})
		}
	}
	return out
}

// keys returns the idempotency keys of calls.
func keys(cs []pluginCall) []string {
	var out []string
	for _, c := range cs {
		out = append(out, c.key)
	}
	return out
}

func (w *faultWorld) run(t *testing.T) deploy.Run {
	t.Helper()
	var r deploy.Run
	w.c.json(&r, "deploy", "status")
	return r
}

// drive starts a warroom process driving the release (deploy start
// --follow) with args, ended when the test ends; wait waits for its end
// for at most within.
func (w *faultWorld) drive(t *testing.T, args ...string) (wait func(within time.Duration) (error, bool), out *strings.Builder) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	cmd := exec.CommandContext(ctx, warroomBin, append([]string{"--as", "tester", "--db", w.c.db, "--plugins", w.plugins,
		"deploy", "start", "train", "--env", "dev", "--follow", "--ignore-low-traffic"}, args...)...)
	out = &strings.Builder{}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.WaitDelay = 5 * time.Second // a plugin it started may hold the output open
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var exit error
	done := make(chan struct{})
	go func() { exit = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return func(within time.Duration) (error, bool) {
		select {
		case <-done:
			return exit, true
		case <-time.After(within):
			return nil, false
		}
	}, out
}

type auditEvent struct {
	Actor   string         `json:"actor"`
	Command string         `json:"command"`
	Summary string         `json:"summary"`
	Payload map[string]any `json:"payload"`
}

func (w *faultWorld) audit(t *testing.T) []auditEvent {
	t.Helper()
	var evs []auditEvent
	w.c.json(&evs, "audit", "list")
	if out := w.c.ok("audit", "verify"); !strings.HasPrefix(out, "ok: ") {
		t.Errorf("audit verify: %s", out)
	}
	return evs
}

// summaries returns the summaries of the events of command.
func summaries(evs []auditEvent, command string) []string {
	var out []string
	for _, e := range evs {
		if e.Command == command {
			out = append(out, e.Summary)
		}
	}
	return out
}

func anyContains(ss []string, sub string) bool {
	return slices.ContainsFunc(ss, func(s string) bool { return strings.Contains(s, sub) })
}

// running is what the plugin runs of ledger in dev, from its own state.
func (w *faultWorld) running(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(w.dir, "state.json"))
	if err != nil {
		return ""
	}
	var st struct{ Running map[string]string }
	if err := json.Unmarshal(b, &st); err != nil {
		t.Fatal(err)
	}
	return st.Running["ledger dev "]
}

// A clean refusal (FailedPrecondition) changes nothing: the step waits
// for an operator with the plugin's message, nothing is rolled back, and
// once the cause is gone 'deploy continue' deploys it.
func TestFaultRefusalWaitsForOperator(t *testing.T) {
	const msg = "ledger is frozen until the auditors sign off"
	w := newFaultWorld(t, "refuse "+msg+"\n", "")
	// --wait: the driver keeps following while the run waits for an
	// operator (without it, --follow exits 3 at once, as it must in CI).
	wait, out := w.drive(t, "--bake-scale", "0", "--wait")
	var run deploy.Run
	pollUntil(t, time.Minute, "the run to wait for an operator", func() bool {
		r := w.c.run("deploy", "status", "-o", "json")
		if r.code != 0 { // the driver has not created the run yet
			return false
		}
		run = deploy.Run{} // fresh: fields omitted now must not keep older values
		if err := json.Unmarshal([]byte(r.stdout), &run); err != nil {
			t.Fatal(err)
		}
		return run.State == deploy.RunPaused
	})
	s := run.Steps[0]
	if s.State != deploy.StepFailed || !strings.Contains(s.Error, msg) || s.StartedAt != nil {
		t.Errorf("refused step: state %s, error %q, started %v", s.State, s.Error, s.StartedAt)
	}
	if !strings.Contains(run.Reason, "waits for an operator") || !strings.Contains(run.Reason, msg) || !strings.Contains(run.Reason, "'deploy continue' tries it again") {
		t.Errorf("run reason %q", run.Reason)
	}
	if text := w.c.ok("deploy", "status"); !strings.Contains(text, msg) || !strings.Contains(text, "PAUSED") {
		t.Errorf("deploy status does not show the plugin's message:\n%s", text)
	}
	if d := w.calls(t, "deploy"); len(d) != 1 || d[0].key != run.ID+"/1/1" || d[0].version != "1.1.0" {
		t.Errorf("deploy calls %v, want one with key %s/1/1", d, run.ID)
	}
	if rb := w.calls(t, "rollback"); len(rb) != 0 {
		t.Errorf("a refusal was rolled back: %v", rb)
	}
	evs := w.audit(t)
	if rb := summaries(evs, "deploy auto-rollback"); len(rb) != 0 {
		t.Errorf("a refusal started an automatic rollback: %v", rb)
	}
	if !anyContains(summaries(evs, "deploy engine"), "waits for an operator: the deploy target refused: plugin faulty: Deploy: "+msg) {
		t.Errorf("no audited wait with the plugin's message: %v", summaries(evs, "deploy engine"))
	}

	// The freeze lifts; an operator continues: the same step deploys.
	w.hooks(t, "")
	w.c.ok("deploy", "continue", run.ID)
	if err, ended := wait(time.Minute); !ended || err != nil {
		t.Fatalf("the driver did not end well after continue (ended %v: %v): %+v\n%s", ended, err, w.run(t), out)
	}
	if run = w.run(t); run.State != deploy.RunSucceeded || run.Steps[0].State != deploy.StepDone {
		t.Fatalf("after continue: run %s (%s), step %s", run.State, run.Reason, run.Steps[0].State)
	}
	if d := w.calls(t, "deploy"); len(d) != 2 {
		t.Errorf("deploy calls after continue: %v", d)
	}
	if v := w.running(t); v != "1.1.0" {
		t.Errorf("ledger runs %q, want 1.1.0", v)
	}
	if rb := w.calls(t, "rollback"); len(rb) != 0 {
		t.Errorf("rollback calls: %v", rb)
	}
}

// A plugin that crashes under Deploy is started again and the call made
// again with the same idempotency key, after a backoff: the run succeeds.
func TestFaultCrashRetriedWithSameKey(t *testing.T) {
	testRetriedWithSameKey(t, "crash 1\n", 2, "crashed")
}

// A Deploy answered Unavailable (a dependency of the target is down) is
// made again with the same key, after 1s then 2s: the run succeeds.
func TestFaultUnavailableRetriedWithSameKey(t *testing.T) {
	testRetriedWithSameKey(t, "unavailable 2\n", 3, "the registry is down")
}

func testRetriedWithSameKey(t *testing.T, hooks string, deploys int, said string) {
	t.Helper()
	w := newFaultWorld(t, hooks, "")
	// A process of its own: a fault taken for a refusal would leave the
	// run waiting for an operator, and the driver with it.
	wait, out := w.drive(t, "--bake-scale", "0")
	if err, ended := wait(time.Minute); !ended || err != nil {
		t.Fatalf("deploy --follow did not end well (ended %v: %v): %+v\n%s", ended, err, w.run(t), out)
	}
	run := w.run(t)
	if run.State != deploy.RunSucceeded || run.Steps[0].State != deploy.StepDone || run.Steps[0].Attempt != 1 {
		t.Fatalf("run %s (%s), step %+v", run.State, run.Reason, run.Steps[0])
	}
	key := run.ID + "/1/1"
	if d := keys(w.calls(t, "deploy")); len(d) != deploys || slices.ContainsFunc(d, func(k string) bool { return k != key }) {
		t.Errorf("deploy keys %v, want %s %d times", d, key, deploys)
	}
	// Between the two, the new process was asked whether the key was
	// applied: the retry is not blind.
	all := w.calls(t, "")
	first := slices.IndexFunc(all, func(c pluginCall) bool { return c.call == "deploy" })
	if first < 0 || !slices.ContainsFunc(all[first+1:], func(c pluginCall) bool { return c.call == "status" }) {
		t.Errorf("no Status between the crash and the retry: %v", all)
	}
	if rb := w.calls(t, "rollback"); len(rb) != 0 {
		t.Errorf("rollback calls: %v", rb)
	}
	if v := w.running(t); v != "1.1.0" {
		t.Errorf("ledger runs %q, want 1.1.0", v)
	}
	evs := w.audit(t)
	for i := 1; i < deploys; i++ {
		want := fmt.Sprintf("retry %d of 3 in %s with the same key", i, time.Second<<(i-1))
		if !anyContains(summaries(evs, "deploy engine"), want) {
			t.Errorf("%q is not audited: %v", want, summaries(evs, "deploy engine"))
		}
	}
	if !strings.Contains(out.String(), said) {
		t.Errorf("the follow output does not say %q:\n%s", said, out)
	}
}

// A Deploy that hangs half done is ended by the host's stream idle
// timeout; with --no-auto-rollback the run fails there for an operator,
// and 'deploy retry' tries the step again as a new attempt with a new
// key.
func TestFaultHangTimesOutAndRetryRecovers(t *testing.T) {
	w := newFaultWorld(t, "hang\n", "    stream_idle_timeout: 1s\n")
	start := time.Now()
	r := w.c.run("--plugins", w.plugins, "deploy", "start", "train", "--env", "dev", "--follow", "--ignore-low-traffic",
		"--bake-scale", "0", "--no-auto-rollback")
	took := time.Since(start)
	if r.code == 0 {
		t.Fatalf("a hung deploy succeeded:\n%s%s", r.stdout, r.stderr)
	}
	run := w.run(t)
	s := run.Steps[0]
	if s.State != deploy.StepFailed || !strings.Contains(s.Error, "Deploy: timed out: no event for 1s") {
		t.Fatalf("run %s (%s), step %s: %q", run.State, run.Reason, s.State, s.Error)
	}
	if took > 30*time.Second {
		t.Errorf("the hang took %s to end, with a 1s stream idle timeout", took)
	}
	if text := w.c.ok("deploy", "status"); !strings.Contains(text, "timed out") {
		t.Errorf("deploy status does not show the timeout:\n%s", text)
	}
	if run.State != deploy.RunFailed || !strings.Contains(run.Reason, "'deploy retry' tries the step again") {
		t.Errorf("run %s: %q", run.State, run.Reason)
	}
	if rb := w.calls(t, "rollback"); len(rb) != 0 {
		t.Errorf("rolled back with --no-auto-rollback: %v", rb)
	}
	if len(summaries(w.audit(t), "deploy auto-rollback")) != 0 {
		t.Errorf("an automatic rollback with --no-auto-rollback")
	}
	// The target changed something: neither continue nor skip may go on.
	if r := w.c.run("deploy", "continue", run.ID); r.code != exitRefused {
		t.Errorf("continue after a hang: exit %d %s", r.code, r.stderr)
	}
	if r := w.c.run("deploy", "skip", run.ID, "1", "--reason", "x"); r.code != exitRefused {
		t.Errorf("skip after a hang: exit %d %s", r.code, r.stderr)
	}
	// The operator fixes the target and retries the step.
	w.hooks(t, "")
	w.c.ok("deploy", "retry", run.ID, "1", "--reason", "the target is fixed")
	r = w.c.run("--plugins", w.plugins, "deploy", "resume", run.ID)
	if r.code != 0 {
		t.Fatalf("resume after retry: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	run = w.run(t)
	if run.State != deploy.RunSucceeded || run.Steps[0].State != deploy.StepDone || run.Steps[0].Attempt != 2 {
		t.Fatalf("after retry: run %s (%s), step %+v", run.State, run.Reason, run.Steps[0])
	}
	d := keys(w.calls(t, "deploy"))
	if len(d) != 2 || d[0] != run.ID+"/1/1" || d[1] != run.ID+"/1/2" {
		t.Errorf("deploy keys %v, want attempt 1 then attempt 2", d)
	}
	if v := w.running(t); v != "1.1.0" {
		t.Errorf("ledger runs %q, want 1.1.0", v)
	}
	evs := w.audit(t)
	retries := slices.IndexFunc(evs, func(e auditEvent) bool { return e.Command == "deploy retry" && e.Actor == "tester" })
	if retries < 0 {
		t.Errorf("deploy retry not audited: %v", evs)
	}
}

// A target that reports the service unhealthy during its bake fails the
// step, as an alert does, and the automatic rollback undoes it.
func TestFaultUnhealthyDuringBakeFailsAndRollsBack(t *testing.T) {
	w := newFaultWorld(t, "unhealthy\n", "")
	r := w.c.run("--plugins", w.plugins, "deploy", "start", "train", "--env", "dev", "--follow", "--ignore-low-traffic")
	if r.code != 1 {
		t.Fatalf("deploy of an unhealthy service: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	run := w.run(t)
	s := run.Steps[0]
	if run.State != deploy.RunRolledBack || s.State != deploy.StepRolledBack ||
		!strings.Contains(s.Error, "the target reports the service unhealthy during its bake") {
		t.Fatalf("run %s (%s), step %s: %q", run.State, run.Reason, s.State, s.Error)
	}
	if text := w.c.ok("deploy", "status"); !strings.Contains(text, "unhealthy during its bake") {
		t.Errorf("deploy status does not say why:\n%s", text)
	}
	if d := keys(w.calls(t, "deploy")); !slices.Equal(d, []string{run.ID + "/1/1"}) {
		t.Errorf("deploy keys %v", d)
	}
	rb := w.calls(t, "rollback")
	if len(rb) != 1 || rb[0].key != run.ID+"/1/1/rollback" || rb[0].version != "1.0.0" {
		t.Errorf("rollback calls %v, want one to 1.0.0", rb)
	}
	if v := w.running(t); v != "1.0.0" {
		t.Errorf("ledger runs %q after the rollback, want 1.0.0", v)
	}
	evs := w.audit(t)
	if !anyContains(summaries(evs, "deploy engine"), "failed: the target reports the service unhealthy during its bake") {
		t.Errorf("the failure is not audited: %v", summaries(evs, "deploy engine"))
	}
	if len(summaries(evs, "deploy auto-rollback")) != 1 {
		t.Errorf("auto-rollback events: %v", summaries(evs, "deploy auto-rollback"))
	}
}
