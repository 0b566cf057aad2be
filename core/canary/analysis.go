package canary

import (
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/warroom/warroom/core/deploy"
)

// Counts are one cohort's cumulative counters.
type Counts struct {
	Requests int64 `json:"requests"`
	Errors   int64 `json:"errors"`
	Slow     int64 `json:"slow"` // requests slower than a cutoff fixed in advance (used without histograms)
	// Buckets is the cohort's latency histogram: requests per bucket of
	// Observation.BoundsMs (per bucket, not cumulative over buckets as
	// Prometheus' le series are). Empty: the source has no histogram.
	Buckets []int64 `json:"buckets,omitempty"`
}

// Observation is both cohorts' cumulative counters at one instant, with
// the canary's intended traffic weight in percent.
type Observation struct {
	At       time.Time
	Baseline Counts
	Canary   Counts
	Weight   int
	// BoundsMs are the latency histogram's bucket upper bounds in
	// milliseconds, ascending (the last may be +Inf), shared by both
	// cohorts' Buckets.
	BoundsMs []float64
	// BaselineP99Ms and CanaryP99Ms are each cohort's recent 99th
	// percentile latency in milliseconds, when the source knows it (0:
	// unknown). They are only recorded for charts, never judged on.
	BaselineP99Ms, CanaryP99Ms float64
}

// Config tunes the analysis.
type Config struct {
	// Alpha bounds the probability of a false rollback (of a canary no
	// worse than its baseline) over all of a canary's weights; default
	// 0.01. It is split equally between the rollback tests (see Train).
	Alpha float64
	// Train is the number of services whose canaries run in one release
	// train: each gets Alpha/Train, so the train's false-rollback rate
	// stays at most Alpha (Bonferroni). 0 or 1: a single service.
	Train int
	// PauseAlpha bounds the probability of a false pause by the
	// sample-ratio test; default Alpha. A pause costs an operator's look,
	// not a rollback, so it has a budget of its own.
	PauseAlpha float64
	// Tolerance: the relative tests' null is "the canary's rate is at
	// most (1+Tolerance) times the baseline's"; default 0.
	Tolerance float64
	// Beta bounds the probability of promoting a canary whose regression
	// is at least ErrorTolerance or LatencyTolerance; default 0.05.
	Beta float64
	// ErrorTolerance is the largest error-rate increase tolerated,
	// absolute (0.005: +0.5 percentage points); default
	// DefaultErrorTolerance. See FromSLO.
	ErrorTolerance float64
	// LatencyTolerance is the largest p95-latency increase tolerated,
	// relative (0.2: +20 %); default DefaultLatencyTolerance.
	LatencyTolerance float64
	// Objectives are the SLO the canary is also tested against.
	Objectives Objectives
	// SRMConcentration is c of the SRM prior; default 1000.
	SRMConcentration float64
}

func (c Config) withDefaults() Config {
	if c.Alpha <= 0 || c.Alpha >= 1 {
		c.Alpha = 0.01
	}
	if c.Train < 1 {
		c.Train = 1
	}
	if c.PauseAlpha <= 0 || c.PauseAlpha >= 1 {
		c.PauseAlpha = c.Alpha
	}
	if c.Tolerance < 0 {
		c.Tolerance = 0
	}
	if c.Beta <= 0 || c.Beta >= 1 {
		c.Beta = DefaultBeta
	}
	if c.ErrorTolerance <= 0 || c.ErrorTolerance >= 1 {
		c.ErrorTolerance = DefaultErrorTolerance
	}
	if c.LatencyTolerance <= 0 {
		c.LatencyTolerance = DefaultLatencyTolerance
	}
	if !(c.Objectives.ErrorRate > 0 && c.Objectives.ErrorRate < 1) {
		c.Objectives.ErrorRate = 0
	}
	if !(c.Objectives.LatencyP99Ms > 0) {
		c.Objectives.LatencyP99Ms = 0
	}
	if c.SRMConcentration <= 0 {
		c.SRMConcentration = DefaultSRMConcentration
	}
	return c
}

// RegressionTests is the number of relative rollback tests (errors,
// latency); each SLO objective adds one more.
const RegressionTests = 2

// RollbackTests is the number of rollback tests Alpha/Train is split
// across for cfg.
func RollbackTests(cfg Config) int {
	cfg = cfg.withDefaults()
	k := RegressionTests
	if cfg.Objectives.ErrorRate > 0 {
		k++
	}
	if cfg.Objectives.LatencyP99Ms > 0 {
		k++
	}
	return k
}

// ShiftWeight is the shift test's weight in the latency e-value; the
// rest goes to the share of requests above the baseline's p95, which
// catches a regression of the tail alone.
const ShiftWeight = 0.9

// LatencyReferenceMin is how many baseline requests the latency
// thresholds (the baseline's median and p95) are read from; the latency
// tests start once the reference has them.
const LatencyReferenceMin = 200

// Reference is the baseline as the judge knows it: its counters from
// before the step (the pre-deployment baseline), and what it served since.
// The 100 % step, with no baseline left, is judged against it.
type Reference struct {
	Requests, Errors, Slow float64
	Hist                   []float64 // per bucket of BoundsMs
	BoundsMs               []float64
	errDisp, latDisp       dispersion
	// Latency thresholds, frozen once the histogram has
	// LatencyReferenceMin requests (0: not yet).
	P50Ms, P95Ms float64
}

func (r *Reference) histN() float64 { return sumF(r.Hist) }

func (r *Reference) add(c Counts, h []float64) {
	r.Requests += float64(c.Requests)
	r.Errors += float64(c.Errors)
	r.Slow += float64(c.Slow)
	if len(h) > 0 {
		if len(r.Hist) != len(h) {
			r.Hist = make([]float64, len(h))
		}
		for i, v := range h {
			r.Hist[i] += v
		}
	}
}

func (r *Reference) freeze() {
	if r.P95Ms > 0 || r.histN() < LatencyReferenceMin {
		return
	}
	r.P50Ms = quantileOf(r.Hist, r.BoundsMs, 0.5)
	r.P95Ms = quantileOf(r.Hist, r.BoundsMs, ToleranceQuantile)
	if !(r.P50Ms > 0) || !(r.P95Ms > 0) {
		r.P50Ms, r.P95Ms = 0, 0
	}
}

// check is one rollback test.
type check struct {
	name, test, against string
	logE, threshold     float64 // ln
	thr                 threshold
	rejected            bool
	after               float64
	// what it has seen: canary trials and events, the compared rate
	// (baseline's, or the reference rate p0 of the latest interval)
	nc, xc, nb, xb, p0, phi float64
}

// proof is one promotion proof.
type proof struct {
	name, test string
	t          *OneSidedTest
	threshold  float64 // ln
	thr        threshold
	proved     bool
	after      float64
	afterN     float64 // canary requests the proof took
	limit, phi float64 // latest p0 and dispersion
	claim      string  // what it proves, for the reasons
	claimP95   float64 // the reference p95 and the name the claim was written with
	claimName  string
}

// Analysis is the sequential state of one canary step. It does no I/O;
// feed it observations in time order.
type Analysis struct {
	cfg         Config
	start       time.Time
	weight      int
	alphaEach   float64 // Alpha / Train / RollbackTests
	srmThresh   float64 // on the sample-ratio e-value, 1/PauseAlpha
	lnSrmThresh float64 // its logarithm
	last        Observation
	started     bool
	ref         *Reference
	carried     bool // ref came from an earlier step
	bounds      []float64
	// rollback tests
	errRel      *RegressionTest // with a Tolerance (a ratio null)
	errTwo      *TwoSampleTest
	latRel      [2]*RegressionTest // slow counts; exceedance of the baseline's p95
	shift       *ShiftTest         // the latency distribution's shift, from the frozen reference
	errRef      *OneSidedTest      // 100 %: against the reference
	latRef      [2]*OneSidedTest
	errSLO      *OneSidedTest
	latSLO      *OneSidedTest
	checks      []*check // errors, latency, then the SLO tests configured
	proofs      [2]*proof
	srm         *SRMTest
	srmLogE0    float64
	srmRejected bool
	// srmStale: the weight changed since the last observation, so the
	// next interval mixes traffic split at the old share (a bake that
	// waited for an operator at 5 % for minutes, then 25 %): the
	// sample-ratio test skips it instead of reading it as a bad split.
	srmStale    bool
	srmAfter    float64
	confOf      float64       // the confidence confText was written for
	scratch     Evidence      // continueReason's and finished's, on blk, reused
	blk         evidenceBlock // scratch's parts
	enc         evidenceEnc   // what the evidence JSON repeats (encode)
	confText    string
	baseN, canN float64 // requests in the step
	bounds_     [8]boundCache
	hb, hc      []float64 // the latest interval's histograms (reused)
	// Where the latency thresholds fall in the histograms' layout
	// (above's work, done once per threshold): the reference's p50 and
	// p95, the SLO's p99 (on the canary's layout, and pessimistic on the
	// reference's) and the tolerated p95.
	cut50, cut95, cutSLO, cutSLORef, cutLimit cut
	at                                        time.Time
	dirty                                     bool
	result                                    Result
	finishResult                              *Result
}

// Result is the analysis after the latest observation.
type Result struct {
	Verdict deploy.Verdict
	Reason  string
	Evid    Evidence
}

// Evidence is what the console, `deploy status -o json` and the audit
// trail show.
type Evidence struct {
	Verdict          deploy.Verdict `json:"verdict"`
	Alpha            float64        `json:"alpha"`
	AlphaPerTest     float64        `json:"alpha_per_test"`
	Train            int            `json:"train"`
	Tolerance        float64        `json:"tolerance"`
	Beta             float64        `json:"beta"`
	ErrorTolerance   float64        `json:"error_tolerance"`
	LatencyTolerance float64        `json:"latency_tolerance"`
	Objectives       Objectives     `json:"objectives"`
	Since            time.Time      `json:"since"`
	At               time.Time      `json:"at"`
	ElapsedS         float64        `json:"elapsed_s"`                 // canary start to this judgement
	DecidedAfter     float64        `json:"decided_after_s,omitempty"` // canary start to the first rejection
	// Against is what the canary is compared with: "baseline" (the
	// cohort serving beside it) or "pre-deployment baseline" (the 100 %
	// step: the baseline as recorded before the step).
	Against string       `json:"against"`
	Latency *LatencyEvid `json:"latency,omitempty"`
	Metrics []MetricEvid `json:"metrics"`
	Proofs  []ProofEvid  `json:"proofs"`
	// Proved: every proof holds, the canary may be promoted.
	Proved bool `json:"proved"`
	// Insufficient is set when the bake is over with neither verdict.
	Insufficient *Shortfall `json:"insufficient,omitempty"`
	SRM          SRMEvid    `json:"srm"`
}

// LatencyEvid is the latency thresholds the tests use.
type LatencyEvid struct {
	Histogram bool    `json:"histogram"` // false: the slow counts of a fixed cutoff
	P50Ms     float64 `json:"baseline_p50_ms,omitempty"`
	P95Ms     float64 `json:"baseline_p95_ms,omitempty"`
	LimitMs   float64 `json:"tolerated_p95_ms,omitempty"` // (1 + latency tolerance) x baseline p95
	SLOMs     float64 `json:"slo_p99_ms,omitempty"`
}

// CohortEvid is one cohort's counts of one metric.
type CohortEvid struct {
	Requests int64   `json:"requests"`
	Events   int64   `json:"events"`
	Rate     float64 `json:"rate"`
}

// MetricEvid is one rollback test's state.
type MetricEvid struct {
	// Name: "error_rate", "latency_shift" (or "slow_rate" without
	// histograms), "error_slo", "latency_slo".
	Name string `json:"name"`
	// Test names the statistical test.
	Test string `json:"test"`
	// Against: "baseline", "pre-deployment baseline" or "slo".
	Against        string     `json:"against"`
	Baseline       CohortEvid `json:"baseline"`
	Canary         CohortEvid `json:"canary"`
	RateRatio      *float64   `json:"rate_ratio"`      // canary/baseline, null when undefined
	RelativeEffect *float64   `json:"relative_effect"` // rate_ratio - 1
	// ReferenceRate is the rate the canary is tested against by the
	// one-sample tests (SLO, pre-deployment baseline).
	ReferenceRate  float64 `json:"reference_rate,omitempty"`
	Dispersion     float64 `json:"dispersion,omitempty"`
	EValue         float64 `json:"e_value"`
	Threshold      float64 `json:"threshold"`
	Rejected       bool    `json:"rejected"`
	RejectedAfterS float64 `json:"rejected_after_s,omitempty"`
}

// ProofEvid is one promotion proof's state.
type ProofEvid struct {
	Name string `json:"name"` // "error_rate" or "latency_p95" ("slow_rate" without histograms)
	Test string `json:"test"`
	// Claim is what is proved when Proved, e.g. "error rate <= base + 0.5 pp".
	Claim      string     `json:"claim"`
	Confidence float64    `json:"confidence"`
	Canary     CohortEvid `json:"canary"`
	// Limit is the rate the canary's is proved below: base + tolerance,
	// or the share of requests allowed above the tolerated p95.
	Limit        float64 `json:"limit"`
	Dispersion   float64 `json:"dispersion"`
	EValue       float64 `json:"e_value"`
	Threshold    float64 `json:"threshold"`
	Proved       bool    `json:"proved"`
	ProvedAfterS float64 `json:"proved_after_s,omitempty"`
	// ProvedAfterRequests is the canary requests the proof took.
	ProvedAfterRequests int64 `json:"proved_after_requests,omitempty"`
	// MoreRequests estimates the canary requests still needed at the
	// current rates (-1: not provable at the current rates).
	MoreRequests int64 `json:"more_requests"`
}

// Shortfall says how much evidence is missing when the bake ends with
// neither verdict.
type Shortfall struct {
	Requests     int64   `json:"requests"`      // canary requests so far
	MoreRequests int64   `json:"more_requests"` // -1: not provable at the current rates
	CanaryRPS    float64 `json:"canary_rps"`
	MoreS        float64 `json:"more_s,omitempty"` // MoreRequests at the current traffic
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
	k := RollbackTests(cfg)
	a := &Analysis{
		cfg:       cfg,
		start:     start,
		weight:    weight,
		alphaEach: cfg.Alpha / float64(cfg.Train) / float64(k),
		srmThresh: 1 / cfg.PauseAlpha,
		errRel:    NewRegressionTest(cfg.Tolerance),
		latRel:    [2]*RegressionTest{NewRegressionTest(cfg.Tolerance), NewRegressionTest(cfg.Tolerance)},
		errRef:    NewUpwardTest(),
		latRef:    [2]*OneSidedTest{NewUpwardTest(), NewUpwardTest()},
		ref:       &Reference{},
	}
	a.lnSrmThresh = math.Log(a.srmThresh)
	lt := math.Log(1 / a.alphaEach)
	a.checks = []*check{
		{name: "error_rate", logE: 0, threshold: lt},
		{name: "latency_shift", threshold: lt},
	}
	if cfg.Objectives.ErrorRate > 0 {
		a.errSLO = NewUpwardTest()
		a.checks = append(a.checks, &check{name: "error_slo", against: "slo", threshold: math.Log(2 / a.alphaEach),
			test: fmt.Sprintf("one-sample sequential test of the canary's error rate against the SLO's %s (or the baseline's upper bound, if higher)", pct(cfg.Objectives.ErrorRate))})
	}
	if cfg.Objectives.LatencyP99Ms > 0 {
		a.latSLO = NewUpwardTest()
		a.checks = append(a.checks, &check{name: "latency_slo", against: "slo", threshold: math.Log(2 / a.alphaEach),
			test: fmt.Sprintf("one-sample sequential test of the canary's share of requests slower than the SLO's p99 %s against 1 %% (or the baseline's upper bound, if higher)", ms(cfg.Objectives.LatencyP99Ms))})
	}
	a.proofs = [2]*proof{
		{name: "error_rate", t: NewDownwardTest(), threshold: math.Log(2 / cfg.Beta),
			test: "one-sample sequential test of the canary's error rate against the baseline's lower bound + tolerance"},
		{name: "latency_p95", t: NewDownwardTest(), threshold: math.Log(1 / cfg.Beta),
			test: "one-sample sequential test of the canary's share of requests slower than (1 + tolerance) x the baseline's p95 against 5 %"},
	}
	a.errTwo = NewTwoSampleTest()
	a.errTwo.Focus = cfg.ErrorTolerance
	a.setWeight(weight)
	a.result.Verdict = deploy.VerdictContinue
	a.result.Evid = a.evidence(start)
	return a
}

// SetReference carries the baseline known from an earlier step of the
// same run (call before the first observation): the 100 % step is judged
// against it. A nil ref is ignored.
func (a *Analysis) SetReference(ref *Reference) {
	if ref == nil || a.started {
		return
	}
	cp := *ref
	cp.Hist = append([]float64(nil), ref.Hist...)
	cp.BoundsMs = append([]float64(nil), ref.BoundsMs...)
	a.ref, a.carried = &cp, true
}

// Reference is the baseline as this step knows it, to carry to the next.
func (a *Analysis) Reference() *Reference { return a.ref }

func (a *Analysis) hundred() bool { return a.weight >= 100 }

func (a *Analysis) setWeight(weight int) {
	a.weight = weight
	a.srm = nil
	if weight > 0 && weight < 100 {
		a.srm = NewSRMTest(float64(weight)/100, a.cfg.SRMConcentration)
	}
}

// Reweight carries the analysis to the canary's next traffic weight. The
// tests go on (they condition on each interval's observed split, whatever
// the weight), so a canary's bounds hold over all its weights rather than
// per weight; the sample-ratio test starts again at the new nominal share,
// its evidence so far kept as a factor.
func (a *Analysis) Reweight(weight int) {
	if weight == a.weight {
		return
	}
	if a.srm != nil {
		a.srmLogE0 += a.srm.LogE()
	}
	a.setWeight(weight)
	a.srmStale = a.started
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

func (a *Analysis) histograms(o Observation) bool {
	return len(o.BoundsMs) > 0 && len(o.Canary.Buckets) == len(o.BoundsMs) && checkBounds(o.BoundsMs) == nil
}

// Observe feeds one observation. The first observation of a step is the
// reference the counters are measured from; its baseline counters (all
// the baseline served before the step) are the pre-deployment baseline
// unless SetReference carried one. Rejections and proofs are final.
func (a *Analysis) Observe(o Observation) deploy.Verdict {
	hist := a.histograms(o)
	if !a.started {
		a.started = true
		a.keep(o)
		a.at = o.At
		if hist {
			a.bounds = append([]float64(nil), o.BoundsMs...)
		}
		if !a.carried {
			var h []float64
			if hist && len(o.Baseline.Buckets) == len(o.BoundsMs) {
				h = bucketDelta(o.Baseline.Buckets, nil)
			}
			a.ref.BoundsMs = a.bounds
			a.ref.add(o.Baseline, h)
		}
		a.ref.freeze()
		a.dirty = true
		return a.Verdict()
	}
	if hist && len(a.bounds) != len(o.BoundsMs) {
		hist = false // the histogram's layout changed: no histogram evidence this interval
	}
	db, dc := delta(o.Baseline, a.last.Baseline), delta(o.Canary, a.last.Canary)
	var hb, hc []float64
	if hist {
		a.hb = bucketDeltaInto(a.hb, o.Baseline.Buckets, a.last.Baseline.Buckets)
		a.hc = bucketDeltaInto(a.hc, o.Canary.Buckets, a.last.Canary.Buckets)
		hb, hc = a.hb, a.hc
		if len(hb) != len(a.bounds) {
			hb = nil
		}
	}
	dt := o.At.Sub(a.last.At)
	a.keep(o)
	a.at = o.At
	a.baseN += float64(db.Requests)
	a.canN += float64(dc.Requests)
	// The baseline's interval: its requests and those slower than the
	// reference's p95, used by the tests and the dispersion.
	var nb, xb95 float64
	if hb != nil {
		nb = sumF(hb)
		if a.ref.P95Ms > 0 {
			xb95 = a.cut95.at(a.ref.BoundsMs, a.ref.P95Ms, false).above(hb)
		}
	}
	a.update(db, dc, hb, hc, nb, xb95)
	// The reference and the dispersion learn from the baseline after the
	// tests used them: each interval's tests only see what came before.
	a.ref.errDisp.add(float64(db.Requests), float64(db.Errors), dt)
	if a.ref.P95Ms > 0 && hb != nil {
		a.ref.latDisp.add(nb, xb95, dt)
	}
	a.ref.add(db, hb)
	if len(a.ref.BoundsMs) == 0 && hist {
		a.ref.BoundsMs = a.bounds
	}
	a.ref.freeze()
	if a.srm != nil && !a.srmStale {
		a.srm.Update(db.Requests, dc.Requests)
	}
	a.srmStale = false
	el := a.elapsed(o.At)
	for _, c := range a.checks {
		if !c.rejected && c.logE >= c.threshold {
			c.rejected, c.after = true, el
		}
	}
	for _, p := range a.proofs {
		if !p.proved && p.t.LogE() >= p.threshold {
			p.proved, p.after, p.afterN = true, el, p.t.N
		}
	}
	if !a.srmRejected && a.srmLogE() >= a.lnSrmThresh {
		a.srmRejected, a.srmAfter = true, el
	}
	a.dirty = true
	return a.Verdict()
}

// boundCache holds a confidence bound of the reference, recomputed when
// the reference has grown by 1 %: a confidence sequence holds at every
// sample size at once, so a bound from a little less data is as valid,
// and the judge saves the search on most observations.
type boundCache struct{ n, x, v float64 }

func (c *boundCache) get(x, n, level float64, upper bool) float64 {
	if c.n > 0 && n >= c.n && n <= 1.01*c.n && x >= c.x {
		return c.v
	}
	c.n, c.x = n, x
	if upper {
		c.v = UpperBound(x, n, level)
	} else {
		c.v = LowerBound(x, n, level)
	}
	return c.v
}

// keep makes o the observation the next is measured from, copying its
// histograms: a source may reuse their arrays.
func (a *Analysis) keep(o Observation) {
	bb, cb := a.last.Baseline.Buckets[:0], a.last.Canary.Buckets[:0]
	a.last = o
	a.last.Baseline.Buckets = append(bb, o.Baseline.Buckets...)
	a.last.Canary.Buckets = append(cb, o.Canary.Buckets...)
}

// update runs every test on one interval's increments; nb and xb95 are
// hb's requests and those slower than the reference's p95.
func (a *Analysis) update(db, dc Counts, hb, hc []float64, nb, xb95 float64) {
	ref := a.ref
	share := 1.0
	if a.baseN > 0 && !a.hundred() {
		share = a.canN / a.baseN
	}
	phiErr := ref.errDisp.phiFor(share)
	phiLat := ref.latDisp.phiFor(share)
	nc, xc := float64(dc.Requests), float64(dc.Errors)
	lvl := a.alphaEach / 2 // the reference's bound takes half a one-sample test's alpha

	// Errors, relative.
	ce := a.checks[0]
	if !a.hundred() && a.cfg.Tolerance == 0 {
		// The baseline's rate as known before this interval: the
		// pre-deployment baseline and the step so far.
		pb := (ref.Errors + 0.5) / (ref.Requests + 1)
		a.errTwo.Update(float64(db.Requests), nc, float64(db.Errors), xc, pb, a.elapsed(a.at))
		ce.logE = a.errTwo.LogE()
		ce.nb += float64(db.Requests)
		ce.xb += float64(db.Errors)
		if ce.against != "baseline" {
			ce.test = fmt.Sprintf("sequential two-sample test of the canary's error rate against the baseline's (pooled-rate projection; mixture e-process betting a quarter on +%s, the tolerance; baseline rate learnt from the pre-deployment baseline)", pp(a.cfg.ErrorTolerance))
		}
		ce.against = "baseline"
		ce.threshold = math.Log(1 / a.alphaEach)
	} else if !a.hundred() {
		a.errRel.Update(db.Requests, dc.Requests, db.Errors, dc.Errors)
		ce.logE = a.errRel.LogE()
		ce.nb, ce.xb = float64(a.errRel.BaselineRequests), float64(a.errRel.BaselineEvents)
		ce.test, ce.against = "sequential conditional binomial test of the canary's share of errors (mixture e-process)", "baseline"
		ce.threshold = math.Log(1 / a.alphaEach)
	} else {
		p0 := a.bounds_[0].get(ref.Errors, ref.Requests, lvl, true)
		a.errRef.Update(nc, xc, p0, phiErr)
		ce.logE, ce.p0, ce.phi = a.errRef.LogE(), p0, phiErr
		ce.nb, ce.xb = ref.Requests, ref.Errors
		ce.test, ce.against = "one-sample sequential test of the canary's error rate against the pre-deployment baseline's upper bound", "pre-deployment baseline"
		ce.threshold = math.Log(2 / a.alphaEach)
	}
	ce.nc += nc
	ce.xc += xc

	// Latency, relative: exceedances of the baseline's p50 and p95 when
	// there are histograms, else the slow counts of a fixed cutoff.
	cl := a.checks[1]
	var n float64 // the canary's requests in the histogram
	if hc != nil {
		n = sumF(hc)
	}
	switch {
	case hc != nil && ref.P95Ms > 0:
		cl.name = "latency_shift"
		c50, c95 := a.cut50.at(ref.BoundsMs, ref.P50Ms, false), a.cut95.at(ref.BoundsMs, ref.P95Ms, false)
		x50, x95 := c50.above(hc), c95.above(hc)
		if !a.hundred() && hb != nil {
			if a.shift == nil {
				a.shift = NewShiftTestFocus(ref.Hist, shiftFocus(ref, a.cfg.LatencyTolerance))
			}
			a.shift.Update(hb, hc)
			a.latRel[1].UpdateF(nb, n, xb95, x95)
			cl.logE = logMix(a.shift.LogE(), a.latRel[1].LogE(), ShiftWeight)
			cl.nb += nb
			cl.xb += xb95
			if cl.against != "baseline" {
				cl.test = fmt.Sprintf("sequential test of a shift of the canary's latency distribution against the baseline's (median %s; exponential-tilt mixture on the histograms betting half on +%.0f%%, the tolerance; weight %g) with the conditional binomial test of the share slower than the baseline's p95 %s", ms(ref.P50Ms), 100*a.cfg.LatencyTolerance, ShiftWeight, ms(ref.P95Ms))
			}
			cl.against = "baseline"
			cl.threshold = math.Log(1 / a.alphaEach)
		} else if a.hundred() {
			rn := ref.histN()
			r95 := c95.above(ref.Hist)
			p50 := a.bounds_[1].get(c50.above(ref.Hist), rn, lvl/2, true)
			p95 := a.bounds_[2].get(r95, rn, lvl/2, true)
			a.latRef[0].Update(n, x50, p50, phiLat)
			a.latRef[1].Update(n, x95, p95, phiLat)
			cl.logE, cl.p0, cl.phi = logMix(a.latRef[0].LogE(), a.latRef[1].LogE(), 0.5), p95, phiLat
			cl.nb, cl.xb = rn, r95
			if cl.against != "pre-deployment baseline" {
				cl.test = fmt.Sprintf("one-sample sequential tests of the canary's share of requests slower than the pre-deployment baseline's p50 %s and p95 %s against its upper bounds", ms(ref.P50Ms), ms(ref.P95Ms))
			}
			cl.against = "pre-deployment baseline"
			cl.threshold = math.Log(2 / a.alphaEach)
		}
		cl.nc += n
		cl.xc += x95
	case hc == nil && len(a.bounds) == 0:
		cl.name = "slow_rate"
		if !a.hundred() {
			a.latRel[0].Update(db.Requests, dc.Requests, db.Slow, dc.Slow)
			cl.logE = a.latRel[0].LogE()
			cl.nb, cl.xb = float64(a.latRel[0].BaselineRequests), float64(a.latRel[0].BaselineEvents)
			cl.test, cl.against = "sequential conditional binomial test of the canary's share of slow requests (fixed cutoff; no histogram)", "baseline"
			cl.threshold = math.Log(1 / a.alphaEach)
		} else {
			p0 := a.bounds_[3].get(ref.Slow, ref.Requests, lvl, true)
			a.latRef[0].Update(nc, float64(dc.Slow), p0, phiErr)
			cl.logE, cl.p0 = a.latRef[0].LogE(), p0
			cl.nb, cl.xb = ref.Requests, ref.Slow
			cl.test, cl.against = "one-sample sequential test of the canary's slow-request rate against the pre-deployment baseline's upper bound", "pre-deployment baseline"
			cl.threshold = math.Log(2 / a.alphaEach)
		}
		cl.nc += nc
		cl.xc += float64(dc.Slow)
	}

	// The SLO tests: the canary against the objective, or against the
	// baseline's upper bound when the baseline itself misses it (a canary
	// no worse than its baseline is not rolled back for the baseline's
	// failings).
	for _, c := range a.checks[2:] {
		switch c.name {
		case "error_slo":
			p0 := max(a.cfg.Objectives.ErrorRate, a.bounds_[4].get(ref.Errors, ref.Requests, lvl, true))
			a.errSLO.Update(nc, xc, p0, phiErr)
			c.logE, c.p0, c.phi = a.errSLO.LogE(), p0, phiErr
			c.nc, c.xc = a.errSLO.N, a.errSLO.X
			c.nb, c.xb = ref.Requests, ref.Errors
		case "latency_slo":
			if hc == nil {
				continue
			}
			slo := a.cfg.Objectives.LatencyP99Ms
			rn := ref.histN()
			rx := a.cutSLORef.at(ref.BoundsMs, slo, true).above(ref.Hist)
			p0 := 0.01
			if rn > 0 {
				p0 = max(p0, a.bounds_[5].get(rx, rn, lvl, true))
			}
			a.latSLO.Update(n, a.cutSLO.at(a.bounds, slo, false).above(hc), p0, phiLat)
			c.logE, c.p0, c.phi = a.latSLO.LogE(), p0, phiLat
			c.nc, c.xc = a.latSLO.N, a.latSLO.X
			c.nb, c.xb = rn, rx
		}
	}

	// The proofs. Errors: below the baseline's lower bound plus the
	// tolerance (the bound takes half of beta, the test the other half).
	pe := a.proofs[0]
	lb := a.bounds_[6].get(ref.Errors, ref.Requests, a.cfg.Beta/2, false)
	pe.limit, pe.phi = min(lb+a.cfg.ErrorTolerance, 0.999), phiErr
	pe.t.Update(nc, xc, pe.limit, phiErr)
	// Latency: at most 5 % of the canary's requests above (1 + tolerance)
	// x the baseline's p95, i.e. the canary's p95 within the tolerance;
	// the unbounded bucket counts as above. Without histograms, the slow
	// rate below the baseline's plus the error tolerance.
	pl := a.proofs[1]
	switch {
	case hc != nil && ref.P95Ms > 0:
		pl.name = "latency_p95"
		pl.limit, pl.phi = 1-ToleranceQuantile, phiLat
		pl.t.Update(n, a.cutLimit.at(ref.BoundsMs, (1+a.cfg.LatencyTolerance)*ref.P95Ms, true).above(hc), pl.limit, phiLat)
	case hc == nil && len(a.bounds) == 0:
		pl.name = "slow_rate"
		pl.test = "one-sample sequential test of the canary's slow-request rate against the baseline's lower bound + the error tolerance (no histogram)"
		pl.threshold = math.Log(2 / a.cfg.Beta)
		pl.limit, pl.phi = min(a.bounds_[7].get(ref.Slow, ref.Requests, a.cfg.Beta/2, false)+a.cfg.ErrorTolerance, 0.999), phiErr
		pl.t.Update(nc, float64(dc.Slow), pl.limit, phiErr)
	}
}

// Verdict is the current verdict, cheaply (no evidence is built): a
// rejection rolls back, a sample-ratio mismatch pauses, and otherwise the
// canary goes on baking (promotion is Finish's, at the end of the bake).
func (a *Analysis) Verdict() deploy.Verdict {
	for _, c := range a.checks {
		if c.rejected {
			return deploy.VerdictRollback
		}
	}
	if a.srmRejected {
		return deploy.VerdictPause
	}
	return deploy.VerdictContinue
}

// Proved reports whether every promotion proof holds.
func (a *Analysis) Proved() bool {
	return a.proofs[0].proved && a.proofs[1].proved
}

// ProvedAfter is the time from the step's start to the last proof (0
// when not proved).
func (a *Analysis) ProvedAfter() float64 {
	if !a.Proved() {
		return 0
	}
	return max(a.proofs[0].after, a.proofs[1].after)
}

// DecidedAfter is the time from the step's start to the first rejection
// that made the verdict (0 if none).
func (a *Analysis) DecidedAfter() float64 {
	switch a.Verdict() {
	case deploy.VerdictRollback:
		d := math.Inf(1)
		for _, c := range a.checks {
			if c.rejected {
				d = min(d, c.after)
			}
		}
		return d
	case deploy.VerdictPause:
		return a.srmAfter
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

// continueReason is the reason of Result when its verdict is continue
// (ok), without building the evidence the judge does not return then:
// mid-bake, a continue is only slept on.
func (a *Analysis) continueReason() (reason string, ok bool) {
	if a.Verdict() != deploy.VerdictContinue {
		return "", false
	}
	if !a.dirty {
		return a.result.Reason, true
	}
	a.fillEvidence(a.scratchEvidence(), a.at, nil)
	return a.progress(a.scratch), true
}

// scratchEvidence is the evidence the analysis reuses, on its own block.
func (a *Analysis) scratchEvidence() *Evidence {
	if a.scratch.Latency == nil {
		a.scratch = Evidence{Latency: &a.blk.lat, Metrics: a.blk.metrics[:0], Proofs: a.blk.proofs[:0]}
	}
	return &a.scratch
}

// finished is Result().Finish() (the bake is over), without writing the
// progress reason a promotion replaces. Its evidence may be the
// analysis's scratch: encode it (encode) before the analysis observes
// again.
func (a *Analysis) finished() Result {
	if !a.dirty || a.Verdict() != deploy.VerdictContinue || !a.Proved() {
		return a.Result().Finish()
	}
	ev := a.scratchEvidence()
	a.fillEvidence(ev, a.at, a.blk.ratios[:])
	ev.Verdict = deploy.VerdictContinue
	return Result{Verdict: deploy.VerdictContinue, Evid: *ev}.Finish()
}

// encode is the evidence JSON of r.Judgement, byte for byte, written
// with what the analysis keeps from one judgement to the next.
func (a *Analysis) encode(ev *Evidence) []byte {
	return ev.appendJSONVia(make([]byte, 0, 4096), &a.enc)
}

func (a *Analysis) elapsed(at time.Time) float64 {
	if a.start.IsZero() {
		return 0
	}
	return at.Sub(a.start).Seconds()
}

func (a *Analysis) judge(at time.Time) Result {
	ev := a.evidence(at)
	r := Result{Verdict: deploy.VerdictContinue}
	reasons := make([]string, 0, 4)
	for _, m := range ev.Metrics {
		if !m.Rejected {
			continue
		}
		r.Verdict = deploy.VerdictRollback
		if ev.DecidedAfter == 0 || m.RejectedAfterS < ev.DecidedAfter {
			ev.DecidedAfter = m.RejectedAfterS
		}
		reasons = append(reasons, rejectionReason(m, ev.Latency))
	}
	if r.Verdict != deploy.VerdictRollback && ev.SRM.Rejected {
		r.Verdict = deploy.VerdictPause
		ev.DecidedAfter = ev.SRM.RejectedAfterS
		reasons = append(reasons, fmt.Sprintf("traffic split %s on the canary, %d%% asked; sample-ratio e-value %s >= %s after %s",
			pct(ev.SRM.ObservedShare), ev.SRM.NominalWeight, num(ev.SRM.EValue), num(ev.SRM.Threshold), secs(ev.SRM.RejectedAfterS)))
	}
	if r.Verdict == deploy.VerdictContinue {
		reasons = append(reasons, a.progress(ev))
	}
	r.Reason = reasons[0]
	for _, s := range reasons[1:] {
		r.Reason += "; " + s
	}
	ev.Verdict = r.Verdict
	r.Evid = ev
	return r
}

func rejectionReason(m MetricEvid, lat *LatencyEvid) string {
	var obs string
	switch {
	case m.Name == "latency_shift" && lat != nil && lat.P95Ms > 0 && m.Against == "baseline":
		// Its counts are of requests slower than the baseline's p95.
		obs = fmt.Sprintf("%s of the canary's requests (%d) slower than the baseline's p95 %s vs %s of the baseline's (%d)",
			pct(m.Canary.Rate), m.Canary.Requests, ms(lat.P95Ms), pct(m.Baseline.Rate), m.Baseline.Requests)
	case m.Name == "latency_shift" && lat != nil && lat.P95Ms > 0:
		obs = fmt.Sprintf("%s of the canary's requests (%d) slower than the pre-deployment baseline's p95 %s vs at most %s allowed", pct(m.Canary.Rate), m.Canary.Requests, ms(lat.P95Ms), pct(m.ReferenceRate))
	case m.Name == "latency_slo" && lat != nil && lat.SLOMs > 0:
		obs = fmt.Sprintf("%s of the canary's requests (%d) slower than the SLO's p99 %s vs at most %s allowed", pct(m.Canary.Rate), m.Canary.Requests, ms(lat.SLOMs), pct(m.ReferenceRate))
	case m.Against == "baseline":
		obs = fmt.Sprintf("%s on the canary (%d requests) vs %s on the baseline (%d)", pct(m.Canary.Rate), m.Canary.Requests, pct(m.Baseline.Rate), m.Baseline.Requests)
	default:
		obs = fmt.Sprintf("%s on the canary (%d requests) vs at most %s allowed by the %s", pct(m.Canary.Rate), m.Canary.Requests, pct(m.ReferenceRate), m.Against)
	}
	return fmt.Sprintf("%s: %s; %s; e-value %s >= %s after %s", metricLabel(m.Name), obs, m.Test, num(m.EValue), num(m.Threshold), secs(m.RejectedAfterS))
}

// progress is the reason of a canary still baking: what is proved, what
// is not, and the rollback tests' evidence.
func (a *Analysis) progress(ev Evidence) string {
	b := make([]byte, 0, 1536) // a reason with four tests and two proofs: about 900 bytes
	if ev.Proved {
		b = append(b, "proved "...)
	} else {
		b = append(b, "not yet proved "...)
	}
	for i, p := range ev.Proofs {
		if i > 0 {
			b = append(b, "; "...)
		}
		st := "proved"
		if !p.Proved {
			st = "not proved"
		}
		b = append(b, p.Claim...)
		b = append(b, " with "...)
		b = a.appendConf(b, p.Confidence)
		b = append(b, " confidence ("...)
		b = append(b, st...)
		b = append(b, "; "...)
		b = strconv.AppendInt(b, p.Canary.Requests, 10)
		b = append(b, " canary requests: "...)
		b = appendPct(b, p.Canary.Rate)
		b = append(b, " observed, limit "...)
		b = appendPct(b, p.Limit)
		b = append(b, ", e "...)
		b = appendNum(b, p.EValue)
		b = append(b, " of "...)
		b = appendNum(b, p.Threshold)
		b = append(b, ')')
	}
	b = append(b, "; no regression: "...)
	for i, m := range ev.Metrics {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, metricLabel(m.Name)...)
		b = append(b, ' ')
		b = appendPct(b, m.Canary.Rate)
		b = append(b, " vs "...)
		b = appendPct(b, m.Baseline.Rate)
		b = append(b, " (e "...)
		b = appendNum(b, m.EValue)
		b = append(b, " of "...)
		b = appendNum(b, m.Threshold)
		b = append(b, ')')
	}
	return string(b)
}

// appendConf writes pctConf(x), formatted once per analysis: the
// confidence is the same at every judgement.
func (a *Analysis) appendConf(b []byte, x float64) []byte {
	if a.confText == "" || a.confOf != x {
		a.confOf, a.confText = x, pctConf(x)
	}
	return append(b, a.confText...)
}

// Finish ends the bake: a canary whose proofs hold is promoted, with the
// bounds it proved as its reason; one that is neither rejected nor proved
// stays at continue with Evidence.Insufficient set and a reason that
// starts with ReasonInsufficient. It never promotes on the clock alone.
func (r Result) Finish() Result {
	if r.Verdict != deploy.VerdictContinue {
		return r
	}
	if r.Evid.Proved {
		r.Verdict = deploy.VerdictPromote
		r.Evid.Verdict = r.Verdict
		r.Reason = promotionReason(r.Evid)
		return r
	}
	sf := r.Evid.shortfall()
	r.Evid.Insufficient = &sf
	more := "more than the current rates can prove"
	if sf.MoreRequests >= 0 {
		more = fmt.Sprintf("about %s more needed", thousands(sf.MoreRequests))
		if sf.MoreS > 0 {
			more += " (" + secs(sf.MoreS) + " at the current traffic)"
		}
	}
	r.Reason = fmt.Sprintf("%s: %s canary requests, %s; %s", ReasonInsufficient, thousands(sf.Requests), more, r.Reason)
	return r
}

// promotionReason states what a promotion proved: per proof the bound,
// its confidence, the canary requests it took, the test, the observed
// rate against the limit and the e-value against its threshold; then the
// rollback tests' evidence.
func promotionReason(ev Evidence) string {
	b := make([]byte, 0, 2048) // two proofs and four tests: about 1,300 bytes
	b = append(b, "bake over, promoted on proof: "...)
	for i, p := range ev.Proofs {
		if i > 0 {
			b = append(b, "; "...)
		}
		b = append(b, p.Claim...)
		b = append(b, " with "...)
		b = appendPctConf(b, p.Confidence)
		b = append(b, " confidence after "...)
		b = appendThousands(b, p.ProvedAfterRequests)
		b = append(b, " canary requests ("...)
		b = append(b, p.Test...)
		b = append(b, ": "...)
		b = appendPct(b, p.Canary.Rate)
		b = append(b, " observed, limit "...)
		b = appendPct(b, p.Limit)
		b = append(b, "; e-value "...)
		b = appendNum(b, p.EValue)
		b = append(b, ", threshold "...)
		b = appendNum(b, p.Threshold)
		b = append(b, " reached after "...)
		b = appendSecs(b, p.ProvedAfterS)
		b = append(b, ')')
	}
	b = append(b, "; no regression: "...)
	for i, m := range ev.Metrics {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, metricLabel(m.Name)...)
		b = append(b, ' ')
		b = appendPct(b, m.Canary.Rate)
		b = append(b, " vs "...)
		b = appendPct(b, m.Baseline.Rate)
		b = append(b, " (e-value "...)
		b = appendNum(b, m.EValue)
		b = append(b, " < "...)
		b = appendNum(b, m.Threshold)
		b = append(b, ')')
	}
	return string(b)
}

// ReasonInsufficient starts the reason of a canary whose bake is over
// with neither verdict.
const ReasonInsufficient = "insufficient evidence"

func (ev Evidence) shortfall() Shortfall {
	var sf Shortfall
	for _, m := range ev.Metrics {
		if m.Name == "error_rate" {
			sf.Requests = m.Canary.Requests
		}
	}
	if ev.ElapsedS > 0 {
		sf.CanaryRPS = float64(sf.Requests) / ev.ElapsedS
	}
	for _, p := range ev.Proofs {
		if p.Proved {
			continue
		}
		if p.MoreRequests < 0 {
			sf.MoreRequests = -1
			break
		}
		sf.MoreRequests = max(sf.MoreRequests, p.MoreRequests)
	}
	if sf.MoreRequests > 0 && sf.CanaryRPS > 0 {
		sf.MoreS = float64(sf.MoreRequests) / sf.CanaryRPS
	}
	return sf
}

// Judgement renders the result for the engine.
func (r Result) Judgement() (deploy.Judgement, error) {
	return deploy.Judgement{Verdict: r.Verdict, Reason: r.Reason, Evidence: r.Evid.appendJSON(make([]byte, 0, 4096))}, nil
}

func (a *Analysis) evidence(at time.Time) Evidence {
	// One allocation for the evidence's parts rather than a dozen.
	blk := new(evidenceBlock)
	ev := Evidence{Latency: &blk.lat, Metrics: blk.metrics[:0], Proofs: blk.proofs[:0]}
	a.fillEvidence(&ev, at, blk.ratios[:])
	return ev
}

// evidenceBlock holds an Evidence's parts: its latency thresholds, its
// tests (RollbackTests: at most 4) and proofs, and each test's rate
// ratio and relative effect.
type evidenceBlock struct {
	lat     LatencyEvid
	metrics [4]MetricEvid
	proofs  [2]ProofEvid
	ratios  [8]float64
}

// fillEvidence writes the evidence at at into ev, appending to its
// Metrics and Proofs from their start and filling its Latency; the
// tests' rate ratios and relative effects go to ratios, two a test. nil
// ratios: only what a progress reason reads (no SRM, no rate ratios),
// into arrays the analysis reuses.
func (a *Analysis) fillEvidence(ev *Evidence, at time.Time, ratios []float64) {
	full := ratios != nil
	*ev = Evidence{Alpha: a.cfg.Alpha, AlphaPerTest: a.alphaEach, Train: a.cfg.Train, Tolerance: a.cfg.Tolerance,
		Beta: a.cfg.Beta, ErrorTolerance: a.cfg.ErrorTolerance, LatencyTolerance: a.cfg.LatencyTolerance,
		Objectives: a.cfg.Objectives, Since: a.start, At: at, ElapsedS: a.elapsed(at), Against: "baseline",
		Latency: ev.Latency, Metrics: ev.Metrics[:0], Proofs: ev.Proofs[:0]}
	if a.hundred() {
		ev.Against = "pre-deployment baseline"
	}
	*ev.Latency = LatencyEvid{Histogram: len(a.bounds) > 0, SLOMs: a.cfg.Objectives.LatencyP99Ms}
	if a.ref.P95Ms > 0 {
		ev.Latency.P50Ms, ev.Latency.P95Ms, ev.Latency.LimitMs = a.ref.P50Ms, a.ref.P95Ms, (1+a.cfg.LatencyTolerance)*a.ref.P95Ms
	}
	for _, c := range a.checks {
		if c.name == "latency_slo" && len(a.bounds) == 0 {
			continue
		}
		var rr []float64
		if full {
			if len(ratios) < 2 {
				ratios = make([]float64, 2*len(a.checks))
			}
			rr, ratios = ratios[:2], ratios[2:]
		}
		ev.Metrics = append(ev.Metrics, a.metric(c, rr))
	}
	ev.Proved = a.Proved()
	for _, p := range a.proofs {
		ev.Proofs = append(ev.Proofs, a.proofEvid(p))
	}
	if !full {
		return
	}
	ev.SRM = SRMEvid{NominalWeight: a.weight, Threshold: a.srmThresh, EValue: expCap(a.srmLogE()), PauseAlpha: a.cfg.PauseAlpha,
		Rejected: a.srmRejected, RejectedAfterS: a.srmAfter}
	if a.srm != nil {
		ev.SRM.CanaryRequests, ev.SRM.TotalRequests = a.srm.X, a.srm.N
	}
	if ev.SRM.TotalRequests > 0 {
		ev.SRM.ObservedShare = float64(ev.SRM.CanaryRequests) / float64(ev.SRM.TotalRequests)
	}
}

func rate(x, n float64) float64 {
	if n <= 0 {
		return 0
	}
	return x / n
}

// metric is a rollback test's evidence; its rate ratio and relative
// effect go to ratios[0:2] (nil: none).
func (a *Analysis) metric(c *check, ratios []float64) MetricEvid {
	m := MetricEvid{
		Name: c.name, Test: c.test, Against: c.against,
		Baseline:       CohortEvid{int64(math.Round(c.nb)), int64(math.Round(c.xb)), rate(c.xb, c.nb)},
		Canary:         CohortEvid{int64(math.Round(c.nc)), int64(math.Round(c.xc)), rate(c.xc, c.nc)},
		ReferenceRate:  c.p0,
		Dispersion:     c.phi,
		EValue:         expCap(c.logE),
		Threshold:      thresholdOf(c.threshold, &c.thr),
		Rejected:       c.rejected,
		RejectedAfterS: c.after,
	}
	if m.Test == "" {
		m.Test = "no data yet"
	}
	if ratios != nil && c.nb > 0 && c.nc > 0 && c.xb > 0 {
		rr := rate(c.xc, c.nc) / rate(c.xb, c.nb)
		ratios[0], ratios[1] = rr, rr-1
		m.RateRatio, m.RelativeEffect = &ratios[0], &ratios[1]
	}
	return m
}

func (a *Analysis) proofEvid(p *proof) ProofEvid {
	e := ProofEvid{Name: p.name, Test: p.test, Confidence: 1 - a.cfg.Beta,
		Canary: CohortEvid{int64(math.Round(p.t.N)), int64(math.Round(p.t.X)), p.t.Rate()},
		Limit:  p.limit, Dispersion: max(p.phi, 1), EValue: expCap(p.t.LogE()), Threshold: thresholdOf(p.threshold, &p.thr),
		Proved: p.proved, ProvedAfterS: p.after, ProvedAfterRequests: int64(math.Round(p.afterN)), MoreRequests: -1}
	// The claim changes only with the reference's p95 (frozen once).
	if p.claim == "" || p.claimP95 != a.ref.P95Ms || p.claimName != p.name {
		p.claimP95, p.claimName = a.ref.P95Ms, p.name
		switch p.name {
		case "error_rate":
			p.claim = fmt.Sprintf("error rate <= base + %s", pp(a.cfg.ErrorTolerance))
		case "slow_rate":
			p.claim = fmt.Sprintf("slow-request rate <= base + %s", pp(a.cfg.ErrorTolerance))
		default:
			p.claim = fmt.Sprintf("p95 latency <= base + %.0f%%", 100*a.cfg.LatencyTolerance)
			if a.ref.P95Ms > 0 {
				p.claim = fmt.Sprintf("p95 latency <= %s (base %s + %.0f%%)", ms((1+a.cfg.LatencyTolerance)*a.ref.P95Ms), ms(a.ref.P95Ms), 100*a.cfg.LatencyTolerance)
			}
		}
	}
	e.Claim = p.claim
	if p.proved {
		e.MoreRequests = 0
	} else if p.limit > 0 {
		// Information still needed over what one more request brings at
		// the current (shrunk) rate, tempered like the test.
		// The canary's rate, shrunk by half an event over 1/limit
		// requests: a canary with no errors yet is not taken to have
		// none.
		est := (p.t.X + 0.5) / (p.t.N + 1/p.limit)
		if est < p.limit {
			remaining := p.threshold - p.t.LogE() + math.Ln2 // the plug-in holds half the weight
			e.MoreRequests = int64(math.Ceil(remaining * max(p.phi, 1) / klBernoulli(est, p.limit)))
		}
	}
	return e
}
func metricLabel(name string) string {
	switch name {
	case "slow_rate":
		return "slow-request rate"
	case "latency_shift":
		return "latency shift"
	case "error_slo":
		return "error rate against the SLO"
	case "latency_slo":
		return "latency against the SLO"
	}
	return "error rate"
}

// threshold is an e-value threshold for the evidence, remembered for
// the log threshold it was computed from (a test's threshold is fixed).
type threshold struct {
	ln, v float64
	set   bool
}

// thresholdOf is roundSig(math.Exp(ln)), computed again only when ln
// changed.
func thresholdOf(ln float64, t *threshold) float64 {
	if !t.set || t.ln != ln {
		*t = threshold{ln: ln, v: roundSig(math.Exp(ln)), set: true}
	}
	return t.v
}

// roundSig rounds a threshold computed through a logarithm back to 12
// significant digits (200, not 199.99999999999991).
func roundSig(x float64) float64 {
	if x == 0 || math.IsInf(x, 0) || math.IsNaN(x) {
		return x
	}
	p := math.Pow(10, 11-math.Floor(math.Log10(math.Abs(x))))
	return math.Round(x*p) / p
}

// expCap is e^x for the evidence, capped at 1e300 so that JSON can carry
// an overwhelming e-value.
func expCap(x float64) float64 { return math.Exp(min(x, 690)) }

// shiftFocus is the shift of the latency tolerance in the shift test's
// scores (standard normal under the reference): a latency x (1 +
// tolerance) moves log latency by ln(1 + tolerance), which is
// ln(1 + tolerance) / sigma in scores, sigma the log latency's spread
// read from the reference's p50 and p95 (exact for a log-normal). 0 when
// the reference's quantiles give no spread.
func shiftFocus(ref *Reference, tolerance float64) float64 {
	if !(ref.P50Ms > 0) || !(ref.P95Ms > ref.P50Ms) || !(tolerance > 0) {
		return 0
	}
	const z95 = 1.6448536269514722
	return math.Log1p(tolerance) / (math.Log(ref.P95Ms/ref.P50Ms) / z95)
}
