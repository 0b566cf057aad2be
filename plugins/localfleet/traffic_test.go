package main

import (
	"context"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

// The generator's arrivals are a Poisson process: its gaps pass a
// Kolmogorov-Smirnov test against the exponential distribution of mean
// 1/rps at the 1 % level (critical value 1.63/sqrt(n)), and successive
// gaps are uncorrelated. The seed is fixed, so the test is
// deterministic.
func TestArrivalsArePoisson(t *testing.T) {
	for _, rps := range []float64{20, 100, 400} {
		a := newArrivals(rps, rand.New(rand.NewPCG(1, 2)))
		const n = 20000
		gaps := make([]float64, n)
		var sum float64
		for i := range gaps {
			gaps[i] = a.next().Seconds()
			sum += gaps[i]
		}
		// Lag-1 autocorrelation: about N(0, 1/n) for independent gaps.
		mean := sum / n
		var num, den float64
		for i := range gaps {
			d := gaps[i] - mean
			den += d * d
			if i > 0 {
				num += d * (gaps[i-1] - mean)
			}
		}
		if r := num / den; math.Abs(r) > 4/math.Sqrt(n) {
			t.Errorf("%v rps: lag-1 autocorrelation %.4f of the gaps", rps, r)
		}
		slices.Sort(gaps)
		var ks float64
		for i, x := range gaps {
			f := 1 - math.Exp(-rps*x)
			ks = max(ks, math.Abs(f-float64(i)/n), math.Abs(float64(i+1)/n-f))
		}
		if crit := 1.63 / math.Sqrt(n); ks > crit {
			t.Errorf("%v rps: KS distance %.4f of the gaps from Exp(%v) > %.4f", rps, ks, rps, crit)
		}
		if math.Abs(mean*rps-1) > 4/math.Sqrt(n) {
			t.Errorf("%v rps: mean gap %v, want %v", rps, mean, 1/rps)
		}
	}
	// One seed, one sequence.
	a, b := newArrivals(50, rand.New(rand.NewPCG(7, 7))), newArrivals(50, rand.New(rand.NewPCG(7, 7)))
	for range 100 {
		if a.next() != b.next() {
			t.Fatal("the same seed gave two sequences")
		}
	}
}

// The generator sends GET / through the proxy until stopped, and stops
// with no request left in flight.
func TestGenerateTrafficSendsUntilStopped(t *testing.T) {
	var got, inFlight atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		if r.URL.Path == "/" && r.Method == http.MethodGet {
			got.Add(1)
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		generateTraffic(ctx, srv.Client(), srv.URL, 500, rand.New(rand.NewPCG(3, 4)), nil)
	}()
	waitFor(t, "50 generated requests", func() bool { return got.Load() >= 50 })
	cancel()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatal("the generator did not stop")
	}
	if n := inFlight.Load(); n != 0 {
		t.Errorf("%d requests in flight after the generator stopped", n)
	}
}

// traffic_idle: the generator pauses once its target is idle, sends
// nothing while paused (it waits in await), and resumes at the next use.
func TestGeneratedTrafficPausesWhileTheTargetIsIdle(t *testing.T) {
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
	defer srv.Close()
	var idle atomic.Int64 // the idle time, as traffic_idle gives it
	idle.Store(int64(time.Nanosecond))
	gate := newTrafficGate(func() time.Duration { return time.Duration(idle.Load()) })
	pauses := make(chan struct{}, 4)
	gate.paused = func() { pauses <- struct{}{} }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		generateTraffic(ctx, srv.Client(), srv.URL, 500, rand.New(rand.NewPCG(5, 6)), gate)
	}()
	waitChan := func(what string, c <-chan struct{}) {
		t.Helper()
		select {
		case <-c:
		case <-time.After(15 * time.Second):
			t.Fatalf("%s: not within 15s", what)
		}
	}
	// Idle from the start (used a nanosecond ago at most): paused at once.
	waitChan("the first pause", pauses)
	if n := got.Load(); n > 1 {
		t.Errorf("%d requests sent to an idle target", n)
	}
	// A use, with a long idle time: the traffic comes.
	idle.Store(int64(time.Hour))
	gate.touch()
	waitFor(t, "50 requests after a use", func() bool { return got.Load() >= 50 })
	// Idle again: it pauses again, and a cancel ends a paused generator.
	idle.Store(int64(time.Nanosecond))
	waitChan("the second pause", pauses)
	cancel()
	waitChan("the generator's end", done)
}
