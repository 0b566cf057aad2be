package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/plugins/localfleet/fleetctl"
)

// killWorld is a deploy world whose scripts take a moment and log every
// invocation ("begin KEY" ... "end KEY"), so the test can kill warroom
// while a deployment or a rollback is in flight and count afterwards.
func killWorld(t *testing.T) *deployWorld { return killWorldWith(t, false) }

// killWorldWith, with slow, is the kill world with checkout's canary
// baking a second at each weight and traffic shifts that take a moment
// and log "begin KEY" ... "end KEY" to traffic-calls.log.
func killWorldWith(t *testing.T, slow bool) *deployWorld {
	t.Helper()
	w := newDeployWorld(t, "2.0.0")
	d := w.dir
	traffic := "'true'"
	if slow {
		traffic = fmt.Sprintf(`'echo "begin $WARROOM_IDEMPOTENCY_KEY" >> %[1]s/traffic-calls.log; sleep 0.15; echo "end $WARROOM_IDEMPOTENCY_KEY" >> %[1]s/traffic-calls.log'`, d)
		spec := filepath.Join(d, "org.yaml")
		b, err := os.ReadFile(spec)
		if err != nil {
			t.Fatal(err)
		}
		slowSpec := strings.Replace(string(b), "canary_steps: [50, 100]}", `canary_steps: [50, 100], bake_time: "1s"}`, 1)
		if err := os.WriteFile(spec, []byte(slowSpec), 0o644); err != nil {
			t.Fatal(err)
		}
		w.c.ok("apply", "-f", spec)
	}
	cfg := fmt.Sprintf(`# The scripts have no metrics: canaries are promoted when their bake ends.
canary_judge: none
plugins:
  - name: scripts
    path: %s
    kinds: [deploy-target]
    settings:
      deploy: 'echo "begin $WARROOM_IDEMPOTENCY_KEY" >> %[2]s/calls.log; sleep 0.15; echo "$WARROOM_VERSION" > %[2]s/running-$WARROOM_SERVICE-$WARROOM_ENVIRONMENT-$WARROOM_REGION; echo "end $WARROOM_IDEMPOTENCY_KEY" >> %[2]s/calls.log'
      verify: 'if [ "$WARROOM_VERSION" = "6.6.6" ]; then echo "smoke test failed" >&2; exit 1; fi'
      set_traffic: %[3]s
      rollback: 'echo "begin $WARROOM_IDEMPOTENCY_KEY" >> %[2]s/calls.log; sleep 0.15; echo "$WARROOM_VERSION" > %[2]s/running-$WARROOM_SERVICE-$WARROOM_ENVIRONMENT-$WARROOM_REGION; echo "end $WARROOM_IDEMPOTENCY_KEY" >> %[2]s/calls.log'
`, execPlugin(t), d, traffic)
	if err := os.WriteFile(w.plugins, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	w.c.ok("--plugins", w.plugins, "plugins", "trust", "scripts")
	return w
}

// killPoint says when to SIGKILL warroom: after its n-th progress line,
// or when the n-th deploy or rollback script has begun and not ended.
type killPoint struct {
	afterLine int
	midCall   int
	// baking: after the n-th line saying a step bakes ("baking until").
	baking int
	// midTraffic: while the n-th traffic shift is in flight.
	midTraffic int
	// parallel: while two deployments of one wave are in flight at once.
	parallel bool
}

func (k killPoint) String() string {
	switch {
	case k.midCall > 0:
		return fmt.Sprintf("mid-call-%d", k.midCall)
	case k.baking > 0:
		return fmt.Sprintf("while-baking-%d", k.baking)
	case k.midTraffic > 0:
		return fmt.Sprintf("mid-traffic-%d", k.midTraffic)
	case k.parallel:
		return "mid-parallel-wave"
	}
	return fmt.Sprintf("after-line-%d", k.afterLine)
}

// SIGKILL warroom at many points of runs (a clean one and one that rolls
// back), restart it each time, and check the run ends right with no call
// repeated after it completed and no audit event lost.
func TestSigkillAnywhereResumesWithoutRepeating(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts warroom many times")
	}
	// Mostly waiting on scripts (under half a core): it runs beside the
	// other parallel tests, after the package's sequential ones.
	t.Parallel()
	w := killWorld(t)
	type scenario struct {
		version string
		want    deploy.RunState
		kill    killPoint
	}
	good := func(k killPoint) scenario { return scenario{"2.0.0", deploy.RunSucceeded, k} }
	bad := func(k killPoint) scenario { return scenario{"6.6.6", deploy.RunRolledBack, k} }
	var scenarios []scenario
	// A clean run (6 steps, ~40 commits) killed after every few commits
	// and in the middle of each of its six deployments.
	for n := 2; n <= 36; n += 3 {
		scenarios = append(scenarios, good(killPoint{afterLine: n}))
	}
	for n := 1; n <= 6; n++ {
		scenarios = append(scenarios, good(killPoint{midCall: n}))
	}
	// A run that rolls back (its second deployment fails its smoke
	// check): killed between commits, mid-deploy (calls 1, 2) and
	// mid-rollback (calls 3, 4).
	for _, n := range []int{3, 7, 9, 11, 13} {
		scenarios = append(scenarios, bad(killPoint{afterLine: n}))
	}
	for n := 1; n <= 4; n++ {
		scenarios = append(scenarios, bad(killPoint{midCall: n}))
	}
	for _, sc := range scenarios {
		kp := sc.kill
		t.Run(fmt.Sprintf("%s-%s", sc.want, kp), func(t *testing.T) {
			w.setVersion(t, sc.version)
			runID := w.startKilled(t, kp)
			// Restart: resume until the run ends (a kill may land again
			// only in the first process; resumes run undisturbed).
			r := w.c.run("--plugins", w.plugins, "deploy", "resume", runID)
			var run deploy.Run
			w.c.json(&run, "deploy", "status", runID)
			if run.State != sc.want {
				t.Fatalf("run ended %s (%s), want %s\nresume: %s%s", run.State, run.Reason, sc.want, r.stdout, r.stderr)
			}
			w.checkCalls(t, runID)
			w.checkAudit(t, &run)
		})
	}
}

// SIGKILL warroom while a canary bakes, while traffic shifts, and while
// two deployments of one wave (ledger in both production regions) are in
// flight side by side; restart it each time. The run ends as it would
// have without the kills, no deployment, rollback or traffic shift is
// repeated after it completed, and no audit event is lost.
func TestSigkillWhileBakingShiftingAndInParallelResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts warroom many times")
	}
	// Mostly waiting on bakes and scripts (a tenth of a core): it runs
	// beside the other parallel tests, after the sequential ones.
	t.Parallel()
	w := killWorldWith(t, true)
	w.setVersion(t, "2.0.0")
	var kills []killPoint
	for n := 1; n <= 4; n++ {
		kills = append(kills, killPoint{baking: n}, killPoint{midTraffic: n})
	}
	kills = append(kills, killPoint{parallel: true})
	for _, kp := range kills {
		t.Run(kp.String(), func(t *testing.T) {
			runID := w.startKilled(t, kp)
			r := w.c.run("--plugins", w.plugins, "deploy", "resume", runID)
			var run deploy.Run
			w.c.json(&run, "deploy", "status", runID)
			if run.State != deploy.RunSucceeded {
				t.Fatalf("run ended %s (%s), want succeeded\nresume: %s%s", run.State, run.Reason, r.stdout, r.stderr)
			}
			for _, s := range run.Steps {
				if s.State != deploy.StepDone {
					t.Errorf("step %d %s is %s", s.Index, s.Describe(), s.State)
				}
				if got := w.running(t, s.Service, s.Env, s.Region); got != s.Version {
					t.Errorf("%s runs %q, want %s", s.Describe(), got, s.Version)
				}
			}
			w.checkCalls(t, runID)
			w.checkAudit(t, &run)
		})
	}
}

// setVersion re-applies the release with checkout at version.
func (w *deployWorld) setVersion(t *testing.T, version string) {
	t.Helper()
	spec := filepath.Join(w.dir, "org.yaml")
	b, err := os.ReadFile(spec)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	for i, l := range lines {
		if strings.Contains(l, "{service: checkout, version:") {
			lines[i] = "      - {service: checkout, version: " + version + "}"
		}
	}
	if err := os.WriteFile(spec, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	w.c.ok("apply", "-f", spec)
}

// startKilled starts a run with --follow in a real warroom process and
// SIGKILLs it at the kill point; it returns the run's id.
func (w *deployWorld) startKilled(t *testing.T, kp killPoint) string {
	t.Helper()
	cmd := exec.Command(warroomBin, "--db", w.c.db, "--plugins", w.plugins, "--as", "tester",
		"deploy", "start", "train", "--env", "dev,prod", "--follow", "--ignore-low-traffic")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	callsBefore := len(w.open(t))
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	n, baking := 0, 0
	trafficBefore := 0
	for _, c := range w.callsIn(t, "traffic-calls.log") {
		if c[0] == "begin" {
			trafficBefore++
		}
	}
	deadline := time.After(60 * time.Second)
	killed := false
	for !killed {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("warroom ended before kill point %s: the kill point is unreachable", kp)
			}
			n++
			if strings.Contains(line, "baking until") {
				baking++
			}
			if (kp.afterLine > 0 && n >= kp.afterLine) || (kp.baking > 0 && baking >= kp.baking) {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			}
		case <-time.After(10 * time.Millisecond):
			open := w.open(t)
			switch {
			case kp.midCall > 0 && len(open) > callsBefore && w.begun(t) >= kp.midCall,
				kp.parallel && len(open) >= 2,
				kp.midTraffic > 0 && w.trafficInFlight(t, trafficBefore+kp.midTraffic):
				_ = cmd.Process.Signal(syscall.SIGKILL)
				killed = true
			}
		case <-deadline:
			_ = cmd.Process.Kill()
			t.Fatalf("no kill point reached in 60s\n%s", stderr.String())
		}
	}
	go func() {
		for range lines {
		}
	}()
	_ = cmd.Wait()
	var run deploy.Run
	w.c.json(&run, "deploy", "status")
	return run.ID
}

// calls reads calls.log: every "begin KEY" and "end KEY" in order.
func (w *deployWorld) calls(t *testing.T) [][2]string { return w.callsIn(t, "calls.log") }

// trafficInFlight reports whether the n-th traffic shift ever begun has
// begun and not ended.
func (w *deployWorld) trafficInFlight(t *testing.T, n int) bool {
	t.Helper()
	begun, key := 0, ""
	ended := map[string]bool{}
	for _, c := range w.callsIn(t, "traffic-calls.log") {
		switch c[0] {
		case "begin":
			if begun++; begun == n {
				key = c[1]
			}
		case "end":
			ended[c[1]] = true
		}
	}
	return key != "" && !ended[key]
}

// callsIn reads a log of "begin KEY" and "end KEY" lines, in order.
func (w *deployWorld) callsIn(t *testing.T, name string) [][2]string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(w.dir, name))
	var out [][2]string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			out = append(out, [2]string{f[0], f[1]})
		}
	}
	return out
}

// open lists the keys begun and not (yet) ended.
func (w *deployWorld) open(t *testing.T) []string {
	t.Helper()
	state := map[string]bool{}
	var order []string
	for _, c := range w.calls(t) {
		if c[0] == "begin" {
			state[c[1]] = true
			order = append(order, c[1])
		} else {
			state[c[1]] = false
		}
	}
	var out []string
	for _, k := range order {
		if state[k] {
			out = append(out, k)
		}
	}
	return out
}

func (w *deployWorld) begun(t *testing.T) int {
	n := 0
	for _, c := range w.calls(t) {
		if c[0] == "begin" {
			n++
		}
	}
	return n
}

// checkCalls: no call of the run began again after one with its key
// ended (a completed deployment, rollback or traffic shift is never
// repeated).
func (w *deployWorld) checkCalls(t *testing.T, runID string) {
	t.Helper()
	// What the target finished is what its idempotency journal says is
	// done (or failed): a script can print its last line and still be
	// killed with the plugin before the plugin records the key done, and
	// then the contract (docs/plugins.md, plugins/exec) is that the key
	// is not applied and a repeated call runs the command again. So the
	// rule is on the journal: no key starts again after it finished.
	journals, _ := filepath.Glob(filepath.Join(filepath.Dir(w.c.db), "plugin-state", "*", "exec-journal.jsonl"))
	if len(journals) == 0 {
		t.Fatalf("no exec journal under %s", filepath.Dir(w.c.db))
	}
	finished, starts := map[string]bool{}, map[string]int{}
	for _, path := range journals {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			var e struct{ Key, Op, State string }
			if json.Unmarshal([]byte(line), &e) != nil || !strings.HasPrefix(e.Key, runID+"/") {
				continue // a torn last line is dropped by the plugin too
			}
			k := e.Op + " " + e.Key
			switch e.State {
			case "started":
				if finished[k] {
					t.Errorf("%s started again after the target finished it", k)
				}
				starts[e.Key]++
			case "done", "failed":
				finished[k] = true
			}
		}
	}
	if len(finished) == 0 {
		t.Errorf("no call of run %s finished", runID)
	}
	// Every command the scripts saw begin was a call the journal started:
	// nothing ran behind the journal's back.
	begins := map[string]int{}
	for _, c := range append(w.calls(t), w.callsIn(t, "traffic-calls.log")...) {
		if c[0] == "begin" && strings.HasPrefix(c[1], runID+"/") {
			begins[c[1]]++
		}
	}
	for key, n := range begins {
		if n > starts[key] {
			t.Errorf("%s began %d times but the journal started it %d times", key, n, starts[key])
		}
	}
}

// checkAudit: the chain verifies and holds one event per commit of the run.
func (w *deployWorld) checkAudit(t *testing.T, run *deploy.Run) {
	t.Helper()
	if out := w.c.ok("audit", "verify"); !strings.HasPrefix(out, "ok: ") {
		t.Errorf("audit verify: %s", out)
	}
	var events []struct {
		Summary string `json:"summary"`
	}
	w.c.json(&events, "audit", "list")
	n := 0
	for _, e := range events {
		if strings.Contains(e.Summary, run.ID) {
			n++
		}
	}
	// Every commit of the run (creation, every change of its header or
	// of a step) has exactly one audit event.
	if int64(n) != run.Commits {
		t.Errorf("%d audit events name run %s, but it was committed %d times", n, run.ID, run.Commits)
	}
}

// SIGKILL warroom driving the demo release through dev on the local
// fleet (whose instances outlive warroom and its plugin): while two
// deployments of one wave are in flight, while canaries shift and bake,
// at many points. Each run resumed ends succeeded; every step's proxy
// serves the step's version; the fleet's journal shows no key deployed
// again after it was done; the audit chain verifies with one event per
// commit of the run.
func TestSigkillOnTheLocalFleetResumes(t *testing.T) {
	if testing.Short() {
		t.Skip("kills and restarts warroom driving real processes")
	}
	bin := fleetLayout(t)
	dir := t.TempDir()
	db := filepath.Join(dir, "warroom.db")
	state := filepath.Join(dir, "plugin-state", "localfleet")
	t.Cleanup(func() { fleetctl.Stop(context.Background(), state) }) //nolint:errcheck
	fleet := func(args ...string) *exec.Cmd {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		t.Cleanup(cancel)
		cmd := exec.CommandContext(ctx, bin, append([]string{"--db", db, "--as", "tester"}, args...)...)
		cmd.Env = append(os.Environ(), "WARROOM_PLUGINS=", "WARROOM_DB=", "WARROOM_LOG=")
		return cmd
	}
	if out, err := fleet("apply", "-f", openDemoWithoutGates(t)).CombinedOutput(); err != nil {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	c := &cli{t: t, db: db}
	// The dev run prints ~47 lines: two wave-1 deployments side by side
	// (lines ~2-11), then two canaries shifting and baking side by side.
	for _, n := range []int{3, 5, 8, 13, 16, 20, 24, 28, 32, 36, 40} {
		t.Run(fmt.Sprintf("after-line-%d", n), func(t *testing.T) {
			cmd := fleet("deploy", "start", "storefront-2026-12", "--env", "dev", "--follow", "--bake-scale", "0", "--outside-window", "SIGKILL test")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(stdout)
			lines := 0
			for lines < n && sc.Scan() {
				lines++
			}
			_ = cmd.Process.Signal(syscall.SIGKILL)
			go func() {
				for sc.Scan() {
				}
			}()
			_ = cmd.Wait()
			if lines < n {
				t.Fatalf("warroom ended after %d lines, before the kill point", lines)
			}
			var run deploy.Run
			c.json(&run, "deploy", "status")
			if out, err := fleet("deploy", "resume", run.ID).CombinedOutput(); err != nil {
				t.Fatalf("resume: %v\n%s", err, out)
			}
			c.json(&run, "deploy", "status", run.ID)
			if run.State != deploy.RunSucceeded {
				t.Fatalf("run ended %s (%s)", run.State, run.Reason)
			}
			endpoints := readEndpoints(t, state)
			for _, s := range run.Steps {
				if s.Kind != deploy.KindService {
					continue
				}
				if got := versionAt(t, endpoints[s.Service+"/"+s.Env+"/"+s.Region]); got != s.Version {
					t.Errorf("%s: the proxy serves %s", s.Describe(), got)
				}
			}
			checkFleetJournal(t, filepath.Join(state, "localfleet-journal.jsonl"), run.ID)
			if out := c.ok("audit", "verify"); !strings.HasPrefix(out, "ok: ") {
				t.Errorf("audit verify: %s", out)
			}
			var events []struct {
				Summary string `json:"summary"`
			}
			c.json(&events, "audit", "list")
			named := 0
			for _, e := range events {
				if strings.Contains(e.Summary, run.ID) {
					named++
				}
			}
			if int64(named) != run.Commits {
				t.Errorf("%d audit events name run %s, but it was committed %d times", named, run.ID, run.Commits)
			}
		})
	}
}

// checkFleetJournal: no key of the run started again after it was done.
func checkFleetJournal(t *testing.T, path, runID string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	done := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e struct {
			Key, Op, State string
		}
		if json.Unmarshal([]byte(line), &e) != nil || !strings.HasPrefix(e.Key, runID+"/") {
			continue
		}
		switch e.State {
		case "started":
			if done[e.Op+" "+e.Key] {
				t.Errorf("%s %s started again after it was done", e.Op, e.Key)
			}
		case "done":
			done[e.Op+" "+e.Key] = true
		}
	}
	if len(done) == 0 {
		t.Errorf("the fleet's journal has nothing done for run %s", runID)
	}
}
