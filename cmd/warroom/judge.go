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
