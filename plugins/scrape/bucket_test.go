package main

import (
	"math"
	"slices"
	"testing"
)

// A cohort's ranges become Prometheus' le form: one cumulative count per
// distinct upper bound, ascending, whether the ranges came from le
// buckets (adjacent) or from vmrange ones (with gaps where nothing fell).
func TestCumulativeBuckets(t *testing.T) {
	inf := math.Inf(1)
	for _, tc := range []struct {
		name         string
		in           map[bucket]float64
		bounds, cums []float64
	}{
		{"le", map[bucket]float64{{0, 0.01}: 3, {0.01, 0.05}: 5, {0.05, 0.1}: 0, {0.1, inf}: 2},
			[]float64{0.01, 0.05, 0.1, inf}, []float64{3, 8, 8, 10}},
		{"vmrange", map[bucket]float64{{0.02, 0.0227}: 4, {0.0359, 0.0408}: 1, {0.0278, 0.0316}: 2},
			[]float64{0.0227, 0.0316, 0.0408}, []float64{4, 6, 7}},
		{"empty", map[bucket]float64{}, []float64{}, []float64{}},
	} {
		b, c := cumulativeBuckets(tc.in)
		if !slices.Equal(b, tc.bounds) || !slices.Equal(c, tc.cums) {
			t.Errorf("%s: bounds %v counts %v, want %v %v", tc.name, b, c, tc.bounds, tc.cums)
		}
	}
	for in, want := range map[float64]string{0.005: "0.005", 1: "1", 0.0112: "0.0112", inf: "+Inf"} {
		if got := formatLE(in); got != want {
			t.Errorf("formatLE(%v) = %q, want %q", in, got, want)
		}
	}
}
