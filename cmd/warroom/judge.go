package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/warroom/warroom/core/canary"
	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/plugins/host"
	"github.com/warroom/warroom/plugins/sdk"
	"github.com/warroom/warroom/store"
)

// canaryJudge is the live canary judge over the monitoring source the
// plugin configuration names (canary_judge; by default the built-in
// scrape source, which reads the local fleet's instances), or nil when
// there is none: canary steps then fail pre-flight (canaryJudgeGate),
// unless the configuration says canary_judge: none. The judge records
// the metrics it computes in s, for the console's charts.
func (a *app) canaryJudge(ctx context.Context, s *store.Store) (deploy.Judge, error) {
	h, err := a.pluginHost(ctx)
	if err != nil {
		return nil, err
	}
	name := h.Config().CanaryJudge
	if name == "" || name == host.NoCanaryJudge {
		return nil, nil
	}
	src := scrapeSource{monitor: func(ctx context.Context) (sdk.MonitoringSource, error) { return h.MonitoringSource(ctx, name) }}
	var opts []canary.Option
	if s != nil {
		opts = append(opts, canary.WithRecorder(sampleRecorder{s}, a.sampleErrors()))
	}
	return canary.NewJudge(src, canary.Config{}, time.Now, opts...), nil
}

// sampleRecorder writes the judge's samples to the store, one
// transaction per batch, outside the audited command path.
type sampleRecorder struct{ s *store.Store }

// recordTimeout bounds a batch's write: the recorder runs on the judge's
// call, and a database held by another writer must not hold up a verdict
// for the whole busy timeout. A batch that misses it is dropped (and
// reported); the charts lose a point, the judgement nothing.
const recordTimeout = 500 * time.Millisecond

func (r sampleRecorder) Record(ctx context.Context, runID string, step int, samples []canary.Sample) error {
	ctx, cancel := context.WithTimeout(ctx, recordTimeout)
	defer cancel()
	return r.s.AppendSamples(ctx, runID, step, samples)
}

// sampleErrors reports failures to record samples on stderr, at most one
// a minute: they cost the console its charts, never a verdict.
func (a *app) sampleErrors() func(error) {
	var (
		mu      sync.Mutex
		last    time.Time
		dropped int
	)
	return func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if time.Since(last) < time.Minute {
			dropped++
			return
		}
		last = time.Now()
		more := ""
		if dropped > 0 {
			more = fmt.Sprintf(" (and %d more since the last report)", dropped)
		}
		dropped = 0
		a.outMu.Lock() // the console swaps the writers under it
		fmt.Fprintf(a.stderr, "warroom: %v%s\n", err, more)
		a.outMu.Unlock()
	}
}

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
	base, err := counts(ctx, m, cohort(req, req.Baseline), now)
	if err != nil {
		return canary.Observation{}, err
	}
	can, err := counts(ctx, m, cohort(req, req.Canary), now)
	if err != nil {
		return canary.Observation{}, err
	}
	return canary.Observation{At: now, Baseline: base, Canary: can, Weight: req.Weight,
		BaselineP99Ms: p99Ms(ctx, m, cohort(req, req.Baseline), now),
		CanaryP99Ms:   p99Ms(ctx, m, cohort(req, req.Canary), now)}, nil
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

// counts is a cohort's latest cumulative requests, errors and slow
// requests.
func counts(ctx context.Context, m sdk.MonitoringSource, name string, now time.Time) (canary.Counts, error) {
	var c canary.Counts
	for _, q := range []struct {
		metric string
		into   *int64
	}{{"requests", &c.Requests}, {"errors", &c.Errors}, {"slow_requests", &c.Slow}} {
		series, err := m.Query(ctx, sdk.QueryRequest{Metric: q.metric, Labels: map[string]string{"cohort": name},
			Start: now.Add(-time.Minute), End: now})
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
