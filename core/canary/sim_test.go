package canary_test

import (
	"runtime"
	"strings"
	"testing"

	"github.com/warroom/warroom/core/canary/canarysim"
)

// simMisses are the cells where the judge's median time to detect is
// above the acceptance's limit in the full simulation (2,000 healthy and
// 300 regression runs; scripts/canarysim/results.txt), each explained in
// the README's canary judgement figures: errors x10 starting 10 minutes
// into the canary at 0.5 rps, whose onset the judge cannot know and the
// floor does. canarysim's TestLateOnsetLimitsAreBeyondTheOracle shows
// that a judge knowing the regression's size and weighing every onset
// alike misses them too.
// TestReducedSimulation logs them and fails on any other.
var simMisses = map[string]bool{
	"low 0.5rps err0.1% errors+900% onset10m": true, // 1,465 s for 1,383 s (1.25 x floor 1,106 s)
	"low 0.5rps err1% errors+900% onset10m":   true, // 210 s for 138 s (1.25 x floor 111 s)
}

// TestReducedSimulation runs canarysim with few runs (100 healthy and 20
// regression runs a cell, about 18 s of CPU; seeded: the same
// figures every run) so that a change that makes the judge worse fails
// `go test` in seconds; the full simulation is `make bench`'s. On every
// healthy cell the false-rollback rate's 95 % Wilson interval must
// contain a rate at most alpha, and pooled over them the rate must be at
// most alpha; on every regression at or above its
// tolerance at most MaxMissed are promoted (a missed regression); and the
// median time to detect meets the acceptance's limit (max(half the best
// incumbent, 1.25 x the information floor), where the floor is at most
// 30 min), except simMisses.
func TestReducedSimulation(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the simulation (seconds)")
	}
	rows := canarysim.Run(canarysim.Scenarios(100, 20), runtime.GOMAXPROCS(0))
	healthy, regressions := 0, 0
	falseRB, healthyRuns := 0, 0
	for _, r := range rows {
		if r.Algorithm != "warroom" {
			continue
		}
		if strings.HasSuffix(r.Scenario, "healthy") {
			healthy++
			falseRB += r.FalseRollbacks
			healthyRuns += r.Runs
			if r.FalseRollbackLo > canarysim.Alpha {
				t.Errorf("%s: false-rollback rate %.4f [%.4f, %.4f] above alpha %g", r.Scenario, r.FalseRollbackRate,
					r.FalseRollbackLo, r.FalseRollbackHi, canarysim.Alpha)
			}
			continue
		}
		regressions++
		if r.Missed != nil && *r.Missed > canarysim.MaxMissed {
			t.Errorf("%s: promoted %.3f of regressions at or above the tolerance", r.Scenario, *r.Missed)
		}
		if strings.HasPrefix(r.Acceptance, "MISS") && strings.Contains(r.Acceptance, "TTD") {
			if simMisses[r.Scenario] {
				t.Logf("known miss: %s: %s", r.Scenario, r.Acceptance)
			} else {
				t.Errorf("%s: %s", r.Scenario, r.Acceptance)
			}
		}
	}
	// Pooled over the healthy cells (1,200 runs), the rate itself.
	if rate := float64(falseRB) / float64(max(1, healthyRuns)); rate > canarysim.Alpha {
		t.Errorf("false rollbacks over all healthy cells: %d of %d (%.4f), above alpha %g", falseRB, healthyRuns, rate, canarysim.Alpha)
	}
	if healthy != 12 || regressions != 48 {
		t.Errorf("checked %d healthy and %d regression cells, want 12 and 48", healthy, regressions)
	}
}
