package main

import (
	"bytes"
	"encoding/json"
	"math"
	"runtime"
	"strings"
	"testing"
)

func TestQuickJSON(t *testing.T) {
	var out, errw bytes.Buffer
	if err := run(&out, &errw, "json", true, 2); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	if want := len(scenarios(true)) * len(algNames); len(rows) != want {
		t.Fatalf("%d rows, want %d", len(rows), want)
	}
	for _, r := range rows {
		for _, k := range []string{"scenario", "algorithm", "runs", "false_rollback_rate", "power", "median_ttd_s"} {
			if _, ok := r[k]; !ok {
				t.Fatalf("row %v lacks %q", r, k)
			}
		}
		if !strings.HasPrefix(r["algorithm"].(string), "warroom") || !strings.Contains(r["scenario"].(string), "healthy") ||
			strings.Contains(r["scenario"].(string), "errors") {
			continue
		}
		runs := r["runs"].(float64)
		slack := 3 * math.Sqrt(alpha*(1-alpha)/runs)
		if fr := r["false_rollback_rate"].(float64); fr > alpha+slack {
			t.Errorf("%s: warroom false-rollback rate %.4f > %.4f", r["scenario"], fr, alpha+slack)
		}
	}
}

func TestMannWhitney(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	y := []float64{11, 12, 13, 14, 15, 16, 17, 18, 19, 20}
	if !mannWhitneyHigher(x, y, 2.326) || mannWhitneyHigher(y, x, 2.326) || mannWhitneyHigher(x, x, 2.326) {
		t.Error("Mann-Whitney direction")
	}
}

func TestP99(t *testing.T) {
	var h [14]int64
	h[7] = 100 // all in (100, 250]
	if got := p99(&h); math.Abs(got-(100+150*0.99)) > 1e-9 {
		t.Errorf("p99 %g", got)
	}
}

// TestAcceptance checks the acceptance on the mid- and
// high-traffic scenarios (seeded, so the same figures every run): warroom
// keeps its false-rollback rate at alpha on healthy canaries, and every
// regression cell is met unless even the oracle cannot meet it.
func TestAcceptance(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the simulation: about 20 s on 2 cores")
	}
	var scs []scenario
	for _, sc := range scenariosWith(1000, 200) {
		if !strings.HasPrefix(sc.Name, "low") {
			scs = append(scs, sc)
		}
	}
	rows := runAll(scs, runtime.GOMAXPROCS(0))
	checked := 0
	for _, r := range rows {
		if r.Algorithm != "warroom" {
			continue
		}
		if r.Power == nil {
			if r.FalseRollbackLo > alpha {
				t.Errorf("%s: false-rollback rate %.4f [%.4f, %.4f] above alpha %g", r.Scenario, r.FalseRollbackRate,
					r.FalseRollbackLo, r.FalseRollbackHi, alpha)
			}
			continue
		}
		if strings.Contains(r.Scenario, "overdispersed") {
			continue
		}
		checked++
		switch {
		case strings.HasPrefix(r.Acceptance, "met"):
		case strings.HasPrefix(r.Acceptance, "MISS (statistics)"):
			t.Logf("%s: %s", r.Scenario, r.Acceptance)
		default:
			t.Errorf("%s: %s", r.Scenario, r.Acceptance)
		}
	}
	if checked != 24 {
		t.Errorf("checked %d regression cells, want 24", checked)
	}
}

func TestAcceptanceVerdicts(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	rows := []Row{
		{Scenario: "mid 5rps err1% healthy", Algorithm: "warroom", FalseRollbackRate: 0.002},
		{Scenario: "mid 5rps err1% healthy", Algorithm: "argo-rollouts", FalseRollbackRate: 1},
		{Scenario: "mid 5rps err1% healthy", Algorithm: "kayenta-mw", FalseRollbackRate: 0.001},
		{Scenario: "mid 5rps err1% errors+100% onset0m", Algorithm: "warroom", Power: f(1), MedianTTD: f(280), OracleTTD: f(200)},
		{Scenario: "mid 5rps err1% errors+100% onset0m", Algorithm: "argo-rollouts", Power: f(1), MedianTTD: f(240)},
		{Scenario: "mid 5rps err1% errors+100% onset0m", Algorithm: "kayenta-mw", Power: f(1), MedianTTD: f(600)},
		{Scenario: "mid 5rps err1% errors+100% onset10m", Algorithm: "warroom", Power: f(1), MedianTTD: f(310), OracleTTD: f(200)},
		{Scenario: "mid 5rps err1% errors+100% onset10m", Algorithm: "kayenta-mw", Power: f(1), MedianTTD: f(600)},
		{Scenario: "mid 5rps err1% errors+900% onset0m", Algorithm: "warroom", Power: f(1), MedianTTD: f(320), OracleTTD: f(310)},
		{Scenario: "mid 5rps err1% errors+900% onset0m", Algorithm: "kayenta-mw", Power: f(1), MedianTTD: f(600)},
		{Scenario: "mid 5rps err1% p99+50ms onset0m", Algorithm: "warroom", Power: f(1), MedianTTD: f(500)},
		{Scenario: "mid 5rps err1% p99+50ms onset0m", Algorithm: "kayenta-mw", Power: f(1), MedianTTD: f(480)},
	}
	frr := map[string]map[string]float64{"mid 5rps err1% healthy": {"warroom": 0.002, "argo-rollouts": 1, "kayenta-mw": 0.001}}
	accept(rows, frr)
	for i, want := range map[int]string{
		3:  "met: 280 s <= half of kayenta-mw's 600 s", // argo rolls back every healthy canary: not compared
		6:  "MISS: 310 s > half of kayenta-mw's 600 s",
		8:  "MISS (statistics): 320 s > half of kayenta-mw's 600 s; floor 310 s",
		10: "MISS: 500 s, kayenta-mw 480 s",
	} {
		if rows[i].Acceptance != want {
			t.Errorf("%s: %q, want %q", rows[i].Scenario, rows[i].Acceptance, want)
		}
	}
	if !strings.HasPrefix(rows[4].Note, "not compared") {
		t.Errorf("argo's row: note %q", rows[4].Note)
	}
}
