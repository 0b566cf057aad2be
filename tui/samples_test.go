package tui

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
)

// fixtureSamples are the samples the judge recorded for the fixture's
// failed canary (step 14, 10% from t0+20m, rolled back after 430 s): one
// per cohort every 10 s, the canary's error rate climbing from the
// baseline's 0.3% to twice that, its p99 a little higher, its throughput
// a tenth of the total.
func fixtureSamples(t0 time.Time) []CanarySample {
	wobble := []float64{0, 2, -1, 3, 1, -2, 0, 1, -1, 2, -3}
	since := t0.Add(20 * time.Minute)
	var out []CanarySample
	for i := range 43 {
		at := since.Add(time.Duration(i+1) * 10 * time.Second)
		w := wobble[i%len(wobble)]
		v := wobble[(i+4)%len(wobble)]
		out = append(out,
			CanarySample{At: at, Cohort: "baseline", RPS: 142 + w, ErrorRate: 0.003 + 0.0001*v, P99Ms: 118 + 2*v},
			CanarySample{At: at, Cohort: "canary", RPS: 15.8 + 0.2*v, ErrorRate: 0.003 + 0.003*float64(i)/42 + 0.0001*w, P99Ms: 124 + 2*w})
	}
	return out
}

func TestLiveCanaryStep(t *testing.T) {
	run := fixture().snap.Run
	if st := liveCanaryStep(run); st == nil || st.Index != 14 {
		t.Errorf("live step %+v, want step 14", st)
	}
	run.Steps[13].State, run.Steps[12].State = deploy.StepPending, deploy.StepPending
	if st := liveCanaryStep(run); st == nil || st.Index != 7 {
		t.Errorf("live step %+v, want step 7", st)
	}
	if st := liveCanaryStep(nil); st != nil {
		t.Errorf("no run: %+v", st)
	}
}

func TestCanaryChartsAlignCohorts(t *testing.T) {
	t0 := fixedNow
	charts, n, span := canaryCharts([]CanarySample{
		{At: t0, Cohort: "baseline", RPS: 90, ErrorRate: 0.01, P99Ms: 100},
		{At: t0, Cohort: "canary", RPS: 10, ErrorRate: 0.02},
		{At: t0.Add(10 * time.Second), Cohort: "canary", RPS: 11, ErrorRate: 0.03, P99Ms: 150},
	})
	if n != 2 || span != 10*time.Second || len(charts) != 3 {
		t.Fatalf("%d instants over %s, %d charts", n, span, len(charts))
	}
	base, can := charts[1].Series[0].Values, charts[1].Series[1].Values
	if base[0] != 100 || !math.IsNaN(base[1]) || !math.IsNaN(can[0]) || can[1] != 150 {
		t.Errorf("p99 baseline %v, canary %v", base, can)
	}
	if got := charts[2].rows(40, 8); strings.Join(got, "\n") != "baseline    — █\ncanary   11/s ▂▂" {
		t.Errorf("throughput rows %q", got)
	}
}

func TestCanaryNoSamplesYet(t *testing.T) {
	src := fixture()
	src.snap.Samples = nil
	m := loaded(t, src, 80, 24)
	m.Update(keyMsg("6"))
	view := m.View()
	checkFits(t, view, 80, 24)
	if !strings.Contains(view, "Live metrics of step 14 · no samples yet · notifications-and-webhooks-") {
		t.Errorf("no \"no samples yet\":\n%s", view)
	}
}

// With the judge's rollback banner too, the 80x24 frame still fits and
// keeps the charts and the verdict.
func TestCanaryChartsFitWithBanner(t *testing.T) {
	src := fixture()
	src.snap.Run.State, src.snap.Run.Reason = deploy.RunRollingBack, "automatic rollback: step 14 failed: canary judged worse than baseline"
	m := loaded(t, src, 80, 24)
	m.Update(keyMsg("6"))
	view := m.View()
	checkFits(t, view, 80, 24)
	for _, want := range []string{"by the canary judge: step 14", "step 14  error rate", "canary   0.62%", "Verdict", "SRM"} {
		if !strings.Contains(view, want) {
			t.Errorf("no %q in\n%s", want, view)
		}
	}
}
