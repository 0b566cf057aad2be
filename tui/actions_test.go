package tui

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/warroom/warroom/core/deploy"
)

// fakeCommander records the commands the console issues.
type fakeCommander struct {
	mu      sync.Mutex
	started []string
	ops     []deploy.OperatorRequest
	changes []string
}

func (f *fakeCommander) Start(_ context.Context, release, actor string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.started = append(f.started, release+" by "+actor)
	return "run-new", nil
}

func (f *fakeCommander) Operate(_ context.Context, req deploy.OperatorRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ops = append(f.ops, req)
	return nil
}

func (f *fakeCommander) FileChange(_ context.Context, release, actor string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.changes = append(f.changes, release)
	return "CHG-1", nil
}

func loadedWith(t *testing.T, src *fakeSource, cmdr Commander, w, h int) *Model {
	t.Helper()
	m := newTestModel(src)
	m.c.Commander = cmdr
	m.tick = func() tea.Cmd { return nil }
	m.Update(tea.WindowSizeMsg{Width: w, Height: h})
	drain(t, m, m.Init())
	return m
}

// press feeds keys one by one, running what they lead to.
func press(t *testing.T, m *Model, keys ...string) {
	t.Helper()
	for _, k := range keys {
		var msg tea.KeyMsg
		switch k {
		case "enter":
			msg = tea.KeyMsg{Type: tea.KeyEnter}
		case "esc":
			msg = tea.KeyMsg{Type: tea.KeyEsc}
		default:
			msg = keyMsg(k)
		}
		_, cmd := m.Update(msg)
		drain(t, m, cmd)
	}
}

func typeText(t *testing.T, m *Model, s string) {
	t.Helper()
	for _, r := range s {
		press(t, m, string(r))
	}
}

func TestWavesActionsAskAndCarryTheActor(t *testing.T) {
	cmdr := &fakeCommander{}
	m := loadedWith(t, fixture(), cmdr, 120, 40)
	press(t, m, "5")

	// Pause is not destructive: at once.
	press(t, m, "p")
	// Abort asks, and n cancels.
	press(t, m, "a")
	if v := m.View(); !strings.Contains(v, "Abort run run-7f3a? It stops where it is and nothing is rolled back. y/n") {
		t.Fatalf("abort did not ask:\n%s", v)
	}
	press(t, m, "n")
	// Rollback asks and y does it.
	press(t, m, "r")
	if v := m.View(); !strings.Contains(v, "Roll back run run-7f3a? Its 12 finished steps are undone in reverse order. y/n") {
		t.Fatalf("rollback did not ask:\n%s", v)
	}
	press(t, m, "y")
	// Skip acts on the selected step.
	press(t, m, "g", "down", "x")
	if v := m.View(); !strings.Contains(v, "Skip step 2 (") {
		t.Fatalf("skip did not ask about step 2:\n%s", v)
	}
	press(t, m, "y")

	want := []struct {
		cmd  deploy.Command
		step int
	}{{deploy.CmdPause, 0}, {deploy.CmdRollback, 0}, {deploy.CmdSkip, 2}}
	if len(cmdr.ops) != len(want) {
		t.Fatalf("commands %+v, want %v", cmdr.ops, want)
	}
	for i, w := range want {
		got := cmdr.ops[i]
		if got.Command != w.cmd || got.Step != w.step || got.Actor != "carol" || got.RunID != "run-7f3a" || got.Reason == "" {
			t.Errorf("command %d: %+v, want %v", i, got, w)
		}
	}
	if v := m.View(); !strings.Contains(v, "✓ skip of step 2 of run run-7f3a recorded") {
		t.Errorf("no outcome shown:\n%s", v)
	}
}

func TestStartAsksForTheReleaseInFocus(t *testing.T) {
	src := fixture()
	src.snap.Run.State = deploy.RunSucceeded
	src.snap.Run.Release = "older-release"
	cmdr := &fakeCommander{}
	m := loadedWith(t, src, cmdr, 80, 24)
	if m.view.Focus != "2026-11-27-payments" || m.view.Run != nil {
		t.Fatalf("focus %q run %v: want the release not yet deployed, with no run", m.view.Focus, m.view.Run)
	}
	press(t, m, "5")
	if v := m.View(); !strings.Contains(v, "No run of 2026-11-27-payments yet. Press s") {
		t.Fatalf("waves does not offer to start:\n%s", v)
	}
	press(t, m, "s")
	if v := m.View(); !strings.Contains(v, "Start deploying 2026-11-27-payments") {
		t.Fatalf("start did not ask:\n%s", v)
	}
	press(t, m, "y")
	if len(cmdr.started) != 1 || cmdr.started[0] != "2026-11-27-payments by carol" {
		t.Fatalf("started %v", cmdr.started)
	}
}

func TestCommandLine(t *testing.T) {
	cmdr := &fakeCommander{}
	m := loadedWith(t, fixture(), cmdr, 120, 40)
	press(t, m, ":")
	typeText(t, m, "deploy pause checking dashboards")
	if v := m.View(); !strings.Contains(v, ":deploy pause checking dashboards") {
		t.Fatalf("command line not shown:\n%s", v)
	}
	press(t, m, "enter")
	if len(cmdr.ops) != 1 || cmdr.ops[0].Command != deploy.CmdPause || cmdr.ops[0].Reason != "checking dashboards" {
		t.Fatalf("ops %+v", cmdr.ops)
	}
	// Screen names switch screens.
	press(t, m, ":")
	typeText(t, m, "audit")
	press(t, m, "enter")
	if m.Active() != "Audit" {
		t.Fatalf("on %s, want Audit", m.Active())
	}
	// Unknown commands say what is known; q typed into the line does not quit.
	press(t, m, ":")
	typeText(t, m, "frobnicate q")
	press(t, m, "enter")
	if v := m.View(); !strings.Contains(v, `✗ :: unknown command "frobnicate"`) {
		t.Fatalf("no error for an unknown command:\n%s", v)
	}
	// esc leaves the line without running it.
	press(t, m, ":")
	typeText(t, m, "deploy abort")
	press(t, m, "esc")
	if len(cmdr.ops) != 1 || m.ask != nil {
		t.Fatalf("esc ran the command: %+v", cmdr.ops)
	}
}

func TestReadOnlyConsoleSaysSo(t *testing.T) {
	m := loadedWith(t, fixture(), nil, 120, 40)
	press(t, m, "5", "p")
	if v := m.View(); !strings.Contains(v, "read-only") {
		t.Fatalf("no read-only notice:\n%s", v)
	}
}

func TestAuditFilterAndDetail(t *testing.T) {
	m := loadedWith(t, fixture(), nil, 80, 24)
	press(t, m, "8", "/")
	typeText(t, m, "dave")
	v := m.View()
	if !strings.Contains(v, "/dave") {
		t.Fatalf("filter not applied:\n%s", v)
	}
	for _, l := range strings.Split(v, "\n") {
		if strings.HasPrefix(strings.TrimLeft(l, " ›"), "#") && !strings.Contains(l, "dave") {
			t.Fatalf("row without dave under filter dave: %q", l)
		}
	}
	press(t, m, "enter")
	if v := m.View(); !strings.Contains(v, "filter: dave") {
		t.Fatalf("filter not kept after enter:\n%s", v)
	}
	// enter opens the selected event in full; esc comes back.
	press(t, m, "enter")
	v = m.View()
	if !strings.Contains(v, "Audit event #29") || !strings.Contains(v, "Previous") {
		t.Fatalf("no event page:\n%s", v)
	}
	press(t, m, "esc")
	if v := m.View(); !strings.Contains(v, "SEQ") {
		t.Fatalf("esc did not come back:\n%s", v)
	}
	// esc in the filter line clears it.
	press(t, m, "/", "esc")
	if a := m.screens[7].(*audit); a.filter != "" || len(a.rows) != len(a.snap.Audit) {
		t.Fatalf("filter %q not cleared", a.filter)
	}
}

func TestHeaderCountdownAndFreeze(t *testing.T) {
	m := loadedWith(t, fixture(), nil, 120, 40)
	h := strings.Join(m.header, "\n")
	for _, want := range []string{"2026-11-27-payments", "‖ paused", "window closes in 2h30m", "❄ FREEZE black-friday-freeze"} {
		if !strings.Contains(h, want) {
			t.Errorf("header lacks %q:\n%s", want, h)
		}
	}
	if got := countdown(49*3600e9 + 60e9); got != "2d1h" {
		t.Errorf("countdown %q", got)
	}
}

func TestOverviewAlerts(t *testing.T) {
	src := fixture()
	m := loadedWith(t, src, nil, 120, 40)
	if v := m.View(); !strings.Contains(v, "no alert source answering") {
		t.Fatalf("unknown alerts not said:\n%s", v)
	}
	src.snap.AlertsKnown = true
	m = loadedWith(t, src, nil, 120, 40)
	if v := m.View(); !strings.Contains(v, "✓ none firing") {
		t.Fatalf("no 'none firing':\n%s", v)
	}
	src.snap.Alerts = []Alert{{Name: "CheckoutDown", Severity: "critical", Service: "checkout", Env: "prod", Region: "eu-west",
		Since: fixedNow.Add(-5 * time.Minute), Summary: "no checkout instance answers"}}
	m = loadedWith(t, src, nil, 120, 40)
	if v := m.View(); !strings.Contains(v, "✗ 1 firing") ||
		!strings.Contains(v, "✗ CheckoutDown (critical) · checkout prod/eu-west · since 14:25 UTC — no checkout instance answers") {
		t.Fatalf("alert not shown:\n%s", v)
	}
}

func TestAuditTableShortensTheRunPrefix(t *testing.T) {
	src := fixture()
	src.snap.Audit[len(src.snap.Audit)-1].Summary = "run run-20261127-171233-1f9e: step 5 storefront 8.15.0 in dev/eu-west: canary at 100%"
	m := loadedWith(t, src, nil, 80, 24)
	press(t, m, "8")
	v := m.View()
	if !strings.Contains(v, "[1f9e] step 5 storefront") {
		t.Errorf("table row keeps the run prefix:\n%s", v)
	}
	if !strings.Contains(v, "run run-20261127-171233-1f9e: step 5") {
		t.Errorf("pane lost the whole summary:\n%s", v)
	}
}

// The header is laid out for the width whatever came first, the data or
// the window's size (a program gets them in either order).
func TestHeaderFollowsTheSize(t *testing.T) {
	m := newTestModel(fixture())
	m.tick = func() tea.Cmd { return nil }
	drain(t, m, m.Init()) // data first, at width 0
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if h := m.header[0]; !strings.Contains(h, "Fri 15:30:00 CET · 14:30:00 UTC") {
		t.Fatalf("header not laid out for 80 columns: %q", h)
	}
}

// A console whose local zone is UTC (a server's) shows the time once.
func TestHeaderTimeOnceInUTC(t *testing.T) {
	m := New(Deps{Source: fixture(), Renderer: asciiRenderer(), Now: func() time.Time { return fixedNow }, Actor: "carol"},
		WithLocation(time.UTC))
	m.tick = func() tea.Cmd { return nil }
	drain(t, m, m.Init())
	m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
	h := m.header[0]
	if !strings.Contains(h, "Fri 14:30:00 UTC") || strings.Count(h, "14:30") != 1 {
		t.Fatalf("header in UTC: %q, want the time once", h)
	}
}
