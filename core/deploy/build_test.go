package deploy

import (
	"context"
	"strings"
	"testing"

	"github.com/warroom/warroom/core/graph/graphtest"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/plan"
)

func TestNewRunFromPlanAndDriveIt(t *testing.T) {
	ix, rel := graphtest.ShopWith(nil)
	p, err := plan.Build(ix, rel.Name)
	if err != nil {
		t.Fatal(err)
	}
	if p.Blocked() {
		t.Fatalf("shop plan blocked: %+v", p.Blockers)
	}
	h := newHarness(t)
	r, err := NewRun(ix, p, NewRunOptions{ID: "run-1", StartedBy: "alice", DefaultTarget: "fake", Now: h.clock.Now(),
		Environments: []string{"staging", "prod"}, Options: Options{AutoRollback: true}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Environments[0] != "staging" || r.Environments[1] != "prod" || !r.Stages[1].Approval {
		t.Fatalf("stages: %+v", r.Stages)
	}
	regions := map[string]bool{}
	for _, s := range r.Steps {
		if s.Env == "dev" {
			t.Errorf("step %d is in dev, which the run does not include", s.Index)
		}
		if s.Env == "prod" {
			regions[s.Region] = true
			if s.NotBefore == nil && s.Kind == KindService {
				t.Errorf("prod step %d has no low-traffic time", s.Index)
			}
		}
		if s.Target != "fake" {
			t.Errorf("step %d target %q", s.Index, s.Target)
		}
	}
	if len(regions) != 3 {
		t.Errorf("prod regions %v, want 3", regions)
	}
	h.create(r)
	h.clock.onSleep = func() {
		cur, _ := h.journal.LoadRun(context.Background(), "run-1")
		if cur.State == RunAwaitingApproval {
			h.ops.Do(context.Background(), OperatorRequest{Command: CmdContinue, RunID: "run-1", Actor: "approver"}) //nolint:errcheck
		}
	}
	out := h.drive("run-1")
	if out.State != RunSucceeded {
		t.Fatalf("state %s: %s", out.State, out.Reason)
	}
}

func TestNewRunRefusesABlockedPlanAndUnknownEnvironments(t *testing.T) {
	ix, rel := graphtest.ShopWith(func(org *model.Org, r *model.Release) {
		for i := range org.Services {
			if org.Services[i].Name == r.Scope[0].Service {
				org.Services[i].Owner = ""
			}
		}
	})
	p, _ := plan.Build(ix, rel.Name)
	if _, err := NewRun(ix, p, NewRunOptions{ID: "x", DefaultTarget: "fake"}); err == nil || !strings.Contains(err.Error(), "blocked") {
		t.Errorf("blocked plan: %v", err)
	}
	ix, rel = graphtest.ShopWith(nil)
	p, _ = plan.Build(ix, rel.Name)
	if _, err := NewRun(ix, p, NewRunOptions{ID: "x", DefaultTarget: "fake", Environments: []string{"qa"}}); err == nil || !strings.Contains(err.Error(), `environment "qa"`) {
		t.Errorf("unknown environment: %v", err)
	}
}

// TestARunsParallelComesFromTheReleaseThenTheEnvironment: a release's
// parallel for an environment overrides the environment's own, which
// holds where the release says nothing; the run's --parallel wins over
// both (Run.parallel).
func TestARunsParallelComesFromTheReleaseThenTheEnvironment(t *testing.T) {
	ix, rel := graphtest.ShopWith(nil)
	ix.Environments["staging"].Parallel = 4
	ix.Environments["prod"].Parallel = 2
	rel.Parallel = map[string]int{"prod": 1}
	ix.Releases[rel.Name] = rel
	p, err := plan.Build(ix, rel.Name)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRun(ix, p, NewRunOptions{ID: "run-1", DefaultTarget: "fake", Environments: []string{"staging", "prod"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{"staging": 4, "prod": 1}
	for _, st := range r.Stages {
		if got := r.parallel(st); got != want[st.Env] {
			t.Errorf("%s: parallel %d, want %d", st.Env, got, want[st.Env])
		}
	}
	r.Options.Parallel = 7
	for _, st := range r.Stages {
		if got := r.parallel(st); got != 7 {
			t.Errorf("%s with --parallel 7: %d", st.Env, got)
		}
	}
}
