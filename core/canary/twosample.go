package canary

import "math"

// TwoSampleTest is the anytime-valid test of "the canary's error rate is
// at most the baseline's" on both cohorts' counts, which, unlike the
// conditional test (RegressionTest), also learns from how rare errors are:
// a baseline rate estimated from the pre-deployment baseline makes each
// canary error as telling as against a known rate.
//
// For an interval with nb baseline and nc canary requests, an alternative
// (pc1 for the canary, pb1 for the baseline) gives the factor
//
//	Bern(pc1)^canary Bern(pb1)^baseline / Bern(p0)^both,  p0 = (nc pc1 + nb pb1) / (nc + nb),
//
// the likelihood ratio against the null's closest point, the pooled rate
// (the reverse information projection of Turner, Ly & Grünwald's safe
// tests for 2x2 tables). By Jensen's inequality its mean is at most 1
// when both cohorts share any rate, and lower when the canary's is lower
// (pc1 > p0), so with pb1 and pc1 fixed before the interval (predictable:
// here pb1 is the baseline's rate so far and pc1 a ratio of it) the
// product is a supermartingale under the null, whatever the true rates.
// The e-process is half a mixture over the grid of ratios pc1/pb1 and
// half a plug-in at the canary's recent rate, as in RegressionTest.
type TwoSampleTest struct {
	ratio []float64
	logW  []float64
	logL  []float64
	logP  float64
	logE  float64
	ewN   float64 // canary requests, exponentially weighted
	ewX   float64 // canary errors, likewise
	// Restarted plug-ins: the same bet learnt only from the data since
	// RestartAfter[i] seconds into the step, each worth 1 until then. A
	// regression that starts late is then bet on by a plug-in that has
	// not spent the healthy minutes, at the price of its small weight.
	restart []plugIn
}

type plugIn struct{ logP, ewN, ewX float64 }

// RestartAfter are the restarts' starting times, seconds into the step;
// restarts share RestartWeight of the e-value.
var RestartAfter = []float64{60, 120, 240, 480, 960, 1920, 3840}

// RestartWeight is the restarts' share of the two-sample test's e-value.
const RestartWeight = 0.2

// NewTwoSampleTest returns the test.
func NewTwoSampleTest() *TwoSampleTest {
	d := GridLogRatios()
	t := &TwoSampleTest{ratio: make([]float64, len(d)), logL: make([]float64, len(d)), logW: make([]float64, len(d))}
	// The prior weighs each ratio by its log, ln r: a large regression is
	// the one that matters at thin traffic, where every nat of prior costs
	// minutes; a small one is only detectable at busy traffic, where a
	// nat costs seconds.
	var sum float64
	for _, v := range d {
		sum += v
	}
	for k, v := range d {
		t.ratio[k] = math.Exp(v)
		t.logW[k] = math.Log(v / sum)
	}
	return t
}

// factor is the log of one interval's factor for the alternative (pc1, pb1).
func factor(nb, nc, xb, xc, pb1, pc1 float64) float64 {
	p0 := (nc*pc1 + nb*pb1) / (nc + nb)
	lp0, lq0 := math.Log(p0), math.Log1p(-p0)
	return xc*(math.Log(pc1)-lp0) + (nc-xc)*(math.Log1p(-pc1)-lq0) +
		xb*(math.Log(pb1)-lp0) + (nb-xb)*(math.Log1p(-pb1)-lq0)
}

// Update adds one interval ending at seconds into the step: baseline and
// canary requests and errors, and pb, the baseline's error rate as
// estimated before the interval (0 < pb < 1).
func (t *TwoSampleTest) Update(nb, nc, xb, xc, pb, at float64) {
	for len(t.restart) < len(RestartAfter) && at > RestartAfter[len(t.restart)] {
		t.restart = append(t.restart, plugIn{})
	}
	if nb <= 0 || nc <= 0 || !(pb > 0 && pb < 1) {
		return // one cohort served nothing: no comparison
	}
	xb, xc = min(max(xb, 0), nb), min(max(xc, 0), nc)
	// The grid's factors with the baseline's terms computed once: two
	// logarithms per ratio besides p0's (the judge runs this for every
	// service in flight at every observation).
	lpb, lqb := math.Log(pb), math.Log1p(-pb)
	for k, r := range t.ratio {
		pc1 := min(r*pb, 0.999)
		if pc1 <= pb {
			continue
		}
		p0 := (nc*pc1 + nb*pb) / (nc + nb)
		lp0, lq0 := math.Log(p0), math.Log1p(-p0)
		t.logL[k] += xc*(math.Log(pc1)-lp0) + (nc-xc)*(math.Log1p(-pc1)-lq0) + xb*(lpb-lp0) + (nb-xb)*(lqb-lq0)
	}
	// The plug-in: the canary's recent rate, shrunk towards pb by
	// PlugInPrior expected errors; no bet unless above pb.
	decay := math.Exp2(-nc * pb / PlugInHalfLife)
	bet := func(p *plugIn, prior float64) {
		if pc := min((p.ewX+prior)/(p.ewN+prior/pb), 0.999); pc > pb*t.ratio[0] {
			p.logP += factor(nb, nc, xb, xc, pb, min(pc, pb*t.ratio[len(t.ratio)-1], 0.999))
		}
		p.ewN = p.ewN*decay + nc
		p.ewX = p.ewX*decay + xc
	}
	main := plugIn{t.logP, t.ewN, t.ewX}
	bet(&main, PlugInPrior)
	t.logP, t.ewN, t.ewX = main.logP, main.ewN, main.ewX
	rs := math.Inf(-1)
	for i := range t.restart {
		bet(&t.restart[i], 1)
	}
	for i := range RestartAfter {
		l := 0.0 // not started yet: worth 1
		if i < len(t.restart) {
			l = t.restart[i].logP
		}
		rs = logAdd(rs, l)
	}
	rs -= math.Log(float64(len(RestartAfter)))
	rest := logMix(t.logP, logSumExpWeighted(t.logW, t.logL), TwoSamplePlugInWeight/(1-RestartWeight))
	t.logE = logMix(rs, rest, RestartWeight)
}

// TwoSamplePlugInWeight is the plug-in's weight in the two-sample test:
// less than RegressionTest's, because its mixture's prior already leans to
// the large ratios that thin traffic can detect.
const TwoSamplePlugInWeight = 0.25

// LogE is the log e-value.
func (t *TwoSampleTest) LogE() float64 { return t.logE }
