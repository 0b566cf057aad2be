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
	e := xb + xc
	if e == 0 || nb <= 0 || nc <= 0 {
		// No events, or one cohort served nothing: the event labels carry
		// no information (each factor of the likelihood ratio is 1).
		return
	}
	rho := float64(nc) / float64(nb+nc)
	l0 := math.Log(t.r0*rho + 1 - rho)
	fe, fx := float64(e), float64(xc)
	for k := range t.logL {
		t.logL[k] += fx*t.delta[k] + fe*(l0-math.Log(t.ratio[k]*rho+1-rho))
	}
	t.logE = logSumExpWeighted(t.logW, t.logL)
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
	return SRMLogE(s.X, s.N, s.Pi, s.A, s.B)
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
