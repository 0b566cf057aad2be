package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/warroom/warroom/core/model"
)

// memJournal is a Journal in memory with the store's semantics: a plan
// written once, a versioned header, steps with revisions, changes that
// conflict, leases that expire.
type memJournal struct {
	mu     sync.Mutex
	runs   map[string]*memRun
	order  []string
	audit  []Audit
	leases map[string]lease
	clock  *fakeClock
}

type memRun struct {
	plan   []byte
	header RunHeader
	steps  []StepStatus
}

type lease struct {
	owner string
	until time.Time
}

func newMemJournal(c *fakeClock) *memJournal {
	return &memJournal{runs: map[string]*memRun{}, leases: map[string]lease{}, clock: c}
}

func (j *memJournal) CreateRun(_ context.Context, r *Run, a Audit) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.runs[r.ID]; ok {
		return fmt.Errorf("run %s exists", r.ID)
	}
	r.Version, r.Commits = 1, 1
	b, _ := json.Marshal(r.PlanOnly())
	m := &memRun{plan: b, header: r.Header()}
	for i := range r.Steps {
		r.Steps[i].Rev = 1
		m.steps = append(m.steps, r.Steps[i].Status())
	}
	j.runs[r.ID] = m
	j.order = append(j.order, r.ID)
	j.audit = append(j.audit, a)
	return nil
}

func (j *memJournal) LoadRun(_ context.Context, id string) (*Run, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	m, ok := j.runs[id]
	if !ok {
		return nil, ErrNotFound
	}
	var r Run
	if err := json.Unmarshal(m.plan, &r); err != nil {
		return nil, err
	}
	r.SetHeader(m.header)
	r.Approvals = append([]Approval(nil), m.header.Approvals...)
	for _, st := range m.steps {
		r.Steps[st.Index-1].SetStatus(st)
	}
	return &r, nil
}

func (j *memJournal) RunHeader(_ context.Context, id string) (RunHeader, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	m, ok := j.runs[id]
	if !ok {
		return RunHeader{}, ErrNotFound
	}
	h := m.header
	h.Approvals = append([]Approval(nil), h.Approvals...)
	return h, nil
}

func (j *memJournal) StepStatuses(_ context.Context, id string) ([]StepStatus, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	m, ok := j.runs[id]
	if !ok {
		return nil, ErrNotFound
	}
	return append([]StepStatus(nil), m.steps...), nil
}

func (j *memJournal) LatestRun(ctx context.Context, release string) (*Run, error) {
	j.mu.Lock()
	ids := append([]string(nil), j.order...)
	j.mu.Unlock()
	for i := len(ids) - 1; i >= 0; i-- {
		r, err := j.LoadRun(ctx, ids[i])
		if err == nil && (release == "" || r.Release == release) {
			return r, nil
		}
	}
	return nil, ErrNotFound
}

func (j *memJournal) Apply(ctx context.Context, c Change, a Audit) (RunHeader, error) {
	// A dead process commits nothing.
	if err := ctx.Err(); err != nil {
		return RunHeader{}, err
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	m, ok := j.runs[c.RunID]
	if !ok {
		return RunHeader{}, ErrNotFound
	}
	for _, sc := range c.Steps {
		if m.steps[sc.To.Index-1].Rev != sc.To.Rev {
			return RunHeader{}, ErrConflict
		}
	}
	if c.Header != nil && c.IfState == "" && c.Header.Version != m.header.Version {
		return RunHeader{}, ErrConflict
	}
	for _, sc := range c.Steps {
		st := sc.To
		st.Rev++
		m.steps[st.Index-1] = st
	}
	if c.Header != nil && (c.IfState == "" || c.IfState == m.header.State) {
		h := *c.Header
		h.Approvals = append([]Approval(nil), h.Approvals...)
		h.Version = m.header.Version + 1
		h.Commits = m.header.Commits
		m.header = h
	}
	m.header.Commits++
	j.audit = append(j.audit, a)
	h := m.header
	h.Approvals = append([]Approval(nil), h.Approvals...)
	return h, nil
}

func (j *memJournal) AcquireLease(_ context.Context, id, owner string, until time.Time) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if l, ok := j.leases[id]; ok && l.owner != owner && l.until.After(j.clock.Now()) {
		return &LeaseHeldError{RunID: id, Holder: l.owner, Until: l.until}
	}
	j.leases[id] = lease{owner, until}
	return nil
}

func (j *memJournal) BreakLease(_ context.Context, id, holder, owner string, until time.Time) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if l, ok := j.leases[id]; ok && l.owner != holder {
		return &LeaseHeldError{RunID: id, Holder: l.owner, Until: l.until}
	}
	j.leases[id] = lease{owner, until}
	return nil
}

func (j *memJournal) ReleaseLease(_ context.Context, id, owner string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if l, ok := j.leases[id]; ok && l.owner == owner {
		delete(j.leases, id)
	}
	return nil
}

func (j *memJournal) summaries() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []string
	for _, a := range j.audit {
		out = append(out, a.Command+": "+a.Summary)
	}
	return out
}

// fakeClock advances only when the engine sleeps, so waits cost nothing.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept time.Duration
	// onSleep runs at every sleep: tests act "from another process" here.
	onSleep func()
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 12, 2, 20, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.slept += d
	hook := c.onSleep
	c.mu.Unlock()
	if hook != nil {
		hook()
	}
	return ctx.Err()
}

// fakeTarget is a deploy target that remembers what it applied, counts
// every effective deployment, and fails where told.
type fakeTarget struct {
	mu         sync.Mutex
	applied    map[string]bool
	deploys    map[string]int // idempotency key -> effective deployments
	calledWith map[string]int // idempotency key -> Deploy calls, effective or not
	calls      []string
	running    map[string]string // service/env/region -> version
	traffic    map[string][]Weight
	failCheck  map[string]string // "service@version" -> smoke check failure
	failDeploy map[string]string
	caps       *Capabilities // nil: every strategy, stateful
	// afterApply runs after a deployment took effect, before answering:
	// a test kills the engine here.
	afterApply func(req Request)
	// reports makes Status say what runs where (Known), as a real target
	// does; without it Status lists applied keys only.
	reports bool
	// beforeDeploy, when set, may fail a Deploy call before it applies
	// (apply says whether to apply it first, as a hang after the work).
	beforeDeploy func(req Request) (apply bool, err error)
	// sick says a service is unhealthy (Status.Healthy false).
	sick map[string]bool
	// beforeVerify, when set, may fail a Verify call (a hung plugin).
	beforeVerify func(req Request) error
}

func newFakeTarget() *fakeTarget {
	return &fakeTarget{applied: map[string]bool{}, deploys: map[string]int{}, calledWith: map[string]int{}, running: map[string]string{},
		traffic: map[string][]Weight{}, failCheck: map[string]string{}, failDeploy: map[string]string{}}
}

func where(r Request) string { return r.Service + "/" + r.Environment + "/" + r.Region }

func (t *fakeTarget) record(call string) {
	t.mu.Lock()
	t.calls = append(t.calls, call)
	t.mu.Unlock()
}

func (t *fakeTarget) Describe(context.Context) (Capabilities, error) {
	if t.caps != nil {
		return *t.caps, nil
	}
	return Capabilities{Strategies: []model.Strategy{model.Rolling, model.BlueGreen, model.Canary}, Stateful: true}, nil
}

func (t *fakeTarget) Preflight(_ context.Context, r Request) ([]Check, error) {
	t.record("preflight " + where(r))
	return []Check{{Name: "reachable", Passed: true}}, nil
}

func (t *fakeTarget) Deploy(_ context.Context, r Request, _ func(Event)) (Outcome, error) {
	t.record("deploy " + where(r) + " " + r.Version)
	t.mu.Lock()
	t.calledWith[r.IdempotencyKey]++
	if t.beforeDeploy != nil {
		apply, err := t.beforeDeploy(r)
		if apply {
			t.applied[r.IdempotencyKey] = true
			t.deploys[r.IdempotencyKey]++
			t.running[where(r)] = r.Version
		}
		if err != nil {
			t.mu.Unlock()
			return Outcome{}, err
		}
	}
	if t.applied[r.IdempotencyKey] {
		t.mu.Unlock()
		return Outcome{Replayed: true}, nil
	}
	if msg, ok := t.failDeploy[r.Service+"@"+r.Version]; ok {
		t.mu.Unlock()
		return Outcome{}, fmt.Errorf("%s", msg)
	}
	t.applied[r.IdempotencyKey] = true
	t.deploys[r.IdempotencyKey]++
	t.running[where(r)] = r.Version
	hook := t.afterApply
	t.mu.Unlock()
	if hook != nil {
		hook(r)
	}
	return Outcome{}, nil
}

func (t *fakeTarget) SetTraffic(_ context.Context, r Request, ws []Weight) error {
	t.record(fmt.Sprintf("traffic %s %v", where(r), ws))
	t.mu.Lock()
	defer t.mu.Unlock()
	t.applied[r.IdempotencyKey] = true
	t.traffic[where(r)] = ws
	return nil
}

func (t *fakeTarget) Verify(_ context.Context, r Request) ([]Check, error) {
	t.record("verify " + where(r))
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.beforeVerify != nil {
		if err := t.beforeVerify(r); err != nil {
			return nil, err
		}
	}
	if msg, ok := t.failCheck[r.Service+"@"+r.Version]; ok {
		return []Check{{Name: "http-200", Passed: false, Message: msg}}, nil
	}
	return []Check{{Name: "http-200", Passed: true}}, nil
}

func (t *fakeTarget) Rollback(_ context.Context, r Request, _ func(Event)) (Outcome, error) {
	t.record("rollback " + where(r) + " to " + r.Version)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.applied[r.IdempotencyKey] {
		return Outcome{Replayed: true}, nil
	}
	t.applied[r.IdempotencyKey] = true
	t.running[where(r)] = r.Version
	t.traffic[where(r)] = []Weight{{Version: r.Version, Percent: 100}}
	return Outcome{}, nil
}

func (t *fakeTarget) Status(_ context.Context, r Request) (Status, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	var keys []string
	for k := range t.applied {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	st := Status{AppliedKeys: keys, Healthy: !t.sick[where(r)], Known: t.reports}
	if v, ok := t.running[where(r)]; ok && t.reports {
		st.Versions = []VersionStatus{{Version: v, Instances: 1, Ready: 1, Weight: 100}}
	}
	return st, nil
}

func (t *fakeTarget) Target(context.Context, string) (Target, error) { return t, nil }

func (t *fakeTarget) callsOf(prefix string) []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []string
	for _, c := range t.calls {
		if len(c) >= len(prefix) && c[:len(prefix)] == prefix {
			out = append(out, c)
		}
	}
	return out
}

// harness wires an engine to the fakes.
type harness struct {
	t       *testing.T
	clock   *fakeClock
	journal *memJournal
	target  *fakeTarget
	engine  *Engine
	ops     *Operator
}

func newHarness(t *testing.T) *harness {
	c := newFakeClock()
	j := newMemJournal(c)
	tg := newFakeTarget()
	return &harness{t: t, clock: c, journal: j, target: tg,
		engine: &Engine{Journal: j, Targets: tg, Clock: c, Owner: "test:1", Poll: time.Second},
		ops:    &Operator{Journal: j, Clock: c}}
}

func (h *harness) create(r *Run) {
	h.t.Helper()
	if err := h.journal.CreateRun(context.Background(), r, Audit{Actor: "tester", Command: "deploy start", Summary: "started " + r.ID}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) drive(id string) *Run {
	h.t.Helper()
	r, err := h.engine.Drive(context.Background(), id)
	if err != nil {
		h.t.Fatalf("drive: %v", err)
	}
	return r
}
