package tui

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/plan"
	"github.com/warroom/warroom/store"
)

// fullVerifyEvery is how often, at most, Load walks the whole audit chain;
// in between it verifies only the events appended since the last check.
const fullVerifyEvery = 30 * time.Second

// runsLimit is how many of the newest runs Load reads to find the latest
// run of each release.
const runsLimit = 200

// StoreSource is the Source over warroom's SQLite store.
//
// The console reloads whenever the database's data version moves, that
// is on any commit by any process, metric samples included. Everything
// StoreSource shows except the data version changes only through the
// store's audited write path, so it keeps what it read keyed by the audit
// head and reads it again only when the head moved.
type StoreSource struct {
	st  *store.Store
	now func() time.Time

	mu sync.Mutex
	c  *storeCache // nil before the first Load
	// orgReads counts reads of the organisation, for tests.
	orgReads int
}

// storeCache is what the last Load read, valid while the audit head is
// (headSeq, headHash).
type storeCache struct {
	headSeq  int64
	headHash string
	org      *model.Org
	objects  int64 // the store's objects version org was read at
	runs     []*deploy.Run
	// plans are the plans of releases without a run, built when the
	// organisation is read (a plan depends on nothing else).
	plans      map[string]*plan.Plan
	auditLimit int
	audit      []model.AuditEvent
	verify     AuditVerification
	checkpoint store.AuditCheckpoint // the last event verified
	lastFull   time.Time             // when the whole chain was last walked
}

var _ Source = (*StoreSource)(nil)

// StoreSourceOption changes how a StoreSource works.
type StoreSourceOption func(*StoreSource)

// WithStoreClock sets the clock that times full verifications of the
// audit chain (default time.Now).
func WithStoreClock(now func() time.Time) StoreSourceOption {
	return func(s *StoreSource) { s.now = now }
}

// NewStoreSource returns a Source reading st. The console never writes
// through it.
func NewStoreSource(st *store.Store, opts ...StoreSourceOption) *StoreSource {
	s := &StoreSource{st: st, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Changed returns the store's data version, which moves whenever any
// connection (another process included) commits.
func (s *StoreSource) Changed(ctx context.Context) (int64, error) {
	v, err := s.st.DataVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("console: data version: %w", err)
	}
	return v, nil
}

// Load reads the organisation, the latest run of each release (Run is the
// latest of all), the newest auditLimit audit events and the audit
// chain's verification.
//
// It reads them again only when the audit head moved since the last Load
// (or auditLimit changed); otherwise it returns what it read then. The
// chain is verified in full on the first Load and then at most every 30
// seconds; in between, a moved head is verified from the last verified
// event on (store.VerifyAuditFrom), which does not notice edits of older
// events until the next full walk. A broken chain stays reported until a
// full walk finds it intact.
func (s *StoreSource) Load(ctx context.Context, auditLimit int) (Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()

	var snap Snapshot
	v, err := s.Changed(ctx)
	if err != nil {
		return snap, err
	}
	snap.Version = v
	headSeq, headHash, err := s.st.AuditHead(ctx)
	if err != nil {
		return snap, fmt.Errorf("console: audit head: %w", err)
	}
	old := s.c
	moved := old == nil || headSeq != old.headSeq || headHash != old.headHash
	c := &storeCache{headSeq: headSeq, headHash: headHash}
	if old != nil {
		*c = *old
		c.headSeq, c.headHash = headSeq, headHash
	}
	if moved {
		// The head and the objects version are read first: a command
		// committing after them is read again on the next Load. The
		// organisation is read again only when an object changed — not on
		// a run's transitions, which are most of the commands.
		objects, err := s.st.ObjectsVersion(ctx)
		if err != nil {
			return snap, fmt.Errorf("console: %w", err)
		}
		if old == nil || c.org == nil || objects != c.objects {
			s.orgReads++
			if c.org, err = s.st.Org(ctx); err != nil {
				return snap, fmt.Errorf("console: load organisation: %w", err)
			}
			c.objects = objects
			c.plans = nil
		}
		if c.runs, err = s.latestRuns(ctx); err != nil {
			return snap, err
		}
		if c.plans == nil {
			c.plans = plansWithoutRuns(c.org, c.runs)
		}
	}
	if moved || auditLimit != c.auditLimit {
		// AuditEvents is ascending by seq; start just before the newest
		// auditLimit events rather than reading the whole log.
		f := store.AuditFilter{AfterSeq: max(0, headSeq-int64(auditLimit))}
		if c.audit, err = s.st.AuditEvents(ctx, f); err != nil {
			return snap, fmt.Errorf("console: load audit events: %w", err)
		}
		c.auditLimit = auditLimit
	}
	if err := s.verify(ctx, c, old, moved); err != nil {
		return snap, err
	}
	s.c = c

	snap.Org = c.org
	snap.Runs = c.runs
	snap.Plans = c.plans
	if len(c.runs) > 0 {
		snap.Run = c.runs[0]
	}
	snap.Audit = c.audit
	snap.AuditVerify = c.verify
	// Samples are telemetry, written without audit events: read them on
	// every load (a cheap indexed range of the newest few hundred).
	if st := liveCanaryStep(snap.Run); st != nil {
		samples, err := s.st.CanarySamples(ctx, snap.Run.ID, st.Index, time.Time{}, 240)
		if err != nil {
			return snap, fmt.Errorf("console: load canary samples: %w", err)
		}
		for _, sm := range samples {
			snap.Samples = append(snap.Samples, CanarySample{At: sm.At, Cohort: sm.Cohort, RPS: sm.RPS, ErrorRate: sm.ErrorRate, P99Ms: sm.P99Ms})
		}
	}
	return snap, nil
}

// verify brings c's verification up to date: the whole chain on the first
// Load and once fullVerifyEvery has passed, the events after the last
// checkpoint when the head moved.
func (s *StoreSource) verify(ctx context.Context, c, old *storeCache, moved bool) error {
	now := s.now()
	from, full := c.checkpoint, false
	switch {
	case old == nil || now.Sub(old.lastFull) >= fullVerifyEvery:
		from, full = store.AuditCheckpoint{}, true
	case !c.verify.OK:
		return nil // broken stays broken until a full walk
	case !moved:
		return nil
	}
	rep, cp, err := s.st.VerifyAuditFrom(ctx, from)
	if err != nil {
		return fmt.Errorf("console: verify audit: %w", err)
	}
	c.verify = AuditVerification{OK: rep.OK, Events: rep.Events, FirstBad: rep.FirstBad, Reason: rep.Reason}
	c.checkpoint = cp
	if full {
		c.lastFull = now
	}
	return nil
}

// latestRuns returns the latest run of each release among the newest
// runsLimit runs, newest first.
func (s *StoreSource) latestRuns(ctx context.Context) ([]*deploy.Run, error) {
	all, err := s.st.Runs(ctx, "", runsLimit)
	if err != nil {
		return nil, fmt.Errorf("console: load runs: %w", err)
	}
	seen := make(map[string]bool)
	var out []*deploy.Run
	for _, r := range all {
		if !seen[r.Release] {
			seen[r.Release] = true
			out = append(out, r)
		}
	}
	return out, nil
}

// plansWithoutRuns plans every release that has no run yet, for Waves to
// show before one starts. A release that cannot be planned (a spec error)
// gets none; Waves then says there is no run yet, and 'warroom plan' says
// why.
func plansWithoutRuns(org *model.Org, runs []*deploy.Run) map[string]*plan.Plan {
	out := map[string]*plan.Plan{}
	if org == nil {
		return out
	}
	ran := make(map[string]bool, len(runs))
	for _, r := range runs {
		ran[r.Release] = true
	}
	var ix *model.Index
	for _, rel := range org.Releases {
		if ran[rel.Name] {
			continue
		}
		if ix == nil {
			ix = model.NewIndex(org)
		}
		if p, err := plan.Build(ix, rel.Name); err == nil {
			out[rel.Name] = p
		}
	}
	return out
}
