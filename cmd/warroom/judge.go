package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/warroom/warroom/core/canary"
	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
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
		report := a.sampleErrors()
		cfgs := &judgeConfigs{ctx: ctx, s: s, report: report, trains: map[string]int{}}
		opts = append(opts, canary.WithRecorder(sampleRecorder{s}, report), canary.WithConfigFor(cfgs.configFor))
	}
	return canary.NewJudge(src, canary.Config{}, time.Now, opts...), nil
}

// canaryConfig is the judge's configuration of a service's canary in a
// release train of train canary services: the objectives and the error
// tolerance derived from its SLO (canary.FromSLO), overridden by its
// deploy.canary_tolerance (error_rate in percentage points, latency_p95
// in percent), and alpha spent across the train.
func canaryConfig(svc *model.Service, train int) canary.Config {
	cfg := canary.Config{Train: max(train, 1)}
	if svc == nil {
		return cfg
	}
	tol := svc.Deploy.CanaryTolerance
	cfg.ErrorTolerance = tol.ErrorRate / 100
	cfg.LatencyTolerance = tol.LatencyP95 / 100
	return canary.FromSLO(cfg, svc.SLO)
}

// canaryServices counts the services a run deploys as canaries: the
// release train the judge's alpha is spread across.
func canaryServices(r *deploy.Run) int {
	seen := map[string]bool{}
	for i := range r.Steps {
		if s := &r.Steps[i]; s.Kind == deploy.KindService && s.Strategy == model.Canary {
			seen[s.Service] = true
		}
	}
	return len(seen)
}

// judgeConfigs configures each canary step the judge starts on (once per
// step) from the organisation as it is now and the step's run. What
// cannot be read is reported and leaves the defaults: a judge with the
// default tolerances is still a judge.
type judgeConfigs struct {
	ctx    context.Context // the engine's: the judge's option has none of its own
	s      *store.Store
	report func(error)

	mu      sync.Mutex
	version int64
	ix      *model.Index
	trains  map[string]int // run -> its canary services
}

func (c *judgeConfigs) configFor(req deploy.CanaryRequest) canary.Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	train, ok := c.trains[req.RunID]
	if !ok {
		r, err := c.s.LoadRun(c.ctx, req.RunID)
		if err != nil {
			c.report(fmt.Errorf("canary judge: run %s: %w; its alpha is not spread across its canaries", req.RunID, err))
		} else {
			train = canaryServices(r)
			c.trains[req.RunID] = train
		}
	}
	if v, err := c.s.ObjectsVersion(c.ctx); err != nil || c.ix == nil || v != c.version {
		org, err := c.s.Org(c.ctx)
		if err != nil {
			c.report(fmt.Errorf("canary judge: %w; %s is judged with the default tolerances", err, req.Service))
			return canaryConfig(nil, train)
		}
		c.ix, c.version = model.NewIndex(org), v
	}
	return canaryConfig(c.ix.Services[req.Service], train)
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
