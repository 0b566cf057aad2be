package tui

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/exp/golden"

	"github.com/warroom/warroom/core/deploy"
)

// inconclusive is the fixture with step 13's bake over with neither
// verdict: extended as far as the policy allows (4/4×) when atMax, and
// the run waiting for an operator; else extended 2/4× and judging on.
func inconclusive(atMax bool) *fakeSource {
	src := fixture()
	t0 := time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC)
	r := *src.snap.Run
	r.Steps = append([]deploy.Step(nil), r.Steps...)
	st := &r.Steps[12]
	st.Evidence = inconclusiveJudgement(t0)
	ext := BakeExtension{Factor: 2, Max: 4, Until: t0.Add(2 * time.Hour)}
	if atMax {
		ext.Factor = 4
		r.State, r.Reason = RunWaiting, "step 13: insufficient evidence, waiting for an operator"
		src.snap.Waits = []Wait{{RunID: r.ID, Step: 13,
			Operator: "insufficient evidence: 412 requests, about 1900 more needed at the current traffic"}}
	}
	src.snap.Run = &r
	src.snap.Bakes = map[StepRef]BakeExtension{{RunID: r.ID, Step: 13}: ext}
	return src
}

// An inconclusive bake says how much evidence is missing, how far the
// bake was extended, and — at the policy's bound — that the step waits
// for an operator; every test and proof with its evidence and threshold.
func TestGoldenCanaryInconclusive(t *testing.T) {
	for _, atMax := range []bool{false, true} {
		for _, size := range [][2]int{{80, 24}, {120, 40}} {
			name := fmt.Sprintf("extended_%dx%d", size[0], size[1])
			if atMax {
				name = fmt.Sprintf("operator_%dx%d", size[0], size[1])
			}
			t.Run(name, func(t *testing.T) {
				m := loaded(t, inconclusive(atMax), size[0], size[1])
				m.Update(keyMsg("6"))
				m.Update(keyMsg("g"))
				m.Update(keyMsg("j"))
				v := m.View()
				checkFits(t, v, size[0], size[1])
				want := []string{"‖ insufficient evidence: 412 requests, about 1900 more needed at the",
					"error vs SLO", "ref 1.00%", "0.4 / 80", "p95 latency <= 36ms", "3.1 / 200"}
				if size[0] >= 120 {
					want = append(want, "insufficient evidence: 412 requests, about 1900 more needed at the current traffic (4h47m50s at 0.1 rps)")
				}
				if atMax {
					want = append(want, "Bake      extended 4/4×", "waits for an operator")
				} else {
					want = append(want, "Bake      extended 2/4× until 15:00 UTC", "judging goes on")
				}
				for _, w := range want {
					if !strings.Contains(v, w) {
						t.Errorf("lacks %q:\n%s", w, v)
					}
				}
				if !atMax && strings.Contains(v, "operator") {
					t.Errorf("waits for an operator before the bound:\n%s", v)
				}
				golden.RequireEqual(t, []byte(v))

				m.Update(keyMsg("enter"))
				page := m.View()
				checkFits(t, page, size[0], size[1])
				for _, w := range []string{"Rollback tests", "error vs SLO — ", "Promotion proofs (all must hold):"} {
					if !strings.Contains(page, w) {
						t.Errorf("page lacks %q:\n%s", w, page)
					}
				}
			})
		}
	}
}
