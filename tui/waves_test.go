package tui

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/exp/golden"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/plan"
)

// withStates replaces the run on show by a running copy whose steps have
// the given states (steps not named keep theirs; steps in flight in the
// fixture but not named become done).
func withStates(s *Snapshot, states map[int]deploy.StepState) {
	r := *s.Run
	r.State, r.Reason = deploy.RunRunning, ""
	r.Steps = slices.Clone(r.Steps)
	for i := range r.Steps {
		st := &r.Steps[i]
		if inFlight(st.State) {
			st.State, st.Progress = deploy.StepDone, ""
		}
		if want, ok := states[st.Index]; ok {
			st.State = want
		}
	}
	s.Run = &r
	for i, old := range s.Runs {
		if old.ID == r.ID {
			s.Runs = slices.Clone(s.Runs)
			s.Runs[i] = &r
		}
	}
}

// A wave with four steps running side by side: the line above the table
// names them with their states, every one of their rows is marked, and the
// frame fits both terminal sizes.
func TestGoldenWavesInFlight(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			src := fixture()
			withStates(&src.snap, map[int]deploy.StepState{
				13: deploy.StepBaking, 16: deploy.StepDeploying, 17: deploy.StepVerifying, 18: deploy.StepPreflight,
			})
			m := loaded(t, src, size[0], size[1])
			m.Update(keyMsg("5"))
			view := m.View()
			checkFits(t, view, size[0], size[1])
			for _, want := range []string{"in flight (4): ◷ 13 ledger ", " · ▸ 16 api-gateway ", " · ▸ 17 payments", " · ▹ 18 ledger"} {
				if !strings.Contains(view, want) {
					t.Errorf("the in-flight line does not name %q:\n%s", want, view)
				}
			}
			marked := 0
			for _, l := range strings.Split(view, "\n") {
				if strings.HasPrefix(l, flightMarker) || (strings.HasPrefix(l, "› ") && strings.Contains(l, "baking")) {
					marked++
				}
			}
			if marked != 4 {
				t.Errorf("%d rows marked in flight, want 4:\n%s", marked, view)
			}
			golden.RequireEqual(t, []byte(view))
		})
	}
}

// followedStep is the Index of the step under the Waves cursor.
func followedStep(m *Model) int {
	w := m.screens[4].(*waves)
	return w.run.Steps[w.shown[w.cursor]].Index
}

// With several steps in flight, the follow cursor stays on the step it
// follows while that one runs, even when a step before it starts, and
// moves to the first step in flight once it finishes.
func TestWavesFollowStaysOnStepInFlight(t *testing.T) {
	src := fixture()
	src.set(func(s *Snapshot) {
		withStates(s, map[int]deploy.StepState{17: deploy.StepDeploying, 18: deploy.StepDeploying})
	})
	m := loaded(t, src, 120, 40)
	m.Update(keyMsg("5"))
	if got := followedStep(m); got != 17 {
		t.Fatalf("follows step %d, want 17 (the first in flight)", got)
	}
	steps := []struct {
		states map[int]deploy.StepState
		want   int
	}{
		// 16 starts: before 17 in order, but 17 is still running.
		{map[int]deploy.StepState{16: deploy.StepDeploying, 17: deploy.StepVerifying, 18: deploy.StepDeploying}, 17},
		{map[int]deploy.StepState{16: deploy.StepVerifying, 17: deploy.StepBaking, 18: deploy.StepBaking}, 17},
		// 17 finished: the first step in flight is followed.
		{map[int]deploy.StepState{16: deploy.StepVerifying, 17: deploy.StepDone, 18: deploy.StepBaking}, 16},
		{map[int]deploy.StepState{16: deploy.StepDone, 17: deploy.StepDone, 18: deploy.StepBaking, 19: deploy.StepDeploying}, 18},
	}
	for i, s := range steps {
		src.set(func(snap *Snapshot) { withStates(snap, s.states) })
		drain(t, m, func() tea.Msg { return tickMsg{} })
		if got := followedStep(m); got != s.want {
			t.Fatalf("after change %d: follows step %d, want %d\n%s", i, got, s.want, m.View())
		}
	}
	// Moving the cursor stops following; f follows again.
	m.Update(keyMsg("k"))
	src.set(func(snap *Snapshot) {
		withStates(snap, map[int]deploy.StepState{18: deploy.StepDone, 19: deploy.StepDeploying, 20: deploy.StepDeploying})
	})
	drain(t, m, func() tea.Msg { return tickMsg{} })
	if got := followedStep(m); got != 17 {
		t.Fatalf("not following: cursor on step %d, want 17", got)
	}
	m.Update(keyMsg("f"))
	if got := followedStep(m); got != 19 {
		t.Fatalf("after f: follows step %d, want 19", got)
	}
}

// Overview's progress says how many steps are in flight.
func TestOverviewCountsStepsInFlight(t *testing.T) {
	src := fixture()
	withStates(&src.snap, map[int]deploy.StepState{16: deploy.StepDeploying, 17: deploy.StepVerifying, 18: deploy.StepBaking})
	m := loaded(t, src, 120, 40)
	if v := m.View(); !strings.Contains(v, "wave 1 of 2 · 3 in flight") {
		t.Errorf("no count of steps in flight:\n%s", v)
	}
}

// The rows Waves keeps between refreshes are rendered again at a new
// width: after a resize the screen is what a console started at that size
// shows.
func TestWavesResizeRendersRowsAgain(t *testing.T) {
	src := fixture()
	withStates(&src.snap, map[int]deploy.StepState{13: deploy.StepBaking, 16: deploy.StepDeploying, 17: deploy.StepVerifying})
	fresh := loaded(t, src, 80, 24)
	fresh.Update(keyMsg("5"))
	m := loaded(t, src, 120, 40)
	m.Update(keyMsg("5"))
	m.Update(tea.WindowSizeMsg{Width: 80, Height: 24})
	if got, want := m.View(), fresh.View(); got != want {
		t.Errorf("after a resize to 80x24:\n%s\nwant:\n%s", got, want)
	}
}

// planned is the fixture before any run: the source gives the release's
// plan as core/plan builds it.
func planned(t *testing.T) *fakeSource {
	t.Helper()
	src := fixture()
	src.snap.Run, src.snap.Runs = nil, nil
	p, err := plan.Build(model.NewIndex(src.snap.Org), "2026-11-27-payments")
	if err != nil {
		t.Fatal(err)
	}
	src.snap.Plans = map[string]*plan.Plan{p.Release: p}
	return src
}

// Before a run exists Waves shows the planned waves, what entering each
// environment needs, and why the plan is blocked; s still starts it.
func TestGoldenWavesPlanned(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			m := loaded(t, planned(t), size[0], size[1])
			m.Update(keyMsg("5"))
			for range 3 {
				m.Update(keyMsg("j"))
			}
			view := m.View()
			checkFits(t, view, size[0], size[1])
			want := []string{"No run of 2026-11-27-payments yet. Press s to start it.", "· planned", "s start", "needs gates", "✗ blocked: "}
			if size[0] >= 120 {
				want = append(want, "Planned: 15 steps in 3 waves")
			}
			for _, want := range want {
				if !strings.Contains(view, want) {
					t.Errorf("lacks %q:\n%s", want, view)
				}
			}
			golden.RequireEqual(t, []byte(view))
			m.Update(keyMsg("enter"))
			page := m.View()
			checkFits(t, page, size[0], size[1])
			if !strings.Contains(page, "The plan is blocked:") || !strings.Contains(page, "Entering dev needs gates unit-tests") {
				t.Errorf("the planned step's page lacks its needs or the blockers:\n%s", page)
			}
		})
	}
}

// Without a plan from the source, the screen says there is no run yet.
func TestWavesNoPlan(t *testing.T) {
	src := fixture()
	src.snap.Run, src.snap.Runs = nil, nil
	m := loaded(t, src, 80, 24)
	m.Update(keyMsg("5"))
	if v := m.View(); !strings.Contains(v, "No run of 2026-11-27-payments yet") {
		t.Fatalf("no-run title missing:\n%s", v)
	}
}

// waiting is the fixture's run waiting to enter prod on two gates and an
// approval quorum.
func waiting() *fakeSource {
	src := fixture()
	withStates(&src.snap, nil)
	src.snap.Run.State, src.snap.Run.Reason = RunWaiting, "waiting to enter prod: 2 gates, approval 1/2"
	src.snap.Waits = []Wait{{RunID: "run-7f3a", Env: "prod",
		Gates: []GateBlock{
			{Service: "payments", Gate: "coverage", State: GateFail, Reason: "coverage 71.2 % < min 80 % (cover.out sha256:ab12…, added by alice 12:03)"},
			{Service: "search", Gate: "security-scan", State: GateExpired, Reason: "waiver by dave expired 27 Nov 12:00 UTC"},
		},
		Approval: &ApprovalWait{Have: 1, Need: 2, Approvers: []string{"sre", "release-captains"}, By: []string{"erin"}}}}
	return src
}

// A waiting step says what it waits on: in its row, on the line above
// the table, and in full in the pane and the step's page.
func TestGoldenWavesWaiting(t *testing.T) {
	for _, size := range [][2]int{{80, 24}, {120, 40}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			m := loaded(t, waiting(), size[0], size[1])
			m.Update(keyMsg("5"))
			w := m.screens[4].(*waves)
			// Select the waiting step.
			for w.run.Steps[w.shown[w.cursor]].Index != 17 {
				m.Update(keyMsg("j"))
			}
			view := m.View()
			checkFits(t, view, size[0], size[1])
			for _, want := range []string{"⧗ waiting", "⧗ step 17 waits on 2 gates: payments coverage +1", "✗ fail payments · coverage — coverage 71.2 %"} {
				if !strings.Contains(view, want) {
					t.Errorf("lacks %q:\n%s", want, view)
				}
			}
			golden.RequireEqual(t, []byte(view))
			m.Update(keyMsg("enter"))
			page := m.View()
			checkFits(t, page, size[0], size[1])
			for _, want := range []string{"waiting to enter prod on:", "⧖ expired search · security-scan", "! approval 1/2 by sre, release-captains (given by erin)"} {
				if !strings.Contains(page, want) {
					t.Errorf("page lacks %q:\n%s", want, page)
				}
			}
		})
	}
}
