package tui

import (
	"math"
	"strings"
	"testing"
)

func TestSparkline(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name  string
		vs    []float64
		top   float64
		width int
		want  string
	}{
		{"levels", []float64{0, 1, 2, 3, 4, 5, 6, 7}, 7, 10, "▁▂▃▄▅▆▇█"},
		{"rounded to the nearest level", []float64{0.49, 0.51, 6.6}, 7, 10, "▁▂█"},
		{"newest values when too long", []float64{1, 2, 3, 4, 5, 6, 7}, 7, 3, "▆▇█"},
		{"unknown is a space", []float64{7, nan, 7}, 7, 10, "█ █"},
		{"all zero", []float64{0, 0, 0}, 0, 10, "▁▁▁"},
		{"above the top is clamped", []float64{14}, 7, 10, "█"},
		{"no room", []float64{1, 2}, 2, 0, ""},
		{"empty", nil, 1, 5, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := sparkline(tc.vs, tc.top, tc.width); got != tc.want {
				t.Errorf("sparkline(%v, %g, %d) = %q, want %q", tc.vs, tc.top, tc.width, got, tc.want)
			}
		})
	}
}

func errorChart(base, can []float64) metricChart {
	return metricChart{Title: "error rate", Format: fmtRate,
		Series: []chartSeries{{"baseline", base}, {"canary", can}}}
}

func TestChartRows(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name  string
		chart metricChart
		width int
		want  []string
	}{
		{"shared scale", errorChart([]float64{0.003, 0.003, 0.003, 0.003}, []float64{0.003, 0.004, 0.005, 0.006}), 40, []string{
			"baseline 0.30% ▅▅▅▅",
			"canary   0.60% ▅▆▇█",
		}},
		{"newest values fill the width", errorChart([]float64{0, 0, 0, 0, 0, 0}, []float64{0, 0.01, 0, 0.01, 0, 0.02}), 19, []string{
			"baseline    0% ▁▁▁▁",
			"canary   2.00% ▁▅▁█",
		}},
		{"latest unknown", metricChart{Title: "p99 latency", Format: fmtMs,
			Series: []chartSeries{{"baseline", []float64{100, 100}}, {"canary", []float64{200, nan}}}}, 40, []string{
			"baseline 100ms ▅▅",
			"canary       — █",
		}},
		{"no values", errorChart(nil, nil), 40, []string{
			"baseline —",
			"canary   —",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.chart.rows(tc.width, nameWidth([]metricChart{tc.chart}))
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestChartLayouts(t *testing.T) {
	charts := []metricChart{
		errorChart([]float64{0.003, 0.003, 0.003}, []float64{0.003, 0.0045, 0.006}),
		{Title: "p99 latency", Format: fmtMs, Series: []chartSeries{{"baseline", []float64{120, 120, 120}}, {"canary", []float64{140, 210, 280}}}},
		{Title: "throughput", Format: fmtRPS, Series: []chartSeries{{"baseline", []float64{90, 90, 90}}, {"canary", []float64{9.5, 9.5, 9.5}}}},
	}
	tests := []struct {
		name  string
		lay   func([]metricChart, int) []string
		width int
		want  []string
	}{
		{"stacked", stacked, 40, []string{
			"error rate",
			"baseline 0.30% ▅▅▅",
			"canary   0.60% ▅▆█",
			"p99 latency",
			"baseline 120ms ▄▄▄",
			"canary   280ms ▅▆█",
			"throughput",
			"baseline  90/s ███",
			"canary   9.5/s ▂▂▂",
		}},
		{"grid", grid, 68, []string{
			"         error rate          p99 latency         throughput",
			"baseline 0.30% ▅▅▅           120ms ▄▄▄            90/s ███",
			"canary   0.60% ▅▆█           280ms ▅▆█           9.5/s ▂▂▂",
		}},
		{"grid cuts the sparklines to the newest", grid, 35, []string{
			"         error r… p99 lat… through…",
			"baseline 0.30% ▅▅ 120ms ▄▄  90/s ██",
			"canary   0.60% ▆█ 280ms ▆█ 9.5/s ▂▂",
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.lay(charts, tc.width)
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			for _, l := range got {
				if w := len([]rune(l)); w > tc.width {
					t.Errorf("%q is %d wide, more than %d", l, w, tc.width)
				}
			}
		})
	}
}
