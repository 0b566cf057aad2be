package canary

import (
	"fmt"
	"math"
)

// Histograms: a cohort's latency histogram is Counts.Buckets, per-bucket
// request counts (cumulative over time like every counter, not over
// buckets like Prometheus' "le" series), against Observation.BoundsMs,
// the buckets' upper bounds in milliseconds, ascending; the first bucket
// starts at 0 and the last bound may be +Inf.

// checkBounds reports whether bounds are usable: ascending, positive.
func checkBounds(bounds []float64) error {
	for i, b := range bounds {
		if !(b > 0) || i > 0 && !(b > bounds[i-1]) {
			return fmt.Errorf("histogram bound %d (%g ms): bounds must be positive and ascending", i, b)
		}
	}
	return nil
}

// above is the number of requests slower than tau in a histogram,
// interpolating linearly inside the bucket that holds tau (as
// histogram_quantile does). In the unbounded last bucket nothing is known
// of the spread: pessimistic counts the whole bucket as above, otherwise
// none of it.
func above(h []float64, bounds []float64, tau float64, pessimistic bool) float64 {
	var s float64
	lo := 0.0
	for i, ub := range bounds {
		if i >= len(h) {
			break
		}
		switch {
		case tau <= lo:
			s += h[i]
		case tau < ub:
			if math.IsInf(ub, 1) {
				if pessimistic {
					s += h[i]
				}
			} else {
				s += h[i] * (ub - tau) / (ub - lo)
			}
		}
		lo = ub
	}
	return s
}

// cut is where a threshold falls in a histogram layout: above's work
// done once for a threshold, which the judge asks of every histogram at
// every observation (the reference's p50 and p95, the SLO's p99, the
// tolerated p95 are fixed once the reference is). cut.above(h) is
// above(h, bounds, tau, pessimistic), bit for bit: the same terms, added
// in the same order.
type cut struct {
	bounds      []float64
	tau         float64
	pessimistic bool
	set         bool
	first       int     // the first bucket that counts, in part or whole (len(bounds): none)
	whole       bool    // bucket first counts whole
	num, den    float64 // else it counts h[first] * num / den (den 0: not at all)
}

// at makes c the cut of tau in bounds, recomputing it only when they
// changed.
func (c *cut) at(bounds []float64, tau float64, pessimistic bool) *cut {
	if c.set && c.tau == tau && c.pessimistic == pessimistic && len(c.bounds) == len(bounds) &&
		(len(bounds) == 0 || &c.bounds[0] == &bounds[0]) {
		return c
	}
	*c = cut{bounds: bounds, tau: tau, pessimistic: pessimistic, set: true, first: len(bounds)}
	// above's loop, recording the first bucket it counts: every later
	// one counts whole (its lower bound is at least tau).
	lo := 0.0
	for i, ub := range bounds {
		switch {
		case tau <= lo:
			c.first, c.whole = i, true
			return c
		case tau < ub:
			c.first = i
			if math.IsInf(ub, 1) {
				c.whole = pessimistic
			} else {
				c.num, c.den = ub-tau, ub-lo
			}
			return c
		}
		lo = ub
	}
	return c
}

// above is above(h, c.bounds, c.tau, c.pessimistic).
func (c *cut) above(h []float64) float64 {
	n := min(len(h), len(c.bounds))
	i := c.first
	if i >= n {
		return 0
	}
	var s float64
	switch {
	case c.whole:
		s += h[i]
	case c.den != 0:
		s += h[i] * c.num / c.den
	}
	for _, v := range h[i+1 : n] {
		s += v
	}
	return s
}

// quantileOf is the q-quantile of a histogram, interpolated linearly in
// its bucket; NaN for an empty histogram. A quantile in the unbounded
// last bucket is that bucket's lower bound.
func quantileOf(h []float64, bounds []float64, q float64) float64 {
	var tot float64
	for i := range min(len(h), len(bounds)) {
		tot += h[i]
	}
	if tot <= 0 {
		return math.NaN()
	}
	rank := q * tot
	var cum float64
	lo := 0.0
	for i, ub := range bounds {
		if i >= len(h) {
			break
		}
		if h[i] > 0 && cum+h[i] >= rank {
			if math.IsInf(ub, 1) {
				return lo
			}
			return lo + (ub-lo)*(rank-cum)/h[i]
		}
		cum += h[i]
		lo = ub
	}
	return lo
}

// bucketDelta is cur - prev per bucket as floats; a bucket that went
// down was reset and counts from zero. nil when cur is empty.
func bucketDelta(cur, prev []int64) []float64 {
	return bucketDeltaInto(nil, cur, prev)
}

// bucketDeltaInto is bucketDelta reusing buf's array.
func bucketDeltaInto(buf []float64, cur, prev []int64) []float64 {
	if len(cur) == 0 {
		return nil
	}
	d := buf[:0]
	if cap(d) < len(cur) {
		d = make([]float64, len(cur))
	}
	d = d[:len(cur)]
	for i, c := range cur {
		var p int64
		if i < len(prev) {
			p = prev[i]
		}
		if c < p {
			d[i] = float64(c)
		} else {
			d[i] = float64(c - p)
		}
	}
	return d
}

func sumF(h []float64) float64 {
	var s float64
	for _, v := range h {
		s += v
	}
	return s
}

// BucketsFromLE turns Prometheus-style cumulative bucket counts (the
// "le" series: requests at or below each upper bound, the last bound +Inf)
// into Counts.Buckets (requests per bucket). Bounds must ascend; a count
// below the previous one (a scrape mixing two instants) counts 0.
func BucketsFromLE(le []float64) []int64 {
	out := make([]int64, len(le))
	prev := 0.0
	for i, c := range le {
		if d := c - prev; d > 0 {
			out[i] = int64(math.Round(d))
		}
		prev = max(prev, c)
	}
	return out
}
