package main

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// maxInFlight bounds the generator's concurrent requests per proxy: a
// slow version makes it skip ticks rather than pile requests up.
const maxInFlight = 8

// generateTraffic sends rps requests a second through a proxy until ctx
// ends: four in five GET /, one in five GET /work with 5-50 ms of work,
// so that canaries get real traffic and /metrics real counts.
func generateTraffic(ctx context.Context, client *http.Client, base string, rps float64) {
	interval := time.Duration(float64(time.Second) / rps)
	t := time.NewTicker(interval)
	defer t.Stop()
	sem := make(chan struct{}, maxInFlight)
	var wg sync.WaitGroup
	defer wg.Wait()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		select {
		case sem <- struct{}{}:
		default:
			continue // saturated: skip this tick
		}
		path := "/"
		if n%5 == 4 {
			path = "/work?ms=" + strconv.Itoa(5+rand.IntN(46))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(rctx, http.MethodGet, base+path, nil)
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
		}()
	}
}
