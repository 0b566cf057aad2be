package tui

import (
	"fmt"
	"math"
	"strings"

	"github.com/charmbracelet/x/ansi"
)

// sparkBlocks are a sparkline's eight levels, lowest first.
var sparkBlocks = []rune("▁▂▃▄▅▆▇█")

// chartSeries is one cohort's values over time, oldest first; NaN is a
// value not known at that instant.
type chartSeries struct {
	Name   string
	Values []float64
}

// metricChart is one metric of several cohorts on a shared scale. It
// renders without colour: levels are block heights, the latest value is
// written out.
type metricChart struct {
	Title  string
	Format func(float64) string
	Series []chartSeries
}

// top is the top of the chart's scale, shared by its series: the largest
// finite value (the bottom is zero, so heights compare as ratios).
func (c metricChart) top() float64 {
	var top float64
	for _, s := range c.Series {
		for _, v := range s.Values {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				top = max(top, v)
			}
		}
	}
	return top
}

// latest is a series' last value written out; "—" when unknown.
func (c metricChart) latest(s chartSeries) string {
	if n := len(s.Values); n > 0 && !math.IsNaN(s.Values[n-1]) {
		return c.Format(s.Values[n-1])
	}
	return "—"
}

// sparkline is the newest width values of vs on the scale 0..top, one
// cell each, oldest at the left; an unknown value is a space. Every
// known value gets at least the lowest block, so zero reads as "none",
// not "missing".
func sparkline(vs []float64, top float64, width int) string {
	if width <= 0 {
		return ""
	}
	if len(vs) > width {
		vs = vs[len(vs)-width:]
	}
	var b strings.Builder
	for _, v := range vs {
		if math.IsNaN(v) {
			b.WriteByte(' ')
			continue
		}
		level := 0
		if top > 0 && v > 0 {
			level = min(len(sparkBlocks)-1, int(math.Round(v/top*float64(len(sparkBlocks)-1))))
		}
		b.WriteRune(sparkBlocks[level])
	}
	return b.String()
}

// nameWidth is the widest series name of the charts.
func nameWidth(charts []metricChart) int {
	w := 0
	for _, c := range charts {
		for _, s := range c.Series {
			w = max(w, ansi.StringWidth(s.Name))
		}
	}
	return w
}

// rows is the chart as one row per series: the name, the latest value
// and a sparkline filling the rest of width.
//
//	canary   0.61% ▁▂▃▅▆▇██
//	baseline 0.30% ▁▁▂▁▁▂▁▁
func (c metricChart) rows(width, nameW int) []string {
	valW := 0
	for _, s := range c.Series {
		valW = max(valW, ansi.StringWidth(c.latest(s)))
	}
	top := c.top()
	out := make([]string, 0, len(c.Series))
	for _, s := range c.Series {
		line := pad(s.Name, nameW) + " " + padLeft(c.latest(s), valW) + " "
		out = append(out, strings.TrimRight(cut(line+sparkline(s.Values, top, width-ansi.StringWidth(line)), width), " "))
	}
	return out
}

// stacked is each chart as a title line and its rows.
func stacked(charts []metricChart, width int) []string {
	nameW := nameWidth(charts)
	var out []string
	for _, c := range charts {
		out = append(out, cut(c.Title, width))
		out = append(out, c.rows(width, nameW)...)
	}
	return out
}

// grid is the compact form: a line of titles, then one row per series
// with each chart in a column of its own. All charts must have the same
// series in the same order.
//
//	         error rate           p99 latency
//	baseline 0.30% ▁▁▂▁▁▂▁▁▂      120ms ▄▄▄▄▄▄▄▄▄
//	canary   0.61% ▁▂▃▅▆▇██▇      181ms ▆▆▇▇████▇
func grid(charts []metricChart, width int) []string {
	if len(charts) == 0 {
		return nil
	}
	nameW := nameWidth(charts)
	colW := (width - nameW) / len(charts)
	head := strings.Repeat(" ", nameW)
	for _, c := range charts {
		head += " " + pad(c.Title, colW-1)
	}
	out := []string{strings.TrimRight(head, " ")}
	for i := range charts[0].Series {
		line := pad(charts[0].Series[i].Name, nameW)
		for _, c := range charts {
			cell := ""
			if i < len(c.Series) {
				valW := 0
				for _, o := range c.Series {
					valW = max(valW, ansi.StringWidth(c.latest(o)))
				}
				cell = padLeft(c.latest(c.Series[i]), valW) + " " + sparkline(c.Series[i].Values, c.top(), colW-valW-2)
			}
			line += " " + pad(cell, colW-1)
		}
		out = append(out, strings.TrimRight(line, " "))
	}
	return out
}

// padLeft right-aligns plain s in width cells.
func padLeft(s string, width int) string {
	if w := ansi.StringWidth(s); w < width {
		return strings.Repeat(" ", width-w) + s
	}
	return s
}

// Formats of the canary charts' latest values.
func fmtRate(x float64) string { return share(x) }
func fmtMs(x float64) string   { return fmt.Sprintf("%.0fms", x) }
func fmtRPS(x float64) string {
	if x < 10 {
		return fmt.Sprintf("%.1f/s", x)
	}
	return fmt.Sprintf("%.0f/s", x)
}
