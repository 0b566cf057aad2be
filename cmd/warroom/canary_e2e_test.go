package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
)

// The canary judge end to end, on the real local fleet: real plugin
// processes (localfleet, scrape), real demo-service processes behind the
// fleet's weighted proxy with its Poisson traffic, at the demo's default
// bake scale (0.002: checkout's 15-minute bake is 1.8 s per weight).
//
// checkout 4.9.0 (testdata/demo) is deployed to the first environment,
// dev, alone: the test adds a one-service release of it to the demo
// organisation, so that each run is checkout's canary and nothing else
// (the demo's checkout-2026-12 release deploys four services before
// it). Each run has a fleet of its own, as the demo does (a fresh
// fleet, the baseline brought up first), so runs are independent and
// run side by side in a few lanes.
//
//   - error rate 5 % on the canary: rolled back by the judge, in each of
//     5 runs;
//   - latency +100 ms on the canary: rolled back by the judge, in each
//     of 5 runs;
//   - no fault: 20 runs, none rolled back. A healthy canary whose bake
//     (extended by the engine) ends without proof waits for an operator
//     ("insufficient evidence"); the test then continues it as an
//     operator would (deploy continue) and counts it. With an engine
//     that promotes at the end of the bake, the run simply succeeds.
//
// The smoke check is set to tolerate 20 % of errors here: its 20 GET /
// cannot tell a 5 % fault from luck (3 errors or more, failing the
// default 5 %, come in 7.5 % of runs), and the test is about the judge;
// the smoke check stays for gross failures.
func TestCanaryJudgeEndToEndOnTheLocalFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("runs 30 canaries on real processes")
	}
	bin := fleetLayout(t)
	fleet := filepath.Join(filepath.Dir(bin), "plugins", "localfleet")
	scrape := scrapeLayout(t)
	specDir := e2eSpec(t)

	type kind struct {
		name, faults string
		runs         int
	}
	kinds := []kind{
		{"error rate 5 %", "checkout@4.9.0=error-rate=0.05", 5},
		{"latency +100 ms", "checkout@4.9.0=latency=100ms", 5},
		{"healthy", "", 20},
	}
	type job struct {
		kind kind
		n    int
	}
	var jobs []job
	for _, k := range kinds {
		for i := range k.runs {
			jobs = append(jobs, job{k, i + 1})
		}
	}
	// Interleaved, so that every lane has a mix and a slow lane does not
	// hold all of one kind.
	sort.SliceStable(jobs, func(i, j int) bool { return jobs[i].n < jobs[j].n })

	// Three fleets at once: each is 8 processes and 200 requests/s of
	// traffic through its proxy (about a third of a core). A healthy
	// canary's proof waits on traffic, not on the CPU, so lanes divide
	// the test's time; three is what 2 cores carry with room.
	const lanes = 3
	results := make([]e2eResult, len(jobs))
	start := time.Now()
	var wg sync.WaitGroup
	for lane := range lanes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := lane; i < len(jobs); i += lanes {
				results[i] = runCanaryE2E(t, bin, fleet, scrape, specDir, jobs[i].kind.faults)
			}
		}()
	}
	wg.Wait()
	total := time.Since(start)

	var healthyBakes []time.Duration
	pauses := 0
	for i, r := range results {
		j := jobs[i]
		label := fmt.Sprintf("%s run %d", j.kind.name, j.n)
		if r.err != nil {
			t.Errorf("%s: %v\n%s", label, r.err, r.transcript)
			continue
		}
		pauses += r.insufficient
		t.Logf("%s: %s in %.1fs (canary baked %.1fs, %d paused for insufficient evidence): %s",
			label, r.state, r.took.Seconds(), r.bake.Seconds(), r.insufficient, r.reason)
		if j.kind.faults == "" {
			healthyBakes = append(healthyBakes, r.bake)
			if r.state != deploy.RunSucceeded {
				t.Errorf("%s: a healthy canary ended %s: %s\n%s", label, r.state, r.reason, r.transcript)
			}
			continue
		}
		if r.state != deploy.RunRolledBack || !strings.Contains(r.reason, "canary judged worse than baseline") || strings.Contains(r.reason, "smoke checks") {
			t.Errorf("%s: %s: %s, want a rollback by the canary judge\n%s", label, r.state, r.reason, r.transcript)
		}
	}
	slices.Sort(healthyBakes)
	if n := len(healthyBakes); n > 0 {
		t.Logf("summary: %d runs in %.0fs on %d lanes; healthy canaries baked %.1fs (min) %.1fs (median) %.1fs (max); %d paused for insufficient evidence and continued",
			len(results), total.Seconds(), lanes, healthyBakes[0].Seconds(), healthyBakes[n/2].Seconds(), healthyBakes[n-1].Seconds(), pauses)
	}
}

// e2eSpec is the demo organisation with one more release: checkout 4.9.0
// alone, in dev, its window open now. The environments require no gates
// (openDemoWithoutGates, open mode): the test is about the canary judge, and the
// demo's evidence is for its own releases.
func e2eSpec(t *testing.T) string {
	t.Helper()
	dir := openDemoWithoutGates(t)
	now := time.Now().UTC()
	release := fmt.Sprintf(`version: 1
releases:
  - name: e2e-checkout
    title: checkout 4.9.0 alone, for the canary judge's end-to-end test
    captain: Sofia Lindqvist
    owner: checkout
    class: normal
    window: {start: %q, end: %q}
    environments: [dev]
    scope:
      - service: checkout
        version: "4.9.0"
`, now.Add(-time.Hour).Format(time.RFC3339), now.Add(6*time.Hour).Format(time.RFC3339))
	if err := os.WriteFile(filepath.Join(dir, "e2e-release.yaml"), []byte(release), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// e2eResult is one run's outcome.
type e2eResult struct {
	state        deploy.RunState
	reason       string
	took         time.Duration // the whole run, start to end
	bake         time.Duration // checkout's canary: smoke checks passed to its end
	insufficient int           // pauses for insufficient evidence, continued
	transcript   string
	err          error
}

// runCanaryE2E deploys checkout 4.9.0 with faults on a fleet of its own
// and drives the run to its end, continuing it as an operator when the
// judge asks for more evidence than the bake gave.
func runCanaryE2E(t *testing.T, bin, fleet, scrape, specDir, faults string) (res e2eResult) {
	dir := t.TempDir()
	db := filepath.Join(dir, "warroom.db")
	cfg := fmt.Sprintf(`plugins:
  - name: localfleet
    path: %s
    kinds: [deploy-target]
    settings: {faults: %q, smoke_max_error_rate: "0.2"}
  - name: scrape
    path: %s
    kinds: [monitoring-source]
    settings: {targets_file: ../localfleet/scrape-targets.json, interval: 500ms}
`, fleet, faults, scrape)
	plugins := filepath.Join(dir, "plugins.yaml")
	if err := os.WriteFile(plugins, []byte(cfg), 0o644); err != nil {
		res.err = err
		return res
	}
	var transcript strings.Builder
	defer func() { res.transcript = transcript.String() }()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	warroom := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, bin, append([]string{"--db", db, "--plugins", plugins, "--as", "captain"}, args...)...)
		out, err := cmd.CombinedOutput()
		fmt.Fprintf(&transcript, "$ warroom %s\n%s", strings.Join(args, " "), out)
		return string(out), err
	}
	// The fleet outlives warroom's plugin process: stopped on purpose.
	defer func() {
		out, err := exec.Command(fleet, "stop", filepath.Join(dir, "plugin-state", "localfleet")).CombinedOutput()
		if err != nil && res.err == nil {
			res.err = fmt.Errorf("stopping the fleet: %v\n%s", err, out)
		}
	}()
	if _, err := warroom("apply", "-f", specDir); err != nil {
		res.err = fmt.Errorf("apply: %w", err)
		return res
	}
	start := time.Now()
	// The driver runs the run here until it ends; it stays while the run
	// waits for an operator, as a war room's warroom does.
	var driverOut strings.Builder
	driver := exec.CommandContext(ctx, bin, "--db", db, "--plugins", plugins, "--as", "captain",
		"deploy", "start", "e2e-checkout", "--env", "dev", "--bake-scale", "0.002", "--follow", "--wait")
	driver.Stdout, driver.Stderr = &driverOut, &driverOut
	if err := driver.Start(); err != nil {
		res.err = err
		return res
	}
	driven := make(chan error, 1)
	go func() { driven <- driver.Wait() }()
	defer func() {
		fmt.Fprintf(&transcript, "$ warroom deploy start e2e-checkout --env dev --bake-scale 0.002 --follow --wait\n%s", driverOut.String())
	}()
	defer func() { // a run left unfinished (a failure of the test): its driver goes
		if driven != nil {
			_ = driver.Process.Kill()
			<-driven
		}
	}()
	var run deploy.Run
	continued := ""
	for {
		select {
		case <-driven:
			driven = nil // ended: the status below says how
		case <-time.After(500 * time.Millisecond): // polling the run's state, within ctx's deadline
		}
		out, err := warroom("deploy", "status", "-o", "json")
		if err == nil {
			err = json.Unmarshal([]byte(out), &run)
		}
		if err != nil {
			res.err = fmt.Errorf("deploy status: %w", err)
			return res
		}
		if run.State.Terminal() {
			break
		}
		if run.State != deploy.RunPaused {
			if driven == nil {
				res.err = fmt.Errorf("the driver ended with the run %s: %s", run.State, run.Reason)
				return res
			}
			continue
		}
		// The judge asked for an operator. Insufficient evidence (the
		// bake, extended, ended with neither verdict) is continued, as an
		// operator would, and counted; the outcome must still be right.
		// Any other pause (a traffic split the weights did not ask for)
		// is a finding: the judge's rejections are final, so continuing
		// would only pause again.
		if run.Reason == continued {
			continue // continued already: the driver has not moved yet
		}
		if !strings.Contains(run.Reason, "insufficient evidence") {
			res.err = fmt.Errorf("paused by the judge: %s", run.Reason)
			return res
		}
		res.insufficient++
		if res.insufficient > 6 {
			res.err = fmt.Errorf("paused %d times: %s", res.insufficient, run.Reason)
			return res
		}
		if _, err := warroom("deploy", "continue", run.ID, "--reason", "e2e test: continued as an operator"); err != nil {
			res.err = fmt.Errorf("deploy continue: %w", err)
			return res
		}
		continued = run.Reason
	}
	if driven != nil {
		select {
		case <-driven:
			driven = nil
		case <-ctx.Done():
			res.err = fmt.Errorf("the driver did not exit after the run ended")
			return res
		}
	}
	res.took = time.Since(start)
	res.state, res.reason = run.State, run.Reason
	res.bake, res.err = canaryBake(warroom, run)
	return res
}

// canaryBake is how long checkout's canary baked: from its smoke checks
// passing to the step's end, from the audit trail.
func canaryBake(warroom func(args ...string) (string, error), run deploy.Run) (time.Duration, error) {
	var step *deploy.Step
	for i := range run.Steps {
		if run.Steps[i].Service == "checkout" {
			step = &run.Steps[i]
		}
	}
	if step == nil || step.EndedAt == nil {
		return 0, fmt.Errorf("run %s has no finished checkout step", run.ID)
	}
	out, err := warroom("audit", "list", "-o", "json")
	if err != nil {
		return 0, fmt.Errorf("audit list: %w", err)
	}
	var events []struct {
		At      time.Time `json:"at"`
		Summary string    `json:"summary"`
	}
	if err := json.Unmarshal([]byte(out), &events); err != nil {
		return 0, fmt.Errorf("audit list: %w", err)
	}
	marker := fmt.Sprintf("step %d %s: smoke checks passed", step.Index, step.Describe())
	for _, e := range events {
		if strings.Contains(e.Summary, marker) {
			return step.EndedAt.Sub(e.At), nil
		}
	}
	return 0, fmt.Errorf("no %q in the audit trail", marker)
}
