package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// needTmux is tmux's path; in CI a missing tmux fails the test (scripts/
// setup installs it), elsewhere it skips.
func needTmux(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("tmux")
	if err != nil {
		if isCI() {
			t.Fatal("tmux not found in CI: scripts/setup should install it")
		}
		t.Skip("tmux not installed (scripts/setup installs it)")
	}
	return path
}

// The console end to end, in a real terminal: 'warroom demo' runs in a
// private tmux server; the test presses one key at a time, as an operator
// would, and reads the screen after each: every screen shows, a run
// starts, makes progress, pauses, continues, and quitting ends the
// console with status 0 and leaves no process of the demo behind.
func TestConsoleEndToEnd(t *testing.T) {
	tmuxPath := needTmux(t)
	bin := fleetLayout(t) // warroom, demo-service and plugins/localfleet, built once
	fleetDir := filepath.Dir(bin)

	base := t.TempDir()
	dir := filepath.Join(base, "demo") // the demo's database, log and plugin state
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// What may run on behalf of this demo: its binaries and its directory.
	// Processes of the fleet's binaries that run already are not ours.
	markers := []string{fleetDir + string(os.PathSeparator), dir}
	before := map[int]bool{}
	for pid := range procsMatching(markers) {
		before[pid] = true
	}

	// The pane runs a script, so that tmux's own command line names
	// neither the demo's directory nor its binaries; the script reports
	// warroom's exit status and keeps the pane open to read it.
	script := filepath.Join(base, "console.sh")
	// warroom's stderr goes to a file: a failure shows it, with the
	// goroutines of a console that hangs (SIGQUIT, GOTRACEBACK=all).
	stderr := filepath.Join(base, "stderr")
	body := fmt.Sprintf(`cd %s || exit 1
env -u WARROOM_DB -u WARROOM_LOG -u WARROOM_PLUGINS -u WARROOM_METRICS_ADDR -u TMUX \
	TERM=xterm-256color NO_COLOR=1 GOTRACEBACK=all %s demo --dir %s --spec %s 2>%s
echo "warroom-exit-status: $?"
exec sleep 600
`, shQuote(repo()), shQuote(bin), shQuote(dir), shQuote(demoSpecWithoutGates(t)), shQuote(stderr))
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}

	term := &tmuxTerm{t: t, tmux: tmuxPath, socket: fmt.Sprintf("warroom-e2e-%d-%d", os.Getpid(), time.Now().UnixNano()), log: filepath.Join(dir, "warroom.log")}
	term.diagnose = func() string { return consoleDiagnosis(bin+" demo ", stderr) }
	seen := map[int]uint64{} // pid → start time of every process seen below the pane
	t.Cleanup(func() {
		term.run("kill-server") //nolint:errcheck
		// A failed test may leave the demo's processes: end them, by pid.
		for pid, start := range seen {
			if st, ok := procStart(pid); ok && st == start {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		for pid := range procsMatching(markers) {
			if !before[pid] {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	if out, err := term.run("new-session", "-d", "-s", "w", "-x", "120", "-y", "40", "sh "+shQuote(script)); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	panePID := 0
	if out, err := term.run("display-message", "-p", "-t", "w", "#{pane_pid}"); err == nil {
		panePID, _ = strconv.Atoi(strings.TrimSpace(out))
	}
	if panePID == 0 {
		t.Fatal("tmux does not say which process runs in the pane")
	}
	record := func() {
		for _, pid := range descendants(panePID) {
			if start, ok := procStart(pid); ok {
				seen[pid] = start
			}
		}
	}

	const within = 20 * time.Second
	term.waitText("the Overview", 30*time.Second, "WARROOM  storefront-2026-12", "[1 Overview]")

	// The fleet comes up with traffic before anything is deployed: the
	// local fleet's proxies for the first environment appear in its
	// endpoints file.
	endpoints := filepath.Join(dir, "plugin-state", "localfleet", "endpoints.json")
	warm := time.Now().Add(30 * time.Second)
	for {
		var eps map[string]string
		if b, err := os.ReadFile(endpoints); err == nil && json.Unmarshal(b, &eps) == nil && len(eps) >= 5 {
			break
		}
		if time.Now().After(warm) {
			b, _ := os.ReadFile(endpoints)
			t.Fatalf("the fleet did not come up before the first run: %s", b)
		}
		time.Sleep(100 * time.Millisecond) // polling a file with a deadline
	}

	// Every screen: its tab is the active one and it shows what it is.
	screens := []struct {
		key, tab string
		shows    []*regexp.Regexp
	}{
		{"1", "[1 Overview]", res(`(?m)^Release\s+storefront-2026-12`, `Latest audit events`)},
		{"2", "[2 Calendar]", res(`month view`, `Conflicts of release storefront-2026-12`)},
		{"3", "[3 Graph]", res(`Graph of storefront-2026-12 · \d+ services in \d+ waves`, `(?m)^WAVE 1\s`)},
		{"4", "[4 Gates]", res(`(?m)^Gates · \d+ gates × \d+ environments`)},
		// The demo's CI delegate starts the run as the console opens: the
		// run may be there already, or not yet.
		{"5", "[5 Waves]", res(`No run of storefront-2026-12 yet\. Press s|(?m)^Run run-\S+\s`)},
		{"6", "[6 Canary]", res(`No deployment run yet\.|Canary · run run-\S+`)},
		{"7", "[7 Changes]", res(`(?m)^Change requests`)},
		{"8", "[8 Audit]", res(`Audit log\s+✓ chain intact`)},
		{"9", "[9 Plugins]", res(`(?m)^Plugins\s+\d+ configured`)},
	}
	for _, s := range screens {
		term.key(s.key)
		term.wait("screen "+s.tab, within, func(screen string) bool {
			b, ok := belowTabs(screen, s.tab)
			if !ok {
				return false
			}
			for _, re := range s.shows {
				if !re.MatchString(b) {
					return false
				}
			}
			return true
		})
	}

	// Waves: the demo's CI delegate started the run as the console
	// opened (the captain at the keyboard may then approve it).
	term.key("5")
	running := regexp.MustCompile(`Run (run-\S+)\s+▸ running\s+(\d+)/(\d+) steps done`)
	stepDone := regexp.MustCompile(`(?m)^\S?\s*\d+\s+[a-z]+/[a-z-]+\s.*✓ done`)
	screen := term.wait("a step of the run done", 45*time.Second, func(screen string) bool {
		return running.MatchString(screen) && stepDone.MatchString(screen)
	})
	runID := running.FindStringSubmatch(screen)[1]
	record()

	// Pause at once, then continue, asked first.
	term.key("p")
	paused := regexp.MustCompile(`Run ` + regexp.QuoteMeta(runID) + `\s+‖ paused\s+(\d+)/\d+ steps done`)
	screen = term.wait("the run paused", within, func(screen string) bool {
		return paused.MatchString(screen) && strings.Contains(screen, "✓ pause of run "+runID+" recorded")
	})
	donePaused, _ := strconv.Atoi(paused.FindStringSubmatch(screen)[1])
	t.Logf("run %s paused with %d steps done", runID, donePaused)
	record()
	term.key("c")
	term.waitRE("the question to continue", within, `Continue run `+regexp.QuoteMeta(runID)+`.*y/n`)
	term.key("y")
	term.waitText("the continue recorded", within, "✓ continue of run "+runID+" recorded")
	// The run goes on: more steps done than when it paused, or it stops
	// at production's approval, which the operator gives.
	awaiting := regexp.MustCompile(`Run ` + regexp.QuoteMeta(runID) + `\s+! awaiting approval`)
	// A canary step proves itself in some 10 to 60 s at the demo fleet's
	// traffic (testdata/demo/README.md).
	screen = term.wait("the run progressing after continue", 120*time.Second, func(screen string) bool {
		if awaiting.MatchString(screen) {
			return true
		}
		m := running.FindStringSubmatch(screen)
		if m == nil || m[1] != runID {
			return false
		}
		n, _ := strconv.Atoi(m[2])
		return n > donePaused
	})
	record()
	if awaiting.MatchString(screen) {
		term.key("c")
		term.waitRE("the question to approve", within, `Approve run `+regexp.QuoteMeta(runID)+` into prod.*y/n`)
		term.key("y")
		term.waitRE("the run running after approval", within, `Run `+regexp.QuoteMeta(runID)+`\s+▸ running`)
		record()
	}
	if len(seen) == 0 {
		t.Fatal("the demo runs no process below the pane while deploying")
	}
	t.Logf("%d processes below the pane while deploying", len(seen))

	// Quit, asked first while the run is active; warroom exits with 0.
	term.key("q")
	term.waitRE("the question to quit", within, `Quit\? y/n`)
	term.key("y")
	exit := regexp.MustCompile(`warroom-exit-status: (\d+)`)
	screen = term.wait("warroom to exit", 30*time.Second, exit.MatchString)
	if code := exit.FindStringSubmatch(screen)[1]; code != "0" {
		errb, _ := os.ReadFile(stderr)
		t.Fatalf("warroom demo exited with status %s\n%s\nstderr:\n%s", code, term.lastScreen(), errb)
	}

	// The run is not finished: the local fleet keeps running for the
	// warroom that resumes it, and says so. Stopped here, it leaves
	// nothing behind.
	if !strings.Contains(screen, "the local fleet keeps running for run "+runID) {
		t.Errorf("quitting mid-run does not say that the fleet keeps running for %s:\n%s", runID, screen)
	}
	if out, err := exec.Command(filepath.Join(fleetDir, "plugins", "localfleet"), "stop", filepath.Join(dir, "plugin-state", "localfleet")).CombinedOutput(); err != nil ||
		!strings.Contains(string(out), "stopped the local fleet") {
		t.Errorf("localfleet stop: %v: %s", err, out)
	}

	// No process the demo started is left: neither one seen below the
	// pane nor one of the fleet's binaries or in the demo's directory.
	var left []string
	deadline := time.Now().Add(15 * time.Second)
	for {
		left = left[:0]
		for pid, start := range seen {
			if st, ok := procStart(pid); ok && st == start {
				left = append(left, describeProc(pid))
			}
		}
		for pid := range procsMatching(markers) {
			if _, dup := seen[pid]; !dup && !before[pid] {
				left = append(left, describeProc(pid))
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
	if len(left) > 0 {
		sort.Strings(left)
		t.Fatalf("%d processes of the demo outlived it (of %d seen):\n  %s", len(left), len(seen), strings.Join(left, "\n  "))
	}
}

// tmuxTerm is a terminal: a private tmux server with one session, w.
type tmuxTerm struct {
	t      *testing.T
	tmux   string
	socket string
	log    string // the program's log, shown when a wait fails
	// diagnose, if set, says more about a wait that failed.
	diagnose func() string
	last     string // the last screen captured
}

func (tm *tmuxTerm) run(args ...string) (string, error) {
	cmd := exec.Command(tm.tmux, append([]string{"-L", tm.socket, "-f", "/dev/null"}, args...)...)
	cmd.Env = append(os.Environ(), "TMUX=") // never the tmux this test may run in
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// key presses one key: a literal character, or a key by name (Enter,
// Escape).
func (tm *tmuxTerm) key(k string) {
	tm.t.Helper()
	args := []string{"send-keys", "-t", "w", "-l", k}
	if len([]rune(k)) > 1 {
		args = []string{"send-keys", "-t", "w", k}
	}
	if out, err := tm.run(args...); err != nil {
		tm.t.Fatalf("tmux send-keys %q: %v\n%s\nscreen:\n%s", k, err, out, tm.lastScreen())
	}
}

// wait polls the screen until cond holds, failing with the last screen
// after within.
func (tm *tmuxTerm) wait(what string, within time.Duration, cond func(screen string) bool) string {
	tm.t.Helper()
	deadline := time.Now().Add(within)
	for {
		out, err := tm.run("capture-pane", "-p", "-t", "w")
		if err == nil {
			tm.last = out
			if cond(out) {
				return out
			}
		}
		if time.Now().After(deadline) {
			msg := fmt.Sprintf("waited %s for %s; the screen:\n%s", within, what, tm.lastScreen())
			if err != nil {
				msg += fmt.Sprintf("\ntmux capture-pane: %v %s", err, out)
			}
			if b, err := os.ReadFile(tm.log); err == nil {
				lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
				if len(lines) > 15 {
					lines = lines[len(lines)-15:]
				}
				msg += "\nthe end of " + tm.log + ":\n" + strings.Join(lines, "\n")
			}
			if tm.diagnose != nil {
				msg += "\n" + tm.diagnose()
			}
			tm.t.Fatal(msg)
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
}

// waitText waits until the screen shows every text.
func (tm *tmuxTerm) waitText(what string, within time.Duration, texts ...string) string {
	tm.t.Helper()
	return tm.wait(what, within, func(screen string) bool {
		for _, s := range texts {
			if !strings.Contains(screen, s) {
				return false
			}
		}
		return true
	})
}

// waitRE waits until the screen matches re.
func (tm *tmuxTerm) waitRE(what string, within time.Duration, re string) string {
	tm.t.Helper()
	return tm.wait(what, within, regexp.MustCompile(re).MatchString)
}

func (tm *tmuxTerm) lastScreen() string {
	var out []string
	blank := 0
	for _, l := range strings.Split(strings.TrimRight(tm.last, "\n"), "\n") {
		if l = strings.TrimRight(l, " "); l == "" {
			blank++
			continue
		}
		if blank > 0 {
			out = append(out, fmt.Sprintf("│ (%d blank lines)", blank))
			blank = 0
		}
		out = append(out, "│ "+l)
	}
	return strings.Join(out, "\n")
}

// belowTabs returns what the screen shows below its tab bar if tab is the
// active tab.
func belowTabs(screen, tab string) (string, bool) {
	lines := strings.Split(screen, "\n")
	for i, l := range lines {
		if strings.Contains(l, "1 Overview") && strings.Contains(l, "9 Plugins") {
			if !strings.Contains(l, tab) || strings.Count(l, "[") != 1 {
				return "", false
			}
			return strings.Join(lines[i+1:], "\n"), true
		}
	}
	return "", false
}

// consoleDiagnosis asks a console that is still running (its command line
// starts with prefix) for its goroutines, and returns its stderr: where
// it is stuck, the main goroutine's stack first.
func consoleDiagnosis(prefix, stderr string) string {
	var pids []int
	for pid, cmdline := range procsMatching([]string{prefix}) {
		if strings.HasPrefix(cmdline, prefix) {
			pids = append(pids, pid)
		}
	}
	if len(pids) == 0 {
		b, _ := os.ReadFile(stderr)
		return "warroom is not running; its stderr:\n" + string(b)
	}
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGQUIT)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, pid := range pids {
		for _, ok := procStart(pid); ok && time.Now().Before(deadline); _, ok = procStart(pid) {
			time.Sleep(20 * time.Millisecond) // polling a condition with a deadline
		}
	}
	b, _ := os.ReadFile(stderr)
	out, dump, _ := strings.Cut(string(b), "SIGQUIT: quit")
	stack := "(none)"
	if i := strings.Index(dump, "\ngoroutine 1 "); i >= 0 {
		stack = dump[i+1:]
		if j := strings.Index(stack, "\n\n"); j >= 0 {
			stack = stack[:j]
		}
		stack = regexp.MustCompile(` fp=0x\S+ sp=0x\S+ pc=0x\S+`).ReplaceAllString(stack, "")
	}
	return fmt.Sprintf("warroom (pid %v) was still running; its stderr:\n%s\nits main goroutine (SIGQUIT):\n%s", pids, out, stack)
}

func res(patterns ...string) []*regexp.Regexp {
	out := make([]*regexp.Regexp, len(patterns))
	for i, p := range patterns {
		out[i] = regexp.MustCompile(p)
	}
	return out
}

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// procStart returns the start time of a live process (a zombie has ended).
func procStart(pid int) (uint64, bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 20 || f[0] == "Z" || f[0] == "X" {
		return 0, false
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	return start, err == nil
}

// procsMatching lists the live processes whose command line contains one
// of the markers.
func procsMatching(markers []string) map[int]string {
	out := map[int]string{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		if _, ok := procStart(pid); !ok {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil {
			continue
		}
		cmdline := strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " "))
		for _, m := range markers {
			if strings.Contains(cmdline, m) {
				out[pid] = cmdline
				break
			}
		}
	}
	return out
}

func describeProc(pid int) string {
	b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	return fmt.Sprintf("%d %s", pid, strings.TrimSpace(strings.ReplaceAll(string(b), "\x00", " ")))
}
