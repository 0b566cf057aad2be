package main

import (
	"bufio"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/plan"
	"github.com/warroom/warroom/core/synth"
	"github.com/warroom/warroom/store"
)

// The engine benchmark of `make bench`: the generated 2,000-service
// organisation (as `warroom gen --services 2000 --scope 50` writes it),
// its 1,000-service release driven by the real engine over a real SQLite
// file, against a no-op deploy target, so that what is measured is the
// engine's own cost per step. It reports steps/s, the cost of one step
// and the peak RSS of the drive, for the dev environment alone (~1k
// steps) and for all five environments (~7k steps).
//
// Goals (issue 12): >= 200 steps/s overall with parallel 10; the cost of
// a step at ~7k steps within 1.5x of that at ~1k; peak RSS <= 200 MB.

// benchOrg is the generated organisation applied to a fresh database,
// shared by the engine benchmarks of one test binary.
type benchOrg struct {
	dir     string
	release string
}

var (
	engineOrgOnce sync.Once
	engineOrg     benchOrg
	engineOrgErr  error
)

func engineBenchOrg(b *testing.B) benchOrg {
	b.Helper()
	engineOrgOnce.Do(func() {
		dir, err := os.MkdirTemp("", "warroom-enginebench-")
		if err != nil {
			engineOrgErr = err
			return
		}
		engineOrg.dir = dir
		if engineOrgErr = synth.Write(filepath.Join(dir, "org"), synth.Options{Services: 2000, ScopePercent: 50, Seed: 1}); engineOrgErr != nil {
			return
		}
		ctx := context.Background()
		s, err := store.Open(ctx, filepath.Join(dir, "seed.db"))
		if err != nil {
			engineOrgErr = err
			return
		}
		defer s.Close()
		if _, err := applyFiles(ctx, s, []string{filepath.Join(dir, "org")}); err != nil {
			engineOrgErr = err
			return
		}
		org, err := s.Org(ctx)
		if err != nil || len(org.Releases) == 0 {
			engineOrgErr = errors.Join(err, errors.New("no release in the generated organisation"))
			return
		}
		engineOrg.release = org.Releases[0].Name
	})
	if engineOrgErr != nil {
		b.Fatal(engineOrgErr)
	}
	return engineOrg
}

// benchTarget is a deploy target that does nothing, at once, and answers
// Status for the step asked about only (as a real target does: a status
// of one service in one place), so that it costs the same at every step.
type benchTarget struct {
	mu      sync.Mutex
	applied map[string]bool
	deploys int
	// envs: per environment, when its first and last step was verified
	// and how many were, to show the cost of a step along the run.
	envs  map[string]*envSpan
	order []string
}

type envSpan struct {
	first, last time.Time
	steps       int
}

func (t *benchTarget) Target(context.Context, string) (deploy.Target, error) { return t, nil }
func (t *benchTarget) Describe(context.Context) (deploy.Capabilities, error) {
	return deploy.Capabilities{Stateful: true, BlueGreenStateful: true}, nil
}
func (t *benchTarget) Preflight(context.Context, deploy.Request) ([]deploy.Check, error) {
	return []deploy.Check{{Name: "reachable", Passed: true}}, nil
}
func (t *benchTarget) apply(key string) {
	t.mu.Lock()
	t.applied[key] = true
	t.mu.Unlock()
}
func (t *benchTarget) Deploy(_ context.Context, r deploy.Request, _ func(deploy.Event)) (deploy.Outcome, error) {
	t.mu.Lock()
	t.applied[r.IdempotencyKey] = true
	t.deploys++
	t.mu.Unlock()
	return deploy.Outcome{}, nil
}
func (t *benchTarget) SetTraffic(_ context.Context, r deploy.Request, _ []deploy.Weight) error {
	t.apply(r.IdempotencyKey)
	return nil
}
func (t *benchTarget) Verify(_ context.Context, r deploy.Request) ([]deploy.Check, error) {
	now := time.Now()
	t.mu.Lock()
	sp := t.envs[r.Environment]
	if sp == nil {
		sp = &envSpan{first: now}
		t.envs[r.Environment] = sp
		t.order = append(t.order, r.Environment)
	}
	sp.last = now
	sp.steps++
	t.mu.Unlock()
	return []deploy.Check{{Name: "smoke", Passed: true}}, nil
}
func (t *benchTarget) Rollback(_ context.Context, r deploy.Request, _ func(deploy.Event)) (deploy.Outcome, error) {
	t.apply(r.IdempotencyKey)
	return deploy.Outcome{}, nil
}
func (t *benchTarget) Status(_ context.Context, r deploy.Request) (deploy.Status, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := deploy.Status{Healthy: true, Versions: []deploy.VersionStatus{{Version: r.Version, Instances: 1, Ready: 1, Weight: 100}}}
	if t.applied[r.IdempotencyKey] {
		st.AppliedKeys = []string{r.IdempotencyKey}
	}
	return st, nil
}

// newBenchRun copies the generated organisation's database to a new file
// named name and makes a run of its release through envs (all when
// empty), not yet stored; the caller closes the store.
func newBenchRun(b *testing.B, name, id string, envs []string) (*store.Store, *deploy.Run) {
	b.Helper()
	ctx := context.Background()
	o := engineBenchOrg(b)
	dbPath := filepath.Join(b.TempDir(), name)
	if err := copyFile(filepath.Join(o.dir, "seed.db"), dbPath); err != nil {
		b.Fatal(err)
	}
	s, err := store.Open(ctx, dbPath)
	if err != nil {
		b.Fatal(err)
	}
	org, err := s.Org(ctx)
	if err != nil {
		s.Close()
		b.Fatal(err)
	}
	ix := model.NewIndex(org)
	p, err := plan.Build(ix, o.release)
	if err != nil {
		s.Close()
		b.Fatal(err)
	}
	r, err := deploy.NewRun(ix, p, deploy.NewRunOptions{ID: id, Environments: envs, StartedBy: "bench",
		DefaultTarget: "bench", Now: time.Now().UTC(), Options: benchOptions()})
	if err != nil {
		s.Close()
		b.Fatal(err)
	}
	return s, r
}

// benchDrive makes a run of the release through envs and drives it to the
// end; it returns the steps and how long the drive took, and the peak RSS
// of the drive.
func benchDrive(b *testing.B, envs []string) (steps int, took time.Duration, peakRSS int64) {
	b.Helper()
	ctx := context.Background()
	s, r := newBenchRun(b, "bench.db", "run-bench", envs)
	defer s.Close()
	// Approvals are people's time, not the engine's: the benchmark's run
	// enters production without waiting for one.
	for i := range r.Stages {
		r.Stages[i].Approval = false
	}
	if err := s.CreateRun(ctx, r, deploy.Audit{Actor: "bench", Command: "deploy start", Summary: "bench run"}); err != nil {
		b.Fatal(err)
	}
	steps = len(r.Steps)
	r = nil // the organisation and plan went with newBenchRun: the RSS is the drive's
	target := &benchTarget{applied: map[string]bool{}, envs: map[string]*envSpan{}}
	e := &deploy.Engine{Journal: s, Targets: target, Clock: realClock{}, Owner: "bench:1:x", Poll: 50 * time.Millisecond}
	resetPeakRSS()
	start := time.Now()
	out, err := e.Drive(ctx, "run-bench")
	took = time.Since(start)
	peakRSS = readPeakRSS()
	if err != nil {
		b.Fatal(err)
	}
	if out.State != deploy.RunSucceeded {
		b.Fatalf("run %s: %s", out.State, out.Reason)
	}
	if target.deploys < steps {
		b.Fatalf("%d deployments for %d steps", target.deploys, steps)
	}
	done := 0
	for _, env := range target.order {
		sp := target.envs[env]
		done += sp.steps
		b.Logf("%-8s steps %5d to %5d: %4d steps in %6.2fs, %4.0f µs/step", env, done-sp.steps+1, done, sp.steps,
			sp.last.Sub(sp.first).Seconds(), float64(sp.last.Sub(sp.first).Microseconds())/float64(max(sp.steps-1, 1)))
	}
	return steps, took, peakRSS
}

func benchEngine(b *testing.B, envs []string) {
	var steps int
	var took time.Duration
	var rss int64
	for i := 0; i < b.N; i++ {
		n, d, m := benchDrive(b, envs)
		steps += n
		took += d
		rss = max(rss, m)
	}
	b.ReportMetric(float64(steps)/took.Seconds(), "steps/s")
	b.ReportMetric(float64(took.Microseconds())/float64(steps), "µs/step")
	b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MB")
	b.ReportMetric(float64(steps)/float64(b.N), "steps")
}

// BenchmarkEngineDev drives the release through dev alone: 1,003 steps.
func BenchmarkEngineDev(b *testing.B) { benchEngine(b, []string{"dev"}) }

// BenchmarkEngineAllEnvironments drives it through all five: 7,015 steps.
func BenchmarkEngineAllEnvironments(b *testing.B) { benchEngine(b, nil) }

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o600)
}

// resetPeakRSS resets the kernel's high-water mark of this process's
// resident set, so that readPeakRSS measures the drive alone.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// readPeakRSS is VmHWM of /proc/self/status, in bytes.
func readPeakRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// benchOptions: no waiting for people or the clock (no bake, as
// --bake-scale 0; production regions at once), automatic rollback as by default,
// each environment's parallel (the generated organisation sets none: 10).
func benchOptions() deploy.Options {
	return deploy.Options{AutoRollback: true, IgnoreLowTraffic: true, NoBake: true}
}
