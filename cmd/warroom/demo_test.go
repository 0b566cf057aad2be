package main

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
)

var (
	fleetOnce sync.Once
	fleetBin  string // a warroom laid out as make build lays it out
	fleetErr  error
)

// fleetLayout builds warroom, bin/plugins/localfleet with its SHA256SUMS
// and bin/demo-service in one directory, once per test binary.
func fleetLayout(t *testing.T) string {
	t.Helper()
	fleetOnce.Do(func() {
		dir, err := os.MkdirTemp("", "warroom-fleet")
		if err != nil {
			fleetErr = err
			return
		}
		builds := [][2]string{
			{filepath.Join(dir, "warroom"), "./cmd/warroom"},
			{filepath.Join(dir, "demo-service"), "./cmd/demo-service"},
			{filepath.Join(dir, "plugins", "localfleet"), "./plugins/localfleet"},
			// The canary judge's source, as make build installs it.
			{filepath.Join(dir, "plugins", "scrape"), "./plugins/scrape"},
		}
		for _, b := range builds {
			cmd := exec.Command("go", "build", "-o", b[0], b[1])
			cmd.Dir = repo()
			if out, err := cmd.CombinedOutput(); err != nil {
				fleetErr = fmt.Errorf("build %s: %v\n%s", b[1], err, out)
				return
			}
		}
		var sums strings.Builder
		for _, b := range builds[2:] {
			data, err := os.ReadFile(b[0])
			if err != nil {
				fleetErr = err
				return
			}
			sum := sha256.Sum256(data)
			fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(sum[:]), filepath.Base(b[0]))
		}
		fleetErr = os.WriteFile(filepath.Join(dir, "plugins", "SHA256SUMS"), []byte(sums.String()), 0o644)
		fleetBin = builds[0][0]
	})
	if fleetErr != nil {
		t.Fatal(fleetErr)
	}
	return fleetBin
}

// The demo's clean release deploys end to end on the local fleet through
// dev and all three production regions; the fleet's processes then serve
// the new versions through their proxies; Ctrl-C leaves no process.
func TestDemoReleaseDeploysOnTheLocalFleet(t *testing.T) {
	if testing.Short() {
		t.Skip("deploys a release on real processes")
	}
	bin := fleetLayout(t)
	dir := t.TempDir()
	// No bake (so no canary judgement): the canary judge on this fleet is
	// TestCanaryJudgeEndToEndOnTheLocalFleet's; with the demo's bakes the
	// release's 20 steps take some 4 minutes, which make test cannot spare.
	cmd := exec.Command(bin, "demo", "--dir", dir, "--spec", repo("testdata", "demo"), "--approve", "--env", "dev", "--env", "prod", "--bake-scale", "0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill() //nolint:errcheck
	serving := make(chan struct{})
	// A healthy canary the judge cannot prove safe within its extended
	// bake at the demo fleet's traffic waits for an operator ("insufficient
	// evidence"); the test is that operator, as the canary judge's
	// end-to-end test is: it continues the run, and counts.
	waits := make(chan struct{}, 64)
	// A run that ends otherwise than succeeded fails the test at once.
	runEnded := regexp.MustCompile(`^run run-\S+ (rolled-back|failed|aborted)`)
	ended := make(chan string, 1)
	var mu sync.Mutex
	var transcript strings.Builder
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			mu.Lock()
			transcript.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if strings.HasPrefix(sc.Text(), "serving:") {
				close(serving)
			}
			if strings.Contains(sc.Text(), "waits for an operator") {
				waits <- struct{}{}
			}
			if runEnded.MatchString(sc.Text()) {
				select {
				case ended <- sc.Text():
				default:
				}
			}
		}
	}()
	c := demoCLI(t, filepath.Join(dir, "warroom.db"))
	continued := 0
	timeout := time.After(7 * time.Minute)
wait:
	for {
		select {
		case <-serving:
			break wait
		case <-waits:
			var run deploy.Run
			c.json(&run, "deploy", "status")
			if run.State == deploy.RunPaused && strings.HasPrefix(run.Reason, deploy.ReasonInsufficient) {
				if r := c.run("deploy", "continue", run.ID, "--reason", "demo test: healthy canary, as an operator"); r.code != 0 {
					t.Fatalf("deploy continue: exit %d\n%s%s", r.code, r.stdout, r.stderr)
				}
				continued++
			}
		case line := <-ended:
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("%s\n%s\n%s", line, transcript.String(), stderr.String())
		case <-timeout:
			mu.Lock()
			defer mu.Unlock()
			t.Fatalf("the demo did not finish deploying in 7 minutes\n%s\n%s", transcript.String(), stderr.String())
		}
	}
	t.Logf("%d canary weights continued by the test as an operator (insufficient evidence)", continued)
	var run deploy.Run
	c.json(&run, "deploy", "status")
	if run.State != deploy.RunSucceeded {
		t.Fatalf("run %s: %s", run.State, run.Reason)
	}
	regions := map[string]bool{}
	for _, s := range run.Steps {
		if s.Env == "prod" && s.State == deploy.StepDone {
			regions[s.Region] = true
		}
	}
	if len(regions) != 3 {
		t.Errorf("production regions deployed: %v, want 3", regions)
	}
	// Every production proxy serves the release's new version.
	b, err := os.ReadFile(filepath.Join(dir, "plugin-state", "localfleet", "endpoints.json"))
	if err != nil {
		t.Fatal(err)
	}
	var endpoints map[string]string
	if err := json.Unmarshal(b, &endpoints); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, s := range run.Steps {
		want[s.Service+"/"+s.Env+"/"+s.Region] = s.Version
	}
	checked := 0
	for target, url := range endpoints {
		v, ok := want[target]
		if !ok || !strings.Contains(target, "/prod/") {
			continue
		}
		if got := versionAt(t, url); got != v {
			t.Errorf("%s serves %s, want %s", target, got, v)
		}
		checked++
	}
	if checked == 0 {
		t.Errorf("no production proxy to ask: %v", endpoints)
	}
	// Ctrl-C stops the fleet: no demo-service or plugin process is left.
	pids := descendants(cmd.Process.Pid)
	if len(pids) == 0 {
		t.Fatal("the demo runs no processes while serving")
	}
	_ = cmd.Process.Signal(syscall.SIGINT)
	_ = cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range pids {
		for syscall.Kill(pid, 0) == nil {
			if time.Now().After(deadline) {
				t.Fatalf("process %d outlived the demo", pid)
			}
			time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
		}
	}
}

// descendants lists the pids below pid in the process table.
func descendants(pid int) []int {
	var out []int
	queue := []int{pid}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, k := range kidsOf(p) {
			out = append(out, k)
			queue = append(queue, k)
		}
	}
	return out
}

// The demo's governance: the demo declares people, so the policy is
// enforced; the OS login plays the demo's captain (sofia) through the
// people overlay, which the demo says and audits; the CI delegate
// (ci-bot) imports the evidence and starts the run; the captain may then
// waive the gate that blocks staging (four-eyes holds: she did not start
// the run).
func TestDemoGovernance(t *testing.T) {
	if testing.Short() {
		t.Skip("deploys a release on real processes")
	}
	bin := fleetLayout(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "demo", "--dir", dir, "--spec", repo("testdata", "demo"), "--headless", "--once",
		"--env", "dev", "--bake-scale", "0")
	cmd.WaitDelay = 5 * time.Second
	done := make(chan struct{})
	var (
		out []byte
		err error
	)
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		cmd.Process.Kill() //nolint:errcheck
		<-done
		t.Fatalf("the demo did not end in 3 minutes:\n%s", out)
	}
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	login := osUser(func(string) string { return "" })
	text := string(out)
	for _, says := range []string{
		"you (OS login " + login + ") act as sofia (Sofia Lindqvist), the demo's captain",
		"the demo's people overlay adds " + login + " to sofia's logins",
		"ci-bot, the demo's CI delegate, hands over the evidence and starts the runs",
		"ci-bot imported",
		"60 files, 59 pass their gate, 1 do not",
		"storefront-2026-12/recommendations coverage: coverage 63.6 % < min 75 %",
	} {
		if !strings.Contains(text, says) {
			t.Errorf("the demo does not say %q:\n%s", says, text)
		}
	}
	c := demoCLI(t, filepath.Join(dir, "warroom.db"))
	var who struct {
		Policy, Person string
		Roles          []string
	}
	c.json(&who, "whoami")
	if who.Policy != "enforced" || who.Person != "sofia" || strings.Join(who.Roles, ",") != "captain" {
		t.Errorf("whoami on the demo's database: %+v", who)
	}
	var run deploy.Run
	c.json(&run, "deploy", "status")
	if run.StartedBy != "ci-bot" || run.State != deploy.RunSucceeded {
		t.Errorf("run started by %q, %s (%s)", run.StartedBy, run.State, run.Reason)
	}
	var events []model.AuditEvent
	c.json(&events, "audit", "list")
	by := map[string]string{}
	for _, e := range events {
		if _, seen := by[e.Command]; !seen {
			by[e.Command] = e.Actor
		}
	}
	if by["demo people overlay"] == "" || by["evidence import"] != "ci-bot" || by["deploy start"] != "ci-bot" {
		t.Errorf("audit actors by command: %v", by)
	}
	// Staging is blocked by recommendations' coverage alone; the captain
	// waives it (the demo's runs are ci-bot's, not hers), and it clears.
	if r := c.run("gate", "status", "storefront-2026-12", "--env", "staging"); r.code != exitRefused || !strings.Contains(r.stdout, "recommendations/coverage fail") {
		t.Errorf("staging before the waiver: exit %d\n%s", r.code, r.stdout)
	}
	c.ok("gate", "waive", "storefront-2026-12", "--service", "recommendations", "--gate", "coverage",
		"--reason", "coverage of the new endpoint lands in 4.2.1", "--expires", "24h")
	c.ok("gate", "status", "storefront-2026-12", "--env", "staging")
}

// The demo's story, headless, through dev and staging (fewer steps on
// the real fleet than every environment, the same story): the run the CI
// delegate started waits at staging on recommendations' coverage (63.6 %
// < 75 %), with that reason; the captain (the OS login) waives it, which
// four-eyes allows (she did not start the run); the run continues by
// itself and succeeds.
func TestDemoStory(t *testing.T) {
	if testing.Short() {
		t.Skip("deploys a release on real processes")
	}
	bin := fleetLayout(t)
	dir := t.TempDir()
	cmd := exec.Command(bin, "demo", "--dir", dir, "--spec", repo("testdata", "demo"), "--headless", "--once",
		"--env", "dev", "--env", "staging", "--bake-scale", "0")
	cmd.WaitDelay = 5 * time.Second
	done := make(chan struct{})
	var (
		out []byte
		err error
	)
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	defer func() {
		cmd.Process.Kill() //nolint:errcheck
		<-done
	}()
	c := demoCLI(t, filepath.Join(dir, "warroom.db"))
	var run deploy.Run
	deadline := time.Now().Add(4 * time.Minute)
	for {
		r := c.run("deploy", "status", "-o", "json")
		if r.code == 0 && json.Unmarshal([]byte(r.stdout), &run) == nil && run.State == deploy.RunWaiting && run.Wait != nil {
			break
		}
		select {
		case <-done:
			t.Fatalf("the demo ended before its run waited on a gate: %v\n%s", err, out)
		case <-time.After(time.Second): // polling a condition with a deadline, gently: the fleet shares the CPU
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo's run did not wait at staging in 4 minutes: %s", run.State)
		}
	}
	if run.Wait.Env != "staging" || len(run.Wait.Gates) != 1 || run.Wait.Gates[0].Service != "recommendations" ||
		run.Wait.Gates[0].Gate != "coverage" || !strings.Contains(run.Wait.Gates[0].Reason, "coverage 63.6 % < min 75 %") {
		t.Fatalf("the run waits on %+v", run.Wait)
	}
	c.ok("gate", "waive", "storefront-2026-12", "--service", "recommendations", "--gate", "coverage",
		"--reason", "coverage of the new endpoint lands in 4.2.1", "--expires", "24h")
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		t.Fatal("the demo did not finish in 5 minutes after the waiver")
	}
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	c.json(&run, "deploy", "status")
	if run.State != deploy.RunSucceeded || run.StartedBy != "ci-bot" {
		t.Fatalf("run %s (%s), started by %s", run.State, run.Reason, run.StartedBy)
	}
	var events []model.AuditEvent
	c.json(&events, "audit", "list")
	var story []string
	for _, e := range events {
		switch {
		case e.Command == "gate waive" && e.Actor == "sofia",
			strings.Contains(e.Summary, "waiting to enter staging"),
			strings.Contains(e.Summary, "gates clear: entering staging"):
			story = append(story, e.Actor+": "+e.Summary)
		}
	}
	if len(story) != 3 || !strings.Contains(story[0], "waiting to enter staging") || !strings.HasPrefix(story[1], "sofia: waived gate coverage") ||
		!strings.Contains(story[2], "gates clear: entering staging") {
		t.Errorf("the audit does not tell the story in order:\n%s", strings.Join(story, "\n"))
	}
	c.ok("audit", "verify")
}
