package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/gates"
	"github.com/warroom/warroom/plugins/localfleet/fleetctl"
)

// TestDemoGatesInTmux is issue 14's acceptance "make demo in tmux shows
// the blocked gate, its reason, the waiver and the continuation", driven
// as a person would: scripts/demo (what make demo runs) in a real
// terminal, keys pressed one at a time, the screen read after each. The
// demo's storefront run, started by its CI delegate ci-bot, waits at
// staging because recommendations covers 63.6 % of its statements, under
// the coverage gate's 75 %. The person at the keyboard, the captain sofia
// (the demo's audited people overlay gives her the OS login), waives the
// cell on the Gates screen with a typed reason, which four-eyes allows
// (she did not start the run), and the run goes on by itself. The CLI on
// the demo's database then confirms what the screen said: the waiver is
// recorded, audited, and the audit chain verifies.
func TestDemoGatesInTmux(t *testing.T) {
	tmuxPath := needTmux(t)
	bin := fleetLayout(t) // warroom, demo-service and the plugins, as make build lays them out
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

	// scripts/demo with the test's binaries (WARROOM), on the real
	// testdata/demo with its people, policy and evidence. --env staging:
	// the run's first environment is staging, the one coverage guards,
	// so it waits at once instead of after dev, test and uat. --bake-scale
	// 0: no bake and no canary judgement, so that staging's five steps
	// finish in seconds once the gate is waived; canaries are not what
	// this test is about (canary_e2e_test.go is).
	script := filepath.Join(base, "console.sh")
	stderr := filepath.Join(base, "stderr")
	body := fmt.Sprintf(`cd %s || exit 1
env -u WARROOM_DB -u WARROOM_LOG -u WARROOM_PLUGINS -u WARROOM_METRICS_ADDR -u TMUX \
	TERM=xterm-256color NO_COLOR=1 GOTRACEBACK=all WARROOM=%s scripts/demo --dir %s --env staging --bake-scale 0 2>%s
echo "warroom-exit-status: $?"
exec sleep 600
`, shQuote(repo()), shQuote(bin), shQuote(dir), shQuote(stderr))
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	term := &tmuxTerm{t: t, tmux: tmuxPath, socket: fmt.Sprintf("warroom-gates-%d-%d", os.Getpid(), time.Now().UnixNano()), log: filepath.Join(dir, "warroom.log")}
	term.diagnose = func() string { return consoleDiagnosis(bin+" demo ", stderr) }
	t.Cleanup(func() {
		term.run("kill-server") //nolint:errcheck
		// Not t.Context(): it is cancelled before the cleanups run.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		fleetctl.Stop(ctx, state) //nolint:errcheck // what it leaves is killed below
		for pid := range procsMatching(markers) {
			if !before[pid] {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	start := time.Now()
	if out, err := term.run("new-session", "-d", "-s", "w", "-x", "120", "-y", "40", "sh "+shQuote(script)); err != nil {
		t.Fatalf("tmux new-session: %v\n%s", err, out)
	}
	const within = 20 * time.Second
	const release = "storefront-2026-12"
	c := demoCLI(t, filepath.Join(dir, "warroom.db"))

	// 1. The run waits: the header's state word, then Waves with the
	// blocking service, gate and reason.
	term.waitRE("the run waiting, in the header", 60*time.Second, `(?m)^WARROOM  `+release+`\s+⧗ waiting\s+sofia \[captain`)
	term.key("5")
	waitingRun := regexp.MustCompile(`Run (run-\S+)\s+⧗ waiting\s+0/(\d+) steps done`)
	screen := term.wait("Waves: the run waiting on the gate", within, func(s string) bool {
		return waitingRun.MatchString(s) &&
			strings.Contains(s, "⧗ step 1 waits on gate recommendations coverage") &&
			strings.Contains(s, "waiting to enter staging on:") &&
			strings.Contains(s, "✗ fail recommendations · coverage — coverage 63.6 % < min 75 % (cover.out sha256:")
	})
	runID := waitingRun.FindStringSubmatch(screen)[1]
	steps := waitingRun.FindStringSubmatch(screen)[2]
	t.Logf("run %s waiting at staging after %s", runID, time.Since(start).Round(time.Millisecond))

	// What the screen says is what the run records: ci-bot started it,
	// and it waits to enter staging on that one gate.
	var waiting deploy.Run
	c.json(&waiting, "deploy", "status", runID)
	if waiting.State != deploy.RunWaiting || waiting.StartedBy != "ci-bot" || waiting.Wait == nil || waiting.Wait.Env != "staging" ||
		len(waiting.Wait.Gates) != 1 || waiting.Wait.Gates[0].Service != "recommendations" || waiting.Wait.Gates[0].Gate != "coverage" ||
		waiting.Wait.Gates[0].State != "fail" || !strings.Contains(waiting.Wait.Gates[0].Reason, "coverage 63.6 % < min 75 %") {
		t.Fatalf("deploy status: state %s, started by %s, wait %+v; want waiting (ci-bot) on recommendations/coverage fail", waiting.State, waiting.StartedBy, waiting.Wait)
	}
	blocked := stagingGates(t, c, release, 3)
	if blocked.Clear || len(blocked.Blocking) != 1 || blocked.Blocking[0].Service != "recommendations" || blocked.Blocking[0].Gate != "coverage" {
		t.Fatalf("gate status --env staging before the waiver: clear %v, blocking %+v", blocked.Clear, blocked.Blocking)
	}

	// 2. Gates: the cursor to recommendations × coverage; the cell is
	// marked blocked, and the panel has the reason.
	term.key("4")
	term.waitRE("the Gates screen", within, `Gates · \d+ gates × \d+ environments · \d+ services of `+release)
	selectGateCell(term, "recommendations", "coverage")
	screen = term.wait("the blocked cell and its reason", within, func(s string) bool {
		return markedCell(s, "recommendations", "✗ fail") &&
			strings.Contains(s, "recommendations · coverage · coverage min 75 · required by staging") &&
			strings.Contains(s, "State     ✗ fail — coverage 63.6 % < min 75 % (cover.out sha256:") &&
			strings.Contains(s, "Measured  63.6 % · threshold min 75 %") &&
			strings.Contains(s, "Evidence  cover.out · sha256:")
	})
	checkCellUnderHead(t, screen, "recommendations", "coverage")

	// 3. w, a reason, the expiry offered (24h): the cell is waived,
	// by sofia, with the reason.
	const reason = "ranking tests land with recommendations 4.2.1 on 9 Dec"
	term.key("w")
	term.waitText("the reason prompt", within, "Waive coverage for recommendations — reason:") // the screen has no trailing blanks
	term.typeText(reason)
	term.waitText("the reason typed", within, "reason: "+reason)
	term.key("Enter")
	term.waitRE("the expiry prompt, 24h offered", within, `Waive coverage for recommendations — expires \(24h, 3d or YYYY-MM-DD HH:MM UTC\):\s+24h`)
	term.key("Enter")
	term.wait("the waived cell, its waiver and the status line", within, func(s string) bool {
		return markedCell(s, "recommendations", "~ waived") &&
			strings.Contains(s, "State     ~ waived — waived by sofia until ") &&
			strings.Contains(s, "Waiver    by sofia ") && strings.Contains(s, `"`+reason+`"`) &&
			strings.Contains(s, "✓ waived coverage for recommendations until ")
	})
	waivedAt := time.Now()

	// 4. The run goes on by itself: Waves shows staging's steps done and
	// the run no longer waiting, then the run succeeded. Once it has
	// succeeded the console's focus moves on to the next release not yet
	// deployed (checkout-2026-12, by design): ':release' pins the
	// storefront, as a captain who wants to watch it to the end would.
	term.key(":")
	term.typeText("release " + release)
	term.key("Enter")
	term.key("5")
	progressing := regexp.MustCompile(`Run ` + regexp.QuoteMeta(runID) + `\s+(▸ running\s+[1-9]\d*|✓ succeeded\s+\d+)/` + steps + ` steps done`)
	stagingDone := regexp.MustCompile(`(?m)^\S?\s+\d+\s+staging/\S+\s+.*✓ done`)
	term.wait("the run past the gate, a step in staging done", 60*time.Second, func(s string) bool {
		return progressing.MatchString(s) && stagingDone.MatchString(s) && !strings.Contains(s, "⧗ waiting")
	})
	term.waitRE("the run succeeded", 90*time.Second, `Run `+regexp.QuoteMeta(runID)+`\s+✓ succeeded\s+`+steps+`/`+steps+` steps done`)
	t.Logf("run %s succeeded %s after the waiver", runID, time.Since(waivedAt).Round(time.Millisecond))

	// The CLI agrees: the run succeeded with every step done, the gate
	// is waived by sofia at ci-bot's request with the reason typed, the
	// waiver sits in the audit chain between the wait and the steps that
	// followed it, and the chain verifies.
	var done deploy.Run // a fresh value: JSON omits a wait that is over
	c.json(&done, "deploy", "status", runID)
	if done.State != deploy.RunSucceeded || done.Wait != nil || countSteps(done, deploy.StepDone) != len(done.Steps) {
		t.Errorf("deploy status after the waiver: %s, wait %+v, %d of %d steps done", done.State, done.Wait, countSteps(done, deploy.StepDone), len(done.Steps))
	}
	after := stagingGates(t, c, release, 0)
	var waived bool
	for _, r := range after.Results {
		if r.Service != "recommendations" || r.Gate != "coverage" {
			continue
		}
		w := r.Waiver
		waived = r.State == "waived" && w != nil && w.Approver == "sofia" && w.RequestedBy == "ci-bot" && w.Reason == reason &&
			w.Expires.Sub(w.At) > 23*time.Hour && w.Expires.Sub(w.At) <= 24*time.Hour
		if !waived {
			t.Errorf("recommendations/coverage after the waiver: %s, waiver %+v; want waived by sofia for ci-bot's run, 24h, %q", r.State, w, reason)
		}
	}
	if !after.Clear || len(after.Blocking) != 0 || !waived {
		t.Errorf("gate status --env staging after the waiver: clear %v, blocking %+v, recommendations/coverage waived %v", after.Clear, after.Blocking, waived)
	}
	// Payloads differ by command (apply's is a list): read them as
	// objects only where one is expected.
	var events []struct {
		Actor, Command, Summary string
		Payload                 json.RawMessage
	}
	c.json(&events, "audit", "list")
	waitAt, waiveAt, doneAt := -1, -1, -1
	for i, e := range events {
		switch {
		case waitAt < 0 && e.Command == "deploy engine" && strings.Contains(e.Summary, runID+": waiting to enter staging") &&
			strings.Contains(e.Summary, "recommendations/coverage fail"):
			waitAt = i
		case e.Command == "gate waive":
			if waiveAt >= 0 {
				t.Errorf("a second gate waive event: %+v", e)
			}
			waiveAt = i
			var p gates.Waiver // the waiver as recorded
			err := json.Unmarshal(e.Payload, &p)
			if err != nil || e.Actor != "sofia" || p.Release != release || p.Service != "recommendations" || p.Gate != "coverage" ||
				p.Approver != "sofia" || p.RequestedBy != "ci-bot" || p.Reason != reason {
				t.Errorf("the waiver's audit event: %s by %s: %s (%v)", e.Summary, e.Actor, e.Payload, err)
			}
		case doneAt < 0 && waiveAt >= 0 && e.Command == "deploy engine" && strings.Contains(e.Summary, runID+": step ") &&
			strings.Contains(e.Summary, " in staging/") && strings.Contains(e.Summary, ": done"):
			doneAt = i
		}
	}
	if waitAt < 0 || waiveAt < waitAt || doneAt < waiveAt {
		t.Errorf("audit: the wait at event %d, the waiver at %d, the first staging step done after it at %d; want them in that order", waitAt, waiveAt, doneAt)
	}
	if out := c.ok("audit", "verify"); !strings.HasPrefix(out, "ok: audit chain intact") {
		t.Errorf("audit verify: %s", out)
	}

	// The same at 80x24, the smallest terminal the console is made for:
	// the six gates fit, recommendations' name is whole, the waived
	// cell keeps its mark under its head, and the footer's keys fit.
	if out, err := term.run("resize-window", "-t", "w", "-x", "80", "-y", "24"); err != nil {
		t.Fatalf("tmux resize-window: %v\n%s", err, out)
	}
	term.key("4")
	screen = term.wait("the Gates screen at 80x24", within, func(s string) bool {
		lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
		return len(lines) == 24 && markedCell(s, "recommendations", "~ waived") &&
			strings.Contains(s, "recommendations · coverage · coverage min 75") &&
			strings.HasSuffix(lines[len(lines)-1], "w waive • a approve")
	})
	if strings.Contains(screen, "scroll") {
		t.Errorf("the demo's gates do not all fit at 80 columns:\n%s", term.lastScreen())
	}
	checkCellUnderHead(t, screen, "recommendations", "coverage")

	// Quit: the run is over, so the demo stops its fleet itself, and
	// nothing it started is left.
	term.key("q")
	term.waitRE("the question to quit, or the exit", within, `Quit\? y/n|warroom-exit-status`)
	if !strings.Contains(term.last, "warroom-exit-status") {
		term.key("y")
	}
	term.waitText("warroom to exit", 30*time.Second, "warroom-exit-status: 0")
	if h, err := fleetctl.New(state).Hello(t.Context()); err == nil {
		t.Errorf("the demo left its fleet's supervisor (pid %d) running after its run succeeded and it quit", h.PID)
	}
	if _, err := fleetctl.Stop(t.Context(), state); err != nil {
		t.Fatal(err)
	}
	var left []string
	deadline := time.Now().Add(15 * time.Second)
	for {
		left = left[:0]
		for pid := range procsMatching(markers) {
			if !before[pid] && pidAlive(pid) {
				left = append(left, describeProc(pid))
			}
		}
		if len(left) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond) // polling a condition with a deadline
	}
	if len(left) > 0 {
		t.Errorf("left running after the demo quit:\n  %s", strings.Join(left, "\n  "))
	}
}

// typeText types s as literal characters (key sends a multi-character
// string as a key name).
func (tm *tmuxTerm) typeText(s string) {
	tm.t.Helper()
	if out, err := tm.run("send-keys", "-t", "w", "-l", s); err != nil {
		tm.t.Fatalf("tmux send-keys -l %q: %v\n%s\nscreen:\n%s", s, err, out, tm.lastScreen())
	}
}

// stagingGates is 'gate status RELEASE --env staging -o json', which must
// exit with code (3: a gate staging requires is not pass or waived).
func stagingGates(t *testing.T, c *cli, release string, code int) gateStatusJSON {
	t.Helper()
	r := c.run("gate", "status", release, "--env", "staging", "-o", "json")
	var out gateStatusJSON
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil || r.code != code {
		t.Fatalf("gate status %s --env staging -o json: exit %d (want %d), %v\nstdout:\n%s\nstderr:\n%s", release, r.code, code, err, r.stdout, r.stderr)
	}
	if out.Policy != "enforced" {
		t.Errorf("gate status: policy %q, want enforced (the demo declares people)", out.Policy)
	}
	return out
}

// selectGateCell moves the Gates screen's cursor to service × gate, one
// key at a time, each move waited for: down the services (j), then
// across the gates (l), reading the panel's head ("SERVICE · GATE · ").
func selectGateCell(term *tmuxTerm, service, gate string) {
	term.t.Helper()
	const within = 10 * time.Second
	selected := func(s string) string {
		for _, l := range strings.Split(s, "\n") {
			if f := strings.Fields(strings.TrimPrefix(l, "› ")); strings.HasPrefix(l, "› ") && len(f) > 0 {
				return f[0]
			}
		}
		return ""
	}
	panel := func(s string) string { // the line under the matrix's rule
		lines := strings.Split(s, "\n")
		for i, l := range lines[:len(lines)-1] {
			if strings.HasPrefix(l, "────") {
				if parts := strings.SplitN(lines[i+1], " · ", 3); len(parts) == 3 {
					return parts[0] + " · " + parts[1]
				}
			}
		}
		return ""
	}
	screen := term.wait("a selected service", within, func(s string) bool { return selected(s) != "" })
	for range 50 {
		at := selected(screen)
		if at == service {
			break
		}
		term.key("j")
		screen = term.wait("the cursor to leave "+at, within, func(s string) bool { return selected(s) != at && selected(s) != "" })
	}
	if selected(screen) != service {
		term.t.Fatalf("%s is not in the Gates matrix:\n%s", service, term.lastScreen())
	}
	want := service + " · " + gate
	for range 20 {
		at := panel(screen)
		if at == want {
			return
		}
		term.key("l")
		screen = term.wait("the cursor to leave "+at, within, func(s string) bool { return panel(s) != at })
	}
	term.t.Fatalf("the cursor never reached %s:\n%s", want, term.lastScreen())
}

// markedCell reports whether service's row is the selected one and its
// selected cell, marked "›", reads cell ("✗ fail").
func markedCell(screen, service, cell string) bool {
	for _, l := range strings.Split(screen, "\n") {
		if strings.HasPrefix(l, "› "+service+" ") {
			return strings.Contains(l, "›"+cell)
		}
	}
	return false
}

// checkCellUnderHead checks that service's marked cell stands under the
// gate's column head: the marker takes the separator's place.
func checkCellUnderHead(t *testing.T, screen, service, gate string) {
	t.Helper()
	var head, row string
	for _, l := range strings.Split(screen, "\n") {
		switch {
		case strings.HasPrefix(l, "  SERVICE "):
			head = l
		case strings.HasPrefix(l, "› "+service+" "):
			row = l
		}
	}
	col := strings.Index(head, " "+gate+" ")
	mark := strings.LastIndex(row, "›")
	if col < 0 || mark < 0 {
		t.Fatalf("no %s column head or no marked cell:\n%s", gate, screen)
	}
	if a, b := len([]rune(head[:col])), len([]rune(row[:mark])); a != b {
		t.Errorf("the marked cell is at column %d, the %s head's separator at %d:\n%s\n%s", b, gate, a, head, row)
	}
}
