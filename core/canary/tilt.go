package canary

import "math"

// ShiftTest is the sequential test of a shift in the latency
// distribution, canary against baseline, on both cohorts' histograms.
//
// The reference (the baseline before the step) gives every histogram
// bucket j a score z_j: the normal quantile of the reference's
// distribution function at the bucket's middle, so that z is about
// standard normal under the baseline whatever the latency's shape.
// Buckets are grouped into at most ShiftCells cells of about equal
// reference mass, each with the mass-weighted mean score.
//
// Conditional on how many requests fell in a cell and on the interval's
// split rho, each request is the canary's with probability rho when both
// cohorts have the same distribution. The alternative is an exponential
// tilt of the baseline by theta > 0 (for normal scores: a shift of theta
// standard deviations of log latency, +20 % at sigma 0.5 is theta 0.36),
// under which a request in cell j is the canary's with probability
//
//	q_j = rho a_j / (rho a_j + 1 - rho),  a_j = exp(theta z_j - kappa(theta)),
//
// kappa the log of the reference's mean of exp(theta z). Each factor
// (q_j/rho)^x ((1-q_j)/(1-rho))^(n-x) has mean 1 under "same
// distribution", so the mixture over a fixed grid of theta is an
// e-process for it (Ville's inequality bounds false rollbacks); a canary
// that is faster gives factors below 1 on average. It is the rank test's
// sequential cousin: it uses where in the baseline's distribution each
// request falls, not a single cutoff, and for a log-normal shift it
// reaches nearly the information of the whole histogram.
type ShiftTest struct {
	cell  []int     // bucket -> cell
	z     []float64 // cell -> score
	theta []float64
	logW  []float64 // prior weight of each theta
	kappa []float64
	la    [][]float64 // la[k][j] = theta_k z_j - kappa_k
	a     [][]float64 // a[k][j] = exp(la[k][j]) - 1
	logL  []float64
	logE  float64
	nb    []float64 // scratch: per-cell counts of one interval
	nc    []float64
}

// ShiftCells bounds the cells of a ShiftTest (its cost per interval is
// cells x grid), and shiftGrid is its grid of theta.
const ShiftCells = 12

var shiftGrid = func() []float64 {
	const n, lo, hi = 6, 0.1, 2.0
	g := make([]float64, n)
	for k := range g {
		g[k] = lo * math.Pow(hi/lo, float64(k)/(n-1))
	}
	return g
}()

// NewShiftTest builds the test from the reference histogram ref (per
// bucket counts); nil when the reference is empty.
func NewShiftTest(ref []float64) *ShiftTest { return NewShiftTestFocus(ref, 0) }

// ShiftFocusWeight is the prior weight NewShiftTestFocus puts on its
// focus; the grid shares the rest equally.
const ShiftFocusWeight = 0.5

// NewShiftTestFocus is NewShiftTest whose mixture puts ShiftFocusWeight on
// the shift focus (> 0; 0: none): the shift of the service's latency
// tolerance, the regression that must be caught and is the slowest to.
// Larger shifts are caught within seconds whatever their prior weight.
func NewShiftTestFocus(ref []float64, focus float64) *ShiftTest {
	tot := sumF(ref)
	if tot <= 0 {
		return nil
	}
	t := &ShiftTest{cell: make([]int, len(ref)), theta: shiftGrid}
	for range shiftGrid {
		t.logW = append(t.logW, -math.Log(float64(len(shiftGrid))))
	}
	if focus > 0 && !math.IsInf(focus, 1) {
		t.theta = append(append([]float64(nil), shiftGrid...), focus)
		for k := range t.logW {
			t.logW[k] += math.Log(1 - ShiftFocusWeight)
		}
		t.logW = append(t.logW, math.Log(ShiftFocusWeight))
	}
	// Group buckets into cells of about tot/ShiftCells each.
	var cum, cellMass, zMass float64
	cellOf := 0
	flush := func() {
		if cellMass > 0 {
			t.z = append(t.z, zMass/cellMass)
		} else {
			t.z = append(t.z, 0)
		}
		cellMass, zMass = 0, 0
	}
	for j, h := range ref {
		mid := (cum + h/2 + 0.5) / (tot + 1)
		zj := normalQuantile(mid)
		t.cell[j] = cellOf
		cellMass += h
		zMass += h * zj
		cum += h
		if cum >= tot*float64(cellOf+1)/ShiftCells && j < len(ref)-1 {
			flush()
			cellOf++
		}
	}
	flush()
	// kappa(theta) = ln sum_j w_j exp(theta z_j) over the cells.
	w := make([]float64, len(t.z))
	for j, h := range ref {
		w[t.cell[j]] += h / tot
	}
	for _, th := range t.theta {
		var s float64
		for j, zj := range t.z {
			s += w[j] * math.Exp(th*zj)
		}
		t.kappa = append(t.kappa, math.Log(s))
	}
	t.a, t.la = make([][]float64, len(t.theta)), make([][]float64, len(t.theta))
	for k, th := range t.theta {
		for _, zj := range t.z {
			t.la[k] = append(t.la[k], th*zj-t.kappa[k])
			t.a[k] = append(t.a[k], math.Expm1(th*zj-t.kappa[k]))
		}
	}
	t.logL = make([]float64, len(t.theta))
	t.nb = make([]float64, len(t.z))
	t.nc = make([]float64, len(t.z))
	return t
}

// Update adds one interval's histograms of the baseline and the canary
// (per bucket, the reference's layout).
func (t *ShiftTest) Update(hb, hc []float64) {
	if len(hb) != len(t.cell) || len(hc) != len(t.cell) {
		return
	}
	clear(t.nb)
	clear(t.nc)
	var sb, sc float64
	for j := range hb {
		t.nb[t.cell[j]] += hb[j]
		t.nc[t.cell[j]] += hc[j]
		sb += hb[j]
		sc += hc[j]
	}
	if sb <= 0 || sc <= 0 {
		return // one cohort served nothing: the labels say nothing
	}
	rho := sc / (sb + sc)
	for j := range t.z {
		n := t.nb[j] + t.nc[j]
		if n <= 0 {
			continue
		}
		x := t.nc[j]
		for k := range t.theta {
			// ln(q/rho) = ln a - d and ln((1-q)/(1-rho)) = -d with
			// d = ln(rho a + 1 - rho) = log1p(rho (a - 1)).
			d := math.Log1p(rho * t.a[k][j])
			t.logL[k] += x*t.la[k][j] - n*d
		}
	}
	t.logE = logSumExpWeighted(t.logW, t.logL)
}

// LogE is the log e-value.
func (t *ShiftTest) LogE() float64 { return t.logE }

// normalQuantile is the standard normal quantile.
func normalQuantile(p float64) float64 {
	if p <= 0 {
		return math.Inf(-1)
	}
	if p >= 1 {
		return math.Inf(1)
	}
	return -math.Sqrt2 * math.Erfcinv(2*p)
}
