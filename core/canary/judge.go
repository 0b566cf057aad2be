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
	seen  time.Time // the latest observation
}

// IdleAfter is how long a step's state is kept with no judgement asked
// of it (a run aborted or rolled back by an operator mid-bake never
// asks again): it is dropped when another step starts.
const IdleAfter = 6 * time.Hour

// evictIdle drops the states of steps not judged for IdleAfter. Called
// with j.mu held, when a step starts: the cost is per step, not per call.
func (j *Judge) evictIdle(now time.Time) {
	for k, ss := range j.states {
		if now.Sub(ss.seen) > IdleAfter {
			delete(j.states, k)
		}
	}
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
		// The engine says whose error it is ("the canary judge could not
		// judge: ..."), so the error starts with what failed.
		return deploy.Judgement{}, fmt.Errorf("reading metrics of %s %s: %w", req.Service, req.Canary, err)
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
		// A new step. Steps are independent: the canaries of one wave are
		// judged side by side, each on its own service's cohorts, so a
		// step never takes or drops another's state. One state serves
		// all of a step's weights, so its false-rollback bound holds for
		// the whole canary (since: the first weight's start), and the
		// 100 % weight, with no baseline left, is judged against the
		// baseline this state recorded before it.
		j.evictIdle(obs.At)
		cfg := j.cfg
		if j.cfgFor != nil {
			cfg = j.cfgFor(req).withDefaults()
		}
		ss = &stepState{a: NewAnalysis(cfg, req.Since, req.Weight)}
		j.states[key] = ss
	}
	ss.seen = obs.At
	ss.a.Reweight(obs.Weight)
	ss.a.Observe(obs)
	// The bake is over by the observation's clock or the judge's (a
	// scrape's instant may lag the engine's look by an interval).
	finished := !req.BakeEnds.IsZero() && (!obs.At.Before(req.BakeEnds) || !j.now().Before(req.BakeEnds))
	var (
		r       Result
		reason  string
		goingOn bool // mid-bake, continue
	)
	if finished {
		r = ss.a.finished()
	} else {
		// Mid-bake, "continue" is only slept on: the engine keeps a
		// judgement's evidence when it acts on it (a verdict, an
		// extension at the bake's end), so it is neither built nor
		// encoded here (about half of a judgement's cost; the reason is
		// written from state the analysis reuses), and a train judges
		// every in-flight canary at every look.
		if reason, goingOn = ss.a.continueReason(); !goingOn {
			r = ss.a.Result()
		}
	}
	// The evidence, when the engine keeps it, is encoded under the lock:
	// it is written with what the step's analysis keeps from one
	// judgement to the next, and a finished step's is the analysis's
	// reused evidence.
	var evidence []byte
	if !goingOn && (r.Verdict != deploy.VerdictContinue || finished) {
		evidence = ss.a.encode(&r.Evid)
	}
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
	if goingOn {
		return deploy.Judgement{Verdict: deploy.VerdictContinue, Reason: reason}, nil
	}
	if r.Verdict == deploy.VerdictPromote && obs.Weight >= 100 {
		// The step's canary is promoted for good: its state is of no
		// more use, and a 1,000-service train must not keep them all.
		// (A rolled-back step's state goes when it is idle: a rollback
		// verdict is final, and asked again it says the same.)
		j.mu.Lock()
		delete(j.states, key)
		j.mu.Unlock()
	}
	return deploy.Judgement{Verdict: r.Verdict, Reason: r.Reason, Evidence: evidence}, nil
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
