package canary

import (
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
)

func TestLnBetaAgreesWithLgamma(t *testing.T) {
	for _, c := range [][2]float64{{0.3, 4}, {2, 3}, {5, 11}, {11, 12}, {9.99, 10.01}, {30, 2}} {
		la, _ := math.Lgamma(c[0])
		lb, _ := math.Lgamma(c[1])
		lab, _ := math.Lgamma(c[0] + c[1])
		if got, want := LnBeta(c[0], c[1]), la+lb-lab; math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
			t.Errorf("LnBeta(%g, %g) = %.17g, lgamma %.17g", c[0], c[1], got, want)
		}
	}
}

// Under H0 with a constant split the mixture's expectation is exactly 1
// after one interval: sum over x of Binom(x; e, q0) * E(x) = 1.
func TestRegressionMartingaleOneStep(t *testing.T) {
	for _, tc := range []struct {
		nb, nc, e int64
		tol       float64
	}{{90, 10, 5, 0}, {50, 50, 20, 0}, {99, 1, 3, 0.2}} {
		rho := float64(tc.nc) / float64(tc.nb+tc.nc)
		r0 := 1 + tc.tol
		q0 := rho * r0 / (rho*r0 + 1 - rho)
		mean := 0.0
		for x := int64(0); x <= tc.e; x++ {
			rt := NewRegressionTest(tc.tol)
			rt.Update(tc.nb, tc.nc, tc.e-x, x)
			lc, _ := math.Lgamma(float64(tc.e + 1))
			l1, _ := math.Lgamma(float64(x + 1))
			l2, _ := math.Lgamma(float64(tc.e - x + 1))
			p := math.Exp(lc - l1 - l2 + float64(x)*math.Log(q0) + float64(tc.e-x)*math.Log1p(-q0))
			mean += p * math.Exp(rt.LogE())
		}
		if math.Abs(mean-1) > 1e-12 {
			t.Errorf("%+v: E[e-value] = %.15g, want 1", tc, mean)
		}
	}
}

func TestRegressionDirection(t *testing.T) {
	worse, better := NewRegressionTest(0), NewRegressionTest(0)
	for range 50 {
		worse.Update(900, 100, 9, 5)  // canary 5 %, baseline 1 %
		better.Update(900, 100, 9, 0) // canary 0 %
	}
	if worse.LogE() < math.Log(300) {
		t.Errorf("5x worse canary: e-value %g, want >= 300", math.Exp(worse.LogE()))
	}
	if better.LogE() > 0 {
		t.Errorf("better canary: e-value %g, want < 1", math.Exp(better.LogE()))
	}
	if rr := worse.RateRatio(); math.Abs(rr-5) > 1e-12 {
		t.Errorf("rate ratio %g, want 5", rr)
	}
	// No canary traffic: no information.
	idle := NewRegressionTest(0)
	idle.Update(1000, 0, 10, 0)
	if idle.LogE() != 0 {
		t.Errorf("idle canary: log e %g, want 0", idle.LogE())
	}
}

var t0 = time.Date(2026, 8, 17, 12, 0, 0, 0, time.UTC)

type tick struct{ b, c Counts }

func run(cfg Config, weight int, per tick, n int) Result {
	a := NewAnalysis(cfg, t0, weight)
	var o Observation
	o.Weight = weight
	a.Observe(Observation{At: t0, Weight: weight})
	for i := 1; i <= n; i++ {
		o.At = t0.Add(time.Duration(i) * time.Second)
		o.Baseline.Requests += per.b.Requests
		o.Baseline.Errors += per.b.Errors
		o.Baseline.Slow += per.b.Slow
		o.Canary.Requests += per.c.Requests
		o.Canary.Errors += per.c.Errors
		o.Canary.Slow += per.c.Slow
		a.Observe(o)
	}
	return a.Result()
}

func TestVerdicts(t *testing.T) {
	for _, tc := range []struct {
		name   string
		weight int
		per    tick
		n      int
		want   deploy.Verdict
		reason string
	}{
		{"healthy", 10, tick{Counts{Requests: 900, Errors: 9, Slow: 9}, Counts{Requests: 100, Errors: 1, Slow: 1}}, 120, deploy.VerdictContinue, "no regression"},
		{"errors x10", 10, tick{Counts{Requests: 900, Errors: 2, Slow: 9}, Counts{Requests: 100, Errors: 2, Slow: 1}}, 60, deploy.VerdictRollback, "error rate: 2.0% on the canary (6000 requests) vs 0.2% on the baseline (54000)"},
		{"slow x3", 10, tick{Counts{Requests: 900, Errors: 0, Slow: 9}, Counts{Requests: 100, Errors: 0, Slow: 3}}, 120, deploy.VerdictRollback, "slow-request rate"},
		{"split 20% asked 10%", 10, tick{Counts{Requests: 800, Errors: 8, Slow: 8}, Counts{Requests: 200, Errors: 2, Slow: 2}}, 60, deploy.VerdictPause, "traffic split 20% on the canary, 10% asked"},
		{"srm plus errors rolls back", 10, tick{Counts{Requests: 800, Errors: 0, Slow: 8}, Counts{Requests: 200, Errors: 10, Slow: 2}}, 60, deploy.VerdictRollback, "error rate"},
		{"better canary", 10, tick{Counts{Requests: 900, Errors: 20, Slow: 9}, Counts{Requests: 100, Errors: 0, Slow: 1}}, 300, deploy.VerdictContinue, ""},
		{"no traffic", 10, tick{}, 60, deploy.VerdictContinue, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(Config{}, tc.weight, tc.per, tc.n)
			if r.Verdict != tc.want {
				t.Fatalf("verdict %s (%s), want %s", r.Verdict, r.Reason, tc.want)
			}
			if !strings.Contains(r.Reason, tc.reason) {
				t.Errorf("reason %q, want it to contain %q", r.Reason, tc.reason)
			}
			if r.Verdict == deploy.VerdictRollback && (r.Evid.DecidedAfter <= 0 || r.Evid.DecidedAfter > float64(tc.n)) {
				t.Errorf("decided after %g s", r.Evid.DecidedAfter)
			}
		})
	}
}

func TestRejectionIsStickyAndTimed(t *testing.T) {
	a := NewAnalysis(Config{}, t0, 10)
	o := Observation{At: t0, Weight: 10}
	a.Observe(o)
	var first float64
	for i := 1; i <= 200; i++ {
		o.At = t0.Add(time.Duration(i) * time.Second)
		o.Baseline.Requests += 900
		o.Canary.Requests += 100
		if i <= 30 {
			o.Canary.Errors += 3 // a burst, then healthy again
		} else {
			o.Baseline.Errors += 9
			o.Canary.Errors += 1
		}
		if a.Observe(o) == deploy.VerdictRollback && first == 0 {
			first = a.Result().Evid.DecidedAfter
		}
	}
	r := a.Result()
	if r.Verdict != deploy.VerdictRollback || r.Evid.DecidedAfter != first || first == 0 || first > 30 {
		t.Fatalf("verdict %s decided after %g (first %g)", r.Verdict, r.Evid.DecidedAfter, first)
	}
	if !strings.Contains(r.Reason, "after "+secs(first)) {
		t.Errorf("reason %q lacks the time", r.Reason)
	}
}

func TestCounterReset(t *testing.T) {
	if d := delta(Counts{Requests: 5, Errors: 1, Slow: 0}, Counts{Requests: 100, Errors: 3, Slow: 2}); !reflect.DeepEqual(d, Counts{Requests: 5, Errors: 1, Slow: 0}) {
		t.Errorf("reset: %+v", d)
	}
	if d := delta(Counts{Requests: 110, Errors: 30, Slow: 2}, Counts{Requests: 100, Errors: 3, Slow: 2}); !reflect.DeepEqual(d, Counts{Requests: 10, Errors: 10, Slow: 0}) {
		t.Errorf("events clamp to requests: %+v", d)
	}
}

// poisson draws by inversion (small means only).
func poisson(r *rand.Rand, lam float64) int64 {
	l, k, p := math.Exp(-lam), int64(0), 1.0
	for {
		p *= r.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// Under H0 (equal error and slow rates, the asked split) the judge's
// false verdicts (rollback or pause) over a long bake stay below alpha.
func TestFalseVerdictRateUnderH0(t *testing.T) {
	const runs, ticks, alpha = 2000, 300, 0.01
	rng := rand.New(rand.NewPCG(1, 2))
	rollbacks, pauses := 0, 0
	for i := range runs {
		// Vary traffic and rates across runs; bursts in the error rate are
		// shared by both cohorts (overdispersion).
		lam := []float64{2, 10, 40}[i%3]
		q := []float64{0.01, 0.05}[i%2]
		a := NewAnalysis(Config{Alpha: alpha}, t0, 10)
		o := Observation{At: t0, Weight: 10}
		a.Observe(o)
		for s := 1; s <= ticks; s++ {
			qs := q
			if rng.Float64() < 0.05 {
				qs = math.Min(0.5, q*10)
			}
			o.At = t0.Add(time.Duration(s) * time.Second)
			nb, nc := poisson(rng, 0.9*lam), poisson(rng, 0.1*lam)
			o.Baseline.Requests += nb
			o.Canary.Requests += nc
			for range nb {
				if rng.Float64() < qs {
					o.Baseline.Errors++
				}
				if rng.Float64() < 0.02 {
					o.Baseline.Slow++
				}
			}
			for range nc {
				if rng.Float64() < qs {
					o.Canary.Errors++
				}
				if rng.Float64() < 0.02 {
					o.Canary.Slow++
				}
			}
			if a.Observe(o) != deploy.VerdictContinue {
				break
			}
		}
		switch a.Result().Verdict {
		case deploy.VerdictRollback:
			rollbacks++
		case deploy.VerdictPause:
			pauses++
		}
	}
	bound := alpha + 3*math.Sqrt(alpha*(1-alpha)/runs)
	fr := float64(rollbacks) / runs
	fp := float64(pauses) / runs
	t.Logf("false rollbacks %d/%d, false pauses %d/%d", rollbacks, runs, pauses, runs)
	if fr > bound || fp > bound || fr+fp > bound {
		t.Errorf("false rollback rate %.4f, pause rate %.4f, want <= %.4f", fr, fp, bound)
	}
}

type fakeSource struct{ obs []Observation }

func (f *fakeSource) Observe(context.Context, deploy.CanaryRequest) (Observation, error) {
	o := f.obs[0]
	if len(f.obs) > 1 {
		f.obs = f.obs[1:]
	}
	return o, nil
}

func TestJudgePort(t *testing.T) {
	var obs []Observation
	var o Observation
	for i := range 5 {
		o.At = t0.Add(time.Duration(i*10) * time.Second)
		obs = append(obs, o)
		o.Baseline = Counts{Requests: o.Baseline.Requests + 90000, Errors: o.Baseline.Errors + 900, Slow: o.Baseline.Slow + 900}
		o.Canary = Counts{Requests: o.Canary.Requests + 10000, Errors: o.Canary.Errors + 100, Slow: o.Canary.Slow + 100}
	}
	src := &fakeSource{obs: obs}
	j := NewJudge(src, Config{}, func() time.Time { return t0 })
	req := deploy.CanaryRequest{RunID: "r1", Step: 2, Weight: 10, Since: t0, BakeEnds: t0.Add(40 * time.Second)}
	var got []deploy.Verdict
	var last deploy.Judgement
	for range 5 {
		jm, err := j.Judge(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, jm.Verdict)
		last = jm
	}
	want := []deploy.Verdict{"continue", "continue", "continue", "continue", "promote"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("verdicts %v, want %v", got, want)
		}
	}
	var ev Evidence
	if err := json.Unmarshal(last.Evidence, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.ElapsedS != 40 || ev.Metrics[0].Canary.Requests != 40000 || ev.Metrics[0].Threshold != 200 || ev.SRM.Threshold != 100 || ev.SRM.NominalWeight != 10 {
		t.Errorf("evidence %+v", ev)
	}
	// The canary's next weight goes on with the same evidence, so alpha
	// bounds false rollbacks over the whole canary; the sample-ratio test
	// starts again at the new share with its evidence so far as a factor.
	srmBefore := ev.SRM.EValue
	req.Weight, req.Since = 20, t0.Add(40*time.Second)
	jm, _ := j.Judge(context.Background(), req)
	json.Unmarshal(jm.Evidence, &ev)
	if ev.Metrics[0].Canary.Requests != 40000 || ev.SRM.NominalWeight != 20 || ev.SRM.EValue != srmBefore ||
		!ev.Since.Equal(t0) || len(j.states) != 1 {
		t.Errorf("next weight: %+v, srm %+v (before %g), %d states", ev.Metrics[0], ev.SRM, srmBefore, len(j.states))
	}
	// A new step starts afresh, beside the first (a wave's canaries
	// are judged side by side).
	req.Step = 3
	jm, _ = j.Judge(context.Background(), req)
	json.Unmarshal(jm.Evidence, &ev)
	if ev.Metrics[0].Canary.Requests != 0 || len(j.states) != 2 {
		t.Errorf("new step kept state: %+v, %d states", ev.Metrics[0], len(j.states))
	}
}

// Under H0 the whole e-value, plug-in included, has expectation exactly 1
// after several intervals: the plug-in's ratio is fixed before each
// interval's events are seen. Enumerates every outcome of three intervals.
func TestRegressionMartingaleSeveralSteps(t *testing.T) {
	type iv struct{ nb, nc, e int64 }
	for _, steps := range [][]iv{
		{{90, 10, 4}, {90, 10, 4}, {90, 10, 4}},
		{{50, 50, 3}, {80, 20, 5}, {70, 30, 4}},
	} {
		var walk func(rt *RegressionTest, i int, p float64) float64
		walk = func(rt *RegressionTest, i int, p float64) float64 {
			if i == len(steps) {
				return p * math.Exp(rt.LogE())
			}
			s := steps[i]
			rho := float64(s.nc) / float64(s.nb+s.nc)
			sum := 0.0
			for x := int64(0); x <= s.e; x++ {
				next := *rt
				next.logL = append([]float64{}, rt.logL...)
				next.Update(s.nb, s.nc, s.e-x, x)
				lc, _ := math.Lgamma(float64(s.e + 1))
				l1, _ := math.Lgamma(float64(x + 1))
				l2, _ := math.Lgamma(float64(s.e - x + 1))
				px := math.Exp(lc - l1 - l2 + float64(x)*math.Log(rho) + float64(s.e-x)*math.Log1p(-rho))
				sum += walk(&next, i+1, p*px)
			}
			return sum
		}
		if mean := walk(NewRegressionTest(0), 0, 1); math.Abs(mean-1) > 1e-12 {
			t.Errorf("%v: E[e-value] = %.15g, want 1", steps, mean)
		}
	}
}

// A regression that starts late is caught about as fast as one present
// from the start: the plug-in part does not sink while the canary is
// healthy, as a pure mixture does.
func TestRegressionLateOnset(t *testing.T) {
	early, late := NewRegressionTest(0), NewRegressionTest(0)
	for range 600 {
		late.Update(900, 100, 9, 1) // healthy: 1 % both
	}
	ticks := func(rt *RegressionTest) int {
		for i := 1; i <= 1000; i++ {
			rt.Update(900, 100, 9, 3) // canary 3 %
			if rt.LogE() >= math.Log(200) {
				return i
			}
		}
		return 1000
	}
	e, l := ticks(early), ticks(late)
	if l > e*3/2+5 {
		t.Errorf("late onset detected after %d intervals, from the start after %d", l, e)
	}
}

// cumulative is a source whose every step's cohorts grow by the same
// counts per call, as two services' canaries of one wave do.
type cumulative struct {
	calls map[int]int
}

func (c *cumulative) Observe(_ context.Context, req deploy.CanaryRequest) (Observation, error) {
	c.calls[req.Step]++
	n := int64(c.calls[req.Step])
	return Observation{At: t0.Add(time.Duration(n) * 10 * time.Second),
		Baseline: Counts{Requests: 9000 * n, Errors: 9 * n}, Canary: Counts{Requests: 1000 * n, Errors: n}}, nil
}

// TestStepsJudgedSideBySideKeepTheirEvidence: two canary steps of one run
// judged alternately each accumulate their own evidence (they used to
// reset each other, so neither ever saw a request), and a step decided
// for good leaves no state behind.
func TestStepsJudgedSideBySideKeepTheirEvidence(t *testing.T) {
	j := NewJudge(&cumulative{calls: map[int]int{}}, Config{}, func() time.Time { return t0 })
	reqs := []deploy.CanaryRequest{
		{RunID: "r", Step: 1, Service: "web-bff", Weight: 10, Since: t0},
		{RunID: "r", Step: 2, Service: "mobile-bff", Weight: 10, Since: t0},
	}
	var ev Evidence
	for round := 1; round <= 3; round++ {
		for _, req := range reqs {
			jm, err := j.Judge(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(jm.Evidence, &ev); err != nil {
				t.Fatal(err)
			}
			// The first observation is the step's starting point; each
			// later one adds 1,000 canary requests.
			if want := int64(1000 * (round - 1)); ev.Metrics[0].Canary.Requests != want {
				t.Fatalf("round %d step %d: %d canary requests, want %d", round, req.Step, ev.Metrics[0].Canary.Requests, want)
			}
		}
	}
	if len(j.states) != 2 {
		t.Fatalf("%d states, want 2", len(j.states))
	}
	j.Forget("r")
	if len(j.states) != 0 {
		t.Fatalf("%d states after Forget", len(j.states))
	}
}

// TestReweightSkipsTheIntervalThatStraddlesTheShift: a canary that waited
// at 5 % (for an operator) and then went to 25 % has a first interval at
// the new weight holding mostly 5 % traffic; the sample-ratio test must
// not read it as a bad split (it paused healthy canaries).
func TestReweightSkipsTheIntervalThatStraddlesTheShift(t *testing.T) {
	a := NewAnalysis(Config{}, t0, 5)
	var o Observation
	step := func(d time.Duration, base, can int64) deploy.Verdict {
		o.At = o.At.Add(d)
		o.Baseline.Requests += base
		o.Canary.Requests += can
		return a.Observe(o)
	}
	o.At = t0
	a.Observe(o)
	for range 10 {
		step(time.Second, 190, 10) // 5 %
	}
	a.Reweight(25)
	// Five minutes at 5 % while the run waited, read as one interval.
	if v := step(5*time.Minute, 57000, 3000); v == deploy.VerdictPause {
		t.Fatalf("paused on the interval that straddles the shift")
	}
	for i := range 20 {
		if v := step(time.Second, 150, 50); v == deploy.VerdictPause {
			t.Fatalf("paused at 25 %% after %d s", i+1)
		}
	}
	// A real bad split at 25 % is still caught.
	paused := false
	for range 60 {
		if step(time.Second, 190, 10) == deploy.VerdictPause {
			paused = true
			break
		}
	}
	if !paused {
		t.Fatal("a 5 % split at 25 % asked was never paused")
	}
}
