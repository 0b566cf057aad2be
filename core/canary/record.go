package canary

import (
	"context"
	"time"

	"github.com/warroom/warroom/core/deploy"
)

// Cohort names as samples carry them.
const (
	CohortBaseline = "baseline"
	CohortCanary   = "canary"
)

// Sample is one cohort's metrics over a short trailing interval ending at
// At, as the judge computed them from its observations.
type Sample struct {
	At        time.Time
	Cohort    string  // CohortBaseline or CohortCanary
	RPS       float64 // requests per second
	ErrorRate float64 // errors / requests, 0..1; 0 when there were no requests
	P99Ms     float64 // 99th percentile latency in ms; 0 when unknown
}

// Recorder keeps the samples a judge computed, for charts. The host
// adapts a store to it; a recorder's failure never changes a verdict.
type Recorder interface {
	Record(ctx context.Context, runID string, step int, samples []Sample) error
}

// Option configures a Judge.
type Option func(*Judge)

// DefaultSampleWindow is the trailing interval samples are computed over:
// long enough that one-second polls are not noise.
const DefaultSampleWindow = 10 * time.Second

// WithRecorder has the judge hand each observation's samples to r.
// onError, if not nil, is told about the recorder's failures (they are
// otherwise ignored).
func WithRecorder(r Recorder, onError func(error)) Option {
	return func(j *Judge) { j.rec, j.recErr = r, onError }
}

// WithConfigFor has the judge configure each canary step with f's answer
// (read once, when the step starts) instead of the judge's Config: a
// service's tolerances and SLO objectives (FromSLO), and the release
// train's size (Config.Train).
func WithConfigFor(f func(deploy.CanaryRequest) Config) Option {
	return func(j *Judge) { j.cfgFor = f }
}

// WithSampleWindow sets the trailing interval samples are computed over
// (default DefaultSampleWindow).
func WithSampleWindow(d time.Duration) Option {
	return func(j *Judge) {
		if d > 0 {
			j.window = d
		}
	}
}

// trail holds a step's recent observations, oldest first, for interval
// metrics over the sample window.
type trail struct {
	obs []Observation
}

// add appends o and returns the samples over the window ending at o, or
// nil when there is no earlier observation to measure from. It keeps the
// newest observation at least window old (the interval's start) and
// everything after it.
func (t *trail) add(o Observation, window time.Duration) []Sample {
	// An observation from the past (a clock step back) restarts the trail.
	if n := len(t.obs); n > 0 && o.At.Before(t.obs[n-1].At) {
		t.obs = t.obs[:0]
	}
	t.obs = append(t.obs, o)
	cut := o.At.Add(-window)
	first := 0
	for i := len(t.obs) - 2; i >= 0; i-- {
		if !t.obs[i].At.After(cut) {
			first = i
			break
		}
	}
	if first > 0 {
		t.obs = append(t.obs[:0], t.obs[first:]...)
	}
	if len(t.obs) < 2 {
		return nil
	}
	from := t.obs[0]
	dt := o.At.Sub(from.At).Seconds()
	if dt <= 0 {
		return nil
	}
	sample := func(cohort string, cur, prev Counts, p99 float64) Sample {
		d := delta(cur, prev)
		s := Sample{At: o.At, Cohort: cohort, RPS: float64(d.Requests) / dt, P99Ms: max(p99, 0)}
		if d.Requests > 0 {
			s.ErrorRate = float64(d.Errors) / float64(d.Requests)
		}
		return s
	}
	return []Sample{
		sample(CohortBaseline, o.Baseline, from.Baseline, o.BaselineP99Ms),
		sample(CohortCanary, o.Canary, from.Canary, o.CanaryP99Ms),
	}
}
