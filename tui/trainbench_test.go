package tui

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/plan"
	"github.com/warroom/warroom/core/spec"
	"github.com/warroom/warroom/core/synth"
	"github.com/warroom/warroom/store"
)

// The console's benchmarks of issue 12: the organisation that `warroom gen
// --services 2000 --scope 50` writes, applied to a real SQLite file, with
// its 1,000-service release's run through all five environments (7,015
// steps) in progress: a seventh of it done, a wave's worth in flight.
//
// Targets: the first data frame (not the loading frame) within 300 ms of
// opening the database; one refresh while the run advances (another
// writer moved a step; the console polls, reloads, hands the data to the
// screen on show and draws it) within 10 ms of the console's CPU.

const (
	trainServices = 2000
	trainScope    = 50
	trainRunID    = "run-train"
	// trainDone steps are done; the trainFlight after them are in flight.
	trainDone   = 1000
	trainFlight = 10
)

var (
	trainOnce sync.Once
	trainPath string
	trainErr  error
	trainDir  string
)

// trainStore is the database of the train benchmarks, built once per test
// binary (TestMain removes it).
func trainStore(b *testing.B) string {
	b.Helper()
	trainOnce.Do(func() { trainPath, trainErr = buildTrainStore(b) })
	if trainErr != nil {
		b.Fatal(trainErr)
	}
	return trainPath
}

func buildTrainStore(b *testing.B) (string, error) {
	ctx := context.Background()
	// WARROOM_TRAIN_DB keeps the database at that path (it must not exist
	// yet), to measure the real console on it: 'warroom --db PATH console'.
	path := os.Getenv("WARROOM_TRAIN_DB")
	if path == "" {
		dir, err := os.MkdirTemp("", "warroom-trainbench-")
		if err != nil {
			return "", err
		}
		trainDir = dir
		path = filepath.Join(dir, "warroom.db")
	} else if _, err := os.Stat(path); err == nil {
		return "", fmt.Errorf("WARROOM_TRAIN_DB: %s exists already", path)
	}
	st, err := store.Open(ctx, path)
	if err != nil {
		return "", err
	}
	defer st.Close()
	files := synth.Generate(synth.Options{Services: trainServices, ScopePercent: trainScope, Seed: 1})
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	set := &spec.Set{}
	for _, n := range names {
		srcs, errs := spec.Parse(n, files[n])
		if len(errs) > 0 {
			return "", fmt.Errorf("synthetic %s: %v", n, errs)
		}
		set.Files = append(set.Files, n)
		set.Sources = append(set.Sources, srcs...)
	}
	applySet(b, st, set)
	org, err := st.Org(ctx)
	if err != nil {
		return "", err
	}
	ix := model.NewIndex(org)
	p, err := plan.Build(ix, synth.ReleaseName)
	if err != nil {
		return "", fmt.Errorf("plan: %w", err)
	}
	run, err := deploy.NewRun(ix, p, deploy.NewRunOptions{ID: trainRunID, StartedBy: "bench", DefaultTarget: "exec",
		Now: time.Now().UTC(), Options: deploy.Options{AutoRollback: true, NoBake: true}})
	if err != nil {
		return "", fmt.Errorf("new run: %w", err)
	}
	if err := st.CreateRun(ctx, run, deploy.Audit{Actor: "bench", Command: "deploy start", Summary: "train bench"}); err != nil {
		return "", err
	}
	// Through the journal, as the engine does: the run running, the first
	// steps done, the next ones in flight, in steps of a few hundred.
	h := run.Header()
	h.State = deploy.RunRunning
	ch := deploy.Change{RunID: trainRunID, Header: &h}
	t0 := time.Now().UTC()
	for i := 0; i < trainDone+trainFlight; i++ {
		s := &run.Steps[i]
		to := s.Status()
		to.Attempt, to.StartedAt = 1, &t0
		if i < trainDone {
			to.State, to.EndedAt = deploy.StepDone, &t0
		} else {
			to.State, to.Progress = deploy.StepDeploying, "rolling out"
		}
		ch.Steps = append(ch.Steps, deploy.StepChange{From: s.State, To: to})
		if len(ch.Steps) == 250 || i == trainDone+trainFlight-1 {
			if _, err := st.Apply(ctx, ch, deploy.Audit{Actor: "engine", Command: "deploy.step", Summary: "steps moved on"}); err != nil {
				return "", fmt.Errorf("advance: %w", err)
			}
			ch = deploy.Change{RunID: trainRunID}
		}
	}
	return path, nil
}

// cpuTime is the process's CPU time so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkTrainFirstFrame times the console's start on the train: open
// the database, make the Source and the console, load, and draw the first
// frame with data, on the Overview (where the console starts) and on Waves.
func BenchmarkTrainFirstFrame(b *testing.B) {
	path := trainStore(b)
	ctx := context.Background()
	for _, screen := range []string{"Overview", "Waves"} {
		b.Run(screen, func(b *testing.B) {
			var cpu time.Duration
			b.ReportAllocs()
			for b.Loop() {
				c0 := cpuTime(b)
				st, err := store.Open(ctx, path)
				if err != nil {
					b.Fatal(err)
				}
				m := New(Deps{Source: NewStoreSource(st), Renderer: asciiRenderer(), Actor: "carol"})
				m.tick = func() tea.Cmd { return nil }
				m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
				drain(b, m, m.Init())
				if screen == "Waves" {
					m.Update(keyMsg("5"))
				}
				if m.snap == nil || m.snap.Run == nil || len(m.snap.Run.Steps) != 7015 {
					b.Fatalf("no first data frame: %v", m.err)
				}
				if v := m.View(); v == "" {
					b.Fatal("empty frame")
				}
				cpu += cpuTime(b) - c0
				b.StopTimer()
				if err := st.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// BenchmarkTrainRefresh times one refresh while the run advances: another
// connection (as the engine's process) finishes a step in flight and
// starts the next pending one, in one audited commit; then the console
// polls, reloads, hands the snapshot to the screen on show and draws it.
// Reported: wall time per refresh and the console's CPU per refresh.
func BenchmarkTrainRefresh(b *testing.B) {
	path := trainStore(b)
	ctx := context.Background()
	for _, screen := range []string{"Overview", "Waves"} {
		b.Run(screen, func(b *testing.B) {
			st, err := store.Open(ctx, path)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			writer, err := store.Open(ctx, path)
			if err != nil {
				b.Fatal(err)
			}
			defer writer.Close()
			m := New(Deps{Source: NewStoreSource(st), Renderer: asciiRenderer(), Actor: "carol"})
			m.tick = func() tea.Cmd { return nil }
			m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
			drain(b, m, m.Init())
			if screen == "Waves" {
				m.Update(keyMsg("5"))
			}
			if m.snap == nil || m.snap.Run == nil {
				b.Fatalf("not loaded: %v", m.err)
			}
			var cpu time.Duration
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				advanceTrain(b, writer)
				b.StartTimer()
				c0 := cpuTime(b)
				v0 := m.snap.Version
				drain(b, m, func() tea.Msg { return tickMsg{} })
				if m.snap.Version == v0 {
					b.Fatal("the console did not reload")
				}
				if m.View() == "" {
					b.Fatal("empty frame")
				}
				cpu += cpuTime(b) - c0
			}
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// advanceTrain finishes the first step in flight and starts the first
// pending one, through the journal in one commit, so the run keeps a
// wave's worth in flight however many refreshes the benchmark takes (and
// wraps around, starting the done steps again, at the run's end).
func advanceTrain(b *testing.B, w *store.Store) {
	ctx := context.Background()
	r, err := w.LoadRun(ctx, trainRunID)
	if err != nil {
		b.Fatal(err)
	}
	first, next := -1, -1
	for i := range r.Steps {
		s := &r.Steps[i]
		if first < 0 && s.State == deploy.StepDeploying {
			first = i
		}
		if first >= 0 && s.State != deploy.StepDeploying {
			next = i
			break
		}
	}
	if first < 0 {
		b.Fatal("nothing in flight")
	}
	if next < 0 {
		next = 0
	}
	now := time.Now().UTC()
	done, start := r.Steps[first].Status(), r.Steps[next].Status()
	done.State, done.EndedAt = deploy.StepDone, &now
	start.State, start.StartedAt, start.Attempt, start.Progress = deploy.StepDeploying, &now, start.Attempt+1, "rolling out"
	ch := deploy.Change{RunID: trainRunID, Steps: []deploy.StepChange{
		{From: deploy.StepDeploying, To: done}, {From: r.Steps[next].State, To: start}}}
	if _, err := w.Apply(ctx, ch, deploy.Audit{Actor: "engine", Command: "deploy.step", Summary: "a step moved on"}); err != nil {
		b.Fatal(err)
	}
}

// TestMain removes the train benchmarks' database, built once per binary.
func TestMain(m *testing.M) {
	code := m.Run()
	if trainDir != "" {
		os.RemoveAll(trainDir)
	}
	os.Exit(code)
}
