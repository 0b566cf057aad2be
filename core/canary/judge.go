package canary

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/warroom/warroom/core/deploy"
)

// Source gives the latest cumulative counts of a canary step's cohorts.
// A monitoring plugin adapted by the host implements it.
type Source interface {
	Observe(ctx context.Context, req deploy.CanaryRequest) (Observation, error)
}

// Judge implements deploy.Judge: each call reads one observation from the
// source, updates the step's sequential tests and rules.
type Judge struct {
	src    Source
	cfg    Config
	now    func() time.Time
	cfgFor func(deploy.CanaryRequest) Config // nil: cfg for every step
	rec    Recorder                          // nil: no recording
	recErr func(error)                       // told about the recorder's failures; may be nil
	window time.Duration

	mu     sync.Mutex
	states map[stepKey]*stepState
}

// stepState is what the judge keeps of one canary step: the analysis and
// the recent observations samples are computed from.
type stepState struct {
	a     *Analysis
	trail trail
}

type stepKey struct {
	run  string
	step int
}

var _ deploy.Judge = (*Judge)(nil)

// NewJudge returns a judge reading src. now is the clock (nil: time.Now).
func NewJudge(src Source, cfg Config, now func() time.Time, opts ...Option) *Judge {
	if now == nil {
		now = time.Now
	}
	j := &Judge{src: src, cfg: cfg.withDefaults(), now: now, window: DefaultSampleWindow, states: map[stepKey]*stepState{}}
	for _, o := range opts {
		o(j)
	}
	return j
}

// Judge rules on one canary step.
func (j *Judge) Judge(ctx context.Context, req deploy.CanaryRequest) (deploy.Judgement, error) {
	obs, err := j.src.Observe(ctx, req)
	if err != nil {
		return deploy.Judgement{}, fmt.Errorf("canary judge: reading metrics of %s %s: %w", req.Service, req.Canary, err)
	}
	if obs.At.IsZero() {
		obs.At = j.now()
	}
	if obs.Weight == 0 {
		obs.Weight = req.Weight
	}
	key := stepKey{req.RunID, req.Step}
	j.mu.Lock()
	ss, ok := j.states[key]
	if !ok {
		// A new step: the earlier step's state is of no use. One state
		// serves all of a step's weights, so its false-rollback bound holds
		// for the whole canary (since: the first weight's start).
		// The baseline it knew is carried: the 100 % step, with no
		// baseline left, is judged against it.
		var ref *Reference
		for k, old := range j.states {
			if k.run == req.RunID {
				ref = old.a.Reference()
				delete(j.states, k)
			}
		}
		cfg := j.cfg
		if j.cfgFor != nil {
			cfg = j.cfgFor(req).withDefaults()
		}
		ss = &stepState{a: NewAnalysis(cfg, req.Since, req.Weight)}
		ss.a.SetReference(ref)
		j.states[key] = ss
	}
	ss.a.Reweight(obs.Weight)
	ss.a.Observe(obs)
	r := ss.a.Result()
	var samples []Sample
	if j.rec != nil {
		samples = ss.trail.add(obs, j.window)
	}
	j.mu.Unlock()
	if len(samples) > 0 {
		// Charts only: a failure is reported, never part of the verdict.
		if err := j.rec.Record(ctx, req.RunID, req.Step, samples); err != nil && j.recErr != nil {
			j.recErr(fmt.Errorf("canary judge: recording samples of run %s step %d: %w", req.RunID, req.Step, err))
		}
	}
	if !req.BakeEnds.IsZero() && !obs.At.Before(req.BakeEnds) {
		r = r.Finish()
	}
	return r.Judgement()
}

// Forget drops a run's state (call when the run ends).
func (j *Judge) Forget(runID string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for k := range j.states {
		if k.run == runID {
			delete(j.states, k)
		}
	}
}
