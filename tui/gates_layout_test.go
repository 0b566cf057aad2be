package tui

import (
	"strings"
	"testing"

	"github.com/warroom/warroom/core/model"
)

// demoShapedGates is the fixture with the demo organisation's shape
// (testdata/demo): six gates of short names over the environments, and
// recommendations (15 characters) short of coverage.
func demoShapedGates() *fakeSource {
	src := fixture()
	org := src.snap.Org
	f := func(v float64) *float64 { return &v }
	org.Environments = []model.Environment{
		{Name: "dev", Order: 1, Gates: []string{"unit-tests", "licences"}},
		{Name: "staging", Order: 2, Gates: []string{"sast", "integration", "coverage", "performance"}},
		{Name: "prod", Order: 3, Production: true, Gates: []string{"sast", "licences"}},
	}
	org.Gates = []model.Gate{
		{Name: "unit-tests", Kind: model.GateTests, Min: f(100)},
		{Name: "licences", Kind: model.GateLicence},
		{Name: "sast", Kind: model.GateSecurity, Max: f(0), Severity: "high"},
		{Name: "integration", Kind: model.GateIntegration, Min: f(100)},
		{Name: "coverage", Kind: model.GateCoverage, Min: f(75)},
		{Name: "performance", Kind: model.GatePerformance, Max: f(5)},
	}
	services := []string{"reviews", "recommendations", "web-bff", "mobile-bff", "storefront"}
	rel := &org.Releases[0]
	rel.Scope = nil
	var res []GateResult
	for _, s := range services {
		rel.Scope = append(rel.Scope, model.ScopeItem{Service: s, Version: "1.0.0"})
		for _, g := range org.Gates {
			r := GateResult{Service: s, Gate: g.Name, State: GatePass, Reason: g.Name + " passes"}
			if s == "recommendations" && g.Name == "coverage" {
				r = GateResult{Service: s, Gate: g.Name, State: GateFail, Value: "63.6 %", Threshold: "min 75 %",
					Reason: "coverage 63.6 % < min 75 % (cover.out sha256:087c…, added by ci-bot 03:07)"}
			}
			res = append(res, r)
		}
	}
	src.snap.GateResults = map[string][]GateResult{rel.Name: res}
	return src
}

// rowOf is the matrix row of service (selected or not).
func rowOf(view, service string) string {
	for _, l := range strings.Split(view, "\n") {
		if strings.HasPrefix(l, "› "+service+" ") || strings.HasPrefix(l, "  "+service+" ") {
			return l
		}
	}
	return ""
}

// At 80 columns the demo's matrix shows every gate and the whole name of
// recommendations (the spare columns go to the names), and the selected
// cell is marked in the text itself, under its column's head: reverse
// video alone is lost under NO_COLOR (these tests render without
// colour, as NO_COLOR does).
func TestGatesDemoShapeAt80(t *testing.T) {
	m := loaded(t, demoShapedGates(), 80, 24)
	press(t, m, "4", "j", "l", "l", "l", "l") // recommendations · coverage
	v := m.View()
	checkFits(t, v, 80, 24)
	if strings.Contains(v, "scroll") {
		t.Errorf("the six gates do not all fit at 80 columns:\n%s", v)
	}
	row := rowOf(v, "recommendations")
	if !strings.HasPrefix(row, "› recommendations ") {
		t.Fatalf("recommendations is not the selected row, or its name is cut:\n%s", v)
	}
	var head string
	for _, l := range strings.Split(v, "\n") {
		if strings.HasPrefix(l, "  SERVICE ") {
			head = l
		}
	}
	mark := strings.Index(row, "›✗ fail")
	col := strings.Index(head, " coverage ")
	if mark < 0 || col < 0 {
		t.Fatalf("no marked cell (›✗ fail) or no coverage column:\n%s", v)
	}
	// Cells are compared in runes: the symbols are one cell wide.
	if got, want := len([]rune(row[:mark])), len([]rune(head[:col])); got != want {
		t.Errorf("the marked cell is at column %d, the coverage head's separator at %d:\n%s\n%s", got, want, head, row)
	}
	if strings.Count(v, "›") != 2 { // the row's mark and the cell's
		t.Errorf("want the row and the cell marked once each:\n%s", v)
	}
	if !strings.Contains(v, "recommendations · coverage · coverage min 75 · required by staging") ||
		!strings.Contains(v, "✗ fail — coverage 63.6 % < min 75 %") {
		t.Errorf("the panel does not explain the selected cell:\n%s", v)
	}
}

// The waiver's expiry question is too long for 80 columns beside its
// answer: the answer (24h, offered) goes on its own line, whole, rather
// than showing "2…".
func TestGatesExpiryPromptAt80(t *testing.T) {
	m := loaded(t, demoShapedGates(), 80, 24)
	m.c.Gates = &refusingGates{}
	press(t, m, "4", "j", "l", "l", "l", "l", "w")
	v := m.View()
	if !strings.Contains(v, "Waive coverage for recommendations — reason: ") {
		t.Fatalf("no reason prompt:\n%s", v)
	}
	typeText(t, m, "ranking tests land on 9 Dec")
	if v = m.View(); !strings.Contains(v, "reason: ranking tests land on 9 Dec") {
		t.Fatalf("the typed reason is not shown beside the question:\n%s", v)
	}
	press(t, m, "enter")
	v = m.View()
	checkFits(t, v, 80, 24)
	lines := strings.Split(v, "\n")
	for i, l := range lines {
		if strings.HasPrefix(l, "Waive coverage for recommendations — expires (24h, 3d or YYYY-MM-DD HH:MM UTC):") {
			if i+1 >= len(lines) || strings.TrimSpace(lines[i+1]) != "24h" {
				t.Fatalf("the offered expiry is not shown whole under the question:\n%s", v)
			}
			if !strings.HasPrefix(rowOf(v, "recommendations"), "› recommendations ") {
				t.Errorf("the matrix lost the selected row to the prompt:\n%s", v)
			}
			return
		}
	}
	t.Fatalf("no expiry question:\n%s", v)
}

// The Overview counts the focus release's gate results; it says "no
// results recorded yet" only when there are none, and that the source
// evaluates no gates when it does not.
func TestOverviewGateCounts(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(*Snapshot)
		want string
	}{
		{"results", func(*Snapshot) {}, "2026-11-27-payments: 15 pass, 1 waived, 1 missing, 1 expired, 1 fail (4: Gates)"},
		{"demo", func(s *Snapshot) { *s = demoShapedGates().snap }, "2026-11-27-payments: 29 pass, 1 fail (4: Gates)"},
		{"none", func(s *Snapshot) { s.GateResults = nil }, "no results recorded yet (4: Gates)"},
		{"unknown", func(s *Snapshot) { s.GateResults, s.GatesKnown = nil, false }, "no results from this source (4: Gates)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			src := fixture()
			c.edit(&src.snap)
			m := loaded(t, src, 160, 40) // wide: the line does not wrap
			v := m.View()
			if !strings.Contains(v, c.want) {
				t.Errorf("the Overview lacks %q:\n%s", c.want, v)
			}
		})
	}
}

// On Waves at 80 columns, a gate the waiting step waits on wraps under
// its own text, not at the margin, where it read as a line of its own.
func TestWavesWaitItemWrapsUnderItself(t *testing.T) {
	m := loaded(t, waiting(), 80, 24)
	m.Update(keyMsg("5"))
	w := m.screens[4].(*waves)
	for w.run.Steps[w.shown[w.cursor]].Index != 17 {
		m.Update(keyMsg("j"))
	}
	v := m.View()
	checkFits(t, v, 80, 24)
	lines := strings.Split(v, "\n")
	for i, l := range lines[:len(lines)-1] {
		if strings.HasPrefix(l, "  ✗ fail payments · coverage — ") {
			if next := lines[i+1]; !strings.HasPrefix(next, "    sha256:ab12…") {
				t.Fatalf("the item's second line is %q, want it under the item's text:\n%s", next, v)
			}
			return
		}
	}
	t.Fatalf("no wrapped gate item:\n%s", v)
}

func TestWrapHanging(t *testing.T) {
	got := wrapHanging("head line\n  - one two three four five six seven eight nine ten eleven twelve", 30)
	want := []string{"head line", "  - one two three four five", "    six seven eight nine ten", "    eleven twelve"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("wrapHanging:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
