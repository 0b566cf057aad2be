package main

import (
	"context"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/store"
	"github.com/warroom/warroom/tui"
)

// The console's source at release-train scale (issue 12): the engine
// benchmarks' organisation (2,000 services, scope 50) with its release's
// run through all five environments (7,015 steps) in progress, 1,000
// steps done and 10 in flight. The tui package's BenchmarkTrainFirstFrame
// and BenchmarkTrainRefresh time the whole console (model, screens,
// frames) over the store; these time the console's own Source, with the
// change requests it adds. The plugin host is left out: its report is made
// in the background and every pluginListTTL, not on a refresh.

// trainConsoleDB copies the engine benchmarks' database and puts the run
// in progress in it, through the store as the engine does.
func trainConsoleDB(b *testing.B) string {
	b.Helper()
	ctx := context.Background()
	s, r := newBenchRun(b, "console.db", "run-train", nil)
	defer s.Close()
	path := s.Path()
	if len(r.Steps) != 7015 {
		b.Fatalf("%d steps, want 7,015", len(r.Steps))
	}
	if err := s.CreateRun(ctx, r, deploy.Audit{Actor: "bench", Command: "deploy start", Summary: "train"}); err != nil {
		b.Fatal(err)
	}
	h := r.Header()
	h.State = deploy.RunRunning
	ch := deploy.Change{RunID: r.ID, Header: &h}
	now := time.Now().UTC()
	for i := range 1010 {
		to := r.Steps[i].Status()
		to.Attempt, to.StartedAt = 1, &now
		if i < 1000 {
			to.State, to.EndedAt = deploy.StepDone, &now
		} else {
			to.State = deploy.StepDeploying
		}
		ch.Steps = append(ch.Steps, deploy.StepChange{From: deploy.StepPending, To: to})
	}
	if _, err := s.Apply(ctx, ch, deploy.Audit{Actor: "engine", Command: "deploy.step", Summary: "steps moved on"}); err != nil {
		b.Fatal(err)
	}
	return path
}

// benchConsoleSource is the console's source without a plugin host.
func benchConsoleSource(st *store.Store) *consoleSource {
	return &consoleSource{base: tui.NewStoreSource(st), st: st, now: time.Now}
}

// BenchmarkConsoleSourceTrainFirstLoad: open the database and make the
// first Load. Target (with the frame, see tui's BenchmarkTrainFirstFrame):
// 300 ms.
func BenchmarkConsoleSourceTrainFirstLoad(b *testing.B) {
	path := trainConsoleDB(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		st, err := store.Open(ctx, path)
		if err != nil {
			b.Fatal(err)
		}
		snap, err := benchConsoleSource(st).Load(ctx, 500)
		if err != nil || snap.Run == nil || len(snap.Run.Steps) != 7015 || len(snap.Org.Services) != 2000 {
			b.Fatalf("first load: %v", err)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
}

// BenchmarkConsoleSourceTrainRefresh: another connection finishes a step
// in flight and starts the next; the source's poll (Changed) sees it and
// Load reads it.
func BenchmarkConsoleSourceTrainRefresh(b *testing.B) {
	path := trainConsoleDB(b)
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	w, err := store.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	src := benchConsoleSource(st)
	snap, err := src.Load(ctx, 500)
	if err != nil {
		b.Fatal(err)
	}
	next := 1010
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		r, err := w.LoadRun(ctx, "run-train")
		if err != nil {
			b.Fatal(err)
		}
		now := time.Now().UTC()
		done, start := r.Steps[next-10].Status(), r.Steps[next].Status()
		done.State, done.EndedAt = deploy.StepDone, &now
		start.State, start.StartedAt, start.Attempt = deploy.StepDeploying, &now, 1
		if _, err := w.Apply(ctx, deploy.Change{RunID: r.ID, Steps: []deploy.StepChange{
			{From: deploy.StepDeploying, To: done}, {From: deploy.StepPending, To: start}}},
			deploy.Audit{Actor: "engine", Command: "deploy.step", Summary: "a step moved on"}); err != nil {
			b.Fatal(err)
		}
		next++
		b.StartTimer()
		v, err := src.Changed(ctx)
		if err != nil || v == snap.Version {
			b.Fatalf("the poll did not see the step move: %v", err)
		}
		if snap, err = src.Load(ctx, 500); err != nil {
			b.Fatal(err)
		}
		if got := snap.Run.Steps[next-1].State; got != deploy.StepDeploying {
			b.Fatalf("step %d %s after the reload", next, got)
		}
	}
}
