package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/warroom/warroom/core/canary"
	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/plugins/sdk"
)

// scrapeSource reads a canary step's two cohorts from the scrape
// monitoring source, whose cohorts are named "service/env[/region]@version"
// (the local fleet's scrape-targets.json).
type scrapeSource struct {
	monitor func(ctx context.Context) (sdk.MonitoringSource, error)
}

func cohort(req deploy.CanaryRequest, version string) string {
	k := req.Service + "/" + req.Environment
	if req.Region != "" {
		k += "/" + req.Region
	}
	return k + "@" + version
}

func (s scrapeSource) Observe(ctx context.Context, req deploy.CanaryRequest) (canary.Observation, error) {
	m, err := s.monitor(ctx)
	if err != nil {
		return canary.Observation{}, err
	}
	now := time.Now()
	// Both cohorts as of one scrape: the latest instant both have points
	// for. A cohort read a scrape later than the other would have more
	// traffic than the weights gave it.
	// At 100 % the baseline's instances are gone and its points stop:
	// the canary alone sets the instant (at 0 %, the baseline).
	live := []string{cohort(req, req.Baseline), cohort(req, req.Canary)}
	switch {
	case req.Weight >= 100:
		live = live[1:]
	case req.Weight <= 0:
		live = live[:1]
	}
	at, err := commonInstant(ctx, m, live, now)
	if err != nil {
		return canary.Observation{}, err
	}
	base, err := counts(ctx, m, cohort(req, req.Baseline), at)
	if err != nil {
		return canary.Observation{}, err
	}
	can, err := counts(ctx, m, cohort(req, req.Canary), at)
	if err != nil {
		return canary.Observation{}, err
	}
	obs := canary.Observation{At: now, Baseline: base, Canary: can, Weight: req.Weight,
		BaselineP99Ms: p99Ms(ctx, m, cohort(req, req.Baseline), now),
		CanaryP99Ms:   p99Ms(ctx, m, cohort(req, req.Canary), now)}
	bh, known, err := histogram(ctx, m, cohort(req, req.Baseline), at)
	if err != nil {
		return canary.Observation{}, err
	}
	ch, _, err := histogram(ctx, m, cohort(req, req.Canary), at)
	if err != nil {
		return canary.Observation{}, err
	}
	// Histograms for both or for neither, from the first observation on
	// whenever the source has them: the judge fixes a step's layout at
	// its first observation, and one without histograms would leave the
	// whole step without latency evidence. A cohort with none yet (not
	// scraped yet) has served nothing: all its buckets are empty.
	if known {
		obs.BoundsMs = judgeBoundsMs
		obs.Baseline.Buckets = onJudgeGrid(bh)
		obs.Canary.Buckets = onJudgeGrid(ch)
	}
	return obs, nil
}

// judgeBoundsS are the upper bounds, in seconds, of the histogram the
// judge is given: 20 per decade (each 12 % wider than the one before)
// from 1 ms to 10 s, rounded to 3 significant digits, then +Inf. They are
// the demo service's own buckets, so its histograms map exactly; any
// other layout (coarser le buckets, vmrange ranges that appear as they
// fill) is carried onto them by linear interpolation of its cumulative
// counts, which keeps one layout for both cohorts, every observation and
// every step, as the judge needs.
var judgeBoundsS = func() []float64 {
	out := make([]float64, 0, 82)
	for k := 0; k <= 80; k++ {
		v := 0.001 * math.Pow(10, float64(k)/20)
		r, _ := strconv.ParseFloat(strconv.FormatFloat(v, 'g', 3, 64), 64)
		out = append(out, r)
	}
	return append(out, math.Inf(1))
}()

// judgeBoundsMs are judgeBoundsS in milliseconds.
var judgeBoundsMs = func() []float64 {
	out := make([]float64, len(judgeBoundsS))
	for i, b := range judgeBoundsS {
		out[i] = b * 1000
	}
	return out
}()

// leHistogram is a cohort's cumulative latency histogram as the source
// gives it: requests at or below each bound (seconds), ascending.
type leHistogram struct {
	le  []float64
	cum []float64
}

// at is the number of requests at or below x: exact at a bound of the
// histogram, interpolated linearly between two (observations spread
// evenly inside a bucket, as histogram_quantile assumes), and, inside an
// open last bucket, the count below it (nothing is known of where its
// requests fall, so they count as slower).
func (h *leHistogram) at(x float64) float64 {
	i := sort.SearchFloat64s(h.le, x) // first le >= x
	switch {
	case i < len(h.le) && h.le[i] == x:
		return h.cum[i]
	case i == len(h.le):
		return h.cum[len(h.cum)-1]
	}
	lo, clo := 0.0, 0.0
	if i > 0 {
		lo, clo = h.le[i-1], h.cum[i-1]
	}
	hi, chi := h.le[i], h.cum[i]
	if math.IsInf(hi, 1) || hi <= lo {
		return clo
	}
	return clo + (chi-clo)*(x-lo)/(hi-lo)
}

// onJudgeGrid carries a cohort's histogram onto judgeBoundsS, per bucket
// (canary.BucketsFromLE); nil (no histogram) gives empty buckets.
func onJudgeGrid(h *leHistogram) []int64 {
	cum := make([]float64, len(judgeBoundsS))
	if h != nil {
		for i, b := range judgeBoundsS {
			// Whole requests before differencing: the buckets then add up
			// to the histogram's total exactly.
			cum[i] = math.Round(h.at(b))
		}
	}
	return canary.BucketsFromLE(cum)
}

// histogram is a cohort's latency histogram at the latest point at or
// before at, from the source's latency_bucket series (one per le, in seconds; several series of one
// le, one per service version of the cohort, add up), or nil when the
// source has none for it yet. known says whether the source has the
// metric at all: one that does not has no histograms, and the judge then
// uses the slow counts.
func histogram(ctx context.Context, m sdk.MonitoringSource, name string, at time.Time) (h *leHistogram, known bool, err error) {
	series, err := m.Query(ctx, sdk.QueryRequest{Metric: "latency_bucket", Labels: map[string]string{"cohort": name},
		Start: at.Add(-time.Minute), End: at})
	if sdk.CodeOf(err) == sdk.CodeInvalid {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("latency_bucket of %s: %w", name, err)
	}
	byLE := map[float64]float64{}
	for _, s := range series {
		le, err := strconv.ParseFloat(s.Labels["le"], 64)
		if err != nil || math.IsNaN(le) || le <= 0 {
			return nil, true, fmt.Errorf("latency_bucket of %s: le=%q is not a positive bound in seconds", name, s.Labels["le"])
		}
		if n := len(s.Points); n > 0 {
			byLE[le] += s.Points[n-1].V
		}
	}
	if len(byLE) == 0 {
		return nil, true, nil
	}
	h = &leHistogram{}
	for le := range byLE {
		h.le = append(h.le, le)
	}
	sort.Float64s(h.le)
	var run float64
	for _, le := range h.le {
		// Cumulative over buckets: never down (a torn read would say so).
		run = max(run, byLE[le])
		h.cum = append(h.cum, run)
	}
	return h, true, nil
}

// commonInstant is the latest instant at which every cohort has a
// requests point (a scrape publishes all the cohorts it reached at one
// instant). A cohort with none yet has not been read yet (a canary
// before its first scrape, or any cohort after the source restarted, as
// a takeover restarts it): that is no reading (errNotReadYet), not a
// cohort that served nothing. Read as zero, its whole count would land
// in the judge's next interval at once: a baseline read so after a
// takeover gave a sample-ratio e-value of 1e28 in a second and paused a
// healthy canary.
// errNotReadYet: a live cohort the source has no sample of yet.
var errNotReadYet = errors.New("no sample of the cohort yet (not scraped since it started, or since the source did)")

func commonInstant(ctx context.Context, m sdk.MonitoringSource, cohorts []string, now time.Time) (time.Time, error) {
	at := now
	for _, name := range cohorts {
		series, err := m.Query(ctx, sdk.QueryRequest{Metric: "requests", Labels: map[string]string{"cohort": name},
			Start: now.Add(-time.Minute), End: now})
		if err != nil {
			return now, fmt.Errorf("requests of %s: %w", name, err)
		}
		var latest int64
		for _, s := range series {
			if n := len(s.Points); n > 0 {
				latest = max(latest, s.Points[n-1].T)
			}
		}
		if latest == 0 {
			return now, fmt.Errorf("%w: %s", errNotReadYet, name)
		}
		if t := time.UnixMilli(latest); t.Before(at) {
			at = t
		}
	}
	return at, nil
}

// p99Ms is a cohort's latest 99th percentile latency in milliseconds from
// the source's latency_p99 (seconds), or 0 when the source has none: it is
// only charted, so a source without it is no error.
func p99Ms(ctx context.Context, m sdk.MonitoringSource, name string, now time.Time) float64 {
	series, err := m.Query(ctx, sdk.QueryRequest{Metric: "latency_p99", Labels: map[string]string{"cohort": name},
		Start: now.Add(-time.Minute), End: now})
	if err != nil {
		return 0
	}
	// Several series (one per instance): the worst one is the cohort's.
	var worst float64
	for _, s := range series {
		if n := len(s.Points); n > 0 {
			worst = max(worst, s.Points[n-1].V)
		}
	}
	return worst * 1000
}

// counts is a cohort's cumulative requests, errors and slow requests
// (the judge's latency input only when there are no histograms) at the
// latest point at or before at.
func counts(ctx context.Context, m sdk.MonitoringSource, name string, at time.Time) (canary.Counts, error) {
	var c canary.Counts
	for _, q := range []struct {
		metric string
		into   *int64
	}{{"requests", &c.Requests}, {"errors", &c.Errors}, {"slow_requests", &c.Slow}} {
		series, err := m.Query(ctx, sdk.QueryRequest{Metric: q.metric, Labels: map[string]string{"cohort": name},
			Start: at.Add(-time.Minute), End: at})
		if err != nil {
			return c, fmt.Errorf("%s of %s: %w", q.metric, name, err)
		}
		for _, s := range series {
			if n := len(s.Points); n > 0 {
				*q.into += int64(s.Points[n-1].V)
			}
		}
	}
	return c, nil
}
