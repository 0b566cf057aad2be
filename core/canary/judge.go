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
	src Source
	cfg Config
	now func() time.Time

	mu     sync.Mutex
	states map[stepKey]*Analysis
}

type stepKey struct {
	run  string
	step int
}

var _ deploy.Judge = (*Judge)(nil)

// NewJudge returns a judge reading src. now is the clock (nil: time.Now).
func NewJudge(src Source, cfg Config, now func() time.Time) *Judge {
	if now == nil {
		now = time.Now
	}
	return &Judge{src: src, cfg: cfg.withDefaults(), now: now, states: map[stepKey]*Analysis{}}
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
	a, ok := j.states[key]
	if !ok {
		// A new step: the earlier step's state is of no use. One state
		// serves all of a step's weights, so its false-rollback bound holds
		// for the whole canary (since: the first weight's start).
		for k := range j.states {
			if k.run == req.RunID {
				delete(j.states, k)
			}
		}
		a = NewAnalysis(j.cfg, req.Since, req.Weight)
		j.states[key] = a
	}
	a.Reweight(obs.Weight)
	a.Observe(obs)
	r := a.Result()
	j.mu.Unlock()
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
