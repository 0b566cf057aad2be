package canary

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
)

func TestHistogramAboveAndQuantile(t *testing.T) {
	bounds := []float64{10, 20, 50, math.Inf(1)}
	h := []float64{10, 20, 60, 10}
	for _, c := range []struct {
		tau, want float64
		pess      bool
	}{{0, 100, false}, {10, 90, false}, {15, 80, false}, {35, 40, false}, {50, 10, false}, {60, 0, false}, {60, 10, true}} {
		if got := above(h, bounds, c.tau, c.pess); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("above %g (pessimistic %v) = %g, want %g", c.tau, c.pess, got, c.want)
		}
	}
	for _, c := range []struct{ q, want float64 }{{0.05, 5}, {0.2, 15}, {0.6, 20 + 30*30/60.0}, {0.95, 50}} {
		if got := quantileOf(h, bounds, c.q); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("quantile %g = %g, want %g", c.q, got, c.want)
		}
	}
	if !math.IsNaN(quantileOf(make([]float64, 4), bounds, 0.5)) {
		t.Error("empty histogram has a quantile")
	}
	if checkBounds([]float64{1, 1}) == nil || checkBounds([]float64{-1}) == nil || checkBounds(bounds) != nil {
		t.Error("checkBounds")
	}
}

// latencyBounds are fine buckets (about 10 % wide) from 1 ms to 10 s, as
// a VictoriaMetrics histogram or a native one gives.
var latencyBounds = func() []float64 {
	var b []float64
	for v := 1.0; v < 10000; v *= 1.1 {
		b = append(b, v)
	}
	return append(b, math.Inf(1))
}()

// latencySim feeds both cohorts log-normal latency around median 30 ms
// (sigma 0.5); the canary's is scaled by mult and shifted by addMs.
type latencySim struct {
	r      *rand.Rand
	a      *Analysis
	o      Observation
	mult   float64
	addMs  float64
	rps    [2]float64
	errors [2]float64
}

func newLatencySim(cfg Config, seed uint64, weight int, rpsCanary, mult, addMs float64) *latencySim {
	s := &latencySim{r: rand.New(rand.NewPCG(seed, 3)), a: NewAnalysis(cfg, t0, weight), mult: mult, addMs: addMs}
	s.rps = [2]float64{rpsCanary * float64(100-weight) / float64(weight), rpsCanary}
	s.o = Observation{At: t0, Weight: weight, BoundsMs: latencyBounds}
	s.o.Baseline.Buckets = make([]int64, len(latencyBounds))
	s.o.Canary.Buckets = make([]int64, len(latencyBounds))
	// The baseline's history before the step: the pre-deployment baseline.
	s.add(&s.o.Baseline, 3000, 1, 0, 0)
	s.a.Observe(s.o)
	return s
}

func (s *latencySim) add(c *Counts, n int64, mult, addMs, errRate float64) {
	for range n {
		v := 30*math.Exp(0.5*s.r.NormFloat64())*mult + addMs
		i := 0
		for i < len(latencyBounds)-1 && v > latencyBounds[i] {
			i++
		}
		c.Buckets[i]++
		c.Requests++
		if s.r.Float64() < errRate {
			c.Errors++
		}
	}
}

func (s *latencySim) step(secs int) deploy.Verdict {
	for range secs {
		s.o.At = s.o.At.Add(time.Second)
		s.add(&s.o.Baseline, poisson(s.r, s.rps[0]), 1, 0, s.errors[0])
		s.add(&s.o.Canary, poisson(s.r, s.rps[1]), s.mult, s.addMs, s.errors[1])
		if v := s.a.Observe(s.o); v != deploy.VerdictContinue {
			return v
		}
	}
	return deploy.VerdictContinue
}

// Latency is judged as a distribution: +100 ms on a 30 ms median (far
// below any fixed 500 ms cutoff) and +20 % are rolled back by the shift
// test, a healthy canary is proved within the p95 tolerance, and the
// evidence names the baseline's quantiles.
func TestLatencyDistribution(t *testing.T) {
	for _, c := range []struct {
		name        string
		mult, addMs float64
		want        deploy.Verdict
	}{
		{"+100ms", 1, 100, deploy.VerdictRollback},
		{"+20%", 1.2, 0, deploy.VerdictRollback},
		{"healthy", 1, 0, deploy.VerdictContinue},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newLatencySim(Config{}, 1, 10, 10, c.mult, c.addMs)
			if v := s.step(600); v != c.want {
				t.Fatalf("verdict %s (%s), want %s", v, s.a.Result().Reason, c.want)
			}
			r := s.a.Result()
			if r.Evid.Latency == nil || !r.Evid.Latency.Histogram || math.Abs(r.Evid.Latency.P50Ms-30) > 3 || math.Abs(r.Evid.Latency.P95Ms-30*math.Exp(0.5*1.645)) > 8 {
				t.Errorf("latency evidence %+v", r.Evid.Latency)
			}
			switch c.want {
			case deploy.VerdictRollback:
				if !strings.Contains(r.Reason, "latency shift:") || !strings.Contains(r.Reason, "shift of the canary's latency distribution") {
					t.Errorf("reason %q", r.Reason)
				}
			default:
				if f := r.Finish(); f.Verdict != deploy.VerdictPromote || !strings.Contains(f.Reason, "p95 latency <= ") {
					t.Errorf("healthy: %s (%s)", f.Verdict, f.Reason)
				}
			}
		})
	}
}

// A +20 % shift (the tolerance) is never proved within the tolerance,
// and a slower canary is not proved by the SLO's latency test either.
func TestLatencyAtToleranceNotProved(t *testing.T) {
	for seed := range uint64(20) {
		s := newLatencySim(Config{}, seed, 50, 20, 1.2, 0)
		s.step(120)
		if s.a.proofs[1].proved {
			t.Fatalf("seed %d: +20 %% proved within +20 %%: %s", seed, s.a.Result().Reason)
		}
	}
}

// The SLO-anchored latency test rolls back a canary slower than the SLO's
// p99 (the baseline meets a 200 ms p99, the canary is 250 ms slower), and
// alpha is split three ways.
func TestLatencySLO(t *testing.T) {
	cfg := Config{Objectives: Objectives{LatencyP99Ms: 200}}
	s := newLatencySim(cfg, 2, 10, 2, 1, 250)
	if v := s.step(600); v != deploy.VerdictRollback {
		t.Fatalf("verdict %s", v)
	}
	r := s.a.Result()
	var slo *MetricEvid
	for i := range r.Evid.Metrics {
		if r.Evid.Metrics[i].Name == "latency_slo" {
			slo = &r.Evid.Metrics[i]
		}
	}
	if slo == nil || !slo.Rejected || slo.Against != "slo" || slo.ReferenceRate < 0.01 {
		t.Errorf("SLO evidence %+v", slo)
	}
	if r.Evid.AlphaPerTest != 0.01/3 {
		t.Errorf("alpha per test %g, want alpha/3", r.Evid.AlphaPerTest)
	}
}

// The 100 % step: no baseline serves any more; the judge compares the
// canary with the baseline recorded by the earlier step (carried by the
// judge), and evidence keeps accumulating.
func TestHundredPercentStep(t *testing.T) {
	for _, c := range []struct {
		name      string
		addMs     float64
		errRate   float64
		want      deploy.Verdict
		wantProof bool
	}{
		{"healthy", 0, 0.001, deploy.VerdictContinue, true},
		{"errors", 0, 0.02, deploy.VerdictRollback, false},
		{"slower", 100, 0.001, deploy.VerdictRollback, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newLatencySim(Config{}, 5, 10, 5, 1, 0)
			s.errors = [2]float64{0.001, 0.001}
			s.step(120)
			ref := s.a.Reference()
			if ref.P95Ms == 0 || ref.Requests < 3000 {
				t.Fatalf("reference %+v", ref)
			}
			// The next step: all traffic on the canary.
			a := NewAnalysis(Config{}, s.o.At, 100)
			a.SetReference(ref)
			s.a, s.o.Weight, s.rps, s.mult, s.addMs = a, 100, [2]float64{0, 50}, 1, c.addMs
			s.errors[1] = c.errRate
			a.Observe(s.o)
			v := s.step(600)
			r := a.Result()
			if v != c.want {
				t.Fatalf("verdict %s (%s), want %s", v, r.Reason, c.want)
			}
			if r.Evid.Against != "pre-deployment baseline" || r.Evid.Metrics[0].Against != "pre-deployment baseline" || r.Evid.Metrics[0].Canary.Requests == 0 {
				t.Errorf("evidence %+v", r.Evid.Metrics[0])
			}
			if a.Proved() != c.wantProof {
				t.Errorf("proved %v, want %v (%s)", a.Proved(), c.wantProof, r.Reason)
			}
		})
	}
}

// Overdispersion: error counts whose rate drifts are estimated to vary
// more than binomial ones, and the one-sample tests are widened to match.
func TestDispersionEstimate(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	var plain, drift dispersion
	m := 1.0
	for i := range 3600 {
		n := float64(poisson(r, 100))
		plain.add(n, float64(poisson(r, n*0.01)), time.Second)
		if i%10 == 0 {
			m = -math.Log(1 - r.Float64()) // the rate drifts: redrawn every 10 s, mean 1, variance 1
		}
		drift.add(n, float64(poisson(r, n*0.01*m)), time.Second)
	}
	p, _ := plain.phi()
	d, _ := drift.phi()
	if p > 1.5 || d < 2 {
		t.Errorf("phi: plain %g (want about 1), drifting %g (want > 2)", p, d)
	}
	if got := drift.phiFor(0.1); math.Abs(got-(1+(d-1)*0.1)) > 1e-12 {
		t.Errorf("phiFor(0.1) = %g", got)
	}
	// Tempering: the same counts give 1/phi of the log evidence.
	a, b := NewUpwardTest(), NewUpwardTest()
	a.Update(1000, 30, 0.01, 1)
	b.Update(1000, 30, 0.01, 4)
	if !(b.LogE() < a.LogE()/2) || b.LogE() <= 0 {
		t.Errorf("tempered log e %g vs %g", b.LogE(), a.LogE())
	}
}

// The shift test's false-rollback rate on identical distributions stays
// below its alpha, at thin and at busy traffic, and it detects +20 %.
func TestShiftTestFalseRate(t *testing.T) {
	const runs = 300
	for _, rps := range []float64{0.5, 20} {
		fr := 0
		for seed := range uint64(runs) {
			s := newLatencySim(Config{}, 1000+seed, 10, rps, 1, 0)
			test := NewShiftTest(s.a.ref.Hist)
			for range 300 {
				var hb, hc [2]Counts
				hb[0].Buckets = make([]int64, len(latencyBounds))
				hc[0].Buckets = make([]int64, len(latencyBounds))
				s.add(&hb[0], poisson(s.r, 9*rps), 1, 0, 0)
				s.add(&hc[0], poisson(s.r, rps), 1, 0, 0)
				test.Update(bucketDelta(hb[0].Buckets, nil), bucketDelta(hc[0].Buckets, nil))
				if test.LogE() >= math.Log(20) {
					fr++
					break
				}
			}
		}
		if f := float64(fr) / runs; f > 0.05+2*math.Sqrt(0.05*0.95/runs) {
			t.Errorf("%g rps: e-value reached 20 in %.3f of identical runs, want <= 0.05", rps, f)
		}
	}
}

// A canary step whose last weight is 100 % goes on in the same analysis:
// once the baseline has no traffic, the tests compare the canary with
// the baseline recorded so far, and a regression is still caught.
func TestReweightToHundred(t *testing.T) {
	s := newLatencySim(Config{}, 8, 10, 5, 1, 0)
	s.errors = [2]float64{0.002, 0.002}
	if v := s.step(120); v != deploy.VerdictContinue {
		t.Fatalf("healthy at 10 %%: %s", v)
	}
	s.a.Reweight(100)
	s.o.Weight = 100
	s.rps = [2]float64{0, 50}
	s.errors[1] = 0.03
	if v := s.step(300); v != deploy.VerdictRollback {
		t.Fatalf("errors at 100 %%: %s (%s)", v, s.a.Result().Reason)
	}
	r := s.a.Result()
	if r.Evid.Against != "pre-deployment baseline" || !strings.Contains(r.Reason, "pre-deployment baseline") {
		t.Errorf("reason %q", r.Reason)
	}
}

func TestBucketsFromLE(t *testing.T) {
	got := BucketsFromLE([]float64{3, 7, 7, 6, 10})
	want := []int64{3, 4, 0, 0, 3}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("BucketsFromLE = %v, want %v", got, want)
		}
	}
}
