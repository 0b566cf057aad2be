package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

// The checks Verify offers.
const (
	checkHealthy = "healthy"
	checkSmoke   = "smoke"
)

// smokeConcurrency is how many smoke requests are in flight at once.
const smokeConcurrency = 4

// verify runs the smoke checks of a version. A check that cannot pass
// (nothing runs) fails; it is not an error.
func (f *fleet) verify(ctx context.Context, req sdk.VerifyRequest) ([]sdk.Check, error) {
	names := req.Checks
	if len(names) == 0 {
		names = []string{checkHealthy, checkSmoke}
	}
	n, maxRate := f.conf().smokeRequests, f.conf().smokeMaxErrorRate
	if v := req.Settings["smoke_requests"]; v != "" {
		var err error
		if n, err = positiveInt(v); err != nil {
			return nil, invalid("request setting smoke_requests %q: %v", v, err)
		}
	}
	if v := req.Settings["smoke_max_error_rate"]; v != "" {
		var err error
		if maxRate, err = fraction(v); err != nil {
			return nil, invalid("request setting smoke_max_error_rate %q: %v", v, err)
		}
	}
	g := f.existing(req.Target)
	var out []sdk.Check
	for _, name := range names {
		start := time.Now()
		var c sdk.Check
		switch {
		case name != checkHealthy && name != checkSmoke:
			c = sdk.Check{Name: name, Message: fmt.Sprintf("unknown check %q: this target offers %s and %s", name, checkHealthy, checkSmoke)}
		case g == nil || len(g.runningOf(req.Version)) == 0:
			where := "nothing runs there (a new fleet starts empty)"
			if g != nil {
				where = "it runs " + g.summary()
			}
			c = sdk.Check{Name: name, Message: fmt.Sprintf("no instance of %s %s runs in %s: %s",
				req.Target.Service, req.Version, endpointKey(req.Target), where)}
		case name == checkHealthy:
			c = f.checkHealthy(ctx, g, req.Version)
		default:
			c = f.smoke(ctx, g, req.Version, n, maxRate)
		}
		c.Duration = time.Since(start)
		out = append(out, c)
	}
	return out, nil
}

// checkHealthy asks every instance of the version for /healthz directly.
func (f *fleet) checkHealthy(ctx context.Context, g *group, version string) sdk.Check {
	ins := g.runningOf(version)
	bad := make([]string, len(ins))
	var wg sync.WaitGroup
	for i, in := range ins {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, err := probe(ctx, f.client, in.addr)
			switch {
			case err != nil:
				bad[i] = fmt.Sprintf("instance %d: %v", in.index, err)
			case code != http.StatusOK:
				bad[i] = fmt.Sprintf("instance %d: /healthz answered %d", in.index, code)
			}
			if in.running() {
				in.ready.Store(bad[i] == "")
			}
		}()
	}
	wg.Wait()
	bad = slices.DeleteFunc(bad, func(s string) bool { return s == "" })
	c := sdk.Check{
		Name:   checkHealthy,
		Passed: len(bad) == 0,
		Evidence: map[string]string{
			"instances": strconv.Itoa(len(ins)),
			"healthy":   strconv.Itoa(len(ins) - len(bad)),
		},
	}
	if len(bad) == 0 {
		c.Message = fmt.Sprintf("all %d instances of %s answer 200 on /healthz", len(ins), version)
	} else {
		c.Message = fmt.Sprintf("%d of %d instances of %s are unhealthy: %s", len(bad), len(ins), version, strings.Join(bad, "; "))
		c.Evidence["unhealthy"] = strings.Join(bad, "; ")
	}
	return c
}

// smoke sends n rounds of GET / and GET /healthz through the proxy,
// pinned to the version, and fails when too many go wrong: an answer
// other than 200, no answer, or / answered by another version.
func (f *fleet) smoke(ctx context.Context, g *group, version string, n int, maxRate float64) sdk.Check {
	type result struct {
		code     int
		wrong    bool
		err      string
		duration time.Duration
	}
	paths := make([]string, 0, 2*n)
	for range n {
		paths = append(paths, "/", "/healthz")
	}
	results := make([]result, len(paths))
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range smokeConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				start := time.Now()
				code, body, err := f.pinnedGet(ctx, g.url+paths[i], version)
				r := result{code: code, duration: time.Since(start)}
				if err != nil {
					r.err = err.Error()
				} else if paths[i] == "/" && code == http.StatusOK {
					var got struct {
						Version string `json:"version"`
					}
					if json.Unmarshal(body, &got) != nil || got.Version != version {
						r.wrong = true
					}
				}
				results[i] = r
			}
		}()
	}
	for i := range paths {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	errs, wrong, transport := 0, 0, 0
	codes := map[int]int{}
	durations := make([]time.Duration, 0, len(results))
	var firstErr string
	for _, r := range results {
		durations = append(durations, r.duration)
		switch {
		case r.err != "":
			errs++
			transport++
			if firstErr == "" {
				firstErr = r.err
			}
		case r.wrong:
			errs++
			wrong++
			codes[r.code]++
		default:
			codes[r.code]++
			if r.code != http.StatusOK {
				errs++
			}
		}
	}
	slices.Sort(durations)
	rate := float64(errs) / float64(len(results))
	c := sdk.Check{
		Name:   checkSmoke,
		Passed: rate <= maxRate,
		Message: fmt.Sprintf("%d requests (GET / and /healthz) through the proxy pinned to %s: %d failed (%.1f%%), at most %.1f%% allowed",
			len(results), version, errs, rate*100, maxRate*100),
		Evidence: map[string]string{
			"requests":       strconv.Itoa(len(results)),
			"errors":         strconv.Itoa(errs),
			"error_rate":     strconv.FormatFloat(rate, 'f', 4, 64),
			"max_error_rate": strconv.FormatFloat(maxRate, 'f', -1, 64),
			"codes":          formatCodes(codes),
			"wrong_version":  strconv.Itoa(wrong),
			"no_answer":      strconv.Itoa(transport),
			"p50_ms":         strconv.FormatInt(durations[len(durations)/2].Milliseconds(), 10),
			"max_ms":         strconv.FormatInt(durations[len(durations)-1].Milliseconds(), 10),
			"proxy":          g.url,
		},
	}
	if firstErr != "" {
		c.Message += "; first failure: " + firstErr
	}
	if wrong > 0 {
		c.Message += fmt.Sprintf("; %d answers came from another version", wrong)
	}
	return c
}

func (f *fleet) pinnedGet(ctx context.Context, url, version string) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set(versionHeader, version)
	req.Header.Set("User-Agent", "warroom-localfleet-verify")
	resp, err := f.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, body, err
}

func formatCodes(codes map[int]int) string {
	keys := make([]int, 0, len(codes))
	for k := range codes {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d:%d", k, codes[k])
	}
	return strings.Join(parts, ",")
}
