package store_test

import (
	"context"
	"errors"
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
