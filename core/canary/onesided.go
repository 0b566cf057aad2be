package canary

import "math"

// OneSidedTest is an anytime-valid test about one cohort's event
// probability p against a reference p0 that may change from one interval
// to the next, as long as each interval's p0 is fixed before its counts
// are seen (predictable).
//
// Upward (NewUpwardTest) tests H0: p <= p0; its evidence grows when the
// events come more often than p0 (a rollback test: the canary against the
// SLO objective, or the 100 % step against the pre-deployment baseline).
// Downward (NewDownwardTest) tests H0: p >= p0; its evidence grows when
// they come less often (a promotion proof: "the canary's rate is below
// base + tolerance").
//
// The e-process is half a mixture over a fixed grid of odds ratios
// (p'/(1-p')) / (p0/(1-p0)) and half a plug-in likelihood ratio at the
// recent estimate, as in RegressionTest. Each interval's factor for an
// alternative p' is (p'/p0)^x ((1-p')/(1-p0))^(n-x); its mean is a linear
// function of the true p that equals 1 at p0 and is below 1 on H0's side,
// so every component is a supermartingale under H0 and so is the mixture
// (Ville: P(ever >= 1/a) <= a).
//
// Overdispersion: each interval's log factor is divided by phi >= 1 (the
// quasi-likelihood tempering: counts whose variance is phi times the
// binomial's carry 1/phi of the information). It is exact for a Gaussian
// approximation of the counts and conservative for phi estimated high.
type OneSidedTest struct {
	down  bool
	ratio []float64 // odds ratios of the grid, > 1 upward, < 1 downward
	logR  []float64 // their logarithms
	logW  float64   // ln(1/len(ratio)), each component's weight
	logL  []float64
	logP  float64 // ln of the plug-in likelihood ratio
	logE  float64
	// Recent counts for the plug-in estimate, exponentially weighted.
	ewN, ewX float64
	// Cumulative counts (n may be fractional: exceedances of a threshold
	// inside a histogram bucket are interpolated).
	N, X float64
	// logD[k] = ln(ratio[k] p0 + 1 - p0) for p0 = logDAt: the reference
	// rate is usually the same from one interval to the next (an SLO
	// objective, a cached confidence bound), and these are most of an
	// update's cost.
	logD   []float64
	logDAt float64
	// ln p0 and ln(1 - p0) at logDAt, for the plug-in.
	lp0, lq0 float64
}

// NewUpwardTest tests H0: p <= p0.
func NewUpwardTest() *OneSidedTest { return newOneSided(false) }

// NewDownwardTest tests H0: p >= p0.
func NewDownwardTest() *OneSidedTest { return newOneSided(true) }

func newOneSided(down bool) *OneSidedTest {
	// Every other point of the regression tests' grid: the one-sample
	// tests run four at a time per interval, and a coarser grid also
	// lowers the mixture's price (ln 12 rather than ln 24 nats).
	var d []float64
	for k, v := range GridLogRatios() {
		if k%2 == 1 {
			d = append(d, v)
		}
	}
	t := &OneSidedTest{down: down, ratio: make([]float64, len(d)), logR: make([]float64, len(d)), logL: make([]float64, len(d)), logW: -math.Log(float64(len(d)))}
	for k, v := range d {
		if down {
			v = -v
		}
		t.ratio[k], t.logR[k] = math.Exp(v), v
	}
	return t
}

// oddsShift returns p' with odds(p') = r odds(p0).
func oddsShift(p0, r float64) float64 { return r * p0 / (r*p0 + 1 - p0) }

// Update adds one interval: n trials, x events, reference p0 (0 < p0 < 1)
// and dispersion phi (>= 1; below 1 counts as 1). An interval with no
// trials, or a p0 outside (0, 1), adds nothing.
func (t *OneSidedTest) Update(n, x, p0, phi float64) {
	if n <= 0 || !(p0 > 0 && p0 < 1) {
		return
	}
	x = min(max(x, 0), n)
	phi = max(phi, 1)
	t.N += n
	t.X += x
	// With p' = r p0 / D, D = r p0 + 1 - p0: ln(p'/p0) = ln r - ln D and
	// ln((1-p')/(1-p0)) = -ln D, one logarithm per component.
	if p0 != t.logDAt || len(t.logD) != len(t.ratio) {
		t.logD = t.logD[:0]
		for _, r := range t.ratio {
			t.logD = append(t.logD, math.Log(r*p0+1-p0))
		}
		t.logDAt = p0
		t.lp0, t.lq0 = math.Log(p0), math.Log1p(-p0)
	}
	for k := range t.ratio {
		t.logL[k] += (x*t.logR[k] - n*t.logD[k]) / phi
	}
	// The plug-in bets on the rate estimated from earlier intervals,
	// shrunk towards p0 by OneSidedPrior pseudo-events; it bets nothing
	// (factor 1) while the estimate is on H0's side.
	if p := t.plugIn(p0); p != p0 {
		t.logP += (x*(math.Log(p)-t.lp0) + (n-x)*(math.Log1p(-p)-t.lq0)) / phi
	}
	decay := math.Exp2(-n * p0 / PlugInHalfLife)
	t.ewN = t.ewN*decay + n
	t.ewX = t.ewX*decay + x
	t.logE = logMix(t.logP, logSumExp(t.logL)+t.logW, PlugInWeight)
}

// logSumExp is ln sum_k e^{l[k]}.
func logSumExp(l []float64) float64 {
	m := math.Inf(-1)
	for _, v := range l {
		m = max(m, v)
	}
	if math.IsInf(m, -1) {
		return m
	}
	var s float64
	for _, v := range l {
		s += exp0(v - m)
	}
	return m + math.Log(s)
}

// OneSidedPrior is the plug-in's shrinkage towards p0, in expected events.
const OneSidedPrior = 2.0

func (t *OneSidedTest) plugIn(p0 float64) float64 {
	m := OneSidedPrior / p0
	p := (t.ewX + OneSidedPrior) / (t.ewN + m)
	lo, hi := oddsShift(p0, t.ratio[len(t.ratio)-1]), oddsShift(p0, t.ratio[0])
	if !t.down {
		lo, hi = oddsShift(p0, t.ratio[0]), oddsShift(p0, t.ratio[len(t.ratio)-1])
		if p <= lo {
			return p0
		}
		return min(p, hi)
	}
	if p >= hi {
		return p0
	}
	return max(p, lo)
}

// LogE is the log e-value (0 before any trial).
func (t *OneSidedTest) LogE() float64 { return t.logE }

// Rate is the cumulative event rate (0 before any trial).
func (t *OneSidedTest) Rate() float64 {
	if t.N == 0 {
		return 0
	}
	return t.X / t.N
}

// logAdd is ln(e^a + e^b).
func logAdd(a, b float64) float64 {
	if math.IsInf(a, -1) {
		return b
	}
	if math.IsInf(b, -1) {
		return a
	}
	m := max(a, b)
	return m + math.Log(exp0(a-m)+exp0(b-m))
}

// exp0 is math.Exp, skipping the call at 0 (whose exponential is exactly
// 1): in the log-sum-exps above, the largest term's.
func exp0(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Exp(x)
}

// klBernoulli is KL(Bern(p) || Bern(q)) in nats.
func klBernoulli(p, q float64) float64 {
	var s float64
	if p > 0 {
		s += p * math.Log(p/q)
	}
	if p < 1 {
		s += (1 - p) * math.Log((1-p)/(1-q))
	}
	return s
}

// LowerBound is an anytime-valid lower confidence bound on a rate from x
// events in n trials: the smallest p where the Beta(1/2, 1/2)-binomial
// mixture's e-value against p stays below 1/level (Robbins' mixture
// confidence sequence; it holds at every n at once with probability >=
// 1-level). 0 when n is 0.
func LowerBound(x, n, level float64) float64 {
	if n <= 0 || x <= 0 {
		return 0
	}
	return csBound(x, n, level, false)
}

// UpperBound is LowerBound's upper counterpart (1 when n is 0).
func UpperBound(x, n, level float64) float64 {
	if n <= 0 {
		return 1
	}
	if x >= n {
		return 1
	}
	return csBound(x, n, level, true)
}

func csBound(x, n, level float64, upper bool) float64 {
	const a = 0.5
	lt := math.Log(1 / level)
	lb := LnBeta(a+x, a+n-x) - LnBeta(a, a)
	inside := func(p float64) bool { return lb-x*math.Log(p)-(n-x)*math.Log1p(-p) < lt }
	// The e-value is convex in ln-odds with its minimum near x/n: bisect
	// between the estimate (inside) and the edge.
	est := min(max(x/n, 1e-12), 1-1e-12)
	lo, hi := est, 1-1e-15
	if !upper {
		lo, hi = est, 1e-15
	}
	for range 45 {
		mid := (lo + hi) / 2
		if !upper {
			mid = math.Sqrt(lo * hi) // rates near 0: bisect on a log scale
		}
		if inside(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo
}
