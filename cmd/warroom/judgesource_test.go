package main

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/plugins/sdk"
)

// fakeMonitor answers Query from fixed series; metrics it does not hold
// are unknown (CodeInvalid), as the scrape source says.
type fakeMonitor struct {
	sdk.MonitoringSource // only Query is called
	series               map[string][]sdk.Series
}

func (f fakeMonitor) Query(_ context.Context, req sdk.QueryRequest) ([]sdk.Series, error) {
	all, ok := f.series[req.Metric]
	if !ok {
		return nil, sdk.Errorf(sdk.CodeInvalid, "unknown metric %q", req.Metric)
	}
	var out []sdk.Series
	for _, s := range all {
		if s.Labels["cohort"] != req.Labels["cohort"] {
			continue
		}
		var pts []sdk.Point
		for _, p := range s.Points {
			if req.End.IsZero() || p.T <= req.End.UnixMilli() {
				pts = append(pts, p)
			}
		}
		if len(pts) > 0 {
			s.Points = pts
			out = append(out, s)
		}
	}
	return out, nil
}

func counter(cohort string, v float64) sdk.Series {
	return sdk.Series{Labels: map[string]string{"cohort": cohort}, Points: []sdk.Point{{T: 1, V: v / 2}, {T: 2, V: v}}}
}

// leSeries are a cohort's latency_bucket series: bounds in seconds with
// their cumulative counts.
func leSeries(cohort string, le []string, cum []float64) []sdk.Series {
	var out []sdk.Series
	for i := range le {
		out = append(out, sdk.Series{Labels: map[string]string{"cohort": cohort, "le": le[i]}, Points: []sdk.Point{{T: 2, V: cum[i]}}})
	}
	return out
}

var canaryReq = deploy.CanaryRequest{RunID: "r", Step: 1, Service: "checkout", Environment: "dev", Region: "eu-west",
	Baseline: "4.8.2", Canary: "4.9.0", Weight: 5}

const (
	baseCohort   = "checkout/dev/eu-west@4.8.2"
	canaryCohort = "checkout/dev/eu-west@4.9.0"
)

func observe(t *testing.T, series map[string][]sdk.Series) (obs struct {
	bounds []float64
	base   []int64
	can    []int64
}, err error) {
	t.Helper()
	for _, m := range []string{"requests", "errors", "slow_requests"} {
		if _, ok := series[m]; !ok {
			series[m] = []sdk.Series{counter(baseCohort, 100), counter(canaryCohort, 10)}
		}
	}
	src := scrapeSource{monitor: func(context.Context) (sdk.MonitoringSource, error) { return fakeMonitor{series: series}, nil }}
	o, err := src.Observe(context.Background(), canaryReq)
	if err != nil {
		return obs, err
	}
	if o.Baseline.Requests != 100 || o.Canary.Requests != 10 {
		t.Errorf("requests %d and %d, want the latest points 100 and 10", o.Baseline.Requests, o.Canary.Requests)
	}
	obs.bounds, obs.base, obs.can = o.BoundsMs, o.Baseline.Buckets, o.Canary.Buckets
	return obs, nil
}

// The judge gets each cohort's histogram per bucket (not cumulative), on
// one ascending layout in milliseconds ending at +Inf: the demo
// service's own buckets map exactly, coarser ones are interpolated, a
// cohort not scraped yet has empty buckets, and a source without
// histograms gives none (the judge then uses the slow counts).
func TestScrapeSourceFillsTheHistograms(t *testing.T) {
	// The grid: 81 bounds from 1 ms to 10 s, 20 per decade, then +Inf.
	if n := len(judgeBoundsMs); n != 82 || judgeBoundsMs[0] != 1 || judgeBoundsMs[80] != 10000 || !math.IsInf(judgeBoundsMs[81], 1) {
		t.Fatalf("judge bounds: %d, %v ... %v", n, judgeBoundsMs[0], judgeBoundsMs[n-1])
	}
	if !slices.IsSorted(judgeBoundsMs) {
		t.Fatal("judge bounds not ascending")
	}

	t.Run("demo layout", func(t *testing.T) {
		// The demo service's buckets: requests at 28.2 ms, 31.6 ms (two
		// adjacent buckets) and over 10 s.
		var le []string
		var base, can []float64
		for _, b := range judgeBoundsS {
			le = append(le, formatSeconds(b))
			var nb, nc float64
			if b >= 0.0282 {
				nb, nc = 60, 4
			}
			if b >= 0.0316 {
				nb, nc = 90, 9
			}
			if math.IsInf(b, 1) {
				nb, nc = 100, 10
			}
			base, can = append(base, nb), append(can, nc)
		}
		obs, err := observe(t, map[string][]sdk.Series{"latency_bucket": append(leSeries(baseCohort, le, base), leSeries(canaryCohort, le, can)...)})
		if err != nil {
			t.Fatal(err)
		}
		i30 := slices.Index(judgeBoundsS, 0.0282)
		want := func(a, b, c int64) []int64 {
			w := make([]int64, 82)
			w[i30], w[i30+1], w[81] = a, b, c
			return w
		}
		if !slices.Equal(obs.base, want(60, 30, 10)) || !slices.Equal(obs.can, want(4, 5, 1)) || !slices.Equal(obs.bounds, judgeBoundsMs) {
			t.Errorf("baseline %v\ncanary %v", obs.base, obs.can)
		}
	})

	t.Run("coarse layout interpolated", func(t *testing.T) {
		// Prometheus' default-like buckets: 100 requests evenly in
		// (10 ms, 100 ms], none elsewhere.
		le := []string{"0.01", "0.1", "1", "+Inf"}
		obs, err := observe(t, map[string][]sdk.Series{"latency_bucket": leSeries(baseCohort, le, []float64{0, 100, 100, 100})})
		if err != nil {
			t.Fatal(err)
		}
		var total, below50 int64
		for i, n := range obs.base {
			total += n
			if judgeBoundsMs[i] <= 50.1 {
				below50 += n
			}
			if n > 0 && (judgeBoundsMs[i] <= 10 || judgeBoundsMs[i] > 100) {
				t.Errorf("%d requests in the bucket up to %v ms, outside (10, 100]", n, judgeBoundsMs[i])
			}
		}
		// Linear: (50.1-10)/(100-10) of them at or below 50.1 ms.
		if total != 100 || below50 < 43 || below50 > 46 {
			t.Errorf("interpolated: %d in all, %d at or below 50 ms, want 100 and about 44.6", total, below50)
		}
		if len(obs.can) != 82 || slices.ContainsFunc(obs.can, func(n int64) bool { return n != 0 }) {
			t.Errorf("a canary with no histogram yet: %v, want 82 empty buckets", obs.can)
		}
	})

	t.Run("no histograms", func(t *testing.T) {
		obs, err := observe(t, map[string][]sdk.Series{})
		if err != nil || obs.bounds != nil || obs.base != nil || obs.can != nil {
			t.Errorf("a source without latency_bucket: %v %v %v %v", obs.bounds, obs.base, obs.can, err)
		}
	})

	t.Run("known but empty", func(t *testing.T) {
		// The source has histograms, no cohort has points yet: the layout
		// is there from the first observation, every bucket empty.
		obs, err := observe(t, map[string][]sdk.Series{"latency_bucket": {}})
		if err != nil || !slices.Equal(obs.bounds, judgeBoundsMs) || len(obs.base) != 82 || len(obs.can) != 82 {
			t.Errorf("a source with latency_bucket and no points yet: %v %v %v %v", obs.bounds, obs.base, obs.can, err)
		}
	})

	t.Run("bad le", func(t *testing.T) {
		_, err := observe(t, map[string][]sdk.Series{"latency_bucket": leSeries(baseCohort, []string{"fast"}, []float64{1})})
		if err == nil || !strings.Contains(err.Error(), `le="fast"`) {
			t.Errorf("a bad le: %v", err)
		}
	})
}

// formatSeconds writes a bound as the scrape source does.
func formatSeconds(b float64) string {
	if math.IsInf(b, 1) {
		return "+Inf"
	}
	return strconv.FormatFloat(b, 'g', -1, 64)
}

// Both cohorts are read as of one scrape: a baseline scraped once more
// than the canary is read at the canary's last scrape.
func TestScrapeSourceReadsBothCohortsAtOneInstant(t *testing.T) {
	newer := counter(baseCohort, 100)
	newer.Points = append(newer.Points, sdk.Point{T: 3, V: 150})
	_, err := observe(t, map[string][]sdk.Series{
		"requests": {newer, counter(canaryCohort, 10)},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// At 100 % the baseline is gone and its points stop: the canary is read
// at its latest point, not held back to the baseline's last one.
func TestScrapeSourceReadsTheCanaryAloneAtFullWeight(t *testing.T) {
	newer := counter(canaryCohort, 10)
	newer.Points = append(newer.Points, sdk.Point{T: 3, V: 40})
	m := fakeMonitor{series: map[string][]sdk.Series{
		"requests":      {counter(baseCohort, 100), newer},
		"errors":        {},
		"slow_requests": {},
	}}
	src := scrapeSource{monitor: func(context.Context) (sdk.MonitoringSource, error) { return m, nil }}
	req := canaryReq
	req.Weight = 100
	o, err := src.Observe(context.Background(), req)
	if err != nil || o.Canary.Requests != 40 || o.Baseline.Requests != 100 {
		t.Errorf("at 100 %%: canary %d baseline %d (%v), want 40 and 100", o.Canary.Requests, o.Baseline.Requests, err)
	}
}

// A live cohort the source has no sample of yet (a baseline after the
// source restarted with a takeover, a canary before its first scrape) is
// no reading, not a cohort that served nothing: read as zero, its whole
// count would land in the judge's next interval at once.
func TestScrapeSourceRefusesACohortNotReadYet(t *testing.T) {
	for _, c := range []struct {
		name   string
		series []sdk.Series
	}{
		{"baseline not read yet", []sdk.Series{counter(canaryCohort, 10)}},
		{"canary not read yet", []sdk.Series{counter(baseCohort, 100)}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := observe(t, map[string][]sdk.Series{"requests": c.series})
			if !errors.Is(err, errNotReadYet) {
				t.Errorf("observe: %v, want errNotReadYet", err)
			}
		})
	}
}
