package canarysim

import (
	"math"
	"strings"
	"testing"
)

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

// The floor of an error regression is Wald's ln(k/alpha) / KL per second
// of the labels; the thin cell (0.5 rps, 0.1 %, +900 %) is 978 s
// at k = 2 and scales with ln(k/alpha).
func TestFloor(t *testing.T) {
	got := floor(0.5, []float64{0.001}, []float64{0.01})
	want := 978.0 * math.Log(4/alpha) / math.Log(2/alpha)
	if math.Abs(got-want)/want > 0.01 {
		t.Errorf("floor %g s, want about %g s", got, want)
	}
	// The cells of a latency shift sum their labels' information: +100 ms
	// on 30 ms is far more telling than +20 %.
	c := makeCells()
	if a, b := floor(0.5, c.probs(1, 0), c.probs(1, addMs)), floor(0.5, c.probs(1, 0), c.probs(multLat, 0)); !(a < b/10) {
		t.Errorf("floors: +100 ms %g s, +20 %% %g s", a, b)
	}
}

func TestAcceptanceVerdicts(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	scs := []Scenario{
		{Name: "mid 5rps err1% healthy", Effect: healthy},
		{Name: "mid 5rps err1% errors+100% onset0m", Effect: errX2, BaseErr: 0.01},
		{Name: "mid 5rps err1% errors+900% onset0m", Effect: errX10, BaseErr: 0.01},
		{Name: "low 0.5rps err0.1% errors+100% onset0m", Effect: errX2, BaseErr: 0.001},
	}
	rows := []Row{
		{Scenario: scs[0].Name, Algorithm: "warroom", FalseRollbackRate: 0.002},
		{Scenario: scs[0].Name, Algorithm: "argo-rollouts", FalseRollbackRate: 1},
		{Scenario: scs[0].Name, Algorithm: "kayenta-mw", FalseRollbackRate: 0.001},
		{Scenario: scs[1].Name, Algorithm: "warroom", Power: f(1), MedianTTD: f(280), Floor: f(200), Missed: f(0)},
		{Scenario: scs[1].Name, Algorithm: "argo-rollouts", Power: f(1), MedianTTD: f(240)},
		{Scenario: scs[1].Name, Algorithm: "kayenta-mw", Power: f(1), MedianTTD: f(600)},
		{Scenario: scs[2].Name, Algorithm: "warroom", Power: f(1), MedianTTD: f(320), Floor: f(200), Missed: f(0.06)},
		{Scenario: scs[2].Name, Algorithm: "kayenta-mw", Power: f(1), MedianTTD: f(600)},
		{Scenario: scs[3].Name, Algorithm: "warroom", Power: f(0.3), Floor: f(5000)},
	}
	frr := map[string]map[string]float64{scs[0].Name: {"warroom": 0.002, "argo-rollouts": 1, "kayenta-mw": 0.001}}
	accept(rows, scs, frr)
	for i, want := range map[int]string{
		0: "met: false rollbacks 0.0020 <= alpha",
		3: "met: missed 0.000 <= 0.05; TTD 280 s <= 300 s (half of kayenta-mw's 600 s)", // argo rolls back every healthy canary: not compared
		6: "MISS: missed 0.060 > 0.05; TTD 320 s > 300 s (half of kayenta-mw's 600 s)",
		8: "", // below the tolerance, floor beyond 30 min: nothing to check
	} {
		if rows[i].Acceptance != want {
			t.Errorf("%s: %q, want %q", rows[i].Scenario, rows[i].Acceptance, want)
		}
	}
	if !strings.HasPrefix(rows[4].Note, "not compared") {
		t.Errorf("argo's row: note %q", rows[4].Note)
	}
}

// The two cells whose limit the judge misses (a 10x error regression
// from minute 10 at 0.5 rps) are missed too by the oracle that knows the
// regression's size and weighs every onset alike, by more than its
// median's 95 % interval (2,000 runs): meeting them takes a judge that
// favours minute 10 over other onsets. warroom, which knows neither,
// stays within 20 % of the oracle (a judge that got worse at late
// onsets fails here).
func TestLateOnsetLimitsAreBeyondTheOracle(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 4,000 canaries (a few seconds)")
	}
	scs := Select(Scenarios(0, 2000), "low 0.5rps err0.1% errors+900% onset10m|low 0.5rps err1% errors+900% onset10m")
	if len(scs) != 2 {
		t.Fatalf("selected %d scenarios, want 2", len(scs))
	}
	got := map[string]map[string]Row{}
	for _, r := range Run(scs, 2) {
		if got[r.Scenario] == nil {
			got[r.Scenario] = map[string]Row{}
		}
		got[r.Scenario][r.Algorithm] = r
	}
	for _, sc := range scs {
		w, o := got[sc.Name]["warroom"], got[sc.Name][oracleName]
		if w.MedianTTD == nil || o.MedianTTD == nil || o.MedianTTDLo == nil || w.Floor == nil {
			t.Fatalf("%s: no median time to detect (warroom %v, oracle %v)", sc.Name, w.MedianTTD, o.MedianTTD)
		}
		limit := 1.25 * *w.Floor
		t.Logf("%s: warroom %.0f s, %s %.0f s [%.0f, %.0f], limit %.0f s", sc.Name, *w.MedianTTD, oracleName, *o.MedianTTD,
			*o.MedianTTDLo, *o.MedianTTDHi, limit)
		if *o.MedianTTDLo <= limit {
			t.Errorf("%s: the oracle's median %.0f s [%.0f, %.0f] does not clear the limit %.0f s: the miss may be the judge's, not the onset's",
				sc.Name, *o.MedianTTD, *o.MedianTTDLo, *o.MedianTTDHi, limit)
		}
		if *w.MedianTTD > 1.2**o.MedianTTD {
			t.Errorf("%s: warroom %.0f s, more than 1.2 x the oracle's %.0f s", sc.Name, *w.MedianTTD, *o.MedianTTD)
		}
		if !strings.Contains(w.Acceptance, oracleName+" (the size known, every onset weighed alike) misses it too") {
			t.Errorf("%s: acceptance %q does not say the oracle misses the limit too", sc.Name, w.Acceptance)
		}
	}
}

// The oracle detects what its size says and nothing on a healthy cell,
// where it has no row.
func TestOracleRows(t *testing.T) {
	rows := Run(Select(Scenarios(3, 3), "mid 5rps err1% healthy|mid 5rps err1% errors+900% onset0m"), 2)
	var healthyRows, oracleRows int
	for _, r := range rows {
		if r.Algorithm != oracleName {
			continue
		}
		oracleRows++
		if strings.HasSuffix(r.Scenario, "healthy") {
			healthyRows++
		}
		if r.Missed != nil || r.Power == nil || *r.Power != 1 {
			t.Errorf("%s: oracle row missed %v power %v, want no missed column and power 1", r.Scenario, r.Missed, r.Power)
		}
	}
	if oracleRows != 1 || healthyRows != 0 {
		t.Errorf("oracle rows %d (healthy %d), want 1 (0)", oracleRows, healthyRows)
	}
}
