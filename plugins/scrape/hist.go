package main

import (
	"math"
	"sort"
)

// slowCount is the number of observations above threshold: every bucket
// entirely above it counts whole, the bucket containing it counts for the
// fraction of its width above the threshold (observations assumed spread
// evenly within a bucket, linear interpolation). A bucket with an infinite
// upper bound that contains the threshold counts whole: all we know of its
// observations is that they exceed its lower bound.
func slowCount(h map[bucket]float64, threshold float64) float64 {
	var n float64
	for b, c := range h {
		switch {
		case c <= 0 || b.Hi <= threshold:
		case b.Lo >= threshold || math.IsInf(b.Hi, 1) || b.Hi == b.Lo:
			n += c
		default:
			n += c * (b.Hi - threshold) / (b.Hi - b.Lo)
		}
	}
	return n
}

// quantile is the q-quantile (0 <= q <= 1) of a histogram, interpolated
// linearly within the bucket holding rank q*total, as Prometheus's
// histogram_quantile does: buckets sorted by upper bound, the quantile
// falls in the first bucket whose cumulative count reaches q*total. In a
// bucket with an infinite upper bound it is the lower bound; in one with
// an infinite lower bound, the upper bound. NaN for an empty histogram.
func quantile(h map[bucket]float64, q float64) float64 {
	bs := make([]bucket, 0, len(h))
	var total float64
	for b, c := range h {
		if c > 0 {
			bs = append(bs, b)
			total += c
		}
	}
	if total <= 0 {
		return math.NaN()
	}
	sort.Slice(bs, func(i, j int) bool {
		if bs[i].Hi != bs[j].Hi {
			return bs[i].Hi < bs[j].Hi
		}
		return bs[i].Lo < bs[j].Lo
	})
	rank := q * total
	var cum float64
	for i, b := range bs {
		c := h[b]
		if cum+c >= rank || i == len(bs)-1 {
			switch {
			case math.IsInf(b.Hi, 1):
				return b.Lo
			case math.IsInf(b.Lo, -1):
				return b.Hi
			}
			frac := (rank - cum) / c
			frac = min(max(frac, 0), 1)
			return b.Lo + (b.Hi-b.Lo)*frac
		}
		cum += c
	}
	return math.NaN()
}

// sub is a - b per bucket (a later cumulative histogram minus an earlier
// one), dropping non-positive differences.
func sub(a, b map[bucket]float64) map[bucket]float64 {
	out := make(map[bucket]float64, len(a))
	for k, v := range a {
		if d := v - b[k]; d > 0 {
			out[k] = d
		}
	}
	return out
}
