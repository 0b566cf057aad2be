package tui

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sort"
	"sync"
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

// The large organisation of the benchmarks: what 'warroom gen --services
// 5000' writes, and an audit log of 100,000 events.
const (
	benchServices    = 5000
	benchAuditEvents = 100_000
)

// synthSet parses the spec files of the synthetic organisation.
func synthSet(tb testing.TB, services int) *spec.Set {
	tb.Helper()
	files := synth.Generate(synth.Options{Services: services, Seed: 1})
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	set := &spec.Set{}
	for _, n := range names {
		srcs, errs := spec.Parse(n, files[n])
		if len(errs) > 0 {
			tb.Fatalf("synthetic %s: %v", n, errs)
		}
		set.Files = append(set.Files, n)
		set.Sources = append(set.Sources, srcs...)
	}
	return set
}

var (
	bigSnapOnce sync.Once
	bigSnap     Snapshot
	bigSnapErr  error
)

// bigSnapshot is the console's picture of the large organisation: the
// synthetic org, a run of its release part-way through, the newest 500
// audit events of 100,000 and canary samples.
func bigSnapshot(tb testing.TB) Snapshot {
	tb.Helper()
	bigSnapOnce.Do(func() { bigSnap, bigSnapErr = buildBigSnapshot(tb) })
	if bigSnapErr != nil {
		tb.Fatal(bigSnapErr)
	}
	return bigSnap
}

func buildBigSnapshot(tb testing.TB) (Snapshot, error) {
	org, errs := spec.Validate(synthSet(tb, benchServices), nil)
	if len(errs) > 0 {
		return Snapshot{}, fmt.Errorf("synthetic org: %v", errs)
	}
	ix := model.NewIndex(org)
	p, err := plan.Build(ix, synth.ReleaseName)
	if err != nil {
		return Snapshot{}, fmt.Errorf("plan: %w", err)
	}
	t0 := fixedNow.Add(-2 * time.Hour)
	run, err := deploy.NewRun(ix, p, deploy.NewRunOptions{ID: "run-big", StartedBy: "carol", Now: t0})
	if err != nil {
		// A blocked plan: a hand-made run of the same shape.
		run = handMadeRun(org, t0)
	}
	// A third of the way through: done, one baking canary, one failure.
	run.State = deploy.RunRunning
	third := len(run.Steps) / 3
	for i := range run.Steps {
		s := &run.Steps[i]
		switch {
		case i < third:
			s.State = deploy.StepDone
		case i == third:
			s.State, s.Weight, s.Progress = deploy.StepBaking, 25, "25% on canary"
			s.Evidence = promoteJudgement(t0)
		case i == third+1:
			s.State, s.Error = deploy.StepFailed, "health check failed"
			s.Evidence, s.Error = rollbackJudgement(t0)
		case i < third+10:
			s.State = deploy.StepDeploying
		}
	}
	snap := Snapshot{Version: 1, Org: org, Run: run, Runs: []*deploy.Run{run}, Focus: run.Release,
		AuditVerify: AuditVerification{OK: true, Events: benchAuditEvents}}
	cmds := []string{"apply", "deploy.step", "deploy.start", "gate.record", "deploy.pause"}
	for i := benchAuditEvents - 499; i <= benchAuditEvents; i++ {
		snap.Audit = append(snap.Audit, model.AuditEvent{Seq: int64(i), At: t0.Add(time.Duration(i) * time.Second / 20),
			Actor: []string{"carol", "engine", "dave"}[i%3], Command: cmds[i%len(cmds)],
			Summary: fmt.Sprintf("event %d: step %d of run run-big moved on", i, i%len(run.Steps))})
	}
	for i := range 600 {
		for _, cohort := range []string{"baseline", "canary"} {
			snap.Samples = append(snap.Samples, CanarySample{At: t0.Add(time.Duration(i) * 5 * time.Second), Cohort: cohort,
				RPS: 400 + float64(i%17), ErrorRate: 0.002 + float64(i%7)/10000, P99Ms: 180 + float64(i%11)})
		}
	}
	return snap, nil
}

// handMadeRun is a run of ~300 steps over the release's scope, for when
// the synthetic release cannot be planned.
func handMadeRun(org *model.Org, t0 time.Time) *deploy.Run {
	run := &deploy.Run{ID: "run-big", Release: synth.ReleaseName, State: deploy.RunRunning, StartedBy: "carol", CreatedAt: t0}
	envs := []string{"dev", "staging", "prod"}
	for i := 0; len(run.Steps) < 300 && i < len(org.Services); i++ {
		run.Steps = append(run.Steps, deploy.Step{Index: len(run.Steps) + 1, Wave: 1 + i/30, Kind: deploy.KindService,
			Service: org.Services[i].Name, Env: envs[i%3], Version: "2.0.0", State: deploy.StepPending})
	}
	return run
}

// BenchmarkView renders every screen of the large organisation at two
// terminal sizes.
func BenchmarkView(b *testing.B) {
	snap := bigSnapshot(b)
	for i, title := range screenTitles {
		for _, size := range [][2]int{{120, 40}, {240, 70}} {
			b.Run(fmt.Sprintf("%s/%dx%d", title, size[0], size[1]), func(b *testing.B) {
				m := newTestModel(&fakeSource{version: 1, snap: snap})
				m.tick = func() tea.Cmd { return nil }
				m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
				drain(b, m, m.Init())
				if m.snap == nil {
					b.Fatalf("not loaded: %v", m.err)
				}
				drain(b, m, func() tea.Msg { return keyMsg(fmt.Sprint(i + 1)) })
				if m.Active() != title {
					b.Fatalf("on %s, want %s", m.Active(), title)
				}
				if m.View() == "" {
					b.Fatal("empty view")
				}
				b.ReportAllocs()
				for b.Loop() {
					_ = m.View()
				}
			})
		}
	}
}

// buildBigStore writes benchAuditEvents-1 chained events in one
// transaction (the store's Write appends one event per transaction,
// which would take minutes), then applies the synthetic organisation
// through the store's write path, which chains the last event to them.
func buildBigStore(b *testing.B) (string, error) {
	ctx := context.Background()
	path := filepath.Join(b.TempDir(), "warroom.db")
	st, err := store.Open(ctx, path) // creates the schema
	if err != nil {
		return "", err
	}
	if err := st.Close(); err != nil {
		return "", err
	}
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		return "", err
	}
	defer db.Close()
	tx, err := db.Begin()
	if err != nil {
		return "", err
	}
	ins, err := tx.Prepare(`INSERT INTO audit_events (seq, at, actor, command, summary, payload, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return "", err
	}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := store.GenesisHash
	for seq := int64(1); seq < benchAuditEvents; seq++ {
		e := model.AuditEvent{Seq: seq, At: t0.Add(time.Duration(seq) * time.Second), Actor: "engine",
			Command: "deploy.step", Summary: fmt.Sprintf("step %d moved on", seq%300),
			Payload: []byte(fmt.Sprintf(`{"step":%d}`, seq%300)), PrevHash: prev}
		e.Hash = store.EventHash(e)
		if _, err := ins.Exec(e.Seq, e.At.Format(time.RFC3339Nano), e.Actor, e.Command, e.Summary, string(e.Payload), e.PrevHash, e.Hash); err != nil {
			return "", err
		}
		prev = e.Hash
	}
	if _, err := tx.Exec(`UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1`, benchAuditEvents-1, prev); err != nil {
		return "", err
	}
	if err := tx.Commit(); err != nil {
		return "", err
	}
	st, err = store.Open(ctx, path)
	if err != nil {
		return "", err
	}
	defer st.Close()
	applySet(b, st, synthSet(b, benchServices))
	rep, err := st.VerifyAudit(ctx)
	if err != nil {
		return "", err
	}
	if !rep.OK || rep.Events != benchAuditEvents {
		return "", fmt.Errorf("big store: %+v", rep)
	}
	return path, nil
}

// BenchmarkStoreSourceLoad times StoreSource.Load on the large store:
// the first load (organisation, runs, audit events, full chain walk), a
// reload after an unaudited metric sample, a reload after one audited
// command (organisation re-read, incremental verification) and a reload
// with nothing new but a full walk due.
func BenchmarkStoreSourceLoad(b *testing.B) {
	path, err := buildBigStore(b)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	st, err := store.Open(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	raw, err := sql.Open("sqlite3", path)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()

	b.Run("first", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := NewStoreSource(st).Load(ctx, 500); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("metric-sample", func(b *testing.B) {
		src := NewStoreSource(st)
		if _, err := src.Load(ctx, 500); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			if _, err := raw.Exec(`INSERT INTO metric_samples (run_id, step_idx, metric, cohort, at_ms, value)
				VALUES ('run-x', 1, 'error_rate', 'canary', 1700000000000, 0.01)`); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			snap, err := src.Load(ctx, 500)
			if err != nil || !snap.AuditVerify.OK {
				b.Fatal(err, snap.AuditVerify)
			}
		}
		if src.orgReads != 1 {
			b.Fatalf("%d organisation reads", src.orgReads)
		}
	})
	b.Run("audited-command", func(b *testing.B) {
		src := NewStoreSource(st)
		if _, err := src.Load(ctx, 500); err != nil {
			b.Fatal(err)
		}
		n := 0
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			n++
			run := &deploy.Run{ID: fmt.Sprintf("bench-%d-%d", b.N, n), Release: synth.ReleaseName, State: deploy.RunPending, CreatedAt: fixedNow}
			if err := st.CreateRun(ctx, run, deploy.Audit{Actor: "bench", Command: "deploy.start"}); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			snap, err := src.Load(ctx, 500)
			if err != nil || !snap.AuditVerify.OK {
				b.Fatal(err, snap.AuditVerify)
			}
		}
	})
	b.Run("full-verify-due", func(b *testing.B) {
		clock := &manualClock{t: fixedNow}
		src := NewStoreSource(st, WithStoreClock(clock.now))
		if _, err := src.Load(ctx, 500); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			clock.advance(fullVerifyEvery)
			if _, err := src.Load(ctx, 500); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkFirstFrame times the console's start on the demo organisation:
// from New to the first frame, once Init's load has run and the terminal
// size arrived.
func BenchmarkFirstFrame(b *testing.B) {
	st, err := store.Open(context.Background(), filepath.Join(b.TempDir(), "warroom.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	applySpec(b, st, filepath.Join("..", "testdata", "demo"))
	b.ReportAllocs()
	for b.Loop() {
		m := New(Deps{Source: NewStoreSource(st), Renderer: asciiRenderer(), Actor: "carol"})
		m.tick = func() tea.Cmd { return nil }
		drain(b, m, m.Init())
		m.Update(tea.WindowSizeMsg{Width: 120, Height: 40})
		if m.snap == nil || m.View() == "" {
			b.Fatalf("no first frame: %v", m.err)
		}
	}
}

// BenchmarkSnapshotUpdate times what a reload costs the UI goroutine on
// the large organisation: Update with a new snapshot, which hands it to
// every screen's SetData (where the screens do their heavy formatting).
func BenchmarkSnapshotUpdate(b *testing.B) {
	snap := bigSnapshot(b)
	for _, size := range [][2]int{{120, 40}, {240, 70}} {
		b.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(b *testing.B) {
			m := newTestModel(&fakeSource{version: 1, snap: snap})
			m.tick = func() tea.Cmd { return nil }
			m.Update(tea.WindowSizeMsg{Width: size[0], Height: size[1]})
			drain(b, m, m.Init())
			b.ReportAllocs()
			for b.Loop() {
				m.Update(snapshotMsg{gen: m.gen, snap: snap})
				if m.snap == nil {
					b.Fatal(m.err)
				}
			}
		})
	}
}
