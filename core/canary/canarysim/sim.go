// Package canarysim judges identical seeded synthetic canary traffic with
// warroom's canary judge and with re-implementations of the documented
// defaults of Flagger, Argo Rollouts, a Kayenta-like Mann-Whitney judge and
// a fixed-horizon test, and reports per scenario the false-rollback rate,
// the rate at which each judge promotes a regression at least as large as
// the tolerance (missed regressions), the share left to an operator, time
// to detect, and the information floor.
//
// Traffic: Poisson arrivals, the canary at 10 %; errors binomial at the
// base rate (0.1 % or 1 %); latency log-normal around a 30 ms median (sigma
// 0.5) in a fine histogram (buckets 25 % wide, as a native or
// VictoriaMetrics histogram gives; the incumbents read Istio's default
// buckets). Overdispersed scenarios redraw shared traffic and error-rate
// multipliers every 10 s.
//
// The bake is 30 min. The incumbents promote when it ends unless they
// rolled back. Warroom promotes only on proof: at the bake's end if its
// proofs hold, else the bake is extended (as the deploy engine does) and
// warroom promotes at the first observation, every 5 s, at which they
// hold, up to 4x the bake (2 h); a canary still unproved then waits for
// an operator ("insufficient evidence"), which counts neither as a
// promotion nor as a rollback (the Insufficient share). A rollback at any
// time, extension included, counts: a false rollback on healthy traffic
// or before the regression's onset, a detection after it.
//
// Yardsticks: the information floor (the sequential probability ratio
// test that knows the regression's size and onset) on every cell, and on
// every regression a reference row, oracle-size-known, that knows the
// size but not the onset and weighs every onset of the canary's judged
// life alike. A judge's weights over onsets sum to at most 1 (its
// false-rollback bound); one that weighs an onset more than this oracle
// does weighs another less, and is slower there. Where warroom's median
// time to detect misses the acceptance's limit, the acceptance says
// whether the oracle misses it too: then meeting it takes a judge that
// favours the scenario's onset over others.
//
// The command scripts/canarysim prints its table; the package's tests
// and core/canary's TestReducedSimulation run it with fewer runs.
package canarysim

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/warroom/warroom/core/canary"
	"github.com/warroom/warroom/core/deploy"
)

const (
	horizon    = 1800 // s: bake time, and the fixed-horizon test's sample
	maxExtend  = 4    // warroom may extend the bake to maxExtend x horizon
	pollS      = 5    // s between warroom's observations
	weightPct  = 10   // canary weight: baseline gets 9x the canary's traffic
	medianMs   = 30.0
	sigmaLog   = 0.5
	alpha      = Alpha
	z975       = 1.959963984540054
	addMs      = 100.0 // latency +100 ms Scenario
	multLat    = 1.2   // latency +20 % Scenario (the tolerance: p95 +20 %)
	disperseS  = 10    // overdispersion: rate multipliers redrawn every 10 s
	errShape   = 2.0   // gamma shape of the shared error-probability multiplier
	trafShape  = 4.0   // gamma shape of the shared traffic multiplier
	flaggerMin = 0.99
	p99MaxMs   = 500.0
	maxMissed  = MaxMissed
	floorCap   = 1800 // acceptance: TTD is checked on cells whose floor is at most this
)

// Alpha is warroom's false-rollback bound in the simulation, and
// MaxMissed the acceptance's bound on missed regressions (promotions of
// a regression at or above its tolerance).
const (
	Alpha     = 0.01
	MaxMissed = 0.05
)

// Select returns the scenarios whose name contains one of the
// alternatives of only, separated by | ("" selects all).
func Select(scs []Scenario, only string) []Scenario {
	var out []Scenario
	for _, sc := range scs {
		for _, alt := range strings.Split(only, "|") {
			if strings.Contains(sc.Name, alt) {
				out = append(out, sc)
				break
			}
		}
	}
	return out
}

// The service's SLO in the simulation: an error objective 3x the base
// rate, and a p99 objective of 150 ms (the baseline's p99 is 96 ms).
const (
	sloErrFactor = 3.0
	sloP99Ms     = 150.0
)

// istioBuckets are Istio's default request-duration buckets (ms), the
// histogram Flagger's and Kayenta's p99 queries interpolate over.
var istioBuckets = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}

// slowMs is the slow-request threshold fixed in advance for the
// fixed-horizon test: the baseline's p99.
var slowMs = medianMs * math.Exp(2.3263478740408408*sigmaLog)

type effect int

const (
	healthy effect = iota
	errX2
	errX10
	errTol // + the error tolerance, 0.5 pp: exactly at the tolerance
	lat20  // latency x1.2: p95 exactly at the tolerance
	lat100 // latency +100 ms
)

var effectName = map[effect]string{healthy: "healthy", errX2: "errors+100%", errX10: "errors+900%", errTol: "errors+0.5pp",
	lat20: "latency+20%", lat100: "latency+100ms"}

// Scenario is one kind of canary traffic, judged Runs times.
type Scenario struct {
	Name      string
	CanaryRPS float64
	BaseErr   float64
	Effect    effect
	Onset     int // s
	Overdisp  bool
	Runs      int
}

// canaryErr is the canary's error rate under the Scenario's effect.
func (sc Scenario) canaryErr() float64 {
	switch sc.Effect {
	case errX2:
		return 2 * sc.BaseErr
	case errX10:
		return 10 * sc.BaseErr
	case errTol:
		return sc.BaseErr + canary.DefaultErrorTolerance
	}
	return sc.BaseErr
}

// atOrAboveTolerance: a regression the judge must not promote.
func (sc Scenario) atOrAboveTolerance() bool {
	switch sc.Effect {
	case lat20, lat100, errTol:
		return true
	case errX2, errX10:
		return sc.canaryErr()-sc.BaseErr >= canary.DefaultErrorTolerance-1e-12
	}
	return false
}

// Scenarios gives every Scenario, healthy ones with hRuns runs and
// regressions with rRuns.
func Scenarios(hRuns, rRuns int) []Scenario {
	var out []Scenario
	for _, t := range []struct {
		n   string
		rps float64
	}{{"low", 0.5}, {"mid", 5}, {"high", 100}} {
		for _, q := range []float64{0.001, 0.01} {
			base := fmt.Sprintf("%s %grps err%g%%", t.n, t.rps, 100*q)
			out = append(out, Scenario{Name: base + " healthy", CanaryRPS: t.rps, BaseErr: q, Effect: healthy, Runs: hRuns})
			for _, e := range []effect{errX2, errX10, errTol, lat20, lat100} {
				out = append(out, Scenario{Name: fmt.Sprintf("%s %s onset0m", base, effectName[e]),
					CanaryRPS: t.rps, BaseErr: q, Effect: e, Runs: rRuns})
			}
			out = append(out, Scenario{Name: fmt.Sprintf("%s %s onset10m", base, effectName[errX10]),
				CanaryRPS: t.rps, BaseErr: q, Effect: errX10, Onset: 600, Runs: rRuns})
			od := base + " overdispersed"
			out = append(out, Scenario{Name: od + " healthy", CanaryRPS: t.rps, BaseErr: q, Overdisp: true, Runs: hRuns})
			for _, e := range []effect{errX10, errTol} {
				out = append(out, Scenario{Name: fmt.Sprintf("%s %s onset0m", od, effectName[e]),
					CanaryRPS: t.rps, BaseErr: q, Effect: e, Overdisp: true, Runs: rRuns})
			}
		}
	}
	return out
}

// cells: latency cells, the union of a fine histogram's buckets (25 %
// wide, what warroom reads), Istio's buckets (what the incumbents read)
// and the slow threshold.
type cells struct {
	bounds []float64 // upper bounds, ascending, last +Inf
	slowAt int       // cells >= slowAt are slow
	bucket []int     // cell -> Istio bucket index (len(istioBuckets) = +Inf bucket)
}

func makeCells() cells {
	var c cells
	b := append([]float64{}, istioBuckets...)
	for v := 2.0; v < 3000; v *= 1.25 {
		b = append(b, math.Round(v*1000)/1000)
	}
	b = append(b, slowMs)
	sort.Float64s(b)
	for i, v := range b {
		if i == 0 || v > c.bounds[len(c.bounds)-1]*1.0001 {
			c.bounds = append(c.bounds, v)
		}
	}
	c.bounds = append(c.bounds, math.Inf(1))
	for i, ub := range c.bounds {
		if ub == slowMs {
			c.slowAt = i + 1
		}
		c.bucket = append(c.bucket, sort.SearchFloat64s(istioBuckets, ub))
	}
	return c
}

// latCDF is P(latency <= x) for latency = shift + mult x LogNormal.
func latCDF(x, mult, shift float64) float64 {
	if x <= shift {
		return 0
	}
	return 0.5 * math.Erfc(-math.Log((x-shift)/(medianMs*mult))/(sigmaLog*math.Sqrt2))
}

// probs returns each cell's probability.
func (c cells) probs(mult, shift float64) []float64 {
	p := make([]float64, len(c.bounds))
	prev := 0.0
	for i, ub := range c.bounds {
		v := 1.0
		if !math.IsInf(ub, 1) {
			v = latCDF(ub, mult, shift)
		}
		p[i], prev = v-prev, v
	}
	return p
}

// dist is a cohort's latency distribution over the cells.
type dist struct {
	p   []float64
	cum []float64
}

func newDist(p []float64) dist {
	d := dist{p: p, cum: make([]float64, len(p))}
	s := 0.0
	for i, v := range p {
		s += v
		d.cum[i] = s
	}
	return d
}

// bin is one second of both cohorts' traffic (0 baseline, 1 canary).
type bin struct {
	n, err, slow [2]int64
	hist         [2][14]int64 // per Istio bucket (13 + the +Inf bucket)
	cell         [2][]int64   // per cell, for warroom's histogram
}

// draw fills cohort coh of b with Poisson(lam) requests over d.
func (b *bin) draw(r *rand.Rand, coh int, lam, q float64, d dist, c cells) {
	b.hist[coh] = [14]int64{}
	clear(b.cell[coh])
	var n, slow int64
	if lam < 30 {
		n = poisson(r, lam)
		for range n {
			i := sort.SearchFloat64s(d.cum, r.Float64())
			i = min(i, len(d.cum)-1)
			b.cell[coh][i]++
			b.hist[coh][c.bucket[i]]++
			if i >= c.slowAt {
				slow++
			}
		}
	} else {
		for i, p := range d.p {
			k := poisson(r, lam*p)
			n += k
			b.cell[coh][i] += k
			b.hist[coh][c.bucket[i]] += k
			if i >= c.slowAt {
				slow += k
			}
		}
	}
	b.n[coh], b.slow[coh], b.err[coh] = n, slow, binomial(r, n, math.Min(q, 1))
}

// p99 is histogram_quantile(0.99, ...) over Istio buckets (NaN if empty).
func p99(h *[14]int64) float64 {
	var tot int64
	for _, v := range h {
		tot += v
	}
	if tot == 0 {
		return math.NaN()
	}
	rank := 0.99 * float64(tot)
	var cum int64
	for i, v := range h {
		if float64(cum+v) >= rank {
			if i == len(istioBuckets) {
				return istioBuckets[len(istioBuckets)-1]
			}
			lo := 0.0
			if i > 0 {
				lo = istioBuckets[i-1]
			}
			if v == 0 {
				return istioBuckets[i]
			}
			return lo + (istioBuckets[i]-lo)*(rank-float64(cum))/float64(v)
		}
		cum += v
	}
	return istioBuckets[len(istioBuckets)-1]
}

// outcome of one algorithm at one second.
type outcome int

const (
	none outcome = iota
	rollback
	promote
	insufficient // warroom: the extended bake ended with neither verdict
)

// algorithm judges a stream of bins, one a second.
type algorithm interface {
	Step(t int, b *bin) outcome
}

// rollbacker is an incumbent: it rolls back or, when the bake is over,
// promotes.
type rollbacker interface {
	Step(t int, b *bin) bool
}

type incumbent struct{ r rollbacker }

func (i incumbent) Step(t int, b *bin) outcome {
	if i.r.Step(t, b) {
		return rollback
	}
	if t >= horizon {
		return promote
	}
	return none
}

var algNames = []string{"warroom", "flagger", "argo-rollouts", "kayenta-mw", "fixed-horizon-30m", oracleName}

func newAlgs(sc Scenario, c cells) []algorithm {
	return []algorithm{newWarroom(c), incumbent{&flagger{}}, incumbent{&argo{}}, incumbent{&kayenta{}}, incumbent{&fixed{}},
		newOracle(sc, c)}
}

// oracleName is the reference that knows a regression's size but not its
// onset; it has rows on regressions only.
const oracleName = "oracle-size-known"

// oracle is a yardstick, not a judge anyone could run: it knows the
// regression's size (every class's rate on both cohorts, the floor's
// alternative) but not when it starts. It is the floor's sequential
// probability ratio test on the same labels (which cohort each error, or
// each request of each latency cell, came from), averaged over the onset
// with equal weight on every observation of the canary's judged life
// (maxExtend x horizon): a Shiryaev-Roberts detector, the weighting that
// does best against the worst onset, for a regression may start at any
// point of a bake. It rejects at the floor's ln(k/alpha), so its false
// alarms stay at most alpha/k by Ville's inequality as warroom's tests'
// do. Its time to detect a late regression is what not favouring any
// onset costs even a judge that knows the size; warroom, which does not
// know it, pays its prior over sizes on top, and favours the step's
// start.
type oracle struct {
	lnA, lnB []float64 // per class: ln(rho1/rho0), ln((1-rho1)/(1-rho0))
	latency  bool      // classes are latency cells; else the one class is errors
	xb, xc   []float64 // the interval's counts per class
	lnOnset  float64   // each onset's prior weight
	logR     float64   // ln of the weighted sum over the onsets started
	lnThr    float64
}

// newOracle returns nil for a healthy Scenario (there is no size to know).
func newOracle(sc Scenario, c cells) algorithm {
	var pb, pc []float64
	lat := false
	switch sc.Effect {
	case healthy:
		return nil
	case lat20:
		pb, pc, lat = c.probs(1, 0), c.probs(multLat, 0), true
	case lat100:
		pb, pc, lat = c.probs(1, 0), c.probs(1, addMs), true
	default:
		pb, pc = []float64{sc.BaseErr}, []float64{sc.canaryErr()}
	}
	lc := sc.CanaryRPS
	lb := lc * (100 - weightPct) / weightPct
	rho0 := lc / (lb + lc)
	o := &oracle{latency: lat, xb: make([]float64, len(pb)), xc: make([]float64, len(pb)),
		lnOnset: math.Log(pollS / float64(maxExtend*horizon)), logR: math.Inf(-1),
		lnThr: math.Log(float64(canary.RollbackTests(simConfig(0.01))) / alpha)}
	for j := range pb {
		rate := lb*pb[j] + lc*pc[j]
		rho1 := rho0
		if rate > 0 {
			rho1 = lc * pc[j] / rate
		}
		o.lnA = append(o.lnA, math.Log(rho1/rho0))
		o.lnB = append(o.lnB, math.Log((1-rho1)/(1-rho0)))
	}
	return o
}

func (o *oracle) Step(t int, b *bin) outcome {
	if o.latency {
		for j := range o.xb {
			o.xb[j] += float64(b.cell[0][j])
			o.xc[j] += float64(b.cell[1][j])
		}
	} else {
		o.xb[0] += float64(b.err[0])
		o.xc[0] += float64(b.err[1])
	}
	if t%pollS != 0 {
		return none
	}
	// The onset at this observation starts, then every started onset
	// takes the interval's factor (as warroom's error test does).
	o.logR = logAddExp(o.logR, o.lnOnset)
	for j := range o.xb {
		// A class one cohort never serves has an infinite log ratio
		// (and 0 x inf is NaN): only the counts seen take part.
		if o.xc[j] > 0 {
			o.logR += o.xc[j] * o.lnA[j]
		}
		if o.xb[j] > 0 {
			o.logR += o.xb[j] * o.lnB[j]
		}
		o.xb[j], o.xc[j] = 0, 0
	}
	switch {
	case o.logR >= o.lnThr:
		return rollback
	case t >= maxExtend*horizon:
		return insufficient
	}
	return none
}

func logAddExp(a, b float64) float64 {
	if math.IsInf(a, -1) {
		return b
	}
	if a < b {
		a, b = b, a
	}
	return a + math.Log1p(math.Exp(b-a))
}

// simConfig is warroom's judge configuration in the simulation: the
// default tolerances, and the SLO objectives set per Scenario.
func simConfig(baseErr float64) canary.Config {
	return canary.Config{Alpha: alpha, Objectives: canary.Objectives{ErrorRate: sloErrFactor * baseErr, LatencyP99Ms: sloP99Ms}}
}

// warroom: the judge's analysis fed an observation every pollS seconds.
// Its baseline's counters start with an hour of history: the
// pre-deployment baseline a real judge reads at the step's start.
type warroom struct {
	a *canary.Analysis
	o canary.Observation
}

var simStart = time.Unix(0, 0).UTC()

func newWarroom(c cells) *warroom {
	return &warroom{o: canary.Observation{At: simStart, Weight: weightPct, BoundsMs: c.bounds}}
}

// start gives the analysis its first observation: the baseline's history.
func (w *warroom) start(cfg canary.Config, hist []int64, n, errs int64) {
	w.a = canary.NewAnalysis(cfg, simStart, weightPct)
	w.o.Baseline = canary.Counts{Requests: n, Errors: errs, Buckets: hist}
	w.o.Canary = canary.Counts{Buckets: make([]int64, len(hist))}
	w.a.Observe(w.o)
}

func (w *warroom) Step(t int, b *bin) outcome {
	for c, p := range []*canary.Counts{&w.o.Baseline, &w.o.Canary} {
		p.Requests += b.n[c]
		p.Errors += b.err[c]
		for i, v := range b.cell[c] {
			p.Buckets[i] += v
		}
	}
	if t%pollS != 0 {
		return none
	}
	w.o.At = simStart.Add(time.Duration(t) * time.Second)
	// Only a rollback ends the canary early; a pause (SRM) would stop it
	// for a human, which never happens in these scenarios by design.
	if w.a.Observe(w.o) == deploy.VerdictRollback {
		return rollback
	}
	if t >= horizon && w.a.Proved() {
		return promote
	}
	if t >= maxExtend*horizon {
		return insufficient
	}
	return none
}

// window accumulates the canary's last-interval counts.
type window struct {
	n, err int64
	hist   [14]int64
}

func (w *window) add(b *bin) {
	w.n += b.n[1]
	w.err += b.err[1]
	for i, v := range b.hist[1] {
		w.hist[i] += v
	}
}

// check: success rate >= 99 % and p99 <= 500 ms over the window; no data fails.
func (w *window) check() (okSuccess, okLatency bool) {
	if w.n == 0 {
		return false, false
	}
	return 1-float64(w.err)/float64(w.n) >= flaggerMin, p99(&w.hist) <= p99MaxMs
}

// flagger: a check per minute; failed checks accumulate; rollback at 5.
type flagger struct {
	w      window
	failed int
}

func (f *flagger) Step(t int, b *bin) bool {
	f.w.add(b)
	if t%60 != 0 {
		return false
	}
	s, l := f.w.check()
	f.w = window{}
	if !s || !l {
		f.failed++
	}
	return f.failed >= 5
}

// argo: a measurement per minute per metric; a metric fails when its
// failed measurements exceed failureLimit 3.
type argo struct {
	w                window
	failedS, failedL int
}

func (a *argo) Step(t int, b *bin) bool {
	a.w.add(b)
	if t%60 != 0 {
		return false
	}
	s, l := a.w.check()
	a.w = window{}
	if !s {
		a.failedS++
	}
	if !l {
		a.failedL++
	}
	return a.failedS > 3 || a.failedL > 3
}

// kayenta: 10 s buckets of error rate and p99 per cohort; every 10 min a
// Mann-Whitney test (98 %) per metric over all buckets since the start; a
// metric fails when the canary is significantly higher; score = 100 x
// passing metrics / metrics; below marginal 75 (or below pass 95 at the
// end) rolls back.
type kayenta struct {
	cur        window
	curB       window
	errB, errC []float64
	latB, latC []float64
}

func (k *kayenta) Step(t int, b *bin) bool {
	k.cur.add(b)
	k.curB.n += b.n[0]
	k.curB.err += b.err[0]
	for i, v := range b.hist[0] {
		k.curB.hist[i] += v
	}
	if t%10 == 0 {
		if k.curB.n > 0 {
			k.errB = append(k.errB, float64(k.curB.err)/float64(k.curB.n))
			k.latB = append(k.latB, p99(&k.curB.hist))
		}
		if k.cur.n > 0 {
			k.errC = append(k.errC, float64(k.cur.err)/float64(k.cur.n))
			k.latC = append(k.latC, p99(&k.cur.hist))
		}
		k.cur, k.curB = window{}, window{}
	}
	if t%600 != 0 {
		return false
	}
	pass := 0
	for _, m := range [][2][]float64{{k.errB, k.errC}, {k.latB, k.latC}} {
		if !mannWhitneyHigher(m[0], m[1], 2.3263478740408408) {
			pass++
		}
	}
	score := 100 * float64(pass) / 2
	return score < 75 || (t >= horizon && score < 95)
}

// mannWhitneyHigher: is y stochastically larger than x, two-sided 98 %
// (normal approximation with tie correction)?
func mannWhitneyHigher(x, y []float64, z float64) bool {
	n1, n2 := len(x), len(y)
	if n1 == 0 || n2 == 0 {
		return false
	}
	type obs struct {
		v float64
		g int
	}
	all := make([]obs, 0, n1+n2)
	for _, v := range x {
		all = append(all, obs{v, 0})
	}
	for _, v := range y {
		all = append(all, obs{v, 1})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v < all[j].v })
	n := float64(n1 + n2)
	var r2, tie float64
	for i := 0; i < len(all); {
		j := i
		for j < len(all) && all[j].v == all[i].v {
			j++
		}
		rank := float64(i+j+1) / 2
		for k := i; k < j; k++ {
			if all[k].g == 1 {
				r2 += rank
			}
		}
		tc := float64(j - i)
		tie += tc*tc*tc - tc
		i = j
	}
	u := r2 - float64(n2)*float64(n2+1)/2
	mu := float64(n1) * float64(n2) / 2
	sd := math.Sqrt(float64(n1) * float64(n2) / 12 * (n + 1 - tie/(n*(n-1))))
	if sd == 0 {
		return false
	}
	return (u-mu)/sd > z
}

// fixed: one-sided two-proportion z-tests of errors and slow requests at
// 30 min, alpha/2 each.
type fixed struct {
	n, e, s [2]int64
}

func (f *fixed) Step(t int, b *bin) bool {
	for c := range 2 {
		f.n[c] += b.n[c]
		f.e[c] += b.err[c]
		f.s[c] += b.slow[c]
	}
	if t != horizon {
		return false
	}
	const z = 2.5758293035489004 // alpha/2 = 0.005 one-sided
	return twoProp(f.n, f.e) > z || twoProp(f.n, f.s) > z
}

func twoProp(n, x [2]int64) float64 {
	if n[0] == 0 || n[1] == 0 {
		return 0
	}
	p0, p1 := float64(x[0])/float64(n[0]), float64(x[1])/float64(n[1])
	p := float64(x[0]+x[1]) / float64(n[0]+n[1])
	se := math.Sqrt(p * (1 - p) * (1/float64(n[0]) + 1/float64(n[1])))
	if se == 0 {
		return 0
	}
	return (p1 - p0) / se
}

// tally is one algorithm's outcomes over a Scenario's runs.
type tally struct {
	falseRB, detected, promoted, insufficient int
	ttd                                       []float64 // detected runs, s after onset
	bake                                      []float64 // promoted runs: when
}

func simulate(sc Scenario, run int, c cells, out []tally) {
	r := rand.New(rand.NewPCG(uint64(run)+1, hashName(sc.Name)))
	algs := newAlgs(sc, c)
	done := make([]bool, len(algs))
	live := len(algs)
	for i, a := range algs {
		if a == nil {
			done[i] = true
			live--
		}
	}
	lam := [2]float64{sc.CanaryRPS * (100 - weightPct) / weightPct, sc.CanaryRPS}
	base := newDist(c.probs(1, 0))
	bad := base
	switch sc.Effect {
	case lat20:
		bad = newDist(c.probs(multLat, 0))
	case lat100:
		bad = newDist(c.probs(1, addMs))
	}
	// The baseline's hour before the step.
	w := algs[0].(*warroom)
	{
		hist := make([]int64, len(c.bounds))
		n := poisson(r, lam[0]*3600)
		for i, p := range base.p {
			hist[i] = binomial(r, n, p) // approximately multinomial; the counts need not add up exactly
		}
		var tot int64
		for _, v := range hist {
			tot += v
		}
		w.start(simConfig(sc.BaseErr), hist, tot, binomial(r, tot, sc.BaseErr))
	}
	mTraffic, mErr := 1.0, 1.0
	b := bin{cell: [2][]int64{make([]int64, len(c.bounds)), make([]int64, len(c.bounds))}}
	for t := 1; t <= maxExtend*horizon && live > 0; t++ {
		if sc.Overdisp && (t-1)%disperseS == 0 {
			mTraffic = gamma(r, trafShape) / trafShape
			mErr = gamma(r, errShape) / errShape
		}
		on := t > sc.Onset
		b.draw(r, 0, lam[0]*mTraffic, sc.BaseErr*mErr, base, c)
		d, q := base, sc.BaseErr
		if on {
			d, q = bad, sc.canaryErr()
		}
		b.draw(r, 1, lam[1]*mTraffic, q*mErr, d, c)
		for i, a := range algs {
			if done[i] {
				continue
			}
			o := a.Step(t, &b)
			if o == none {
				continue
			}
			done[i] = true
			live--
			switch {
			case o == rollback && (sc.Effect == healthy || t <= sc.Onset):
				out[i].falseRB++
			case o == rollback:
				out[i].detected++
				out[i].ttd = append(out[i].ttd, float64(t-sc.Onset))
			case o == promote:
				out[i].promoted++
				out[i].bake = append(out[i].bake, float64(t))
			case o == insufficient:
				out[i].insufficient++
			}
		}
	}
}

func hashName(s string) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * 1099511628211
	}
	return h
}

// Row is one scenario x algorithm result.
type Row struct {
	Scenario          string  `json:"scenario"`
	Algorithm         string  `json:"algorithm"`
	Runs              int     `json:"runs"`
	FalseRollbacks    int     `json:"false_rollbacks"`
	FalseRollbackRate float64 `json:"false_rollback_rate"`
	FalseRollbackLo   float64 `json:"false_rollback_wilson_lo"`
	FalseRollbackHi   float64 `json:"false_rollback_wilson_hi"`
	// Promoted is the share of runs promoted; on a regression at or above
	// its tolerance it is the missed-regression rate (Missed, with its
	// Wilson interval).
	Promoted     float64  `json:"promoted"`
	Missed       *float64 `json:"missed_regressions"` // null unless at or above tolerance
	MissedLo     *float64 `json:"missed_wilson_lo,omitempty"`
	MissedHi     *float64 `json:"missed_wilson_hi,omitempty"`
	Insufficient float64  `json:"insufficient"` // warroom: left to an operator after the extended bake
	Power        *float64 `json:"power"`        // null for healthy scenarios
	// MedianTTD is the median over all runs of the time to detect, an
	// undetected run counting as never (null when most are undetected).
	MedianTTD *float64 `json:"median_ttd_s"`
	P90TTD    *float64 `json:"p90_ttd_s"`
	// MedianTTDLo and MedianTTDHi are the median's distribution-free 95 %
	// confidence interval (order statistics of the runs; null when the
	// rank falls on undetected runs).
	MedianTTDLo *float64 `json:"median_ttd_lo_s"`
	MedianTTDHi *float64 `json:"median_ttd_hi_s"`
	// MedianBake is the median time to promotion of promoted runs.
	MedianBake *float64 `json:"median_bake_s"`
	// Floor is the information floor. On a regression: the expected time
	// to detect of the sequential probability ratio test that knows the
	// effect, on the counts the judge reads (which cohort each error, or
	// each request of each latency bucket, came from) at warroom's
	// per-test alpha (Wald: E[T] ~ ln(k/alpha) / information per second).
	// On a healthy canary: promotionFloor, the least bake a proof needs.
	Floor *float64 `json:"floor_s,omitempty"`
	// Acceptance (warroom's rows of regressions).
	Acceptance string `json:"acceptance,omitempty"`
	Note       string `json:"note,omitempty"`
}

// incumbents are the algorithms warroom is measured against.
var incumbents = map[string]bool{"flagger": true, "argo-rollouts": true, "kayenta-mw": true}

// maxIncumbentFRR: an incumbent that rolls back more healthy canaries
// than this is left out of the time-to-detect comparison.
const maxIncumbentFRR = 0.05

// floor is ln(k/alpha) over the information per second of the "whose
// request is it?" labels of each event class: classes come at rates lb
// pb_j + lc pc_j, each the canary's with probability rho1_j under the
// regression and rho0 under "no worse".
func floor(lc float64, pb, pc []float64) float64 {
	lb := lc * (100 - weightPct) / weightPct
	rho0 := lc / (lb + lc)
	var info float64
	for j := range pb {
		rate := lb*pb[j] + lc*pc[j]
		if rate <= 0 {
			continue
		}
		rho1 := lc * pc[j] / rate
		info += rate * klBern(rho1, rho0)
	}
	k := float64(canary.RollbackTests(simConfig(0.01)))
	return math.Log(k/alpha) / info
}

func klBern(p, q float64) float64 {
	var s float64
	if p > 0 {
		s += p * math.Log(p/q)
	}
	if p < 1 {
		s += (1 - p) * math.Log((1-p)/(1-q))
	}
	return s
}

func scenarioFloor(sc Scenario, c cells) float64 {
	switch sc.Effect {
	case lat20:
		return floor(sc.CanaryRPS, c.probs(1, 0), c.probs(multLat, 0))
	case lat100:
		return floor(sc.CanaryRPS, c.probs(1, 0), c.probs(1, addMs))
	}
	return floor(sc.CanaryRPS, []float64{sc.BaseErr}, []float64{sc.canaryErr()})
}

// promotionFloor (healthy cells) is the information floor of the proofs
// a promotion needs: Wald's expected time for the test that knows the
// canary is healthy to rule out the error tolerance (at beta/2, the other
// half going to the baseline's bound) and the latency tolerance (at
// beta), whichever is longer.
func promotionFloor(sc Scenario) float64 {
	beta := canary.DefaultBeta
	p := sc.BaseErr
	errs := math.Log(2/beta) / (sc.CanaryRPS * klBern(p, p+canary.DefaultErrorTolerance))
	// A healthy canary's share above (1 + tolerance) x its p95.
	z95 := 1.6448536269514722
	q := 0.5 * math.Erfc((z95+math.Log1p(canary.DefaultLatencyTolerance)/sigmaLog)/math.Sqrt2)
	lat := math.Log(1/beta) / (sc.CanaryRPS * klBern(q, 1-canary.ToleranceQuantile))
	return max(errs, lat)
}

// medianCI is the distribution-free 95 % interval of the median of runs
// values of which xs are the finite ones: the order statistics of ranks
// floor(n/2 - 1.96 sqrt(n)/2) and ceil(1 + n/2 + 1.96 sqrt(n)/2) (the
// binomial's normal approximation), nil where the rank falls on
// undetected runs.
func medianCI(xs []float64, runs int) (lo, hi *float64) {
	h := z975 * math.Sqrt(float64(runs)) / 2
	n := float64(runs)
	return rankAll(xs, int(math.Floor(n/2-h))), rankAll(xs, int(math.Ceil(1+n/2+h)))
}

// quantileAll is the q-quantile of the detection times over all runs,
// undetected runs counting as infinite (nil when it is infinite).
func quantileAll(xs []float64, runs int, q float64) *float64 {
	return rankAll(xs, int(math.Ceil(q*float64(runs))))
}

// rankAll is the rank-th smallest (from 1) of the detection times, xs
// being the finite ones (nil beyond them, or for a rank below 1).
func rankAll(xs []float64, rank int) *float64 {
	if rank > len(xs) || rank < 1 {
		return nil
	}
	s := append([]float64{}, xs...)
	sort.Float64s(s)
	v := s[rank-1]
	return &v
}

// Run simulates every scenario on workers goroutines (seeded: the same
// rows every run) and returns a row per scenario and algorithm, with
// warroom's acceptance filled in.
func Run(scs []Scenario, workers int) []Row {
	workers = max(1, workers)
	c := makeCells()
	type job struct{ s, run int }
	results := make([][][]tally, len(scs)) // Scenario -> run -> alg
	for i, sc := range scs {
		results[i] = make([][]tally, sc.Runs)
	}
	jobs := make(chan job, 1024)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				out := make([]tally, len(algNames))
				simulate(scs[j.s], j.run, c, out)
				results[j.s][j.run] = out
			}
		}()
	}
	for i, sc := range scs {
		for run := range sc.Runs {
			jobs <- job{i, run}
		}
	}
	close(jobs)
	wg.Wait()

	var rows []Row
	healthyFRR := map[string]map[string]float64{}
	for i, sc := range scs {
		for a, name := range algNames {
			if name == oracleName && sc.Effect == healthy {
				continue
			}
			var t tally
			for _, o := range results[i] {
				t.falseRB += o[a].falseRB
				t.detected += o[a].detected
				t.promoted += o[a].promoted
				t.insufficient += o[a].insufficient
				t.ttd = append(t.ttd, o[a].ttd...)
				t.bake = append(t.bake, o[a].bake...)
			}
			n := float64(sc.Runs)
			row := Row{Scenario: sc.Name, Algorithm: name, Runs: sc.Runs, FalseRollbacks: t.falseRB,
				FalseRollbackRate: float64(t.falseRB) / n, Promoted: float64(t.promoted) / n,
				Insufficient: float64(t.insufficient) / n, MedianBake: quantileAll(t.bake, len(t.bake), 0.5)}
			row.FalseRollbackLo, row.FalseRollbackHi = canary.Wilson(t.falseRB, sc.Runs, z975)
			if sc.Effect != healthy {
				p := float64(t.detected) / n
				row.Power = &p
				row.MedianTTD, row.P90TTD = quantileAll(t.ttd, sc.Runs, 0.5), quantileAll(t.ttd, sc.Runs, 0.9)
				row.MedianTTDLo, row.MedianTTDHi = medianCI(t.ttd, sc.Runs)
				f := scenarioFloor(sc, c)
				row.Floor = &f
				if sc.atOrAboveTolerance() && name != oracleName {
					m := row.Promoted
					lo, hi := canary.Wilson(t.promoted, sc.Runs, z975)
					row.Missed, row.MissedLo, row.MissedHi = &m, &lo, &hi
				}
			}
			if sc.Effect == healthy {
				f := promotionFloor(sc)
				row.Floor = &f
				if healthyFRR[sc.Name] == nil {
					healthyFRR[sc.Name] = map[string]float64{}
				}
				healthyFRR[sc.Name][name] = row.FalseRollbackRate
			}
			rows = append(rows, row)
		}
	}
	accept(rows, scs, healthyFRR)
	return rows
}

// accept fills in the acceptance of warroom's rows: on a healthy
// Scenario the false-rollback rate at most alpha; on a regression at or
// above its tolerance at most maxMissed promoted; and, where the floor is
// at most floorCap, a median time to detect at most max(half the best
// incumbent's whose healthy false-rollback rate is at most
// maxIncumbentFRR, 1.25 x the floor).
func accept(rows []Row, scs []Scenario, healthyFRR map[string]map[string]float64) {
	byName := map[string]Scenario{}
	for _, sc := range scs {
		byName[sc.Name] = sc
	}
	byScenario := map[string][]int{}
	for i, r := range rows {
		byScenario[r.Scenario] = append(byScenario[r.Scenario], i)
	}
	for name, idx := range byScenario {
		sc := byName[name]
		var w, or *Row
		best, bestName := math.Inf(1), ""
		for _, i := range idx {
			r := &rows[i]
			switch r.Algorithm {
			case "warroom":
				w = r
				continue
			case oracleName:
				or = r
				r.Note = "reference: knows the size, not the onset"
				continue
			}
			if !incumbents[r.Algorithm] || r.MedianTTD == nil {
				continue
			}
			f, ok := healthyFRR[healthyTwin(r.Scenario)][r.Algorithm]
			if !ok {
				r.Note = "not compared: its healthy twin was not simulated"
				continue
			}
			if f > maxIncumbentFRR {
				r.Note = fmt.Sprintf("not compared: rolls back %.0f%% of healthy canaries", 100*f)
				continue
			}
			if *r.MedianTTD < best {
				best, bestName = *r.MedianTTD, r.Algorithm
			}
		}
		if w == nil {
			continue
		}
		if sc.Effect == healthy {
			if w.FalseRollbackRate <= alpha {
				w.Acceptance = fmt.Sprintf("met: false rollbacks %.4f <= alpha", w.FalseRollbackRate)
			} else {
				w.Acceptance = fmt.Sprintf("MISS: false rollbacks %.4f > alpha %g", w.FalseRollbackRate, alpha)
			}
			continue
		}
		var verdicts []string
		ok := true
		if w.Missed != nil {
			if *w.Missed <= maxMissed {
				verdicts = append(verdicts, fmt.Sprintf("missed %.3f <= %g", *w.Missed, maxMissed))
			} else {
				ok = false
				verdicts = append(verdicts, fmt.Sprintf("missed %.3f > %g", *w.Missed, maxMissed))
			}
		}
		if w.Floor != nil && *w.Floor <= floorCap {
			limit := 1.25 * *w.Floor
			by := fmt.Sprintf("1.25 x floor %.0f s", *w.Floor)
			if bestName != "" && best/2 > limit {
				limit, by = best/2, fmt.Sprintf("half of %s's %.0f s", bestName, best)
			}
			ttdMissed := false
			switch {
			case w.MedianTTD == nil:
				ok, ttdMissed = false, true
				verdicts = append(verdicts, fmt.Sprintf("median TTD never (limit %.0f s, %s)", limit, by))
			case *w.MedianTTD <= limit:
				verdicts = append(verdicts, fmt.Sprintf("TTD %.0f s <= %.0f s (%s)", *w.MedianTTD, limit, by))
			default:
				ok, ttdMissed = false, true
				verdicts = append(verdicts, fmt.Sprintf("TTD %.0f s > %.0f s (%s)", *w.MedianTTD, limit, by))
			}
			if ttdMissed && or != nil && (or.MedianTTD == nil || *or.MedianTTD > limit) {
				verdicts = append(verdicts, fmt.Sprintf("%s (the size known, every onset weighed alike) misses it too: %s", oracleName, fmtp(or.MedianTTD, "%.0f s")))
			}
		}
		if len(verdicts) == 0 {
			continue // below tolerance and beyond the floor cap: either verdict is right
		}
		w.Acceptance = "met: "
		if !ok {
			w.Acceptance = "MISS: "
		}
		w.Acceptance += strings.Join(verdicts, "; ")
	}
}

// healthyTwin names the healthy Scenario with the same traffic, base
// error rate and dispersion.
func healthyTwin(name string) string {
	f := strings.Fields(name)
	if len(f) < 3 {
		return name
	}
	n := 3
	if len(f) > 3 && f[3] == "overdispersed" {
		n = 4
	}
	return strings.Join(f[:n], " ") + " healthy"
}

func fmtp(p *float64, f string) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf(f, *p)
}

// PrintTable writes rows as the table results.txt holds.
func PrintTable(w io.Writer, rows []Row) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tALGORITHM\tRUNS\tFALSE RB [95% Wilson]\tPROMOTED\tMISSED [95% Wilson]\tPOWER\tMEDIAN TTD\tP90 TTD\tFLOOR\tMEDIAN BAKE\tNOTE")
	for _, r := range rows {
		note := r.Note
		if r.Acceptance != "" {
			note = strings.TrimSuffix(strings.TrimPrefix(r.Acceptance+"; "+note, "; "), "; ")
		}
		if r.Algorithm == "warroom" && r.Insufficient > 0 {
			note = strings.TrimPrefix(note+fmt.Sprintf("; insufficient evidence after %dx bake: %.3f", maxExtend, r.Insufficient), "; ")
		}
		missed := "-"
		if r.Missed != nil {
			missed = fmt.Sprintf("%.3f [%.3f, %.3f]", *r.Missed, *r.MissedLo, *r.MissedHi)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.4f [%.4f, %.4f]\t%.3f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Scenario, r.Algorithm, r.Runs,
			r.FalseRollbackRate, r.FalseRollbackLo, r.FalseRollbackHi, r.Promoted, missed, fmtp(r.Power, "%.3f"),
			fmtp(r.MedianTTD, "%.0f s"), fmtp(r.P90TTD, "%.0f s"), fmtp(r.Floor, "%.0f s"), fmtp(r.MedianBake, "%.0f s"), note)
	}
	tw.Flush()
}
