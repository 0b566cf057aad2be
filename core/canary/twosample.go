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
// The e-process is a weighted average of bets on a grid of ratios
// pc1/pb1, a bet on the tolerance (each averaged over the regression's
// onset) and a plug-in at the canary's recent rate.
type TwoSampleTest struct {
	ratio    []float64
	logRatio []float64
	logW     []float64
	logP     float64
	logE     float64
	ewN      float64 // canary requests, exponentially weighted
	ewX      float64 // canary errors, likewise
	// Focus is the absolute increase of the canary's error rate the test
	// bets on most (the service's error tolerance: the regression that
	// must not be promoted, the slowest of those to detect); 0: none.
	// Its component bets pc1 = pb + Focus, fixed before each interval
	// like the grid's, so the mixture stays an e-process.
	Focus float64
	// Late onsets of the fixed bets (the grid's ratios and the focus):
	// for each bet, the log of the sum, over the onsets started so far,
	// of each onset's prior weight times the bet's product since that
	// onset (the onset at the step's start included, with weight 1 -
	// OnsetWeight). The onsets started share each interval's factor, so
	// a bet's sum updates in O(1): times the factor, plus the weight of
	// the onsets that start (a weighted Shiryaev-Roberts recursion).
	// onsetCDF is the prior mass of the late onsets started.
	logOn    []float64
	logOnFoc float64
	onsetCDF float64
	// combine's logarithms of the components' weights, for wf.
	lnW      [3]float64
	lnWFor   float64
	lnWKnown bool
}

// The two-sample test's e-value is a weighted average of its
// components: TwoSampleFocusWeight on the tolerance, TwoSamplePlugInWeight
// on the plug-in and the rest on the grid of ratios. A component that
// bets on the wrong size of regression costs only its weight's logarithm
// in evidence, so the weights are where the judge's attention goes: the
// tolerance (the regression it must catch and is slowest to), then large
// ratios (thin traffic). Each fixed bet (the tolerance's, the grid's) is
// itself an average over the regression's onset (OnsetWeight).
const (
	TwoSampleFocusWeight  = 0.25
	TwoSamplePlugInWeight = 0.1
)

// OnsetWeight is the share of each fixed bet spread over regressions that
// start late: an onset in [t, t+dt] seconds into the step has prior
// weight OnsetWeight x OnsetScale/(t+OnsetScale)^2 dt (a total of
// OnsetWeight, half of it on the first OnsetScale seconds); the rest,
// 1 - OnsetWeight, bets from the step's start. A fixed bet loses evidence
// while the canary is healthy (for a ratio of 10 on 1 % of errors, about
// 0.07 nats a request), so a regression that starts late is caught by the
// onsets started shortly before it, which have not paid for the healthy
// minutes.
const (
	OnsetWeight = 0.35
	OnsetScale  = 900.0
)

// NewTwoSampleTest returns the test.
func NewTwoSampleTest() *TwoSampleTest {
	d := GridLogRatios()
	t := &TwoSampleTest{ratio: make([]float64, len(d)), logOn: make([]float64, len(d)), logW: make([]float64, len(d))}
	// The prior weighs each ratio by its log, ln r: a large regression is
	// the one that matters at thin traffic, where every nat of prior costs
	// minutes; a small one is only detectable at busy traffic, where a
	// nat costs seconds.
	var sum float64
	for _, v := range d {
		sum += v
	}
	t.logRatio = d
	for k, v := range d {
		t.ratio[k] = math.Exp(v)
		t.logW[k] = math.Log(v / sum)
		t.logOn[k] = math.Log1p(-OnsetWeight)
	}
	t.logOnFoc = math.Log1p(-OnsetWeight)
	t.logE = t.combine()
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
	// The onsets in (previous observation, at] start now, at value 1.
	// Their weights depend on the clock alone and sum to OnsetWeight, fixed
	// in advance; each onset's bets are predictable from its start on.
	if cdf := at / (at + OnsetScale); at > 0 && cdf > t.onsetCDF {
		lw := math.Log(OnsetWeight * (cdf - t.onsetCDF))
		for k, l := range t.logOn {
			// logAdd with one exponential: the judge runs this for every
			// bet of every service in flight at every observation.
			switch d := lw - l; {
			case d > 0:
				t.logOn[k] = lw + math.Log1p(math.Exp(-d))
			case d > -40: // below, 1 + e^d rounds to 1
				t.logOn[k] = l + math.Log1p(math.Exp(d))
			}
		}
		t.logOnFoc = logAdd(t.logOnFoc, lw)
		t.onsetCDF = cdf
	}
	defer func() { t.logE = t.combine() }()
	if nb <= 0 || nc <= 0 || !(pb > 0 && pb < 1) {
		return // one cohort served nothing: no comparison
	}
	xb, xc = min(max(xb, 0), nb), min(max(xc, 0), nc)
	// The grid's factors with the baseline's terms computed once: two
	// logarithms per ratio besides p0's (the judge runs this for every
	// service in flight at every observation).
	lpb, lqb := math.Log(pb), math.Log1p(-pb)
	for k, r := range t.ratio {
		pc1 := r * pb
		lpc := t.logRatio[k] + lpb
		if pc1 > 0.999 {
			pc1, lpc = 0.999, math.Log(0.999)
		}
		if pc1 <= pb {
			continue
		}
		p0 := (nc*pc1 + nb*pb) / (nc + nb)
		lp0, lq0 := math.Log(p0), math.Log1p(-p0)
		t.logOn[k] += xc*(lpc-lp0) + (nc-xc)*(math.Log1p(-pc1)-lq0) + xb*(lpb-lp0) + (nb-xb)*(lqb-lq0)
	}
	if t.Focus > 0 {
		if pc1 := min(pb+t.Focus, 0.999); pc1 > pb {
			t.logOnFoc += factor(nb, nc, xb, xc, pb, pc1)
		}
	}
	// The plug-in: the canary's recent rate, shrunk towards pb by
	// PlugInPrior expected errors; no bet unless above pb. It does not
	// bet while the canary looks healthy, so it needs no late onsets.
	decay := math.Exp2(-nc * pb / PlugInHalfLife)
	if pc := min((t.ewX+PlugInPrior)/(t.ewN+PlugInPrior/pb), 0.999); pc > pb*t.ratio[0] {
		t.logP += factor(nb, nc, xb, xc, pb, min(pc, pb*t.ratio[len(t.ratio)-1], 0.999))
	}
	t.ewN = t.ewN*decay + nc
	t.ewX = t.ewX*decay + xc
}

// combine is the log e-value: the weighted average of the components,
// each fixed bet's being its started onsets' sum plus the prior mass of
// the onsets not started yet (each worth 1 until it starts).
func (t *TwoSampleTest) combine() float64 {
	wf := 0.0
	if t.Focus > 0 {
		wf = TwoSampleFocusWeight
	}
	if !t.lnWKnown || t.lnWFor != wf {
		wg := 1 - wf - TwoSamplePlugInWeight
		t.lnW = [3]float64{math.Log(TwoSamplePlugInWeight), math.Log(wg), math.Log(wf)}
		t.lnWFor, t.lnWKnown = wf, true
	}
	unstarted := math.Log(OnsetWeight * (1 - t.onsetCDF))
	e := logAdd(t.lnW[0]+t.logP, t.lnW[1]+logAdd(logSumExpWeighted(t.logW, t.logOn), unstarted))
	if wf > 0 {
		e = logAdd(e, t.lnW[2]+logAdd(t.logOnFoc, unstarted))
	}
	return e
}

// LogE is the log e-value.
func (t *TwoSampleTest) LogE() float64 { return t.logE }
