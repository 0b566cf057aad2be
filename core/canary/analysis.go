package canary

import (
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/warroom/warroom/core/deploy"
)

// Counts are one cohort's cumulative counters.
type Counts struct {
	Requests int64 `json:"requests"`
	Errors   int64 `json:"errors"`
	Slow     int64 `json:"slow"` // requests slower than the threshold fixed in advance
}

// Observation is both cohorts' cumulative counters at one instant, with
// the canary's intended traffic weight in percent.
type Observation struct {
	At       time.Time
	Baseline Counts
	Canary   Counts
	Weight   int
	// BaselineP99Ms and CanaryP99Ms are each cohort's recent 99th
	// percentile latency in milliseconds, when the source knows it (0:
	// unknown). They are only recorded for charts, never judged on: the
	// slow-request counts carry the latency evidence.
	BaselineP99Ms, CanaryP99Ms float64
}

// Config tunes the analysis.
type Config struct {
	// Alpha bounds the probability of a false rollback of one canary step
	// over all its weights; default 0.01. It is split equally between the
	// two regression tests (errors, slow requests).
	Alpha float64
	// PauseAlpha bounds the probability of a false pause by the
	// sample-ratio test; default Alpha. A pause costs an operator's look,
	// not a rollback, so it has a budget of its own.
	PauseAlpha float64
	// Tolerance: a canary rate up to (1+Tolerance) times the baseline's is
	// "no worse"; default 0.
	Tolerance float64
	// SRMConcentration is c of the SRM prior; default 1000.
	SRMConcentration float64
}

func (c Config) withDefaults() Config {
	if c.Alpha <= 0 || c.Alpha >= 1 {
		c.Alpha = 0.01
	}
	if c.PauseAlpha <= 0 || c.PauseAlpha >= 1 {
		c.PauseAlpha = c.Alpha
	}
	if c.Tolerance < 0 {
		c.Tolerance = 0
	}
	if c.SRMConcentration <= 0 {
		c.SRMConcentration = DefaultSRMConcentration
	}
	return c
}

// RegressionTests is the number of tests Alpha is split across.
const RegressionTests = 2

// Analysis is the sequential state of one canary step at one weight. It
// does no I/O; feed it observations in time order.
type Analysis struct {
	cfg       Config
	start     time.Time
	weight    int
	threshold float64 // on the regression tests' e-values, RegressionTests/Alpha
	srmThresh float64 // on the sample-ratio e-value, 1/PauseAlpha
	last      Observation
	started   bool
	errors    *RegressionTest
	slow      *RegressionTest
	srm       *SRMTest
	// srmLogE0 is the log e-value of the sample-ratio tests of earlier
	// weights: the product of sequential e-processes is one.
	srmLogE0 float64
	// errors, slow, srm: rejected yet, and when (seconds since start)
	rejected      [3]bool
	rejectedAfter [3]float64
	at            time.Time
	dirty         bool
	result        Result
}

// Result is the analysis after the latest observation.
type Result struct {
	Verdict deploy.Verdict
	Reason  string
	Evid    Evidence
}

// Evidence is what the console and the audit trail show.
type Evidence struct {
	Verdict      deploy.Verdict `json:"verdict"`
	Alpha        float64        `json:"alpha"`
	Tolerance    float64        `json:"tolerance"`
	Since        time.Time      `json:"since"`
	At           time.Time      `json:"at"`
	ElapsedS     float64        `json:"elapsed_s"`                 // canary start to this judgement
	DecidedAfter float64        `json:"decided_after_s,omitempty"` // canary start to the first rejection
	Metrics      []MetricEvid   `json:"metrics"`
	SRM          SRMEvid        `json:"srm"`
}

// CohortEvid is one cohort's counts of one metric.
type CohortEvid struct {
	Requests int64   `json:"requests"`
	Events   int64   `json:"events"`
	Rate     float64 `json:"rate"`
}

// MetricEvid is one regression test's state.
type MetricEvid struct {
	Name           string     `json:"name"` // "error_rate" or "slow_rate"
	Baseline       CohortEvid `json:"baseline"`
	Canary         CohortEvid `json:"canary"`
	RateRatio      *float64   `json:"rate_ratio"`      // canary/baseline, null when undefined
	RelativeEffect *float64   `json:"relative_effect"` // rate_ratio - 1
	EValue         float64    `json:"e_value"`
	Threshold      float64    `json:"threshold"`
	Rejected       bool       `json:"rejected"`
	RejectedAfterS float64    `json:"rejected_after_s,omitempty"`
}

// SRMEvid is the sample-ratio test's state.
type SRMEvid struct {
	NominalWeight  int     `json:"nominal_weight_percent"`
	ObservedShare  float64 `json:"observed_share"`
	CanaryRequests int64   `json:"canary_requests"`
	TotalRequests  int64   `json:"total_requests"`
	EValue         float64 `json:"e_value"` // over all the canary's weights
	Threshold      float64 `json:"threshold"`
	PauseAlpha     float64 `json:"pause_alpha"`
	Rejected       bool    `json:"rejected"`
	RejectedAfterS float64 `json:"rejected_after_s,omitempty"`
}

// NewAnalysis starts the analysis of a canary step that began at start
// with the given weight (percent on the canary).
func NewAnalysis(cfg Config, start time.Time, weight int) *Analysis {
	cfg = cfg.withDefaults()
	a := &Analysis{
		cfg:       cfg,
		start:     start,
		weight:    weight,
		threshold: RegressionTests / cfg.Alpha,
		srmThresh: 1 / cfg.PauseAlpha,
		errors:    NewRegressionTest(cfg.Tolerance),
		slow:      NewRegressionTest(cfg.Tolerance),
	}
	a.setWeight(weight)
	a.result.Verdict = deploy.VerdictContinue
	a.result.Evid = a.evidence(start)
	return a
}

func (a *Analysis) setWeight(weight int) {
	a.weight = weight
	a.srm = nil
	if weight > 0 && weight < 100 {
		a.srm = NewSRMTest(float64(weight)/100, a.cfg.SRMConcentration)
	}
}

// Reweight carries the analysis to the canary's next traffic weight. The
// regression tests go on (they condition on each interval's observed
// split, whatever the weight), so a canary's false-rollback bound holds
// over all its weights rather than per weight; the sample-ratio test
// starts again at the new nominal share, its evidence so far kept as a
// factor.
func (a *Analysis) Reweight(weight int) {
	if weight == a.weight {
		return
	}
	if a.srm != nil {
		a.srmLogE0 += a.srm.LogE()
	}
	a.setWeight(weight)
	a.dirty = true
}

func (a *Analysis) srmLogE() float64 {
	if a.srm == nil {
		return a.srmLogE0
	}
	return a.srmLogE0 + a.srm.LogE()
}

// delta returns cur - prev per counter; a counter that went down was reset
// and counts from zero.
func delta(cur, prev Counts) Counts {
	d := func(c, p int64) int64 {
		if c < p {
			return c
		}
		return c - p
	}
	out := Counts{Requests: d(cur.Requests, prev.Requests), Errors: d(cur.Errors, prev.Errors), Slow: d(cur.Slow, prev.Slow)}
	out.Errors = min(out.Errors, out.Requests)
	out.Slow = min(out.Slow, out.Requests)
	return out
}

// Observe feeds one observation. The first observation of a step is the
// reference the counters are measured from. Rejections are final.
func (a *Analysis) Observe(o Observation) deploy.Verdict {
	var db, dc Counts
	if !a.started {
		// Cumulative counters from before the step cannot be told apart
		// from the step's: the first observation is the reference.
		a.started = true
	} else {
		db, dc = delta(o.Baseline, a.last.Baseline), delta(o.Canary, a.last.Canary)
	}
	a.last = o
	a.errors.Update(db.Requests, dc.Requests, db.Errors, dc.Errors)
	a.slow.Update(db.Requests, dc.Requests, db.Slow, dc.Slow)
	if a.srm != nil {
		a.srm.Update(db.Requests, dc.Requests)
	}
	a.at = o.At
	lt := math.Log(a.threshold)
	for i, le := range []float64{a.errors.LogE(), a.slow.LogE()} {
		if !a.rejected[i] && le >= lt {
			a.rejected[i], a.rejectedAfter[i] = true, a.elapsed(o.At)
		}
	}
	if !a.rejected[2] && a.srmLogE() >= math.Log(a.srmThresh) {
		a.rejected[2], a.rejectedAfter[2] = true, a.elapsed(o.At)
	}
	a.dirty = true
	return a.Verdict()
}

// Verdict is the current verdict, cheaply (no evidence is built).
func (a *Analysis) Verdict() deploy.Verdict {
	switch {
	case a.rejected[0] || a.rejected[1]:
		return deploy.VerdictRollback
	case a.rejected[2]:
		return deploy.VerdictPause
	}
	return deploy.VerdictContinue
}

// DecidedAfter is the time from the step's start to the first rejection
// that made the verdict (0 if none).
func (a *Analysis) DecidedAfter() float64 {
	switch a.Verdict() {
	case deploy.VerdictRollback:
		if a.rejected[0] && a.rejected[1] {
			return min(a.rejectedAfter[0], a.rejectedAfter[1])
		}
		if a.rejected[0] {
			return a.rejectedAfter[0]
		}
		return a.rejectedAfter[1]
	case deploy.VerdictPause:
		return a.rejectedAfter[2]
	}
	return 0
}

// Result returns the verdict with its reason and evidence.
func (a *Analysis) Result() Result {
	if a.dirty {
		a.result = a.judge(a.at)
		a.dirty = false
	}
	return a.result
}

func (a *Analysis) elapsed(at time.Time) float64 {
	if a.start.IsZero() {
		return 0
	}
	return at.Sub(a.start).Seconds()
}

func (a *Analysis) judge(at time.Time) Result {
	ev := a.evidence(at)
	for i := range ev.Metrics {
		ev.Metrics[i].Rejected, ev.Metrics[i].RejectedAfterS = a.rejected[i], a.rejectedAfter[i]
	}
	ev.SRM.Rejected, ev.SRM.RejectedAfterS = a.rejected[2], a.rejectedAfter[2]
	r := Result{Verdict: deploy.VerdictContinue}
	var reasons []string
	for _, m := range ev.Metrics {
		if m.Rejected {
			r.Verdict = deploy.VerdictRollback
			if ev.DecidedAfter == 0 || m.RejectedAfterS < ev.DecidedAfter {
				ev.DecidedAfter = m.RejectedAfterS
			}
			reasons = append(reasons, fmt.Sprintf("%s %s on the canary vs %s on the baseline; e-value %s >= %s after %s",
				metricLabel(m.Name), pct(m.Canary.Rate), pct(m.Baseline.Rate), num(m.EValue), num(m.Threshold), secs(m.RejectedAfterS)))
		}
	}
	if r.Verdict != deploy.VerdictRollback && ev.SRM.Rejected {
		r.Verdict = deploy.VerdictPause
		ev.DecidedAfter = ev.SRM.RejectedAfterS
		reasons = append(reasons, fmt.Sprintf("traffic split %s on the canary, %d%% asked; sample-ratio e-value %s >= %s after %s",
			pct(ev.SRM.ObservedShare), ev.SRM.NominalWeight, num(ev.SRM.EValue), num(ev.SRM.Threshold), secs(ev.SRM.RejectedAfterS)))
	}
	if r.Verdict == deploy.VerdictContinue {
		m := ev.Metrics
		reasons = append(reasons, fmt.Sprintf("no evidence of harm after %s: errors %s vs %s (e %s), slow %s vs %s (e %s); threshold %s",
			secs(ev.ElapsedS), pct(m[0].Canary.Rate), pct(m[0].Baseline.Rate), num(m[0].EValue),
			pct(m[1].Canary.Rate), pct(m[1].Baseline.Rate), num(m[1].EValue), num(a.threshold)))
	}
	r.Reason = reasons[0]
	for _, s := range reasons[1:] {
		r.Reason += "; " + s
	}
	ev.Verdict = r.Verdict
	r.Evid = ev
	return r
}

// Finish turns a continue into promote (call when the bake time is over).
func (r Result) Finish() Result {
	if r.Verdict == deploy.VerdictContinue {
		r.Verdict = deploy.VerdictPromote
		r.Evid.Verdict = r.Verdict
		r.Reason = "bake time over; " + r.Reason
	}
	return r
}

// Judgement renders the result for the engine.
func (r Result) Judgement() (deploy.Judgement, error) {
	b, err := json.Marshal(r.Evid)
	if err != nil {
		return deploy.Judgement{}, err
	}
	return deploy.Judgement{Verdict: r.Verdict, Reason: r.Reason, Evidence: b}, nil
}

func (a *Analysis) evidence(at time.Time) Evidence {
	ev := Evidence{Alpha: a.cfg.Alpha, Tolerance: a.cfg.Tolerance, Since: a.start, At: at, ElapsedS: a.elapsed(at)}
	ev.Metrics = []MetricEvid{a.metric("error_rate", a.errors), a.metric("slow_rate", a.slow)}
	ev.SRM = SRMEvid{NominalWeight: a.weight, Threshold: a.srmThresh, EValue: math.Exp(a.srmLogE()), PauseAlpha: a.cfg.PauseAlpha}
	ev.SRM.Rejected = a.srmLogE() >= math.Log(a.srmThresh)
	if a.srm != nil {
		ev.SRM.CanaryRequests, ev.SRM.TotalRequests = a.srm.X, a.srm.N
	}
	if ev.SRM.TotalRequests > 0 {
		ev.SRM.ObservedShare = float64(ev.SRM.CanaryRequests) / float64(ev.SRM.TotalRequests)
	}
	return ev
}

func (a *Analysis) metric(name string, t *RegressionTest) MetricEvid {
	rate := func(x, n int64) float64 {
		if n == 0 {
			return 0
		}
		return float64(x) / float64(n)
	}
	m := MetricEvid{
		Name:      name,
		Baseline:  CohortEvid{t.BaselineRequests, t.BaselineEvents, rate(t.BaselineEvents, t.BaselineRequests)},
		Canary:    CohortEvid{t.CanaryRequests, t.CanaryEvents, rate(t.CanaryEvents, t.CanaryRequests)},
		EValue:    math.Exp(t.LogE()),
		Threshold: a.threshold,
		Rejected:  t.LogE() >= math.Log(a.threshold),
	}
	if rr := t.RateRatio(); !math.IsNaN(rr) && !math.IsInf(rr, 0) {
		eff := rr - 1
		m.RateRatio, m.RelativeEffect = &rr, &eff
	}
	return m
}

func metricLabel(name string) string {
	if name == "slow_rate" {
		return "slow-request rate"
	}
	return "error rate"
}

func pct(x float64) string {
	switch {
	case x == 0:
		return "0%"
	case x < 0.001:
		return fmt.Sprintf("%.3f%%", 100*x)
	case x < 0.1:
		return fmt.Sprintf("%.1f%%", 100*x)
	}
	return fmt.Sprintf("%.0f%%", 100*x)
}

func num(x float64) string {
	if x >= 1e6 {
		return fmt.Sprintf("%.3g", x)
	}
	if x >= 10 {
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.2g", x)
}

func secs(s float64) string {
	if s < 120 {
		return fmt.Sprintf("%.0f s", s)
	}
	return fmt.Sprintf("%.1f min", s/60)
}
