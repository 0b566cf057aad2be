package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/store"
)

// simpleTarget applies everything and remembers the keys it applied.
type simpleTarget struct {
	mu      sync.Mutex
	applied map[string]int
}

func (t *simpleTarget) Target(context.Context, string) (deploy.Target, error) { return t, nil }
func (t *simpleTarget) Describe(context.Context) (deploy.Capabilities, error) {
	return deploy.Capabilities{Stateful: true}, nil
}
func (t *simpleTarget) Preflight(context.Context, deploy.Request) ([]deploy.Check, error) {
	return []deploy.Check{{Name: "ok", Passed: true}}, nil
}
func (t *simpleTarget) apply(key string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.applied[key]++
}
func (t *simpleTarget) Deploy(_ context.Context, r deploy.Request, _ func(deploy.Event)) (deploy.Outcome, error) {
	t.apply(r.IdempotencyKey)
	return deploy.Outcome{}, nil
}
func (t *simpleTarget) SetTraffic(_ context.Context, r deploy.Request, _ []deploy.Weight) error {
	t.apply(r.IdempotencyKey)
	return nil
}
func (t *simpleTarget) Verify(context.Context, deploy.Request) ([]deploy.Check, error) {
	return []deploy.Check{{Name: "smoke", Passed: true}}, nil
}
func (t *simpleTarget) Rollback(_ context.Context, r deploy.Request, _ func(deploy.Event)) (deploy.Outcome, error) {
	t.apply(r.IdempotencyKey)
	return deploy.Outcome{}, nil
}
func (t *simpleTarget) Status(context.Context, deploy.Request) (deploy.Status, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var keys []string
	for k := range t.applied {
		keys = append(keys, k)
	}
	return deploy.Status{AppliedKeys: keys}, nil
}

type instantClock struct{ now time.Time }

func (c *instantClock) Now() time.Time { return c.now }
func (c *instantClock) Sleep(ctx context.Context, d time.Duration) error {
	c.now = c.now.Add(d)
	return ctx.Err()
}

func testRun(id string) *deploy.Run {
	r := &deploy.Run{ID: id, Release: "r1", State: deploy.RunPending, StartedBy: "alice",
		Environments: []string{"dev"}, Stages: []deploy.Stage{{Env: "dev"}}, Options: deploy.Options{AutoRollback: true},
		CreatedAt: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	for i, svc := range []string{"ledger", "payments", "web"} {
		r.Steps = append(r.Steps, deploy.Step{Index: i + 1, Wave: i + 1, Kind: deploy.KindService, Service: svc, Env: "dev",
			FromVersion: "1.0.0", Version: "1.1.0", Strategy: model.Canary, CanarySteps: []int{50, 100}, Target: "t", State: deploy.StepPending})
	}
	return r
}

func TestStoreIsTheEnginesJournal(t *testing.T) {
	ctx := context.Background()
	s := openStore(t, dbPath(t))
	if err := s.CreateRun(ctx, testRun("run-1"), deploy.Audit{Actor: "alice", Command: "deploy start", Summary: "started run-1"}); err != nil {
		t.Fatal(err)
	}
	tg := &simpleTarget{applied: map[string]int{}}
	e := &deploy.Engine{Journal: s, Targets: tg, Clock: &instantClock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}, Owner: "p1", Poll: time.Second}
	r, err := e.Drive(ctx, "run-1")
	if err != nil || r.State != deploy.RunSucceeded {
		t.Fatalf("drive: %v, state %v", err, r)
	}
	back, err := s.LoadRun(ctx, "run-1")
	if err != nil || back.State != deploy.RunSucceeded || back.Version != r.Version {
		t.Fatalf("reload: %v %+v", err, back)
	}
	for key, n := range tg.applied {
		if n != 1 {
			t.Errorf("%s applied %d times", key, n)
		}
	}
	// Every transition went into the audit chain, which verifies.
	evs, _ := s.AuditEvents(ctx, storeFilter())
	if len(evs) < 10 {
		t.Errorf("%d audit events for a 3-step run", len(evs))
	}
	if rep, err := s.VerifyAudit(ctx); err != nil || !rep.OK {
		t.Errorf("audit chain: %+v %v", rep, err)
	}
	// A header change made against an old version is refused, and so is
	// a step's change made against an old revision; neither writes.
	h := back.Header()
	h.Version--
	h.State = deploy.RunPaused
	if _, err := s.Apply(ctx, deploy.Change{RunID: "run-1", Header: &h}, deploy.Audit{Actor: "bob", Command: "deploy pause", Summary: "x"}); !errors.Is(err, deploy.ErrConflict) {
		t.Errorf("stale header change: %v", err)
	}
	st := back.Steps[1].Status()
	st.Rev--
	st.Progress = "stale"
	if _, err := s.Apply(ctx, deploy.Change{RunID: "run-1", Steps: []deploy.StepChange{{From: st.State, To: st}}}, deploy.Audit{Actor: "bob", Command: "deploy skip", Summary: "x"}); !errors.Is(err, deploy.ErrConflict) {
		t.Errorf("stale step change: %v", err)
	}
	// The current revision of one step goes in place, with its
	// transition, without touching the header or the other steps.
	st.Rev++
	st.Progress = "checked"
	got, err := s.Apply(ctx, deploy.Change{RunID: "run-1", Steps: []deploy.StepChange{{From: st.State, To: st}}}, deploy.Audit{Actor: "bob", Command: "deploy note", Summary: "x"})
	if err != nil || got.Version != back.Version || got.State != deploy.RunSucceeded {
		t.Errorf("step change: %+v %v", got, err)
	}
	again, _ := s.LoadRun(ctx, "run-1")
	if again.Steps[1].Progress != "checked" || again.Steps[1].Rev != st.Rev+1 || again.Steps[0].Rev != back.Steps[0].Rev {
		t.Errorf("after a step change: %+v", again.Steps[:2])
	}
	if rep, err := s.VerifyAudit(ctx); err != nil || !rep.OK || rep.Events != int64(len(evs))+1 {
		t.Errorf("audit chain after: %+v %v", rep, err)
	}
	latest, err := s.LatestRun(ctx, "")
	if err != nil || latest.ID != "run-1" {
		t.Errorf("latest: %v %v", latest, err)
	}
	if _, err := s.LoadRun(ctx, "nope"); !errors.Is(err, deploy.ErrNotFound) {
		t.Errorf("missing run: %v", err)
	}
}

func TestLeases(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	clock := now
	s := openStore(t, dbPath(t), storeClock(&clock))
	if err := s.CreateRun(ctx, testRun("run-1"), deploy.Audit{Actor: "alice", Command: "deploy start", Summary: "started"}); err != nil {
		t.Fatal(err)
	}
	if err := s.AcquireLease(ctx, "run-1", "p1", now.Add(15*time.Second)); err != nil {
		t.Fatal(err)
	}
	err := s.AcquireLease(ctx, "run-1", "p2", now.Add(15*time.Second))
	if !errors.Is(err, deploy.ErrLeaseHeld) || !strings.Contains(err.Error(), "driven by p1") {
		t.Fatalf("second owner: %v", err)
	}
	if err := s.AcquireLease(ctx, "run-1", "p1", now.Add(30*time.Second)); err != nil {
		t.Errorf("renewal: %v", err)
	}
	clock = now.Add(31 * time.Second) // p1 died and its lease ran out
	if err := s.AcquireLease(ctx, "run-1", "p2", clock.Add(15*time.Second)); err != nil {
		t.Errorf("take-over after expiry: %v", err)
	}
	if err := s.ReleaseLease(ctx, "run-1", "p2"); err != nil {
		t.Error(err)
	}
	if err := s.AcquireLease(ctx, "run-1", "p3", clock.Add(15*time.Second)); err != nil {
		t.Errorf("after release: %v", err)
	}
	if err := s.AcquireLease(ctx, "nope", "p3", clock); !errors.Is(err, deploy.ErrNotFound) {
		t.Errorf("missing run: %v", err)
	}
}

func storeFilter() store.AuditFilter { return store.AuditFilter{} }

// storeClock reads the time from *t, so a test moves it.
func storeClock(t *time.Time) store.Option {
	return store.WithClock(func() time.Time { return *t })
}

// A database from before migration 0006 kept each run as one document;
// opening it moves the runs to plan + rows: the run reads back as it was,
// bake deadlines and approvals included, and goes on from there.
func TestRunDocumentsMoveToRowsOnOpen(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	db := rawDB(t, path)
	// Every migration before the one that moves runs to rows.
	files, err := filepath.Glob(filepath.Join("migrations", "*.sql"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".sql")
		if strings.HasSuffix(name, "_run_step_rows") {
			break
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(string(b)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT`); err != nil {
			t.Fatal(err)
		}
		v, _ := strconv.Atoi(name[:4])
		if _, err := db.Exec(`INSERT INTO schema_migrations VALUES (?, ?, '2026-12-01T00:00:00.000000000Z')`, v, name[5:]); err != nil {
			t.Fatal(err)
		}
	}
	// A run of the old shape: step 1 done, step 2 baking until 10:30.
	bake := time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC)
	r := testRun("run-old")
	r.State, r.Version = deploy.RunRunning, 7
	r.Approvals = []deploy.Approval{{Environment: "dev", By: "ana", At: bake}}
	r.Steps[0].State, r.Steps[0].Attempt = deploy.StepDone, 1
	r.Steps[1].State, r.Steps[1].Attempt, r.Steps[1].Weight, r.Steps[1].BakeUntil = deploy.StepBaking, 1, 50, &bake
	doc, _ := json.Marshal(r)
	if _, err := db.Exec(`INSERT INTO deploy_runs (id, release, state, started_by, created_at, updated_at, version, doc)
		VALUES ('run-old', 'r1', 'running', 'alice', '2026-12-01T10:00:00.000000000Z', '2026-12-01T10:00:00.000000000Z', 7, ?)`, string(doc)); err != nil {
		t.Fatal(err)
	}
	for _, s := range r.Steps {
		if _, err := db.Exec(`INSERT INTO run_steps (run_id, idx, wave, service, env, strategy, state, attempt, weight, updated_at)
			VALUES ('run-old', ?, ?, ?, 'dev', 'canary', ?, ?, ?, '2026-12-01T10:00:00.000000000Z')`,
			s.Index, s.Wave, s.Service, string(s.State), s.Attempt, s.Weight); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s := openStore(t, path)
	back, err := s.LoadRun(ctx, "run-old")
	if err != nil {
		t.Fatal(err)
	}
	if back.State != deploy.RunRunning || back.Version != 7 || len(back.Approvals) != 1 || back.Approvals[0].By != "ana" {
		t.Errorf("header %s v%d %+v", back.State, back.Version, back.Approvals)
	}
	st := back.Steps[1]
	if st.State != deploy.StepBaking || st.Weight != 50 || st.BakeUntil == nil || !st.BakeUntil.Equal(bake) || st.Rev != 1 {
		t.Errorf("step 2 %+v", st)
	}
	if back.Steps[0].State != deploy.StepDone || back.Steps[2].State != deploy.StepPending || back.Steps[2].Service != "web" {
		t.Errorf("steps %+v", back.Steps)
	}
	// It goes on from where it was.
	e := &deploy.Engine{Journal: s, Targets: &simpleTarget{applied: map[string]int{}}, Clock: &instantClock{now: bake}, Owner: "p1", Poll: time.Second}
	if out, err := e.Drive(ctx, "run-old"); err != nil || out.State != deploy.RunSucceeded {
		t.Fatalf("drive: %v %v", err, out)
	}
}

// A reader keeps the steps it assembled and reads again only the rows
// changed since; what another process changes still shows.
func TestReadingARunAgainSeesOtherProcessesChanges(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	reader, writer := openStore(t, path), openStore(t, path)
	if err := writer.CreateRun(ctx, testRun("run-1"), deploy.Audit{Actor: "alice", Command: "deploy start", Summary: "started"}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		r, err := reader.LoadRun(ctx, "run-1")
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && (r.Steps[i].Progress != fmt.Sprint("step ", i) || r.Steps[i].Rev != 2 || r.Commits != int64(i+1)) {
			t.Fatalf("read %d: step %d %+v, commits %d", i, i+1, r.Steps[i].Status(), r.Commits)
		}
		if r.Steps[0].Progress != "" || r.Steps[0].Rev != 1 {
			t.Errorf("read %d: step 1 changed: %+v", i, r.Steps[0].Status())
		}
		r.Steps[0].Progress = "scribbled on a copy" // a caller's copy, not the cache
		if i == 2 {
			break
		}
		st := r.Steps[i+1].Status()
		st.Progress = fmt.Sprint("step ", i+1)
		if _, err := writer.Apply(ctx, deploy.Change{RunID: "run-1", Steps: []deploy.StepChange{{From: st.State, To: st}}},
			deploy.Audit{Actor: "engine", Command: "deploy engine", Summary: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if r, _ := reader.LoadRun(ctx, "run-1"); r.Steps[2].Progress != "step 2" {
		t.Errorf("step 3 progress %q", r.Steps[2].Progress)
	}
}
