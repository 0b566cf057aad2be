package canary

import (
	"context"
	"fmt"
	"math"
	"syscall"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
)

// benchSource serves each service's cohorts a second more of traffic per
// call, with latency histograms of 40 buckets.
type benchSource struct {
	obs map[string]*Observation
}

var benchBounds = func() []float64 {
	var b []float64
	for v := 1.0; len(b) < 39; v *= 1.25 {
		b = append(b, v)
	}
	return append(b, math.Inf(1))
}()

func (s *benchSource) Observe(_ context.Context, req deploy.CanaryRequest) (Observation, error) {
	o, ok := s.obs[req.Service]
	if !ok {
		o = &Observation{At: t0, BoundsMs: benchBounds}
		o.Baseline.Buckets = make([]int64, len(benchBounds))
		o.Canary.Buckets = make([]int64, len(benchBounds))
		// The baseline's counters start with an hour of history, as a
		// real service's do when its canary starts: the pre-deployment
		// baseline the first observation reads.
		o.Baseline.Requests, o.Baseline.Errors = 3600*900, 3600*2
		for i := 10; i < 20; i++ {
			o.Baseline.Buckets[i] = 3600 * 90
		}
		s.obs[req.Service] = o
	}
	o.At = o.At.Add(time.Second)
	o.Baseline.Requests += 900
	o.Baseline.Errors += 2
	o.Canary.Requests += 100
	if o.At.Unix()%5 == 0 {
		o.Canary.Errors++
	}
	for i := 10; i < 20; i++ {
		o.Baseline.Buckets[i] += 90
		o.Canary.Buckets[i] += 10
	}
	return *o, nil
}

// BenchmarkJudgementStep is one judgement step of 50 services in flight,
// each with error and latency tests, both SLO tests and the proofs: the
// acceptance is <= 1 ms per step.
func BenchmarkJudgementStep(b *testing.B) {
	cfg := Config{Objectives: Objectives{ErrorRate: 0.005, LatencyP99Ms: 100}}
	j := NewJudge(&benchSource{obs: map[string]*Observation{}}, cfg, nil)
	reqs := make([]deploy.CanaryRequest, 50)
	for i := range reqs {
		reqs[i] = deploy.CanaryRequest{RunID: fmt.Sprintf("run-%d", i), Step: 1, Service: fmt.Sprintf("svc-%d", i),
			Weight: 10, Since: t0, BakeEnds: t0.Add(time.Hour)}
	}
	ctx := context.Background()
	// Warm up: every test runs from the second observation on.
	for range 3 {
		for _, r := range reqs {
			if _, err := j.Judge(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	}
	// Wall time per op is inflated on a shared machine; the CPU time the
	// process spent (all threads, the collector's included) is reported
	// beside it as cpu-ns/op.
	cpu0 := cpuTime()
	b.ResetTimer()
	for range b.N {
		for _, r := range reqs {
			if _, err := j.Judge(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
