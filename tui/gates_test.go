package tui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/warroom/warroom/core/model"
)

// refusingGates is a GateActor that records what it is asked and refuses
// it as a policy would.
type refusingGates struct {
	mu     sync.Mutex
	waives []GateRequest
	apprs  []GateRequest
	err    error
}

func (f *refusingGates) WaiveGate(_ context.Context, r GateRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waives = append(f.waives, r)
	return f.err
}

func (f *refusingGates) ApproveGate(_ context.Context, r GateRequest) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.apprs = append(f.apprs, r)
	return f.err
}

var errFourEyes = errors.New("refused: carol requested this waiver and may not grant it (four-eyes); carol holds captain, approver; gate.waive needs approver or captain, and not the requester")

// gatesAt is a loaded console on Gates with a refusing actor, the cursor
// moved by keys.
func gatesAt(t *testing.T, w, h int, keys ...string) (*Model, *refusingGates) {
	t.Helper()
	m := loaded(t, fixture(), w, h)
	f := &refusingGates{err: errFourEyes}
	m.c.Gates = f
	m.Update(keyMsg("4"))
	for _, k := range keys {
		m.Update(keyMsg(k))
	}
	return m, f
}

// Waive: w asks a reason, then an expiry (24h offered); enter sends the
// request through a tea.Cmd; a refusal's text reaches the status line.
// While typing, q and digits are text, not quit and screen keys.
func TestGatesWaiveRefused(t *testing.T) {
	m, f := gatesAt(t, 80, 24, "l") // payments · coverage
	_, cmd := m.Update(keyMsg("w"))
	drain(t, m, cmd)
	if v := m.View(); !strings.Contains(v, "Waive coverage for payments — reason:") {
		t.Fatalf("no reason prompt:\n%s", v)
	}
	typeText(t, m, "q4 generated code")
	if m.Active() != "Gates" {
		t.Fatalf("a key typed in the prompt switched screens to %s", m.Active())
	}
	m.Update(keyMsg("enter"))
	if v := m.View(); !strings.Contains(v, "expires (24h, 3d") || !strings.Contains(v, "24h") {
		t.Fatalf("no expiry prompt:\n%s", v)
	}
	checkFits(t, m.View(), 80, 24)
	_, cmd = m.Update(keyMsg("enter"))
	if cmd == nil {
		t.Fatal("enter on the expiry gave no command")
	}
	if len(f.waives) != 0 {
		t.Fatal("the action ran before its command")
	}
	drain(t, m, cmd)
	want := GateRequest{Release: "2026-11-27-payments", Service: "payments", Gate: "coverage", Actor: "carol",
		Reason: "q4 generated code", Expires: fixedNow.Add(24 * time.Hour)}
	if len(f.waives) != 1 || f.waives[0] != want {
		t.Fatalf("waive requests %+v, want %+v", f.waives, want)
	}
	v := m.View()
	if !strings.Contains(v, "✗ waive coverage for payments: refused: carol requested") {
		t.Fatalf("the refusal is not shown:\n%s", v)
	}
	if strings.Contains(v, "reason:") {
		t.Fatalf("the prompt stays open after submitting:\n%s", v)
	}
	checkFits(t, v, 80, 24)
}

// Approve on an approval gate sends one request with the reason and no
// expiry; on an evidence gate it is refused at once, saying why.
func TestGatesApprove(t *testing.T) {
	m, f := gatesAt(t, 120, 40, "j", "l", "l", "l") // api-gateway · change-approval
	m.Update(keyMsg("a"))
	typeText(t, m, "dashboards green")
	_, cmd := m.Update(keyMsg("enter"))
	drain(t, m, cmd)
	want := GateRequest{Release: "2026-11-27-payments", Service: "api-gateway", Gate: "change-approval", Actor: "carol", Reason: "dashboards green"}
	if len(f.apprs) != 1 || f.apprs[0] != want {
		t.Fatalf("approve requests %+v, want %+v", f.apprs, want)
	}
	if v := m.View(); !strings.Contains(v, "✗ approve change-approval for api-gateway: refused") {
		t.Fatalf("refusal not shown:\n%s", v)
	}

	f.err = nil
	m.Update(keyMsg("a"))
	typeText(t, m, "ok")
	_, cmd = m.Update(keyMsg("enter"))
	drain(t, m, cmd)
	if v := m.View(); !strings.Contains(v, "✓ approved change-approval for api-gateway") {
		t.Fatalf("success not shown:\n%s", v)
	}

	m.Update(keyMsg("h")) // security-scan: an evidence gate
	_, cmd = m.Update(keyMsg("a"))
	drain(t, m, cmd)
	if v := m.View(); !strings.Contains(v, "security-scan is a security gate: it passes on evidence") || strings.Contains(v, "reason:") {
		t.Fatalf("approving an evidence gate is not refused:\n%s", v)
	}
	if len(f.apprs) != 2 {
		t.Fatalf("%d approve requests, want 2", len(f.apprs))
	}
}

// The prompt insists on a reason and a readable future expiry, and esc
// cancels without asking anything.
func TestGatesPromptChecks(t *testing.T) {
	m, f := gatesAt(t, 80, 24, "l")
	m.Update(keyMsg("w"))
	if _, cmd := m.Update(keyMsg("enter")); cmd != nil {
		drain(t, m, cmd)
	}
	if v := m.View(); !strings.Contains(v, "a reason is required") {
		t.Fatalf("empty reason accepted:\n%s", v)
	}
	typeText(t, m, "x")
	m.Update(keyMsg("enter"))
	for range 3 {
		m.Update(keyMsg("backspace"))
	}
	typeText(t, m, "yesterday")
	m.Update(keyMsg("enter"))
	if v := m.View(); !strings.Contains(v, `cannot read expiry "yesterday"`) {
		t.Fatalf("bad expiry accepted:\n%s", v)
	}
	m.Update(keyMsg("esc"))
	if v := m.View(); strings.Contains(v, "expires (") {
		t.Fatalf("esc did not cancel:\n%s", v)
	}
	if len(f.waives)+len(f.apprs) != 0 {
		t.Fatalf("requests sent: %+v %+v", f.waives, f.apprs)
	}
	// After esc the global keys work again.
	m.Update(keyMsg("5"))
	if m.Active() != "Waves" {
		t.Fatalf("on %s after esc and 5", m.Active())
	}
}

func TestParseExpiry(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Time
		err  string
	}{
		{"24h", fixedNow.Add(24 * time.Hour), ""},
		{"90m", fixedNow.Add(90 * time.Minute), ""},
		{"3d", fixedNow.Add(72 * time.Hour), ""},
		{"2026-11-28 18:00", time.Date(2026, 11, 28, 18, 0, 0, 0, time.UTC), ""},
		{"2026-11-28T18:00:00Z", time.Date(2026, 11, 28, 18, 0, 0, 0, time.UTC), ""},
		{"", time.Time{}, "an expiry is required"},
		{"-1h", time.Time{}, "not in the future"},
		{"2026-11-01 10:00", time.Time{}, "is in the past"},
		{"soon", time.Time{}, `cannot read expiry "soon"`},
	} {
		got, err := parseExpiry(c.in, fixedNow)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("%q: error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || !got.Equal(c.want) {
			t.Errorf("%q: %v, %v; want %v", c.in, got, err, c.want)
		}
	}
}

// Every state reads as a symbol and a word; the selected cell's panel
// has its reason, evidence and waiver, at both sizes.
func TestGoldenGatesCells(t *testing.T) {
	for _, c := range []struct {
		name string
		keys []string
		want []string
	}{
		{"fail", []string{"l"}, []string{"✗ fail — coverage 71.2 % < min 80 %", "cover.out · sha256:ab12f09c33d2…", "added by alice 27 Nov 12:03 UTC"}},
		{"waived", []string{"j", "j", "l"}, []string{"~ waived", "Waiver    by dave 27 Nov 12:30 UTC, until 28 Nov 13:00 UTC", "generated code", "lowers the figure"}},
		{"expired", []string{"G", "l", "l"}, []string{"⧖ expired", "waiver by dave expired"}},
		{"missing", []string{"j", "j", "j"}, []string{"? missing — no result recorded"}},
	} {
		for _, size := range [][2]int{{80, 24}, {120, 40}} {
			t.Run(fmt.Sprintf("%s_%dx%d", c.name, size[0], size[1]), func(t *testing.T) {
				m, _ := gatesAt(t, size[0], size[1], c.keys...)
				v := m.View()
				checkFits(t, v, size[0], size[1])
				for _, w := range c.want {
					if !strings.Contains(v, w) {
						t.Errorf("lacks %q:\n%s", w, v)
					}
				}
				golden.RequireEqual(t, []byte(v))
			})
		}
	}
}

// Without results from the source the matrix says so: no cell claims a
// pass or a missing it does not know.
func TestGatesUnknownSource(t *testing.T) {
	src := fixture()
	src.snap.GateResults, src.snap.GatesKnown = nil, false
	m := loaded(t, src, 80, 24)
	m.Update(keyMsg("4"))
	v := m.View()
	if !strings.Contains(v, "no results from this source") || strings.Contains(v, "✓ pass") || strings.Contains(v, "? missing") {
		t.Fatalf("unknown results shown as known:\n%s", v)
	}
	checkFits(t, v, 80, 24)
}

// bigGates is a release of 1,000 services through one environment that
// requires 8 gates, every result recorded.
func bigGates() *fakeSource {
	src := fixture()
	org := *src.snap.Org
	var gates []string
	org.Gates = nil
	for j := range 8 {
		n := fmt.Sprintf("gate-%d", j)
		gates = append(gates, n)
		org.Gates = append(org.Gates, model.Gate{Name: n, Kind: model.GateCoverage})
	}
	org.Environments = []model.Environment{{Name: "prod", Order: 1, Gates: gates}}
	rel := org.Releases[0]
	rel.Scope = nil
	var res []GateResult
	states := []GateState{GatePass, GatePass, GatePass, GateFail, GateMissing, GateWaived, GateExpired}
	for i := range 1000 {
		svc := fmt.Sprintf("service-%04d", i)
		rel.Scope = append(rel.Scope, model.ScopeItem{Service: svc, Version: "1.0.0"})
		for j, g := range gates {
			res = append(res, GateResult{Service: svc, Gate: g, State: states[(i+j)%len(states)], Value: "81 %", Threshold: "min 80 %",
				Reason: "coverage 81 % >= min 80 %", Evidence: &GateEvidence{File: "cover.out", SHA256: "ab12", AddedBy: "ci", AddedAt: fixedNow}})
		}
	}
	org.Releases = []model.Release{rel}
	src.snap.Org = &org
	src.snap.GateResults = map[string][]GateResult{rel.Name: res}
	return src
}

// View of the 1,000 × 8 matrix: it joins the visible rows only.
func BenchmarkGatesView(b *testing.B) {
	g := benchGates(b)
	b.ResetTimer()
	for b.Loop() {
		_ = g.View()
	}
}

// A cursor move re-renders the visible window and the panel.
func BenchmarkGatesMove(b *testing.B) {
	g := benchGates(b)
	down, up := keyMsg("down"), keyMsg("up")
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			g.Update(down)
		} else {
			g.Update(up)
		}
	}
}

// SetData indexes the 8,000 results (on a refresh, not in View).
func BenchmarkGatesSetData(b *testing.B) {
	src := bigGates()
	s := src.snap.focused("")
	g := newGates(newTestModel(src).c)
	g.SetSize(120, 33)
	b.ResetTimer()
	for b.Loop() {
		g.SetData(s)
	}
}

func benchGates(b *testing.B) *gatesScreen {
	src := bigGates()
	m := newTestModel(src)
	g := newGates(m.c)
	g.SetSize(120, 33)
	g.SetData(src.snap.focused(""))
	for range 500 {
		g.Update(keyMsg("down"))
	}
	if !strings.Contains(g.View(), "service-0500") {
		b.Fatalf("not at row 500:\n%s", g.View())
	}
	return g
}

// 1,000 services × 8 gates at 80 columns: the gates that do not fit
// scroll with the cursor, the title says which are shown, and G reaches
// the last service.
func TestGatesLargeMatrix(t *testing.T) {
	m := loaded(t, bigGates(), 80, 24)
	m.Update(keyMsg("4"))
	v := m.View()
	checkFits(t, v, 80, 24)
	if !strings.Contains(v, "gates 1–6 shown, ←/→ scroll") || strings.Contains(v, "gate-7") {
		t.Fatalf("columns not windowed:\n%s", v)
	}
	for range 7 {
		m.Update(keyMsg("l"))
	}
	m.Update(keyMsg("G"))
	v = m.View()
	checkFits(t, v, 80, 24)
	for _, want := range []string{"gates 3–8 shown", "gate-7", "› service-0999", "service-0999 · gate-7"} {
		if !strings.Contains(v, want) {
			t.Errorf("lacks %q:\n%s", want, v)
		}
	}
}
