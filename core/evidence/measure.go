package evidence

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/warroom/warroom/core/model"
)

// Measurement is a gate's reading of its evidence.
type Measurement struct {
	Value     float64 // in the gate kind's unit: percent, count, percent regression
	Threshold string  // "min 75 %", "max 0 high+", "max 5 %", "allow [MIT …]"
	Pass      bool
	Summary   string // one line: "coverage 71.2 % < min 75 %"
}

// Defaults for thresholds a gate leaves out.
const (
	DefaultMinPassRate = 100   // tests, integration: every test passes
	DefaultMaxFindings = 0     // security
	DefaultSeverity    = "low" // security: every finding counts
	DefaultMaxRegress  = 0     // performance: no significant regression
)

// Measure reads evidence r (and, for performance, baseline) for gate g.
// It fails when the evidence does not fit the gate's kind (a SARIF log for
// a coverage gate) or the gate reads no evidence (approval, rehearsal,
// drift). Coverage gates must give min; licence gates must give allow.
func Measure(g model.Gate, r *Reading, baseline *Reading) (Measurement, error) {
	if r == nil {
		return Measurement{}, fmt.Errorf("gate %s: no evidence", g.Name)
	}
	wrong := func(want string) error {
		return fmt.Errorf("gate %s (%s) reads %s, not %s evidence", g.Name, g.Kind, want, r.Format)
	}
	switch g.Kind {
	case model.GateTests, model.GateIntegration:
		if r.Tests == nil {
			return Measurement{}, wrong("JUnit XML")
		}
		return measureTests(g, r.Tests), nil
	case model.GateCoverage:
		if r.Coverage == nil {
			return Measurement{}, wrong("coverage (Go profile or Cobertura)")
		}
		if g.Min == nil {
			return Measurement{}, fmt.Errorf("gate %s: a coverage gate needs min", g.Name)
		}
		v := r.Coverage.Percent
		m := Measurement{Value: v, Threshold: "min " + num(*g.Min) + " %", Pass: v >= *g.Min}
		m.Summary = fmt.Sprintf("coverage %s %% %s %s", pct(v), cmp(m.Pass, ">=", "<"), m.Threshold)
		return m, nil
	case model.GateSecurity:
		if r.Format != FormatSARIF {
			return Measurement{}, wrong("SARIF")
		}
		return measureSecurity(g, r)
	case model.GateLicence:
		if r.Packages == nil {
			return Measurement{}, wrong("SPDX")
		}
		return measureLicences(g, r.Packages)
	case model.GatePerformance:
		if r.Benchmarks == nil {
			return Measurement{}, wrong("Go benchmark")
		}
		if baseline == nil || baseline.Benchmarks == nil {
			return Measurement{}, fmt.Errorf("gate %s: performance evidence needs a baseline (the benchmark output of the build it is compared with)", g.Name)
		}
		return measurePerformance(g, r.Benchmarks, baseline.Benchmarks)
	}
	return Measurement{}, fmt.Errorf("gate %s: a %s gate reads no evidence", g.Name, g.Kind)
}

func measureTests(g model.Gate, t *TestCounts) Measurement {
	min := float64(DefaultMinPassRate)
	if g.Min != nil {
		min = *g.Min
	}
	m := Measurement{Threshold: "min " + num(min) + " %"}
	rate, ok := t.PassRate()
	if !ok {
		m.Summary = fmt.Sprintf("no test ran (%d skipped): no pass rate", t.Skipped)
		return m
	}
	m.Value, m.Pass = rate, rate >= min
	m.Summary = fmt.Sprintf("pass rate %s %% %s %s (%d passed, %d failed, %d skipped)",
		pct(rate), cmp(m.Pass, ">=", "<"), m.Threshold, t.Passed, t.Failed, t.Skipped)
	if len(t.FirstFailures) > 0 {
		m.Summary += ": " + strings.Join(t.FirstFailures, ", ")
		if t.Failed > len(t.FirstFailures) {
			m.Summary += ", …"
		}
	}
	return m
}

func measureSecurity(g model.Gate, r *Reading) (Measurement, error) {
	sev := g.Severity
	if sev == "" {
		sev = DefaultSeverity
	}
	floor, ok := severityRank[sev]
	if !ok {
		return Measurement{}, fmt.Errorf("gate %s: severity %q is not one of %s", g.Name, sev, strings.Join(model.Severities, ", "))
	}
	max := float64(DefaultMaxFindings)
	if g.Max != nil {
		max = *g.Max
	}
	count := 0
	var first []string
	for _, f := range r.Findings {
		if severityRank[f.Severity] < floor {
			continue
		}
		count++
		if len(first) < 3 {
			where := f.RuleID
			if f.Location != "" {
				where += " at " + f.Location
			}
			first = append(first, f.Severity+" "+where)
		}
	}
	m := Measurement{Value: float64(count), Threshold: "max " + num(max) + " " + sev + "+", Pass: float64(count) <= max}
	m.Summary = fmt.Sprintf("%d open %s+ finding%s %s %s", count, sev, plural(count), cmp(m.Pass, "<=", ">"), m.Threshold)
	if r.Suppressed > 0 {
		m.Summary += fmt.Sprintf(" (%d suppressed)", r.Suppressed)
	}
	if len(first) > 0 {
		m.Summary += ": " + strings.Join(first, "; ")
		if count > len(first) {
			m.Summary += "; …"
		}
	}
	return m, nil
}

func measureLicences(g model.Gate, pkgs []Package) (Measurement, error) {
	if len(g.Allow) == 0 {
		return Measurement{}, fmt.Errorf("gate %s: a licence gate needs allow (the SPDX identifiers allowed)", g.Name)
	}
	count, deps := 0, 0
	var first []string
	for _, p := range pkgs {
		if p.Described {
			continue
		}
		deps++
		ok, err := licenceAllowed(p.License, g.Allow)
		if err != nil {
			return Measurement{}, fmt.Errorf("gate %s: package %s: licence %q against allow %v: %w", g.Name, p.Name, p.License, g.Allow, err)
		}
		if ok {
			continue
		}
		count++
		if len(first) < 3 {
			first = append(first, p.Name+" ("+p.License+")")
		}
	}
	m := Measurement{Value: float64(count), Threshold: "allow [" + strings.Join(g.Allow, " ") + "]", Pass: count == 0}
	if count == 0 {
		m.Summary = fmt.Sprintf("all %d packages' licences allowed", deps)
		return m, nil
	}
	m.Summary = fmt.Sprintf("%d of %d packages' licences not allowed: %s", count, deps, strings.Join(first, ", "))
	if count > len(first) {
		m.Summary += ", …"
	}
	return m, nil
}

func measurePerformance(g model.Gate, new, old *BenchSet) (Measurement, error) {
	max := float64(DefaultMaxRegress)
	if g.Max != nil {
		max = *g.Max
	}
	deltas := Compare(old, new)
	if len(deltas) == 0 {
		return Measurement{}, fmt.Errorf("gate %s: the benchmarks share nothing with the baseline (no benchmark and unit in both)", g.Name)
	}
	var worst *BenchDelta
	noise := 0
	for i := range deltas {
		d := &deltas[i]
		if !d.Significant {
			noise++
			continue
		}
		if worst == nil || d.Regression > worst.Regression {
			worst = d
		}
	}
	m := Measurement{Threshold: "max " + num(max) + " %"}
	if worst == nil || worst.Regression <= 0 {
		m.Pass = true
		m.Summary = fmt.Sprintf("no significant regression in %d comparison%s (%d within noise)", len(deltas), plural(len(deltas)), noise)
		if worst != nil {
			m.Value = worst.Regression
		}
		return m, nil
	}
	m.Value, m.Pass = worst.Regression, worst.Regression <= max
	m.Summary = fmt.Sprintf("regression %s %% %s %s: %s", pct(worst.Regression), cmp(m.Pass, "<=", ">"), m.Threshold, worst)
	return m, nil
}

func cmp(pass bool, ok, bad string) string {
	if pass {
		return ok
	}
	return bad
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// pct prints a percentage with one decimal, never rounding a shortfall up
// to the threshold ("99.96" is not "100.0").
func pct(v float64) string {
	s := strconv.FormatFloat(v, 'f', 1, 64)
	if f, _ := strconv.ParseFloat(s, 64); f > v {
		s = strconv.FormatFloat(float64(int64(v*10))/10, 'f', 1, 64)
	}
	return s
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
