package canary

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
)

// benchServices is how many canaries are in flight at one judgement
// step: the acceptance is one step of 50 in <= 1 ms.
const benchServices = 50

// benchBoundsMs are the histogram layout the judge is given in
// production (cmd/warroom's judgeBoundsMs, the demo service's own
// buckets): 20 per decade from 1 ms to 10 s, rounded to 3 significant
// digits, then +Inf; 82 buckets.
var benchBoundsMs = func() []float64 {
	out := make([]float64, 0, 82)
	for k := 0; k <= 80; k++ {
		v := 0.001 * math.Pow(10, float64(k)/20)
		r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
		out = append(out, r*1000)
	}
	return append(out, math.Inf(1))
}()

// benchSecond is one second of a service's traffic: all of it, and the
// share of each of benchClasses classes of its requests (request i of
// the ring is in class i mod benchClasses).
type benchSecond struct {
	all   benchCounts
	class [benchClasses]benchCounts
}

type benchCounts struct {
	requests, errors int64
	buckets          [82]int16 // per bucket of benchBoundsMs
}

// benchTraffic is a service's traffic, second by second, as the demo
// fleet serves it: Poisson arrivals at 1,000 requests a second, errors at
// random at the service's base rate (0.1-0.5 %), and log-normal latency
// (median 20-50 ms, sigma 0.5: the p95 2.3x and the p99 3.2x the median)
// on benchBoundsMs. benchRing seconds are drawn once and then repeat. The
// canary serves a tenth of each second's requests, a different class of
// them on each pass of the ring: in ten passes it serves each request
// once, so the ring's repetition gives neither cohort an edge that
// accumulates (a fixed split would repeat its chance differences until
// the tests saw them as a regression or a sample-ratio mismatch).
type benchTraffic struct {
	errRate, medianMs float64
	ring              []benchSecond
}

const (
	benchRing    = 61 // seconds; no multiple of the dispersion's minute, so its blocks differ
	benchClasses = 10 // the canary's weight is 10 %
	benchWeight  = 100 / benchClasses
)

var (
	benchOnce     sync.Once
	benchTraffics []benchTraffic
)

func benchFleet() []benchTraffic {
	benchOnce.Do(func() {
		benchTraffics = make([]benchTraffic, benchServices)
		for i := range benchTraffics {
			rng := rand.New(rand.NewPCG(uint64(i), 13))
			t := &benchTraffics[i]
			t.errRate = 0.001 + 0.004*rng.Float64()
			t.medianMs = 20 + 30*rng.Float64()
			t.ring = make([]benchSecond, benchRing)
			req := 0
			for k := range t.ring {
				s := &t.ring[k]
				for range benchPoisson(rng, 1000) {
					c := &s.class[req%benchClasses]
					req++
					c.requests++
					if rng.Float64() < t.errRate {
						c.errors++
					}
					ms := t.medianMs * math.Exp(0.5*rng.NormFloat64())
					c.buckets[sort.SearchFloat64s(benchBoundsMs, ms)]++ // the first bound >= ms: its bucket
				}
				for _, c := range s.class {
					s.all.requests += c.requests
					s.all.errors += c.errors
					for j, n := range c.buckets {
						s.all.buckets[j] += n
					}
				}
			}
		}
	})
	return benchTraffics
}

// benchPoisson draws a Poisson count of mean lambda (Knuth's product of
// uniforms, in steps of 500 to stay clear of underflow).
func benchPoisson(rng *rand.Rand, lambda float64) int64 {
	var n int64
	for lambda > 0 {
		l := min(lambda, 500)
		lambda -= l
		limit, p := math.Exp(-l), rng.Float64()
		for p > limit {
			n++
			p *= rng.Float64()
		}
	}
	return n
}

// benchSource serves each service's cohorts a second more of its
// traffic per call, cumulatively, as a monitoring source does.
type benchSource struct {
	fleet []benchTraffic
	svc   map[string]*benchService
}

type benchService struct {
	t    *benchTraffic
	obs  Observation
	tick int
}

func newBenchSource(reqs []deploy.CanaryRequest) *benchSource {
	s := &benchSource{fleet: benchFleet(), svc: map[string]*benchService{}}
	for i, r := range reqs {
		bs := &benchService{t: &s.fleet[i], obs: Observation{At: t0, BoundsMs: benchBoundsMs}}
		bs.obs.Baseline.Buckets = make([]int64, len(benchBoundsMs))
		bs.obs.Canary.Buckets = make([]int64, len(benchBoundsMs))
		// The baseline's counters start with an hour of its full
		// traffic, as a real service's do when its canary starts: the
		// pre-deployment baseline the first observation reads.
		for k := range 3600 {
			addCounts(&bs.obs.Baseline, &bs.t.ring[k%benchRing].all, 1)
		}
		s.svc[r.Service] = bs
	}
	return s
}

func (s *benchSource) Observe(_ context.Context, req deploy.CanaryRequest) (Observation, error) {
	bs, ok := s.svc[req.Service]
	if !ok {
		return Observation{}, fmt.Errorf("bench source: no service %s", req.Service)
	}
	sec := &bs.t.ring[bs.tick%benchRing]
	can := &sec.class[bs.tick/benchRing%benchClasses]
	bs.tick++
	bs.obs.At = bs.obs.At.Add(time.Second)
	addCounts(&bs.obs.Baseline, &sec.all, 1)
	addCounts(&bs.obs.Baseline, can, -1)
	addCounts(&bs.obs.Canary, can, 1)
	return bs.obs, nil
}

func addCounts(c *Counts, s *benchCounts, sign int64) {
	c.Requests += sign * s.requests
	c.Errors += sign * s.errors
	for j, n := range s.buckets {
		c.Buckets[j] += sign * int64(n)
	}
}

// BenchmarkJudgementStep is one judgement step of 50 services in flight:
// the judge reads one observation of each (realistic traffic with the
// production histogram layout, benchTraffic) and updates its error and
// latency tests, both SLO tests and the proofs. The canaries are 5
// minutes into their bake when the measurement starts (the latency
// reference frozen, the dispersion estimated, most proofs held). The
// acceptance is <= 1 ms per step.
//
//   - mid-bake: the engine's look during a bake, the common case: the
//     verdict is continue and its evidence is not encoded (the engine
//     only sleeps on it).
//   - bake-over: the bound of a step's cost: every canary's bake ends at
//     the same look, so each judgement is finished (promotion on proof,
//     or the shortfall of evidence) and its reason and evidence encoded,
//     as the engine records them.
func BenchmarkJudgementStep(b *testing.B) {
	for _, bc := range []struct {
		name string
		now  time.Time
	}{
		{"mid-bake", t0},
		{"bake-over", t0.Add(48 * time.Hour)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			cfg := Config{Objectives: Objectives{ErrorRate: 0.01, LatencyP99Ms: 300}}
			reqs := make([]deploy.CanaryRequest, benchServices)
			for i := range reqs {
				reqs[i] = deploy.CanaryRequest{RunID: fmt.Sprintf("run-%d", i), Step: 1, Service: fmt.Sprintf("svc-%d", i),
					Weight: benchWeight, Since: t0, BakeEnds: t0.Add(24 * time.Hour)}
			}
			j := NewJudge(newBenchSource(reqs), cfg, func() time.Time { return bc.now })
			ctx := context.Background()
			step := func() {
				for _, r := range reqs {
					jg, err := j.Judge(ctx, r)
					if err != nil {
						b.Fatal(err)
					}
					if jg.Verdict == deploy.VerdictRollback || jg.Verdict == deploy.VerdictPause {
						b.Fatalf("%s: a healthy canary judged %s: %s", r.Service, jg.Verdict, jg.Reason)
					}
				}
			}
			for range 300 {
				step()
			}
			// Wall time per op is inflated on a shared machine; the CPU
			// time the process spent (all threads, the collector's
			// included) is reported beside it as cpu-ns/op.
			cpu0 := cpuTime()
			b.ResetTimer()
			for range b.N {
				step()
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
