package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/plugins/localfleet/fleetctl"
)

// TestConsoleQuitMidRunResumes drives the real binary in tmux: a demo
// run started in the console, the console quit in the middle of it, and
// the console opened again on the same database. The local fleet outlives
// the first warroom (same supervisor, same instances), the second one
// adopts it and resumes the run: it goes on, and nothing rolls back.
// At the end nothing of the demo is left running.
func TestConsoleQuitMidRunResumes(t *testing.T) {
	tmuxPath := needTmux(t)
	bin := fleetLayout(t)
	fleetDir := filepath.Dir(bin)
	base := t.TempDir()
	dir := filepath.Join(base, "demo")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "plugin-state", "localfleet")
	markers := []string{fleetDir + string(os.PathSeparator), dir}
	before := map[int]bool{}
	for pid := range procsMatching(markers) {
		before[pid] = true
	}

	// One pane: the demo's console, then (after Enter) the console again
	// on its database.
	script := filepath.Join(base, "console.sh")
	stderr := filepath.Join(base, "stderr")
	env := `env -u WARROOM_DB -u WARROOM_LOG -u WARROOM_PLUGINS -u WARROOM_METRICS_ADDR -u TMUX TERM=xterm-256color NO_COLOR=1 GOTRACEBACK=all`
	body := fmt.Sprintf(`cd %s || exit 1
%s %s demo --dir %s --spec %s 2>%s
echo "first-exit-status: $?"
read -r _
%s WARROOM_DB=%s %s 2>>%s
echo "second-exit-status: $?"
exec sleep 600
`, shQuote(repo()), env, shQuote(bin), shQuote(dir), shQuote(demoSpecWithoutGates(t)), shQuote(stderr),
		env, shQuote(filepath.Join(dir, "warroom.db")), shQuote(bin), shQuote(stderr))
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	term := &tmuxTerm{t: t, tmux: tmuxPath, socket: fmt.Sprintf("warroom-resume-%d-%d", os.Getpid(), time.Now().UnixNano()), log: filepath.Join(dir, "warroom.log")}
	term.diagnose = func() string { return consoleDiagnosis(bin+" ", stderr) }
	t.Cleanup(func() {
		term.run("kill-server") //nolint:errcheck
		// t.Context() is done by the time cleanups run.
		fleetctl.Stop(context.Background(), state)
		for pid := range procsMatching(markers) {
			if !before[pid] {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	if out, err := term.run("new-session", "-d", "-s", "w", "-x", "120", "-y", "40", "sh "+shQuote(script)); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	const within = 20 * time.Second
	term.waitText("the Overview", 30*time.Second, "WARROOM  storefront-2026-12", "[1 Overview]")
	// Waves: the demo's CI delegate started the run as the console
	// opened (the captain at the keyboard may then approve it).
	term.key("5")
	running := regexp.MustCompile(`Run (run-\S+)\s+▸ running\s+(\d+)/(\d+) steps done`)
	screen := term.wait("two steps of the run done", 60*time.Second, func(screen string) bool {
		m := running.FindStringSubmatch(screen)
		return m != nil && m[2] != "0" && m[2] != "1"
	})
	runID := running.FindStringSubmatch(screen)[1]

	// Quit in the middle of the run.
	term.key("q")
	term.waitRE("the question to quit", within, `Quit\? y/n`)
	term.key("y")
	screen = term.waitText("the first warroom to exit", 30*time.Second, "first-exit-status: 0")
	if !strings.Contains(strings.ReplaceAll(screen, "\n", ""), "the local fleet keeps running for run "+runID) {
		t.Errorf("quitting mid-run does not say that the fleet keeps running for %s:\n%s", runID, screen)
	}
	hello, err := fleetctl.New(state).Hello(t.Context())
	if err != nil {
		t.Fatalf("the fleet did not outlive the console: %v", err)
	}
	if len(kidsOf(hello.PID)) == 0 {
		t.Fatalf("the fleet's supervisor (pid %d) runs no instance after the quit", hello.PID)
	}
	c := demoCLI(t, filepath.Join(dir, "warroom.db"))
	var atQuit deploy.Run
	c.json(&atQuit, "deploy", "status", runID)
	doneAtQuit := countSteps(atQuit, deploy.StepDone)
	// What the steps done so far deployed serves through its proxy while
	// no warroom runs, and still after the resume.
	endpointsAtQuit := readEndpoints(t, state)
	servesDone := func(when string, endpoints map[string]string) {
		t.Helper()
		for _, s := range atQuit.Steps {
			if s.State != deploy.StepDone || s.Kind != deploy.KindService {
				continue
			}
			key := s.Service + "/" + s.Env + "/" + s.Region
			url := endpoints[key]
			if url == "" || url != endpointsAtQuit[key] {
				t.Errorf("%s: the proxy of %s is %q, %q at the quit", when, key, url, endpointsAtQuit[key])
				continue
			}
			if v := versionAt(t, url); v != s.Version {
				t.Errorf("%s: %s serves %q, want %s (step %d done)", when, key, v, s.Version, s.Index)
			}
		}
	}
	servesDone("with no warroom running", endpointsAtQuit)

	// The console again: it adopts the fleet and resumes the run.
	term.key("Enter")
	term.waitText("the console again", 30*time.Second, "WARROOM  storefront-2026-12")
	deadline := time.Now().Add(90 * time.Second)
	var now deploy.Run
	for {
		c.json(&now, "deploy", "status", runID)
		if countSteps(now, deploy.StepDone) > doneAtQuit+1 || now.State.Terminal() || now.State == deploy.RunAwaitingApproval {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the run did not go on after the console opened again: %d steps done, %d at the quit; state %s (%s)", countSteps(now, deploy.StepDone), doneAtQuit, now.State, now.Reason)
		}
		time.Sleep(200 * time.Millisecond) // polling a condition with a deadline
	}
	for _, s := range now.Steps {
		if s.State == deploy.StepRollingBack || s.State == deploy.StepRolledBack || s.State == deploy.StepFailed {
			t.Errorf("step %d %s %s/%s is %s after the resume: %s", s.Index, s.Service, s.Env, s.Region, s.State, s.Error)
		}
	}
	if now.State == deploy.RunRollingBack || now.State == deploy.RunRolledBack || now.State == deploy.RunFailed {
		t.Errorf("run %s after the resume: %s", now.State, now.Reason)
	}
	if h, err := fleetctl.New(state).Hello(t.Context()); err != nil || h.PID != hello.PID {
		t.Errorf("supervisor after the resume: %+v %v, want pid %d adopted", h, err, hello.PID)
	}
	servesDone("after the resume", readEndpoints(t, state))

	// Quit again; then stop the fleet: nothing of the demo is left.
	term.key("q")
	term.waitRE("the question to quit", within, `Quit\? y/n|second-exit-status`)
	if !strings.Contains(term.last, "second-exit-status") {
		term.key("y")
	}
	term.waitText("the second warroom to exit", 30*time.Second, "second-exit-status: 0")
	if _, err := fleetctl.Stop(t.Context(), state); err != nil {
		t.Fatal(err)
	}
	var left []string
	for pid := range procsMatching(markers) {
		if !before[pid] && pidAlive(pid) {
			left = append(left, describeProc(pid))
		}
	}
	if len(left) > 0 {
		t.Errorf("left running after the fleet was stopped:\n  %s", strings.Join(left, "\n  "))
	}
}

func countSteps(r deploy.Run, state deploy.StepState) int {
	n := 0
	for _, s := range r.Steps {
		if s.State == state {
			n++
		}
	}
	return n
}

func readEndpoints(t *testing.T, state string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(state, "endpoints.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("endpoints.json: %v", err)
	}
	return m
}

// versionAt is the version that answers GET / at a proxy.
func versionAt(t *testing.T, url string) string {
	t.Helper()
	// The demo's services fail a few requests in a thousand by design
	// (their base error rate): the version is that of the first of a few
	// requests answered; five failures in a row (1 in 10^11 at 0.5 %) is
	// a proxy that does not serve.
	var last string
	for range 5 {
		v, ok := versionOnce(url)
		if ok {
			return v
		}
		last = v
	}
	return last
}

// versionOnce is the version one GET / answers with, or why not.
func versionOnce(url string) (string, bool) {
	resp, err := http.Get(url + "/")
	if err != nil {
		return "(" + err.Error() + ")", false
	}
	defer resp.Body.Close()
	var body struct {
		Version string `json:"version"`
	}
	b, _ := io.ReadAll(resp.Body)
	if json.Unmarshal(b, &body) != nil || resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("(%d %s)", resp.StatusCode, b), false
	}
	return body.Version, true
}

// fleetsEnded waits, at the end of the tests, for the local fleets the
// tests started to end: their supervisors outlive warroom by design, and
// end within a second or two of their state dir's removal (each test's
// temporary directory). It kills and reports any left after that.
func fleetsEnded() bool {
	if fleetBin == "" {
		return true
	}
	markers := []string{filepath.Dir(fleetBin) + string(os.PathSeparator)}
	deadline := time.Now().Add(15 * time.Second)
	for {
		left := procsMatching(markers)
		for pid := range left {
			if !pidAlive(pid) {
				delete(left, pid)
			}
		}
		if len(left) == 0 {
			return true
		}
		if time.Now().After(deadline) {
			for pid, cmdline := range left {
				fmt.Fprintf(os.Stderr, "FAIL: left running after the tests: pid %d: %s\n", pid, cmdline)
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
			return false
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
}
