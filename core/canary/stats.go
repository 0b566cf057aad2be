package canary

import "math"

const halfLn2Pi = 0.91893853320467274178032973640562 // ln(sqrt(2*pi))

// stirlingRemainder is mu(x) in lnGamma(x) = (x-1/2)ln x - x + ln sqrt(2 pi) + mu(x), x >= 10.
func stirlingRemainder(x float64) float64 {
	x2 := 1 / (x * x)
	// Bernoulli-number series: 1/12, -1/360, 1/1260, -1/1680, 1/1188, -691/360360, 1/156
	return (1.0/12 + x2*(-1.0/360+x2*(1.0/1260+x2*(-1.0/1680+x2*(1.0/1188+x2*(-691.0/360360+x2*(1.0/156))))))) / x
}

// LnBeta returns ln B(a, b) for a, b > 0, accurate to a few ulps of the
// result also for large arguments (where lgamma(a)+lgamma(b)-lgamma(a+b)
// cancels catastrophically).
func LnBeta(a, b float64) float64 {
	if a > b {
		a, b = b, a
	}
	switch {
	case a <= 0 || math.IsNaN(a) || math.IsNaN(b):
		return math.NaN()
	case b < 10:
		la, _ := math.Lgamma(a)
		lb, _ := math.Lgamma(b)
		lab, _ := math.Lgamma(a + b)
		return la + lb - lab
	case a < 10:
		// lnGamma(b) - lnGamma(a+b) by Stirling, lnGamma(a) directly.
		la, _ := math.Lgamma(a)
		s := a + b
		return la + (b-0.5)*math.Log1p(-a/s) - a*math.Log(s) + a + stirlingRemainder(b) - stirlingRemainder(s)
	default:
		s := a + b
		return halfLn2Pi - 0.5*math.Log(s) + (a-0.5)*math.Log1p(-b/s) + (b-0.5)*math.Log1p(-a/s) +
			stirlingRemainder(a) + stirlingRemainder(b) - stirlingRemainder(s)
	}
}

// Wilson returns the Wilson score interval for k successes in n trials at
// the normal quantile z (1.959963984540054 for 95 %).
func Wilson(k, n int, z float64) (lo, hi float64) {
	if n == 0 {
		return 0, 1
	}
	nf := float64(n)
	p := float64(k) / nf
	z2 := z * z
	den := 1 + z2/nf
	c := (p + z2/(2*nf)) / den
	h := z * math.Sqrt(p*(1-p)/nf+z2/(4*nf*nf)) / den
	return math.Max(0, c-h), math.Min(1, c+h)
}

// logSumExpWeighted returns ln sum_k exp(lw[k] + l[k]).
func logSumExpWeighted(lw, l []float64) float64 {
	m := math.Inf(-1)
	for k := range l {
		if v := lw[k] + l[k]; v > m {
			m = v
		}
	}
	if math.IsInf(m, -1) {
		return m
	}
	s := 0.0
	for k := range l {
		s += exp0(lw[k] + l[k] - m)
	}
	return m + math.Log(s)
}
