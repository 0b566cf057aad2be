package main

import (
	"context"
	"fmt"
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
