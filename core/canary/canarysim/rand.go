package canarysim

import (
	"math"
	"math/rand/v2"
)

// poisson draws Poisson(lam): inversion for small means, PTRS (Hörmann
// 1993, as in NumPy) otherwise.
func poisson(r *rand.Rand, lam float64) int64 {
	if lam <= 0 {
		return 0
	}
	if lam < 10 {
		l, k, p := math.Exp(-lam), int64(0), r.Float64()
		for p > l {
			p *= r.Float64()
			k++
		}
		return k
	}
	slam, loglam := math.Sqrt(lam), math.Log(lam)
	b := 0.931 + 2.53*slam
	a := -0.059 + 0.02483*b
	invalpha := 1.1239 + 1.1328/(b-3.4)
	vr := 0.9277 - 3.6224/(b-2)
	for {
		u := r.Float64() - 0.5
		v := r.Float64()
		us := 0.5 - math.Abs(u)
		k := math.Floor((2*a/us+b)*u + lam + 0.43)
		if us >= 0.07 && v <= vr {
			return int64(k)
		}
		if k < 0 || (us < 0.013 && v > us) {
			continue
		}
		lg, _ := math.Lgamma(k + 1)
		if math.Log(v)+math.Log(invalpha)-math.Log(a/(us*us)+b) <= -lam+k*loglam-lg {
			return int64(k)
		}
	}
}

// binomial draws Binomial(n, p) by inversion (means here are small);
// large means fall back to a Poisson-free normal approximation.
func binomial(r *rand.Rand, n int64, p float64) int64 {
	if n <= 0 || p <= 0 {
		return 0
	}
	if p >= 1 {
		return n
	}
	if float64(n)*p > 200 {
		x := math.Round(float64(n)*p + r.NormFloat64()*math.Sqrt(float64(n)*p*(1-p)))
		return int64(math.Max(0, math.Min(float64(n), x)))
	}
	q := 1 - p
	s := p / q
	pmf := math.Pow(q, float64(n))
	u := r.Float64()
	var k int64
	for u > pmf && k < n {
		u -= pmf
		pmf *= s * float64(n-k) / float64(k+1)
		k++
	}
	return k
}

// gamma draws Gamma(shape k, scale 1) (Marsaglia & Tsang), k >= 1.
func gamma(r *rand.Rand, k float64) float64 {
	d := k - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := r.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := r.Float64()
		if math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return d * v
		}
	}
}
