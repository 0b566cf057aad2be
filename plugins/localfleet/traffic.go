package main

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// maxInFlight bounds the generator's concurrent requests per proxy. It is
// far above what the demo's rates need (100 rps of 700 ms answers is 70
// in flight), so arrivals stay Poisson; it only keeps a hung fleet from
// piling up goroutines. An arrival that finds it full is dropped.
const maxInFlight = 256

// arrivals draws a Poisson process's inter-arrival gaps at rps a second:
// independent exponential times of mean 1/rps, as independent users'
// requests arrive.
type arrivals struct {
	rng  *rand.Rand
	mean float64 // seconds
}

func newArrivals(rps float64, rng *rand.Rand) *arrivals {
	return &arrivals{rng: rng, mean: 1 / rps}
}

func (a *arrivals) next() time.Duration {
	return time.Duration(a.rng.ExpFloat64() * a.mean * float64(time.Second))
}

// generateTraffic sends GET / through a proxy at Poisson arrivals of rps
// a second until ctx ends, so that canaries get real traffic and the
// instances' /metrics real counts. The instances (demo-service) give
// each request its latency and its errors. rng draws the arrivals (a
// fixed seed in tests).
//
// gate, when set, pauses the traffic while the target is idle
// (traffic_idle): a laptop cannot carry 200 requests a second through
// every proxy of a five-environment release, only through those in use.
func generateTraffic(ctx context.Context, client *http.Client, base string, rps float64, rng *rand.Rand, gate *trafficGate) {
	gaps := newArrivals(rps, rng)
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	// Arrivals are scheduled on absolute times, so a timer that fires
	// late does not lower the rate: the next arrival comes sooner.
	next := time.Now()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		if gate != nil && !gate.active(time.Now()) {
			if !gate.await(ctx) {
				return
			}
			next = time.Now() // resumed: no burst for the time paused
		}
		next = next.Add(gaps.next())
		if d := time.Until(next); d > 0 {
			t.Reset(d)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		select {
		case sem <- struct{}{}:
		default:
			continue // saturated: this arrival is dropped
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			send(ctx, client, base+"/")
		}()
	}
}

// send makes one request and reads its answer.
func send(ctx context.Context, client *http.Client, url string) {
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	if err != nil {
		return
	}
	req.Header.Set("User-Agent", "warroom-localfleet-traffic")
	resp, err := client.Do(req)
	if err != nil {
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// trafficGate says whether a target is in use: the deploy engine asked
// about it (deploy, rollback, set_traffic, verify, its status) within
// the idle time (traffic_idle). During a bake the engine looks at the
// target's status at every look, so a step in flight keeps its traffic,
// its baseline's too; a target no step touches goes quiet.
type trafficGate struct {
	idle    func() time.Duration // 0: never idle
	touched atomic.Int64         // unix nanoseconds of the last use
	wake    chan struct{}        // a use, for a paused generator
	paused  func()               // tests: called as the generator pauses
}

func newTrafficGate(idle func() time.Duration) *trafficGate {
	g := &trafficGate{idle: idle, wake: make(chan struct{}, 1)}
	g.touched.Store(time.Now().UnixNano())
	return g
}

// touch records a use of the target, and wakes its paused generator.
func (g *trafficGate) touch() {
	g.touched.Store(time.Now().UnixNano())
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

func (g *trafficGate) active(now time.Time) bool {
	idle := g.idle()
	return idle <= 0 || now.Sub(time.Unix(0, g.touched.Load())) < idle
}

// await blocks until the target is in use again; false when ctx ends.
func (g *trafficGate) await(ctx context.Context) bool {
	if g.paused != nil && !g.active(time.Now()) {
		g.paused()
	}
	for !g.active(time.Now()) {
		select {
		case <-ctx.Done():
			return false
		case <-g.wake:
		}
	}
	return true
}
