// Command canarysim judges identical seeded synthetic canary traffic with
// warroom's canary judge and with re-implementations of the documented
// defaults of Flagger, Argo Rollouts, a Kayenta-like Mann-Whitney judge and
// a fixed-horizon test, and prints false-rollback rates, power and
// time-to-detect per scenario.
//
//	go run ./scripts/canarysim [-o json] [-quick]
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime"
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
	weightPct  = 10   // canary weight: baseline gets 9x the canary's traffic
	medianMs   = 100.0
	sigmaLog   = 0.5
	alpha      = 0.01
	z975       = 1.959963984540054
	shiftMs    = 50.0 // p99 +50 ms scenario: every canary request 50 ms slower
	disperseS  = 10   // overdispersion: rate multipliers redrawn every 10 s
	errShape   = 2.0  // gamma shape of the shared error-probability multiplier
	trafShape  = 4.0  // gamma shape of the shared traffic multiplier
	flaggerMin = 0.99
	p99MaxMs   = 500.0
)

// istioBuckets are Istio's default request-duration buckets (ms), the
// histogram Flagger's and Kayenta's p99 queries interpolate over.
var istioBuckets = []float64{0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}

// slowMs is the slow-request threshold fixed in advance: the baseline's p99.
var slowMs = medianMs * math.Exp(2.3263478740408408*sigmaLog)

type effect int

const (
	healthy effect = iota
	errX2
	errX10
	p99Plus50
)

var effectName = map[effect]string{healthy: "healthy", errX2: "errors+100%", errX10: "errors+900%", p99Plus50: "p99+50ms"}

type scenario struct {
	Name      string
	CanaryRPS float64
	BaseErr   float64
	Effect    effect
	Onset     int // s
	Overdisp  bool
	Runs      int
}

func scenarios(quick bool) []scenario {
	if quick {
		return scenariosWith(150, 15)
	}
	return scenariosWith(2000, 300)
}

// scenariosWith gives every scenario, healthy ones with hRuns runs and
// regressions with rRuns.
func scenariosWith(hRuns, rRuns int) []scenario {
	var out []scenario
	for _, t := range []struct {
		n   string
		rps float64
	}{{"low", 0.5}, {"mid", 5}, {"high", 100}} {
		for _, q := range []float64{0.001, 0.01} {
			base := fmt.Sprintf("%s %grps err%g%%", t.n, t.rps, 100*q)
			out = append(out, scenario{Name: base + " healthy", CanaryRPS: t.rps, BaseErr: q, Effect: healthy, Runs: hRuns})
			for _, e := range []effect{errX2, errX10, p99Plus50} {
				for _, on := range []int{0, 600} {
					out = append(out, scenario{Name: fmt.Sprintf("%s %s onset%dm", base, effectName[e], on/60),
						CanaryRPS: t.rps, BaseErr: q, Effect: e, Onset: on, Runs: rRuns})
				}
			}
		}
		out = append(out,
			scenario{Name: fmt.Sprintf("%s %grps err1%% overdispersed healthy", t.n, t.rps), CanaryRPS: t.rps, BaseErr: 0.01, Overdisp: true, Runs: hRuns},
			scenario{Name: fmt.Sprintf("%s %grps err1%% overdispersed errors+100%% onset0m", t.n, t.rps), CanaryRPS: t.rps, BaseErr: 0.01, Effect: errX2, Overdisp: true, Runs: rRuns})
	}
	return out
}

// cells: latency cells bounded by the Istio buckets and the slow threshold.
type cells struct {
	bounds []float64 // upper bounds, ascending, last +Inf
	slowAt int       // cells >= slowAt are slow
	bucket []int     // cell -> Istio bucket index (len(istioBuckets) = +Inf bucket)
}

func makeCells() cells {
	var c cells
	b := append([]float64{}, istioBuckets...)
	b = append(b, slowMs)
	sort.Float64s(b)
	c.bounds = append(b, math.Inf(1))
	for i, ub := range c.bounds {
		if ub == slowMs {
			c.slowAt = i + 1
		}
		j := sort.SearchFloat64s(istioBuckets, ub)
		c.bucket = append(c.bucket, j)
	}
	return c
}

// probs returns each cell's probability for latency = shift + LogNormal.
func (c cells) probs(shift float64) []float64 {
	cdf := func(x float64) float64 {
		if x <= shift {
			return 0
		}
		return 0.5 * math.Erfc(-math.Log((x-shift)/medianMs)/(sigmaLog*math.Sqrt2))
	}
	p := make([]float64, len(c.bounds))
	prev := 0.0
	for i, ub := range c.bounds {
		v := 1.0
		if !math.IsInf(ub, 1) {
			v = cdf(ub)
		}
		p[i], prev = v-prev, v
	}
	return p
}

// bin is one second of both cohorts' traffic (0 baseline, 1 canary).
type bin struct {
	n, err, slow [2]int64
	hist         [2][14]int64 // per Istio bucket (13 + the +Inf bucket)
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

// algorithm judges a stream of bins; Step returns true when it rolls back.
type algorithm interface {
	Step(t int, b *bin) bool
}

var algNames = []string{"warroom", "flagger", "argo-rollouts", "kayenta-mw", "fixed-horizon-30m"}

func newAlgs() []algorithm {
	return []algorithm{newWarroom(), &flagger{}, &argo{}, &kayenta{}, &fixed{}}
}

// warroom: the judge's analysis fed one observation per second.
type warroom struct {
	a *canary.Analysis
	o canary.Observation
}

var simStart = time.Unix(0, 0).UTC()

func newWarroom() *warroom {
	w := &warroom{a: canary.NewAnalysis(canary.Config{Alpha: alpha}, simStart, weightPct)}
	w.o = canary.Observation{At: simStart, Weight: weightPct}
	w.a.Observe(w.o)
	return w
}

func (w *warroom) Step(t int, b *bin) bool {
	w.o.At = simStart.Add(time.Duration(t) * time.Second)
	for c, p := range []*canary.Counts{&w.o.Baseline, &w.o.Canary} {
		p.Requests += b.n[c]
		p.Errors += b.err[c]
		p.Slow += b.slow[c]
	}
	// Only a rollback ends the canary here; a pause (SRM) would stop it
	// for a human, which never happens in these scenarios by design.
	return w.a.Observe(w.o) == deploy.VerdictRollback
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

// outcome of one algorithm on one run: rolled back at second t (0: never).
type tally struct {
	falseRB, detected int
	ttd               []float64
}

func simulate(sc scenario, run int, c cells, pBase, pSlow []float64, out []tally) {
	r := rand.New(rand.NewPCG(uint64(run)+1, hashName(sc.Name)))
	algs := newAlgs()
	done := make([]bool, len(algs))
	live := len(algs)
	lam := [2]float64{sc.CanaryRPS * (100 - weightPct) / weightPct, sc.CanaryRPS}
	mTraffic, mErr := 1.0, 1.0
	var b bin
	for t := 1; t <= horizon && live > 0; t++ {
		if sc.Overdisp && (t-1)%disperseS == 0 {
			mTraffic = gamma(r, trafShape) / trafShape
			mErr = gamma(r, errShape) / errShape
		}
		on := t > sc.Onset
		for coh := range 2 {
			probs := pBase
			q := sc.BaseErr * mErr
			if coh == 1 && on {
				switch sc.Effect {
				case errX2:
					q *= 2
				case errX10:
					q *= 10
				case p99Plus50:
					probs = pSlow
				}
			}
			b.hist[coh] = [14]int64{}
			var n, slow int64
			for i, p := range probs {
				k := poisson(r, lam[coh]*mTraffic*p)
				n += k
				if i >= c.slowAt {
					slow += k
				}
				b.hist[coh][c.bucket[i]] += k
			}
			b.n[coh], b.slow[coh], b.err[coh] = n, slow, binomial(r, n, math.Min(q, 1))
		}
		for i, a := range algs {
			if done[i] || !a.Step(t, &b) {
				continue
			}
			done[i] = true
			live--
			if sc.Effect == healthy || t <= sc.Onset {
				out[i].falseRB++
			} else {
				out[i].detected++
				out[i].ttd = append(out[i].ttd, float64(t-sc.Onset))
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
	Scenario          string   `json:"scenario"`
	Algorithm         string   `json:"algorithm"`
	Runs              int      `json:"runs"`
	FalseRollbacks    int      `json:"false_rollbacks"`
	FalseRollbackRate float64  `json:"false_rollback_rate"`
	FalseRollbackLo   float64  `json:"false_rollback_wilson_lo"`
	FalseRollbackHi   float64  `json:"false_rollback_wilson_hi"`
	Power             *float64 `json:"power"` // null for healthy scenarios
	MedianTTD         *float64 `json:"median_ttd_s"`
	P90TTD            *float64 `json:"p90_ttd_s"`
	ExpectedEvents    float64  `json:"expected_canary_events"` // canary errors (slow requests for p99) after onset, under the regression
	// OracleTTD (warroom's rows of regressions) is the statistical floor:
	// the expected time to detect of the sequential probability ratio test
	// that knows the effect, on the same counts at the same per-metric
	// alpha (Wald: E[T] ~ ln(1/alpha) / KL per second). No test on these
	// counts at that alpha does much better on average.
	OracleTTD *float64 `json:"oracle_ttd_s,omitempty"`
	// Acceptance (warroom's rows of regressions) compares the median to
	// the best incumbent's (Flagger, Argo Rollouts, Kayenta).
	Acceptance string `json:"acceptance,omitempty"`
	Note       string `json:"note,omitempty"`
}

// incumbents are the algorithms warroom is measured against.
var incumbents = map[string]bool{"flagger": true, "argo-rollouts": true, "kayenta-mw": true}

// maxIncumbentFRR: an incumbent that rolls back more healthy canaries than
// this (Flagger's and Argo's absolute 99 % success-rate check on a service
// whose normal error rate is 1 %) detects nothing; it is left out of the
// comparison, and its rows say why.
const maxIncumbentFRR = 0.10

// oracleTTD is ln(RegressionTests/alpha) over the Kullback-Leibler
// information per second of the "whose event is it?" labels: events come
// at rate lb*pb + lc*pc, each the canary's with probability rho1 under the
// regression and rho0 = lc/(lb+lc) under "no worse".
func oracleTTD(lc, pb, pc float64) float64 {
	lb := lc * (100 - weightPct) / weightPct
	rate := lb*pb + lc*pc
	rho0, rho1 := lc/(lb+lc), lc*pc/rate
	kl := rho1*math.Log(rho1/rho0) + (1-rho1)*math.Log((1-rho1)/(1-rho0))
	return math.Log(canary.RegressionTests/alpha) / (rate * kl)
}

// accept fills in the acceptance of warroom's rows: the median time to
// detect at most half the best incumbent's (at a false-rollback rate no
// higher than that incumbent's on the healthy twin scenario), and for p99,
// faster than every incumbent.
func accept(rows []Row, healthyFRR map[string]map[string]float64) {
	byScenario := map[string][]int{}
	for i, r := range rows {
		byScenario[r.Scenario] = append(byScenario[r.Scenario], i)
	}
	for _, idx := range byScenario {
		var w *Row
		best, bestName := math.Inf(1), ""
		for _, i := range idx {
			r := &rows[i]
			if r.Algorithm == "warroom" {
				w = r
				continue
			}
			if !incumbents[r.Algorithm] || r.MedianTTD == nil || *r.Power < 0.5 {
				continue
			}
			if f := healthyFRR[healthyTwin(r.Scenario)][r.Algorithm]; f > maxIncumbentFRR {
				r.Note = fmt.Sprintf("not compared: rolls back %.0f%% of healthy canaries", 100*f)
				continue
			}
			if *r.MedianTTD < best {
				best, bestName = *r.MedianTTD, r.Algorithm
			}
		}
		if w == nil || w.Power == nil || strings.Contains(w.Scenario, "overdispersed") ||
			strings.HasPrefix(w.Scenario, "low") && !strings.Contains(w.Scenario, "p99") {
			continue
		}
		if w.MedianTTD == nil || *w.Power < 0.5 {
			w.Acceptance = "MISS: not detected in most runs"
			if w.OracleTTD != nil && *w.OracleTTD > float64(horizon) {
				w.Acceptance = fmt.Sprintf("MISS (statistics): too few events; the oracle needs %.0f s on average, the bake is %d s", *w.OracleTTD, horizon)
			}
			continue
		}
		if bestName == "" {
			w.Acceptance = "met: no incumbent detects it"
			continue
		}
		twin := healthyTwin(w.Scenario)
		frr := healthyFRR[twin]
		if strings.Contains(w.Scenario, "p99") {
			if *w.MedianTTD < best {
				w.Acceptance = fmt.Sprintf("met: %.0f s < every incumbent (best %s %.0f s)", *w.MedianTTD, bestName, best)
			} else {
				w.Acceptance = fmt.Sprintf("MISS: %.0f s, %s %.0f s", *w.MedianTTD, bestName, best)
			}
			continue
		}
		half := best / 2
		switch {
		case frr["warroom"] > frr[bestName]+1e-12 && frr["warroom"] > alpha:
			w.Acceptance = fmt.Sprintf("MISS: false rollbacks %.4f > %s's %.4f", frr["warroom"], bestName, frr[bestName])
		case *w.MedianTTD <= half:
			w.Acceptance = fmt.Sprintf("met: %.0f s <= half of %s's %.0f s", *w.MedianTTD, bestName, best)
		case w.OracleTTD != nil && *w.OracleTTD >= half:
			w.Acceptance = fmt.Sprintf("MISS (statistics): %.0f s > half of %s's %.0f s; floor %.0f s", *w.MedianTTD, bestName, best, *w.OracleTTD)
		default:
			w.Acceptance = fmt.Sprintf("MISS: %.0f s > half of %s's %.0f s", *w.MedianTTD, bestName, best)
		}
	}
}

// healthyTwin names the healthy scenario with the same traffic and base
// error rate.
func healthyTwin(name string) string {
	f := strings.Fields(name)
	if len(f) < 3 {
		return name
	}
	return strings.Join(f[:3], " ") + " healthy"
}

func quantile(xs []float64, q float64) *float64 {
	if len(xs) == 0 {
		return nil
	}
	s := append([]float64{}, xs...)
	sort.Float64s(s)
	v := s[int(math.Ceil(q*float64(len(s))))-1]
	return &v
}

func runAll(scs []scenario, workers int) []Row {
	c := makeCells()
	pBase, pSlow := c.probs(0), c.probs(shiftMs)
	type job struct{ s, run int }
	results := make([][][]tally, len(scs)) // scenario -> run -> alg
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
				simulate(scs[j.s], j.run, c, pBase, pSlow, out)
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
			var t tally
			for _, o := range results[i] {
				t.falseRB += o[a].falseRB
				t.detected += o[a].detected
				t.ttd = append(t.ttd, o[a].ttd...)
			}
			row := Row{Scenario: sc.Name, Algorithm: name, Runs: sc.Runs, FalseRollbacks: t.falseRB,
				FalseRollbackRate: float64(t.falseRB) / float64(sc.Runs)}
			row.FalseRollbackLo, row.FalseRollbackHi = canary.Wilson(t.falseRB, sc.Runs, z975)
			if sc.Effect != healthy {
				p := float64(t.detected) / float64(sc.Runs)
				row.Power = &p
				row.MedianTTD, row.P90TTD = quantile(t.ttd, 0.5), quantile(t.ttd, 0.9)
				win := float64(horizon - sc.Onset)
				switch sc.Effect {
				case errX2:
					row.ExpectedEvents = sc.CanaryRPS * win * sc.BaseErr * 2
				case errX10:
					row.ExpectedEvents = sc.CanaryRPS * win * sc.BaseErr * 10
				case p99Plus50:
					row.ExpectedEvents = sc.CanaryRPS * win * (1 - c.shiftedBelow(slowMs))
				}
				if name == "warroom" {
					var o float64
					switch sc.Effect {
					case errX2:
						o = oracleTTD(sc.CanaryRPS, sc.BaseErr, 2*sc.BaseErr)
					case errX10:
						o = oracleTTD(sc.CanaryRPS, sc.BaseErr, 10*sc.BaseErr)
					case p99Plus50:
						o = oracleTTD(sc.CanaryRPS, 0.01, 1-c.shiftedBelow(slowMs))
					}
					if !sc.Overdisp {
						row.OracleTTD = &o
					}
				}
				if name == "warroom" && p < 0.8 {
					row.Note = fmt.Sprintf("underpowered: %.0f canary events expected after onset", row.ExpectedEvents)
				}
			}
			if sc.Effect == healthy {
				if healthyFRR[sc.Name] == nil {
					healthyFRR[sc.Name] = map[string]float64{}
				}
				healthyFRR[sc.Name][name] = row.FalseRollbackRate
			}
			rows = append(rows, row)
		}
	}
	accept(rows, healthyFRR)
	return rows
}

func (c cells) shiftedBelow(x float64) float64 {
	return 0.5 * math.Erfc(-math.Log((x-shiftMs)/medianMs)/(sigmaLog*math.Sqrt2))
}

func fmtp(p *float64, f string) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf(f, *p)
}

func printTable(w io.Writer, rows []Row) {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tALGORITHM\tRUNS\tFALSE RB [95% Wilson]\tPOWER\tMEDIAN TTD\tP90 TTD\tFLOOR\tNOTE")
	for _, r := range rows {
		note := r.Note
		if r.Acceptance != "" {
			note = strings.TrimPrefix(r.Acceptance+"; "+note, "; ")
			note = strings.TrimSuffix(note, "; ")
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%.4f [%.4f, %.4f]\t%s\t%s\t%s\t%s\t%s\n", r.Scenario, r.Algorithm, r.Runs,
			r.FalseRollbackRate, r.FalseRollbackLo, r.FalseRollbackHi, fmtp(r.Power, "%.3f"),
			fmtp(r.MedianTTD, "%.0f s"), fmtp(r.P90TTD, "%.0f s"), fmtp(r.OracleTTD, "%.0f s"), note)
	}
	tw.Flush()
}

func main() {
	out := flag.String("o", "text", "output: text or json")
	quick := flag.Bool("quick", false, "few runs, for tests")
	workers := flag.Int("workers", runtime.GOMAXPROCS(0), "parallel workers")
	flag.Parse()
	if err := run(os.Stdout, os.Stderr, *out, *quick, *workers); err != nil {
		fmt.Fprintln(os.Stderr, "canarysim:", err)
		os.Exit(1)
	}
}

func run(stdout, stderr io.Writer, format string, quick bool, workers int) error {
	if format != "text" && format != "json" {
		return fmt.Errorf("-o %q: want text or json", format)
	}
	start := time.Now()
	rows := runAll(scenarios(quick), max(1, workers))
	if format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", " ")
		return enc.Encode(rows)
	}
	printTable(stdout, rows)
	fmt.Fprintf(stderr, "canarysim: %d scenarios in %s on %d workers\n", len(scenarios(quick)), time.Since(start).Round(time.Second), workers)
	return nil
}
