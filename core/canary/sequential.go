package canary

import "math"

// Grid of the regression test's prior: ln(r/r0) takes GridSize values
// spaced geometrically from ln(1.05) to ln(100), each with weight 1/GridSize.
const (
	GridSize   = 24
	gridMinLog = 0.04879016416943205 // ln 1.05
	gridMaxLog = 4.605170185988092   // ln 100
)

// GridLogRatios returns ln(r_k/r0), k = 0..GridSize-1.
func GridLogRatios() []float64 {
	d := make([]float64, GridSize)
	lo, hi := math.Log(gridMinLog), math.Log(gridMaxLog)
	for k := range d {
		d[k] = math.Exp(lo + (hi-lo)*float64(k)/float64(GridSize-1))
	}
	return d
}

// RegressionTest is the one-sided anytime-valid test "the canary's event
// rate is more than (1+Tolerance) times the baseline's" (see the package
// documentation). The zero value is not usable; use NewRegressionTest.
type RegressionTest struct {
	r0    float64
	delta []float64 // ln(r_k/r0)
	ratio []float64 // r_k
	logW  []float64
	logL  []float64
	logE  float64
	// The plug-in component (see Update): exponentially weighted counts
	// of recent events, the canary's among them, and their mean split.
	ewEvents, ewCanary, ewRho float64
	logP                      float64 // ln of the plug-in likelihood ratio
	// Cumulative counts the test has seen.
	BaselineRequests, CanaryRequests int64
	BaselineEvents, CanaryEvents     int64
}

// NewRegressionTest returns a test with null rate ratio r0 = 1+tolerance.
func NewRegressionTest(tolerance float64) *RegressionTest {
	t := &RegressionTest{r0: 1 + tolerance, delta: GridLogRatios()}
	t.ratio = make([]float64, GridSize)
	t.logW = make([]float64, GridSize)
	t.logL = make([]float64, GridSize)
	for k, d := range t.delta {
		t.ratio[k] = t.r0 * math.Exp(d)
		t.logW[k] = -math.Log(GridSize)
	}
	return t
}

// Update adds one interval's increments: requests and events (errors or
// slow requests) of the baseline (nb, xb) and of the canary (nc, xc).
func (t *RegressionTest) Update(nb, nc, xb, xc int64) {
	t.BaselineRequests += nb
	t.CanaryRequests += nc
	t.BaselineEvents += xb
	t.CanaryEvents += xc
	t.update(float64(nb), float64(nc), float64(xb), float64(xc))
}

// UpdateF is Update for fractional counts (exceedances of a latency
// threshold interpolated inside a histogram bucket); it does not move the
// integer counters.
func (t *RegressionTest) UpdateF(nb, nc, xb, xc float64) {
	t.update(nb, nc, min(max(xb, 0), nb), min(max(xc, 0), nc))
}

func (t *RegressionTest) update(nb, nc, xb, xc float64) {
	e := xb + xc
	if e <= 0 || nb <= 0 || nc <= 0 {
		// No events, or one cohort served nothing: the event labels carry
		// no information (each factor of the likelihood ratio is 1).
		return
	}
	rho := nc / (nb + nc)
	l0 := math.Log(t.r0*rho + 1 - rho)
	fe, fx := e, xc
	for k := range t.logL {
		t.logL[k] += fx*t.delta[k] + fe*(l0-math.Log(t.ratio[k]*rho+1-rho))
	}
	// The plug-in likelihood ratio bets on the ratio estimated from
	// recent events before this interval (predictable, so each factor has
	// mean <= 1 under the null). When the recent events show no harm the
	// estimate sits at r0 and the factor is 1: unlike the mixture it does
	// not sink while the canary is healthy, so a regression that starts
	// late is caught about as fast as one present from the start.
	if r := t.plugInRatio(); r > t.r0 {
		t.logP += fx*math.Log(r/t.r0) + fe*(l0-math.Log(r*rho+1-rho))
	}
	decay := math.Exp2(-fe / PlugInHalfLife)
	t.ewEvents = t.ewEvents*decay + fe
	t.ewCanary = t.ewCanary*decay + fx
	t.ewRho = t.ewRho*decay + fe*rho
	t.logE = logMix(t.logP, logSumExpWeighted(t.logW, t.logL), PlugInWeight)
}

// The plug-in component's tuning: the estimate forgets events with this
// half-life (in events, so it adapts as fast at 1 rps as at 1,000), is
// shrunk towards r0 by PlugInPrior pseudo-events, and has this weight in
// the e-value (the mixture the rest). A convex combination of e-processes
// is one; its price is ln 2 nats of evidence for whichever part wins,
// bought back many times over by a regression that starts late.
const (
	PlugInHalfLife = 40.0
	PlugInPrior    = 10.0
	PlugInWeight   = 0.5
)

// plugInRatio estimates the rate ratio from the recent events, shrunk
// towards r0, capped at the grid's largest ratio.
func (t *RegressionTest) plugInRatio() float64 {
	if t.ewEvents == 0 {
		return t.r0
	}
	rho := t.ewRho / t.ewEvents
	q0 := t.r0 * rho / (t.r0*rho + 1 - rho)
	q := (t.ewCanary + PlugInPrior*q0) / (t.ewEvents + PlugInPrior)
	if q >= 1 {
		return t.ratio[len(t.ratio)-1]
	}
	r := q * (1 - rho) / (rho * (1 - q))
	return min(max(r, t.r0), t.ratio[len(t.ratio)-1])
}

// logMix is ln(w e^a + (1-w) e^b).
func logMix(a, b, w float64) float64 {
	if w <= 0 {
		return b
	}
	if w >= 1 {
		return a
	}
	m := max(a, b)
	return m + math.Log(w*exp0(a-m)+(1-w)*exp0(b-m))
}

// LogE returns the log of the current e-value (0 before any event).
func (t *RegressionTest) LogE() float64 { return t.logE }

// RateRatio is the point estimate of canary rate / baseline rate
// (NaN when undefined).
func (t *RegressionTest) RateRatio() float64 {
	if t.CanaryRequests == 0 || t.BaselineRequests == 0 || t.BaselineEvents == 0 {
		if t.CanaryEvents > 0 && t.CanaryRequests > 0 && t.BaselineRequests > 0 {
			return math.Inf(1)
		}
		return math.NaN()
	}
	return (float64(t.CanaryEvents) / float64(t.CanaryRequests)) /
		(float64(t.BaselineEvents) / float64(t.BaselineRequests))
}

// SRMTest is the sequential sample-ratio-mismatch test: canary requests
// out of all requests against the nominal share pi, with a Beta(c*pi,
// c*(1-pi)) mixture (the two-category case of Lindon & Malek's
// Dirichlet-multinomial test). Its e-value is the Bayes factor
//
//	B(a+x, b+n-x)/B(a, b) / (pi^x (1-pi)^(n-x)),
//
// a martingale under the nominal split.
type SRMTest struct {
	Pi, A, B float64
	X, N     int64
	// The e-value's terms that depend on the prior alone, and the
	// prior they were computed for.
	lnB0, lnPi, lnQ float64
	prior           [3]float64
}

// DefaultSRMConcentration is c in the SRM test's prior Beta(c*pi, c*(1-pi)).
const DefaultSRMConcentration = 1000

// NewSRMTest tests a nominal canary share of pi (0 < pi < 1).
func NewSRMTest(pi, concentration float64) *SRMTest {
	if concentration <= 0 {
		concentration = DefaultSRMConcentration
	}
	return &SRMTest{Pi: pi, A: concentration * pi, B: concentration * (1 - pi)}
}

// Update adds baseline and canary request increments.
func (s *SRMTest) Update(nb, nc int64) {
	s.X += nc
	s.N += nb + nc
}

// LogE returns the log e-value.
func (s *SRMTest) LogE() float64 {
	if s.N == 0 {
		return 0
	}
	if p := [3]float64{s.Pi, s.A, s.B}; s.prior != p || s.lnB0 == 0 {
		s.prior, s.lnB0, s.lnPi, s.lnQ = p, LnBeta(s.A, s.B), math.Log(s.Pi), math.Log1p(-s.Pi)
	}
	fx, fy := float64(s.X), float64(s.N-s.X)
	return LnBeta(s.A+fx, s.B+fy) - s.lnB0 - fx*s.lnPi - fy*s.lnQ // SRMLogE's, the prior's terms kept
}

// SRMLogE is the log Bayes factor of the Beta(a, b)-binomial mixture
// against Binomial(n, pi) for x successes in n.
func SRMLogE(x, n int64, pi, a, b float64) float64 {
	if n == 0 {
		return 0
	}
	fx, fy := float64(x), float64(n-x)
	return LnBeta(a+fx, b+fy) - LnBeta(a, b) - fx*math.Log(pi) - fy*math.Log1p(-pi)
}
