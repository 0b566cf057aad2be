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
	"github.com/warroom/warroom/core/model"
)

// Under H0 with p = p0 each one-sided test's e-value has mean exactly 1
// after one interval: sum over x of Binom(x; n, p0) * E(x) = 1.
func TestOneSidedMartingaleOneStep(t *testing.T) {
	for _, down := range []bool{false, true} {
		for _, tc := range []struct{ n, p0, phi float64 }{{20, 0.01, 1}, {50, 0.3, 1}, {7, 0.05, 1}} {
			mean := 0.0
			for x := 0.0; x <= tc.n; x++ {
				ot := newOneSided(down)
				ot.Update(tc.n, x, tc.p0, tc.phi)
				lc, _ := math.Lgamma(tc.n + 1)
				l1, _ := math.Lgamma(x + 1)
				l2, _ := math.Lgamma(tc.n - x + 1)
				mean += math.Exp(lc-l1-l2+x*math.Log(tc.p0)+(tc.n-x)*math.Log1p(-tc.p0)) * math.Exp(ot.LogE())
			}
			if math.Abs(mean-1) > 1e-9 {
				t.Errorf("down %v %+v: E[e] = %.12g, want 1", down, tc, mean)
			}
		}
	}
}

// On H0's far side the mean is below 1 (a supermartingale): an upward
// test fed p < p0, a downward one fed p > p0.
func TestOneSidedSupermartingale(t *testing.T) {
	for _, c := range []struct {
		down  bool
		p, p0 float64
	}{{false, 0.005, 0.01}, {true, 0.02, 0.01}} {
		n := 40.0
		mean := 0.0
		for x := 0.0; x <= n; x++ {
			ot := newOneSided(c.down)
			ot.Update(n, x, c.p0, 1)
			lc, _ := math.Lgamma(n + 1)
			l1, _ := math.Lgamma(x + 1)
			l2, _ := math.Lgamma(n - x + 1)
			mean += math.Exp(lc-l1-l2+x*math.Log(c.p)+(n-x)*math.Log1p(-c.p)) * math.Exp(ot.LogE())
		}
		if mean > 1 {
			t.Errorf("%+v: E[e] = %g > 1", c, mean)
		}
	}
}

// The confidence sequence's bounds sit where the mixture's e-value
// crosses 1/level, on either side of the estimate, and cover the truth
// uniformly over time in simulation.
func TestConfidenceBounds(t *testing.T) {
	x, n, level := 30.0, 3000.0, 0.05
	lo, hi := LowerBound(x, n, level), UpperBound(x, n, level)
	if !(lo < 0.01 && 0.01 < hi) || lo <= 0 || hi >= 0.1 {
		t.Fatalf("bounds [%g, %g] around 0.01", lo, hi)
	}
	for _, p := range []float64{lo, hi} {
		if e := SRMLogE(int64(x), int64(n), p, 0.5, 0.5); math.Abs(e-math.Log(1/level)) > 1e-6 {
			t.Errorf("log e at the bound %g = %g, want ln 20", p, e)
		}
	}
	if LowerBound(0, 100, level) != 0 || UpperBound(0, 0, level) != 1 {
		t.Error("edge cases")
	}
	// Coverage at all times at once: P(the truth ever leaves) <= level.
	r := rand.New(rand.NewPCG(1, 2))
	miss := 0
	const runs = 400
	for range runs {
		var xs, ns float64
		for range 200 {
			ns += 20
			for range 20 {
				if r.Float64() < 0.01 {
					xs++
				}
			}
			if UpperBound(xs, ns, level) < 0.01 || LowerBound(xs, ns, level) > 0.01 {
				miss++
				break
			}
		}
	}
	if float64(miss)/runs > level {
		t.Errorf("confidence sequence missed the truth in %d of %d runs", miss, runs)
	}
}

// tickN feeds n one-second ticks of per-cohort counts into an analysis.
func tickN(a *Analysis, o *Observation, per tick, n int) {
	for range n {
		o.At = o.At.Add(time.Second)
		o.Baseline.Requests += per.b.Requests
		o.Baseline.Errors += per.b.Errors
		o.Baseline.Slow += per.b.Slow
		o.Canary.Requests += per.c.Requests
		o.Canary.Errors += per.c.Errors
		o.Canary.Slow += per.c.Slow
		a.Observe(*o)
	}
}

// Promotion needs proof: a thin canary whose bake ends is not promoted;
// it stays at continue with how much more it needs, and is promoted once
// the proof holds, with the bound in the reason.
func TestPromotionNeedsProof(t *testing.T) {
	a := NewAnalysis(Config{}, t0, 10)
	o := Observation{At: t0, Weight: 10}
	a.Observe(o)
	per := tick{Counts{Requests: 9}, Counts{Requests: 1}} // 1 rps canary, no errors
	tickN(a, &o, per, 120)
	r := a.Result().Finish()
	if r.Verdict != deploy.VerdictContinue || r.Evid.Insufficient == nil {
		t.Fatalf("after 120 canary requests: %s (%s), want continue with a shortfall", r.Verdict, r.Reason)
	}
	sf := r.Evid.Insufficient
	if sf.Requests != 120 || sf.MoreRequests <= 0 || math.Abs(sf.CanaryRPS-1) > 1e-9 || sf.MoreS <= 0 {
		t.Errorf("shortfall %+v", sf)
	}
	if !strings.HasPrefix(r.Reason, "insufficient evidence: 120 canary requests, about ") || !strings.Contains(r.Reason, "at the current traffic") {
		t.Errorf("reason %q", r.Reason)
	}
	// The estimate is honest: feeding the requests it asked for (plus a
	// margin for the estimate's rounding) proves both bounds.
	tickN(a, &o, per, int(float64(sf.MoreRequests)*1.5))
	r = a.Result().Finish()
	if r.Verdict != deploy.VerdictPromote {
		t.Fatalf("after %d more: %s (%s)", sf.MoreRequests, r.Verdict, r.Reason)
	}
	for _, want := range []string{"promoted on proof: error rate <= base + 0.5 pp with 95 % confidence after ", "slow-request rate <= base + 0.5 pp"} {
		if !strings.Contains(r.Reason, want) {
			t.Errorf("reason %q lacks %q", r.Reason, want)
		}
	}
	if !r.Evid.Proved || r.Evid.Proofs[0].ProvedAfterS <= 120 {
		t.Errorf("proofs %+v", r.Evid.Proofs)
	}
}

// A canary that is visibly worse, but not enough to roll back yet, is
// never promoted: 8.5 % errors against 0 % (issue 13's misleading case).
func TestWorseCanaryNotPromoted(t *testing.T) {
	a := NewAnalysis(Config{}, t0, 10)
	o := Observation{At: t0, Weight: 10}
	a.Observe(o)
	o.Canary = Counts{Requests: 70, Errors: 6}
	o.Baseline = Counts{Requests: 630}
	o.At = o.At.Add(30 * time.Second)
	a.Observe(o)
	r := a.Result().Finish()
	if r.Verdict == deploy.VerdictPromote {
		t.Fatalf("promoted: %s", r.Reason)
	}
	if r.Verdict == deploy.VerdictContinue && (r.Evid.Insufficient == nil || r.Evid.Insufficient.MoreRequests != -1) {
		t.Errorf("shortfall %+v: want 'not provable at the current rates'", r.Evid.Insufficient)
	}
}

// Missed regressions: a canary exactly at the tolerance (base 1 %,
// canary 1.5 %) is promoted in at most beta of runs, however long it
// bakes; a healthy one at that traffic is promoted in most.
func TestMissedRegressionBound(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	const runs = 300
	promoted := map[float64]int{}
	for _, pc := range []float64{0.015, 0.01} {
		for range runs {
			a := NewAnalysis(Config{}, t0, 10)
			o := Observation{At: t0, Weight: 10}
			a.Observe(o)
			for range 600 {
				o.At = o.At.Add(time.Second)
				o.Baseline.Requests += poisson(r, 270)
				o.Canary.Requests += poisson(r, 30)
				o.Baseline.Errors += poisson(r, 270*0.01)
				o.Canary.Errors += poisson(r, 30*pc)
				if a.Observe(o) != deploy.VerdictContinue {
					break
				}
				if a.Proved() {
					promoted[pc]++
					break
				}
			}
		}
	}
	if f := float64(promoted[0.015]) / runs; f > DefaultBeta {
		t.Errorf("regression at the tolerance promoted in %.3f of runs, want <= %g", f, DefaultBeta)
	}
	if f := float64(promoted[0.01]) / runs; f < 0.5 {
		t.Errorf("healthy canary proved in only %.3f of runs", f)
	}
}

func TestBakeNeeded(t *testing.T) {
	thin, ok := BakeNeeded(Config{}, Traffic{CanaryRPS: 0.5, BaseRPS: 4.5, BaseErrorRate: 0.001}, 24*time.Hour)
	busy, ok2 := BakeNeeded(Config{}, Traffic{CanaryRPS: 50, BaseRPS: 450, BaseErrorRate: 0.001}, 24*time.Hour)
	if !ok || !ok2 || !(busy < thin) || busy <= 0 {
		t.Fatalf("bake needed: thin %v (%v), busy %v (%v)", thin, ok, busy, ok2)
	}
	// About 100 x the traffic: about 1/100 of the time.
	if ratio := thin.Seconds() / busy.Seconds(); ratio < 50 || ratio > 200 {
		t.Errorf("thin/busy = %g", ratio)
	}
	if _, ok := BakeNeeded(Config{}, Traffic{CanaryRPS: 0.001, BaseErrorRate: 0.01}, time.Hour); ok {
		t.Error("a trickle proves nothing in an hour")
	}
	// A judge fed the same expected traffic proves it within a step of
	// the estimate.
	a := NewAnalysis(Config{}, t0, 10)
	o := Observation{At: t0, Weight: 10}
	a.Observe(o)
	per := tick{Counts{Requests: 450}, Counts{Requests: 50}}
	var bx, cx float64
	for range int(busy.Seconds()) + 10 {
		bx += 450 * 0.001
		cx += 50 * 0.001
		per.b.Errors, per.c.Errors = int64(bx)-o.Baseline.Errors, int64(cx)-o.Canary.Errors
		tickN(a, &o, per, 1)
	}
	if !a.proofs[0].proved {
		t.Errorf("the judge did not prove the error bound within BakeNeeded's %v", busy)
	}
}

// Reasons say what was proved, and the judgement carries it as fields.
func TestPromotionReason(t *testing.T) {
	var obs []Observation
	var o Observation
	for i := range 7 {
		o.At = t0.Add(time.Duration(i*10) * time.Second)
		obs = append(obs, o)
		o.Baseline = Counts{Requests: o.Baseline.Requests + 9000, Errors: o.Baseline.Errors + 9}
		o.Canary = Counts{Requests: o.Canary.Requests + 1000, Errors: o.Canary.Errors + 1}
	}
	j := NewJudge(&fakeSource{obs: obs}, Config{}, func() time.Time { return t0 })
	req := deploy.CanaryRequest{RunID: "r", Step: 1, Weight: 10, Since: t0, BakeEnds: t0.Add(60 * time.Second)}
	var jm deploy.Judgement
	for range 7 {
		var err error
		if jm, err = j.Judge(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	}
	if jm.Verdict != deploy.VerdictPromote || !strings.Contains(jm.Reason, "promoted on proof: error rate <= base + 0.5 pp with 95 % confidence after 3,000 canary requests (one-sample sequential test") {
		t.Fatalf("%s: %s", jm.Verdict, jm.Reason)
	}
	var ev Evidence
	if err := json.Unmarshal(jm.Evidence, &ev); err != nil {
		t.Fatal(err)
	}
	if !ev.Proved || ev.Proofs[0].Claim != "error rate <= base + 0.5 pp" || ev.Proofs[0].Confidence != 0.95 || ev.Proofs[0].Canary.Requests != 6000 || ev.Proofs[0].ProvedAfterRequests != 3000 {
		t.Errorf("proof evidence %+v", ev.Proofs[0])
	}
}

// The judgement's hand-written JSON decodes to exactly what
// encoding/json's would, for a rich evidence (histograms, both SLO tests,
// a shortfall) and a bare one.
func TestEvidenceJSONMatchesEncodingJSON(t *testing.T) {
	s := newLatencySim(Config{Objectives: Objectives{ErrorRate: 0.01, LatencyP99Ms: 150}}, 4, 10, 0.5, 1, 0)
	s.step(60)
	rich := s.a.Result().Finish().Evid
	if rich.Insufficient == nil || len(rich.Metrics) != 4 {
		t.Fatalf("evidence not rich enough: %+v", rich)
	}
	rich.Metrics[0].Test = "quotes \" and \\ and \n and ≤ \x01"
	h := newLatencySim(Config{}, 13, 10, 10, 1, 0)
	h.step(600)
	promoted := h.a.Result().Finish().Evid
	if !promoted.Proved || promoted.Proofs[0].ProvedAfterRequests == 0 {
		t.Fatalf("not proved: %+v", promoted.Proofs)
	}
	promoted.ElapsedS = math.Copysign(0, -1) // a negative zero, written as encoding/json does
	for _, ev := range []Evidence{rich, promoted, NewAnalysis(Config{}, t0, 10).Result().Evid, {}} {
		mine := ev.appendJSON(nil)
		std, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		var a, b Evidence
		if err := json.Unmarshal(mine, &a); err != nil {
			t.Fatalf("%v: %s", err, mine)
		}
		if err := json.Unmarshal(std, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("decoded differently:\n%s\n%s", mine, std)
		}
		var ma, mb map[string]any
		json.Unmarshal(mine, &ma)
		json.Unmarshal(std, &mb)
		if !reflect.DeepEqual(ma, mb) {
			t.Errorf("documents differ:\n%s\n%s", mine, std)
		}
	}
}

// Each step is configured for its service: here the SLO's objectives
// reach the evidence, and alpha is split across a train of 10.
func TestJudgeConfigFor(t *testing.T) {
	obs := []Observation{{At: t0}, {At: t0.Add(time.Second), Baseline: Counts{Requests: 900}, Canary: Counts{Requests: 100}}}
	j := NewJudge(&fakeSource{obs: obs}, Config{}, nil, WithConfigFor(func(req deploy.CanaryRequest) Config {
		if req.Service != "checkout" {
			t.Errorf("asked for %q", req.Service)
		}
		return Config{Train: 10, Objectives: Objectives{ErrorRate: 0.0005}}
	}))
	// BakeEnds at the start: every judgement is at the bake's end, and
	// carries its evidence (mid-bake, "continue" carries none).
	req := deploy.CanaryRequest{RunID: "r", Step: 1, Service: "checkout", Weight: 10, Since: t0, BakeEnds: t0}
	j.Judge(context.Background(), req)
	jm, err := j.Judge(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	var ev Evidence
	if err := json.Unmarshal(jm.Evidence, &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Objectives.ErrorRate != 0.0005 || ev.Train != 10 || math.Abs(ev.AlphaPerTest-0.01/10/3) > 1e-15 || len(ev.Metrics) != 3 {
		t.Errorf("evidence %+v", ev)
	}
}

func TestFromSLO(t *testing.T) {
	cfg := FromSLO(Config{}, model.SLO{Availability: 99.95, LatencyP99: model.Duration(120 * time.Millisecond)})
	if math.Abs(cfg.Objectives.ErrorRate-0.0005) > 1e-12 || cfg.Objectives.LatencyP99Ms != 120 || cfg.ErrorTolerance != DefaultErrorTolerance {
		t.Errorf("99.95 %%, 120 ms: %+v", cfg)
	}
	loose := FromSLO(Config{}, model.SLO{Availability: 98})
	if math.Abs(loose.ErrorTolerance-0.02) > 1e-12 {
		t.Errorf("98 %%: tolerance %g, want the 2 %% budget", loose.ErrorTolerance)
	}
	if kept := FromSLO(Config{ErrorTolerance: 0.001}, model.SLO{Availability: 98}); kept.ErrorTolerance != 0.001 {
		t.Errorf("an explicit tolerance was overridden: %g", kept.ErrorTolerance)
	}
}
