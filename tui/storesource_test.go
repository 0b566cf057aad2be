package tui

import (
	"context"
	"database/sql"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/plan"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/spec"
	"github.com/warroom/warroom/store"
)

// An empty database loads: no run yet, an intact empty audit chain.
func TestStoreSourceEmpty(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "warroom.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	src := NewStoreSource(st)
	snap, err := src.Load(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if snap.Run != nil || len(snap.Runs) != 0 || len(snap.Audit) != 0 || !snap.AuditVerify.OK {
		t.Fatalf("empty store: %+v", snap)
	}
	if _, err := src.Changed(ctx); err != nil {
		t.Fatal(err)
	}
}

// applySpec applies spec files (a directory stands for its .yaml files)
// the way 'warroom apply' does: one audited write.
func applySpec(tb testing.TB, st *store.Store, paths ...string) {
	tb.Helper()
	set, errs := spec.ParseFiles(paths)
	if len(errs) > 0 {
		tb.Fatal(errs)
	}
	applySet(tb, st, set)
}

func applySet(tb testing.TB, st *store.Store, set *spec.Set) {
	tb.Helper()
	_, err := st.Write(context.Background(), "tester", "apply", func(ctx context.Context, tx *store.Tx) (store.Change, error) {
		res, err := spec.Apply(ctx, tx, set, spec.Options{})
		if err != nil || !res.Changed() {
			return store.Change{}, err
		}
		return store.Change{Summary: res.Summary(), Payload: res.Changes}, nil
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// rawExec runs SQL on the file behind the store's back, as another
// process would.
func rawExec(tb testing.TB, path string, queries ...string) {
	tb.Helper()
	db, err := sql.Open("sqlite3", path)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	for _, q := range queries {
		if _, err := db.Exec(q); err != nil {
			tb.Fatalf("%s: %v", q, err)
		}
	}
}

// metricSample inserts one canary sample, which is not audited: the data
// version moves, the audit head does not.
func metricSample(tb testing.TB, path string) {
	tb.Helper()
	rawExec(tb, path, `INSERT INTO metric_samples (run_id, step_idx, metric, cohort, at_ms, value)
		VALUES ('run-x', 1, 'error_rate', 'canary', 1700000000000, 0.01)`)
}

// manualClock is a clock tests move by hand.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *manualClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func demoStore(t *testing.T) (*store.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "warroom.db")
	st, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	applySpec(t, st, filepath.Join("..", "testdata", "demo"))
	return st, path
}

func mustLoad(t *testing.T, src *StoreSource) Snapshot {
	t.Helper()
	snap, err := src.Load(context.Background(), 500)
	if err != nil {
		t.Fatal(err)
	}
	return snap
}

// A reload caused by an unaudited commit re-reads nothing; a spec apply is
// seen at once.
func TestStoreSourceCachesByAuditHead(t *testing.T) {
	st, path := demoStore(t)
	clock := &manualClock{t: fixedNow}
	src := NewStoreSource(st, WithStoreClock(clock.now))

	first := mustLoad(t, src)
	if src.orgReads != 1 || first.Org == nil || len(first.Org.Services) == 0 || !first.AuditVerify.OK || first.AuditVerify.Events != 1 {
		t.Fatalf("first load: %d org reads, %+v", src.orgReads, first.AuditVerify)
	}

	metricSample(t, path)
	clock.advance(time.Second)
	second := mustLoad(t, src)
	if second.Version == first.Version {
		t.Error("the data version did not move with a metric sample")
	}
	if src.orgReads != 1 || second.Org != first.Org {
		t.Errorf("a metric sample re-read the organisation (%d reads)", src.orgReads)
	}
	if second.AuditVerify != first.AuditVerify || len(second.Audit) != 1 {
		t.Errorf("cached load: %+v, %d events", second.AuditVerify, len(second.Audit))
	}

	// A new team, applied as 'warroom apply' would.
	extra := filepath.Join(t.TempDir(), "night.yaml")
	if err := os.WriteFile(extra, []byte("version: 1\nteams:\n  - name: night-shift\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	applySpec(t, st, filepath.Join("..", "testdata", "demo"), extra)
	clock.advance(time.Second)
	third := mustLoad(t, src)
	if src.orgReads != 2 {
		t.Errorf("an apply did not re-read the organisation (%d reads)", src.orgReads)
	}
	found := false
	for _, tm := range third.Org.Teams {
		found = found || tm.Name == "night-shift"
	}
	if !found {
		t.Error("the applied team is not in the organisation")
	}
	if v := third.AuditVerify; !v.OK || v.Events != 2 || len(third.Audit) != 2 || third.Audit[1].Command != "apply" {
		t.Errorf("after an apply: %+v, %d events", v, len(third.Audit))
	}

	// A run's commands move the head but not the objects: the run is seen,
	// the organisation is not read again.
	ix := model.NewIndex(third.Org)
	p, err := plan.Build(ix, "storefront-2026-12")
	if err != nil {
		t.Fatal(err)
	}
	r, err := deploy.NewRun(ix, p, deploy.NewRunOptions{ID: "run-cache", DefaultTarget: "localfleet", Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateRun(context.Background(), r, deploy.Audit{Actor: "t", Command: "deploy start", Summary: "started run-cache"}); err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Second)
	fourth := mustLoad(t, src)
	if src.orgReads != 2 || fourth.Org != third.Org || fourth.Run == nil || fourth.Run.ID != "run-cache" {
		t.Errorf("after a run started: %d org reads, run %v", src.orgReads, fourth.Run)
	}

	// A smaller audit limit is served without re-reading the organisation.
	snap, err := src.Load(context.Background(), 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Audit) != 1 || snap.Audit[0].Seq != 3 || src.orgReads != 2 {
		t.Errorf("audit limit 1: %d events, %d org reads", len(snap.Audit), src.orgReads)
	}
}

// Tampering with an old event behind the store's back is reported by the
// full walk once 30 seconds have passed, and stays reported.
func TestStoreSourceFullVerification(t *testing.T) {
	st, path := demoStore(t)
	ctx := context.Background()
	clock := &manualClock{t: fixedNow}
	src := NewStoreSource(st, WithStoreClock(clock.now))
	if snap := mustLoad(t, src); !snap.AuditVerify.OK {
		t.Fatalf("first load: %+v", snap.AuditVerify)
	}
	// A second event, verified incrementally, moves the checkpoint past
	// event 1.
	if err := st.CreateRun(ctx, &deploy.Run{ID: "run-1", Release: "storefront-2026-12", State: deploy.RunPending,
		CreatedAt: fixedNow}, deploy.Audit{Actor: "carol", Command: "deploy.start"}); err != nil {
		t.Fatal(err)
	}
	clock.advance(5 * time.Second)
	if snap := mustLoad(t, src); !snap.AuditVerify.OK || snap.AuditVerify.Events != 2 {
		t.Fatalf("after a run: %+v", snap.AuditVerify)
	}

	rawExec(t, path, `DROP TRIGGER audit_events_no_update`,
		`UPDATE audit_events SET summary = 'nothing to see here' WHERE seq = 1`)
	clock.advance(10 * time.Second) // 15 s after the full walk
	if snap := mustLoad(t, src); !snap.AuditVerify.OK {
		t.Errorf("verified in full before 30 s: %+v", snap.AuditVerify)
	}
	clock.advance(15 * time.Second) // 30 s
	want := AuditVerification{Events: 2, FirstBad: 1, Reason: "event 1: content does not match its hash (edited)"}
	if snap := mustLoad(t, src); snap.AuditVerify != want {
		t.Errorf("after 30 s: %+v, want %+v", snap.AuditVerify, want)
	}

	// Appending does not hide it: an incremental check from the old
	// checkpoint would pass.
	if err := st.CreateRun(ctx, &deploy.Run{ID: "run-2", Release: "storefront-2026-12", State: deploy.RunPending,
		CreatedAt: fixedNow.Add(time.Minute)}, deploy.Audit{Actor: "carol", Command: "deploy.start"}); err != nil {
		t.Fatal(err)
	}
	clock.advance(time.Second)
	if snap := mustLoad(t, src); snap.AuditVerify.OK || snap.AuditVerify.FirstBad != 1 {
		t.Errorf("after an append: %+v", snap.AuditVerify)
	}
}

// Runs holds the latest run of each release, newest first; Run is the
// latest of all.
func TestStoreSourceRuns(t *testing.T) {
	st, _ := demoStore(t)
	ctx := context.Background()
	for i, r := range []struct{ id, release string }{
		{"run-a1", "storefront-2026-12"}, {"run-b1", "other"}, {"run-a2", "storefront-2026-12"}, {"run-c1", "third"},
	} {
		run := &deploy.Run{ID: r.id, Release: r.release, State: deploy.RunPending, CreatedAt: fixedNow.Add(time.Duration(i) * time.Minute)}
		if err := st.CreateRun(ctx, run, deploy.Audit{Actor: "carol", Command: "deploy.start"}); err != nil {
			t.Fatal(err)
		}
	}
	snap := mustLoad(t, NewStoreSource(st))
	var ids []string
	for _, r := range snap.Runs {
		ids = append(ids, r.ID)
	}
	if len(ids) != 3 || ids[0] != "run-c1" || ids[1] != "run-a2" || ids[2] != "run-b1" {
		t.Errorf("runs %v, want [run-c1 run-a2 run-b1]", ids)
	}
	if snap.Run == nil || snap.Run.ID != "run-c1" {
		t.Errorf("run %+v, want run-c1", snap.Run)
	}
}

// Releases without a run come with their plan, for Waves to show before
// a run starts; a release that has run gets none.
func TestStoreSourcePlans(t *testing.T) {
	st, _ := demoStore(t)
	ctx := context.Background()
	snap := mustLoad(t, NewStoreSource(st))
	p := snap.Plans["storefront-2026-12"]
	if p == nil || len(p.Steps) == 0 || len(p.Waves) == 0 {
		t.Fatalf("no plan of storefront-2026-12 before a run: %+v", snap.Plans)
	}
	run := &deploy.Run{ID: "run-a1", Release: "storefront-2026-12", State: deploy.RunPending, CreatedAt: fixedNow}
	if err := st.CreateRun(ctx, run, deploy.Audit{Actor: "carol", Command: "deploy.start"}); err != nil {
		t.Fatal(err)
	}
	snap = mustLoad(t, NewStoreSource(st))
	if _, ok := snap.Plans["storefront-2026-12"]; ok {
		t.Errorf("a release with a run is planned again")
	}
}
