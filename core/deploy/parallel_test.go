package deploy

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/core/model"
)

// waveFixture is a run of n services in one wave of one environment,
// rolling, without bake times, so that only the engine decides how many
// run at once.
func waveFixture(id string, n, parallel int) *Run {
	r := &Run{ID: id, Release: "r1", State: RunPending, StartedBy: "alice", Environments: []string{"dev"},
		Stages: []Stage{{Env: "dev", Parallel: parallel}}, Options: Options{AutoRollback: true}}
	for i := 1; i <= n; i++ {
		r.Steps = append(r.Steps, Step{Index: i, Wave: 1, Kind: KindService, Service: fmt.Sprintf("svc%d", i), Env: "dev",
			FromVersion: "1.0.0", Version: "1.1.0", Strategy: model.Rolling, Target: "fake", State: StepPending})
	}
	return r
}

// gatedTarget holds every Deploy until `want` of them are in flight at
// once (or a deadline passes), and records the most it saw.
type gatedTarget struct {
	*fakeTarget
	want int
	mu   sync.Mutex
	cond *sync.Cond
	now  int
	most int
	// fail, when set, makes the deployment of that service fail once the
	// others it waits for are in flight; they answer only once the engine
	// recorded the failure (failed closed), so that what starts after it
	// does not depend on timing.
	fail   string
	failed chan struct{}
}

func newGatedTarget(want int) *gatedTarget {
	g := &gatedTarget{fakeTarget: newFakeTarget(), want: want}
	g.cond = sync.NewCond(&g.mu)
	return g
}

func (g *gatedTarget) Target(context.Context, string) (Target, error) { return g, nil }

func (g *gatedTarget) Deploy(ctx context.Context, r Request, p func(Event)) (Outcome, error) {
	g.mu.Lock()
	g.now++
	g.most = max(g.most, g.now)
	g.cond.Broadcast()
	deadline := time.Now().Add(5 * time.Second)
	for g.now < g.want && time.Now().Before(deadline) {
		// Wake up now and then to look at the deadline.
		go func() { time.Sleep(10 * time.Millisecond); g.cond.Broadcast() }()
		g.cond.Wait()
	}
	g.want = 0 // once the wave was seen side by side, let everything through
	g.now--
	fail := g.fail == r.Service
	g.mu.Unlock()
	if fail {
		return Outcome{}, fmt.Errorf("%s: crashed on start", r.Service)
	}
	if g.failed != nil {
		select {
		case <-g.failed:
		case <-time.After(5 * time.Second):
			return Outcome{}, fmt.Errorf("the failure of %s was never recorded", g.fail)
		}
	}
	return g.fakeTarget.Deploy(ctx, r, p)
}

func TestStepsOfAWaveRunSideBySideUpToTheLimit(t *testing.T) {
	for _, tc := range []struct{ parallel, run, want int }{
		{parallel: 3, want: 3},
		{parallel: 0, want: DefaultParallel}, // the default
		{parallel: 3, run: 5, want: 5},       // the run's --parallel wins
		{parallel: 1, want: 1},               // one at a time
	} {
		t.Run(fmt.Sprintf("env %d run %d", tc.parallel, tc.run), func(t *testing.T) {
			h := newHarness(t)
			g := newGatedTarget(tc.want)
			h.engine.Targets = g
			r := waveFixture("run-1", 12, tc.parallel)
			r.Options.Parallel = tc.run
			h.create(r)
			out := h.drive("run-1")
			if out.State != RunSucceeded {
				t.Fatalf("state %s (%s)", out.State, out.Reason)
			}
			if g.most != tc.want {
				t.Errorf("at most %d deployments at once, want %d", g.most, tc.want)
			}
			if len(g.deploys) != 12 {
				t.Errorf("%d deployments, want 12", len(g.deploys))
			}
		})
	}
}

func TestAFailingStepStopsNewStartsThenTheWaveRollsBackInReverse(t *testing.T) {
	h := newHarness(t)
	g := newGatedTarget(3)
	g.fail = "svc2"
	g.failed = make(chan struct{})
	var once sync.Once
	h.engine.OnChange = func(r *Run, _ string) {
		if r.Steps[1].State == StepFailed {
			once.Do(func() { close(g.failed) })
		}
	}
	h.engine.Targets = g
	h.create(waveFixture("run-1", 6, 3))
	out := h.drive("run-1")
	if out.State != RunRolledBack {
		t.Fatalf("state %s (%s)", out.State, out.Reason)
	}
	// Steps 1 and 3 were in flight with 2: they finished, then were
	// rolled back; 4 to 6 never started.
	for _, s := range out.Steps {
		want := StepRolledBack
		if s.Index > 3 {
			want = StepPending
		}
		if s.State != want {
			t.Errorf("step %d is %s, want %s", s.Index, s.State, want)
		}
	}
	// (svc2's deployment crashed before the fake recorded it.)
	if n := len(g.callsOf("deploy ")); n != 2 {
		t.Errorf("%d deployments done, want 2: %v", n, g.callsOf("deploy "))
	}
	// Reverse order of the plan (of the dependencies).
	var got []string
	for _, c := range g.callsOf("rollback ") {
		got = append(got, c[len("rollback "):len("rollback svcN")])
	}
	if want := []string{"svc3", "svc2", "svc1"}; !slices.Equal(got, want) {
		t.Errorf("rollbacks %v, want %v", got, want)
	}
}
