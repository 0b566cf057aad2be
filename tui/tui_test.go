package tui

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"
	"github.com/charmbracelet/x/exp/teatest"

	"github.com/warroom/warroom/core/deploy"
)

// drain runs cmd and every command its messages lead to, feeding the
// messages to m, the way a program would but synchronously. Tests
// disable the ticker so this ends.
func drain(t testing.TB, m *Model, cmd tea.Cmd) []tea.Msg {
	t.Helper()
	var seen []tea.Msg
	queue := []tea.Cmd{cmd}
	for steps := 0; len(queue) > 0; steps++ {
		if steps > 100 {
			t.Fatal("commands do not settle")
		}
		c := queue[0]
		queue = queue[1:]
		if c == nil {
			continue
		}
		msg := c()
		if b, ok := msg.(tea.BatchMsg); ok {
			queue = append(queue, b...)
			continue
		}
		seen = append(seen, msg)
		if _, ok := msg.(tea.QuitMsg); ok {
			continue
		}
		_, next := m.Update(msg)
		queue = append(queue, next)
	}
	return seen
}

func keyMsg(s string) tea.KeyMsg {
	switch s {
	case "tab":
		return tea.KeyMsg{Type: tea.KeyTab}
	case "shift+tab":
		return tea.KeyMsg{Type: tea.KeyShiftTab}
	case "down":
		return tea.KeyMsg{Type: tea.KeyDown}
	case "up":
		return tea.KeyMsg{Type: tea.KeyUp}
	case "enter":
		return tea.KeyMsg{Type: tea.KeyEnter}
	case "esc":
		return tea.KeyMsg{Type: tea.KeyEsc}
	case "backspace":
		return tea.KeyMsg{Type: tea.KeyBackspace}
	}
	return tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune(s)}
}

// loaded is a model that has read src, sized w x h, with ticks disabled.
func loaded(t *testing.T, src Source, w, h int) *Model {
	t.Helper()
	m := newTestModel(src)
	m.tick = func() tea.Cmd { return nil }
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	drain(t, m, m.Init())
	if m.snap == nil {
		t.Fatalf("not loaded: %v", m.err)
	}
	return m
}

func TestGolden(t *testing.T) {
	screens := []struct {
		name, key, want string
	}{
		{"Overview", "1", "Latest audit events"},
		{"Calendar", "2", "Conflicts of release"},
		{"Graph", "3", "Blast radius"},
		{"Gates", "4", "✗ fail"},
		{"Waves", "5", "PROGRESS"},
		{"Canary", "6", "split as asked"},
		{"Audit", "8", "chain intact"},
	}
	for _, sc := range screens {
		for _, size := range [][2]int{{120, 40}, {80, 24}} {
			t.Run(fmt.Sprintf("%s_%dx%d", sc.name, size[0], size[1]), func(t *testing.T) {
				tm := teatest.NewTestModel(t, newTestModel(fixture()), teatest.WithInitialTermSize(size[0], size[1]))
				teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("run-7f3a")) },
					teatest.WithDuration(5*time.Second))
				if sc.key != "1" { // Overview is on show from the start
					tm.Type(sc.key)
					teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte(sc.want)) },
						teatest.WithDuration(5*time.Second))
				}
				if err := tm.Quit(); err != nil {
					t.Fatal(err)
				}
				view := tm.FinalModel(t, teatest.WithFinalTimeout(5*time.Second)).View()
				checkFits(t, view, size[0], size[1])
				golden.RequireEqual(t, []byte(view))
			})
		}
	}
}

// checkFits fails when the frame is taller or wider than the terminal:
// something would wrap or scroll away.
func checkFits(t *testing.T, view string, w, h int) {
	t.Helper()
	lines := strings.Split(view, "\n")
	if len(lines) != h {
		t.Errorf("frame has %d lines, terminal %d", len(lines), h)
	}
	for i, l := range lines {
		if n := len([]rune(l)); n > w {
			t.Errorf("line %d is %d cells wide, terminal %d: %q", i+1, n, w, l)
		}
	}
}

func TestGoldenAuditTampered(t *testing.T) {
	src := fixture()
	src.snap.AuditVerify = AuditVerification{OK: false, Events: 30, FirstBad: 17, Reason: "event 17's hash does not match its content"}
	m := loaded(t, src, 80, 24)
	m.Update(keyMsg("8"))
	view := m.View()
	checkFits(t, view, 80, 24)
	golden.RequireEqual(t, []byte(view))
}

func TestSwitchScreens(t *testing.T) {
	m := loaded(t, fixture(), 120, 40)
	steps := []struct{ key, want string }{
		{"", "Overview"},
		{"5", "Waves"},
		{"tab", "Canary"},
		{"shift+tab", "Waves"},
		{"2", "Calendar"},
		{"9", "Plugins"},
		{"tab", "Overview"},
		{"shift+tab", "Plugins"},
		{"8", "Audit"},
	}
	for _, s := range steps {
		if s.key != "" {
			m.Update(keyMsg(s.key))
		}
		if got := m.Active(); got != s.want {
			t.Fatalf("after %q: screen %s, want %s", s.key, got, s.want)
		}
	}
	m.Update(keyMsg("7"))
	if v := m.View(); !strings.Contains(v, "Change requests") {
		t.Errorf("Changes screen missing:\n%s", v)
	}
	for _, title := range screenTitles {
		if !strings.Contains(m.View(), title) {
			t.Errorf("tab bar does not name %s", title)
		}
	}
}

func TestReloadWithinOneTick(t *testing.T) {
	src := fixture()
	m := loaded(t, src, 120, 40)
	// A tick with nothing changed does not reload.
	drain(t, m, func() tea.Msg { return tickMsg{} })
	if src.loads != 1 {
		t.Fatalf("loads = %d after an idle tick, want 1", src.loads)
	}
	src.set(func(s *Snapshot) {
		r := *s.Run
		r.State, r.Reason = deploy.RunRunning, ""
		s.Run = &r
	})
	drain(t, m, func() tea.Msg { return tickMsg{} })
	if src.loads != 2 {
		t.Fatalf("loads = %d after a change and one tick, want 2", src.loads)
	}
	if v := m.View(); !strings.Contains(v, "▸ running") || strings.Contains(v, "paused") {
		t.Errorf("change not shown after one tick:\n%s", v)
	}
}

func TestStaleLoadDropped(t *testing.T) {
	src := fixture()
	m := loaded(t, src, 120, 40)
	old := *m.snap
	old.Run = nil
	m.Update(snapshotMsg{gen: m.gen - 1, snap: old})
	if m.snap.Run == nil {
		t.Fatal("a stale load overwrote a newer one")
	}
}

func TestQuitAsksWhileRunActive(t *testing.T) {
	m := loaded(t, fixture(), 80, 24)
	_, cmd := m.Update(keyMsg("q"))
	if cmd != nil {
		t.Fatal("q quit at once with a run in flight")
	}
	if v := m.View(); !strings.Contains(v, "Quit? y/n — run run-7f3a is ‖ paused") {
		t.Fatalf("no confirmation shown:\n%s", v)
	}
	if _, cmd = m.Update(keyMsg("n")); cmd != nil || m.ask != nil {
		t.Fatal("n did not cancel")
	}
	m.Update(keyMsg("q"))
	_, cmd = m.Update(keyMsg("y"))
	if cmd == nil {
		t.Fatal("y did not quit")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("y did not quit")
	}

	// With the run over, q quits at once.
	src := fixture()
	src.snap.Run.State = deploy.RunSucceeded
	m = loaded(t, src, 80, 24)
	_, cmd = m.Update(keyMsg("q"))
	if cmd == nil {
		t.Fatal("q did not quit with no run in flight")
	}
	if _, ok := cmd().(tea.QuitMsg); !ok {
		t.Fatal("q did not quit with no run in flight")
	}
}

func TestQuitConfirmProgram(t *testing.T) {
	tm := teatest.NewTestModel(t, newTestModel(fixture()), teatest.WithInitialTermSize(80, 24))
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("run-7f3a")) },
		teatest.WithDuration(5*time.Second))
	tm.Type("q")
	teatest.WaitFor(t, tm.Output(), func(b []byte) bool { return bytes.Contains(b, []byte("y/n")) },
		teatest.WithDuration(5*time.Second))
	tm.Type("y")
	tm.WaitFinished(t, teatest.WithFinalTimeout(5*time.Second))
}

func TestWavesCursorScrolls(t *testing.T) {
	m := loaded(t, fixture(), 80, 24)
	m.Update(keyMsg("5"))
	m.Update(keyMsg("g")) // the cursor starts on the step in flight
	for range 30 {
		m.Update(keyMsg("j"))
	}
	w := m.screens[4].(*waves)
	if w.cursor != 30 || w.offset == 0 {
		t.Fatalf("cursor %d offset %d", w.cursor, w.offset)
	}
	if v := m.View(); !strings.Contains(v, "› ") {
		t.Fatalf("cursor row not shown:\n%s", v)
	}
	checkFits(t, m.View(), 80, 24)
	m.Update(keyMsg("g"))
	if w.cursor != 0 || w.offset != 0 {
		t.Fatalf("g: cursor %d offset %d", w.cursor, w.offset)
	}
}

func TestHelpToggle(t *testing.T) {
	m := loaded(t, fixture(), 120, 40)
	m.Update(keyMsg("5"))
	short := m.View()
	m.Update(keyMsg("?"))
	full := m.View()
	if short == full || !strings.Contains(full, "page down") {
		t.Fatalf("full help not shown:\n%s", full)
	}
	checkFits(t, full, 120, 40)
}

func TestCalendarKeys(t *testing.T) {
	m := loaded(t, fixture(), 80, 24)
	m.Update(keyMsg("2"))
	c := m.screens[1].(*calendarScreen)
	if c.week || !c.anchor.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("start: week %v anchor %v", c.week, c.anchor)
	}
	v := m.View()
	for _, want := range []string{"November 2026", "✗ blocked by freeze", "✗ outside maintenance window"} {
		if !strings.Contains(v, want) {
			t.Errorf("month view lacks %q:\n%s", want, v)
		}
	}
	checkFits(t, v, 80, 24)
	m.Update(keyMsg("w"))
	if !c.week || !c.anchor.Equal(time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("w: week %v anchor %v", c.week, c.anchor)
	}
	v = m.View()
	if !strings.Contains(v, "Week of Mon 23 Nov 2026") || !strings.Contains(v, "› Fri 27 Nov") {
		t.Errorf("week view:\n%s", v)
	}
	checkFits(t, v, 80, 24)
	m.Update(keyMsg("]"))
	if !c.anchor.Equal(time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("]: anchor %v", c.anchor)
	}
	if v := m.View(); !strings.Contains(v, "cyber-monday all day") {
		t.Errorf("next week lacks the business event:\n%s", v)
	}
	m.Update(keyMsg("m"))
	if c.week || !c.anchor.Equal(time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("m: week %v anchor %v", c.week, c.anchor)
	}
	m.Update(keyMsg("h"))
	if !c.anchor.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) {
		t.Fatalf("h: anchor %v", c.anchor)
	}
	for range 50 {
		m.Update(keyMsg("j"))
	}
	if c.offset == 0 || c.offset != len(c.list)-c.visible() {
		t.Fatalf("scroll: offset %d of %d rows, %d visible", c.offset, len(c.list), c.visible())
	}
	checkFits(t, m.View(), 80, 24)
}

func TestGatesCursor(t *testing.T) {
	m := loaded(t, fixture(), 80, 24)
	m.Update(keyMsg("4"))
	g := m.screens[3].(*gatesScreen)
	if g.row != 0 || g.col != 0 {
		t.Fatalf("start: %d,%d", g.row, g.col)
	}
	if v := m.View(); !strings.Contains(v, "payments · unit-tests") || !strings.Contains(v, "required by dev, staging, prod") {
		t.Fatalf("panel:\n%s", v)
	}
	for _, k := range []string{"j", "j", "l", "l", "l", "l", "down", "down"} {
		m.Update(keyMsg(k))
	}
	if g.row != 4 || g.col != 3 {
		t.Fatalf("after moves: %d,%d", g.row, g.col)
	}
	v := m.View()
	for _, want := range []string{"search · change-approval", "Sign-offs 2/2 by release-captains, sre", "erin", "frank"} {
		if !strings.Contains(v, want) {
			t.Errorf("panel lacks %q:\n%s", want, v)
		}
	}
	m.Update(keyMsg("k"))
	m.Update(keyMsg("h"))
	if g.row != 3 || g.col != 2 {
		t.Fatalf("after k h: %d,%d", g.row, g.col)
	}
	m.Update(keyMsg("g"))
	if g.row != 0 {
		t.Fatalf("g: row %d", g.row)
	}
	checkFits(t, m.View(), 80, 24)
}

// '/' narrows the matrix to the services that match.
func TestGatesFilter(t *testing.T) {
	m := loaded(t, fixture(), 80, 24)
	m.Update(keyMsg("4"))
	m.Update(keyMsg("/"))
	typeText(t, m, "led")
	m.Update(keyMsg("enter"))
	v := m.View()
	if !strings.Contains(v, "› ledger") || strings.Contains(v, "\n  payments ") || strings.Contains(v, "\n  search ") {
		t.Fatalf("filter not applied:\n%s", v)
	}
	checkFits(t, v, 80, 24)
}

func TestGraphCursor(t *testing.T) {
	m := loaded(t, fixture(), 80, 24)
	m.Update(keyMsg("3"))
	g := m.screens[2].(*graphScreen)
	if g.selected() != "ledger" {
		t.Fatalf("start: %q", g.selected())
	}
	for _, k := range []string{"j", "l", "l", "down"} {
		m.Update(keyMsg(k))
	}
	if g.col != 2 || g.row != 1 || g.selected() != "notifications-and-webhooks-dispatcher" {
		t.Fatalf("after moves: %d,%d %q", g.col, g.row, g.selected())
	}
	v := m.View()
	for _, want := range []string{"✗ incompatible", "requires payments-api ~3.1", "platform (team)",
		"Depends on   payments", "none: nothing depends on it", "3.1.4 -> 3.2.0 · tier 2"} {
		if !strings.Contains(v, want) {
			t.Errorf("panel lacks %q:\n%s", want, v)
		}
	}
	checkFits(t, v, 80, 24)
	m.Update(keyMsg("h"))
	if g.col != 1 || g.row != 0 || g.selected() != "payments" {
		t.Fatalf("h: %d,%d %q", g.col, g.row, g.selected())
	}
	v = m.View()
	for _, want := range []string{"1. Priya Raman", "3. Dana Kim", "(+1 more)", "Blast radius 2 services · 2 direct · most critical tier 0",
		"! libjson: 2.0.0 (ledger), 1.4.0 (payments)"} {
		if !strings.Contains(v, want) {
			t.Errorf("panel lacks %q:\n%s", want, v)
		}
	}

	// Too narrow for every wave: the columns scroll with [ and ] and follow
	// the cursor.
	m.Update(tea.WindowSizeMsg{Width: 40, Height: 24})
	if n := g.visibleCols(); n != 2 {
		t.Fatalf("visible columns at 40: %d", n)
	}
	m.Update(keyMsg("]"))
	if g.first != 1 || g.col != 1 {
		t.Fatalf("]: first %d col %d", g.first, g.col)
	}
	if v := m.View(); !strings.Contains(v, "WAVE 3") || strings.Contains(v, "WAVE 1") || !strings.Contains(v, "· waves 2–") {
		t.Errorf("scrolled view:\n%s", v)
	}
	m.Update(keyMsg("["))
	m.Update(keyMsg("l"))
	if g.first != 1 || g.col != 2 {
		t.Fatalf("[ l: first %d col %d", g.first, g.col)
	}
	// The body fits; the root's help line is checked at 80 columns and up.
	lines := strings.Split(m.View(), "\n")
	checkFits(t, strings.Join(lines[:len(lines)-1], "\n")+"\n", 40, 24)
}

func TestCanaryCursor(t *testing.T) {
	src := fixture()
	m := loaded(t, src, 80, 24)
	m.Update(keyMsg("6"))
	c := m.screens[5].(*canaryScreen)
	if len(c.steps) != 3 || c.cursor != 2 {
		t.Fatalf("start: %d canary steps, cursor %d: want the live (charted) step", len(c.steps), c.cursor)
	}
	m.Update(keyMsg("g"))
	v := m.View()
	for _, want := range []string{"✓ promote — bake time over", "error rate", "60/30028 0.20%", "✓ not rejected",
		"nominal 25% · observed 24.9%", "latest judgement only",
		"Proved    ✓ error rate <= base + 0.5 pp and p95 latency <= 36ms", "with 99% confidence after 9972 requests",
		"error rate <= base + 0.5 pp  412 / 200     ✓ proved 10m10s"} {
		if !strings.Contains(v, want) {
			t.Errorf("promoted step lacks %q:\n%s", want, v)
		}
	}
	checkFits(t, v, 80, 24)
	m.Update(keyMsg("j"))
	if v := m.View(); c.cursor != 1 || !strings.Contains(v, "· no judgement yet — the judge has not ruled") {
		t.Errorf("cursor %d; baking step without a verdict:\n%s", c.cursor, v)
	}
	m.Update(keyMsg("j"))
	m.Update(keyMsg("j"))
	if c.cursor != 2 {
		t.Fatalf("cursor %d past the end", c.cursor)
	}
	v = m.View()
	for _, want := range []string{"↺ rollback — error rate 0.6%", "186/61200 0.30%", "41/6830 0.60%", "34 / 20", "✗ rejected",
		"decided after 6m52s"} {
		if !strings.Contains(v, want) {
			t.Errorf("rolled-back step lacks %q:\n%s", want, v)
		}
	}
	if strings.Contains(v, "by the canary judge") {
		t.Errorf("judge banner on a run paused by an operator:\n%s", v)
	}
	checkFits(t, v, 80, 24)
	m.Update(keyMsg("k"))
	if c.cursor != 1 {
		t.Fatalf("k: cursor %d", c.cursor)
	}

	// The run rolls back because of the judge: a line says so, with why.
	src.set(func(s *Snapshot) {
		r := *s.Run
		r.State, r.Reason = deploy.RunRollingBack, "automatic rollback: step 14 failed: canary judged worse than baseline"
		s.Run = &r
	})
	drain(t, m, func() tea.Msg { return tickMsg{} })
	v = m.View()
	for _, want := range []string{"↺ automatic rollback in progress by the canary judge: step 14", "\n  error rate 0.6% on the canary"} {
		if !strings.Contains(v, want) {
			t.Errorf("rollback line lacks %q:\n%s", want, v)
		}
	}
	checkFits(t, v, 80, 24)
}

// TestKeysBeforeTheFirstData: an operator may press any key before the
// first snapshot arrives (a slow database, a big organisation); no screen
// may panic on it, and an action says why it cannot act yet.
func TestKeysBeforeTheFirstData(t *testing.T) {
	m := newTestModel(fixture())
	m.tick = func() tea.Cmd { return nil }
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	keys := []string{"s", "c", "p", "a", "r", "x", "enter", "down", "j", "k", "/", "esc", "n", "y", "v", "w", "A"}
	for _, screen := range []string{"1", "2", "3", "4", "5", "6", "7", "8", "9"} {
		m.Update(keyMsg(screen))
		for _, k := range keys {
			msg := keyMsg(k)
			switch k {
			case "enter":
				msg = tea.KeyMsg{Type: tea.KeyEnter}
			case "esc":
				msg = tea.KeyMsg{Type: tea.KeyEsc}
			}
			func() {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("screen %s, key %q before any data: panic %v", m.Active(), k, p)
					}
				}()
				_, cmd := m.Update(msg)
				if cmd != nil {
					if out := cmd(); out != nil {
						m.Update(out)
					}
				}
				_ = m.View()
			}()
		}
		m.Update(tea.KeyMsg{Type: tea.KeyEsc})
	}
	if m.snap != nil {
		t.Fatal("the test meant to run before the first data, but a snapshot arrived")
	}
}

// TestKeysArrivingTogetherAreEachAKey: bubbletea v1 hands letters read
// together over as one message ("12"); each must still act as a key, or
// keys typed fast (or over SSH) are lost. Found by the tmux test, whose
// "1" then "2" reached the console as "12" and switched nothing.
func TestKeysArrivingTogetherAreEachAKey(t *testing.T) {
	m := loaded(t, fixture(), 120, 40)
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("12")})
	if got := m.Active(); got != "Calendar" {
		t.Fatalf(`after "12": screen %s, want Calendar`, got)
	}
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("5:he")})
	if got := m.Active(); got != "Waves" {
		t.Fatalf(`after "5:he": screen %s, want Waves`, got)
	}
	if v := m.View(); !strings.Contains(v, ":he") {
		t.Errorf("the command line did not take the letters after ':':\n%s", v)
	}
	m.Update(tea.KeyMsg{Type: tea.KeyEsc})
	// A paste is text, not keys: it switches nothing.
	m.Update(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune("23"), Paste: true})
	if got := m.Active(); got != "Waves" {
		t.Fatalf("a paste of \"23\" switched to %s", got)
	}
}
