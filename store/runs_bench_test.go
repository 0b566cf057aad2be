package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
)

// bigRun is a run of n steps, as a release train of ~1,000 services
// through five environments makes (7,015 steps).
func bigRun(id string, n int) *deploy.Run {
	r := &deploy.Run{ID: id, Release: "train", State: deploy.RunRunning, StartedBy: "bench",
		Environments: []string{"dev"}, Stages: []deploy.Stage{{Env: "dev"}}, CreatedAt: time.Now().UTC()}
	for i := 1; i <= n; i++ {
		r.Steps = append(r.Steps, deploy.Step{Index: i, Wave: 1 + i/100, Kind: deploy.KindService, Service: fmt.Sprintf("svc-%04d", i),
			Env: "dev", FromVersion: "1.0.0", Version: "1.1.0", Strategy: model.Canary, CanarySteps: []int{10, 50, 100},
			Target: "exec", Settings: map[string]string{"team": "payments"}, State: deploy.StepPending})
	}
	return r
}

// BenchmarkRunStepCommit is one step transition of a 7,015-step run: its
// cost does not depend on the size of the run.
func BenchmarkRunStepCommit(b *testing.B) {
	ctx := context.Background()
	s := openStore(b, dbPath(b))
	r := bigRun("run-1", 7015)
	if err := s.CreateRun(ctx, r, deploy.Audit{Actor: "bench", Command: "deploy start", Summary: "bench"}); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st := r.Steps[i%len(r.Steps)].Status()
		st.Progress = fmt.Sprint("p", i)
		if _, err := s.Apply(ctx, deploy.Change{RunID: "run-1", Steps: []deploy.StepChange{{From: st.State, To: st}}},
			deploy.Audit{Actor: "engine", Command: "deploy engine", Summary: "step"}); err != nil {
			b.Fatal(err)
		}
		r.Steps[i%len(r.Steps)].Rev++
	}
}

// BenchmarkRunRefresh7015 is what the console pays to read a 7,015-step
// run again after the engine moved one step on (another process's
// commit): the plan is not decoded again, only the changed rows read.
func BenchmarkRunRefresh7015(b *testing.B) {
	ctx := context.Background()
	path := dbPath(b)
	s, engine := openStore(b, path), openStore(b, path)
	r := bigRun("run-1", 7015)
	if err := engine.CreateRun(ctx, r, deploy.Audit{Actor: "bench", Command: "deploy start", Summary: "bench"}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.LoadRun(ctx, "run-1"); err != nil { // the console's first read
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st := r.Steps[i%len(r.Steps)].Status()
		st.Progress = fmt.Sprint("p", i)
		if _, err := engine.Apply(ctx, deploy.Change{RunID: "run-1", Steps: []deploy.StepChange{{From: st.State, To: st}}},
			deploy.Audit{Actor: "engine", Command: "deploy engine", Summary: "step"}); err != nil {
			b.Fatal(err)
		}
		r.Steps[i%len(r.Steps)].Rev++
		b.StartTimer()
		got, err := s.LoadRun(ctx, "run-1")
		if err != nil || got.Steps[i%len(r.Steps)].Progress != st.Progress {
			b.Fatalf("refresh: %v", err)
		}
	}
}
