package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/warroom/warroom/core/deploy"
)

// The store is the deploy engine's journal.
var _ deploy.Journal = (*Store)(nil)

// planCache keeps, for the runs last read, the decoded plan and the
// steps as last assembled: a plan is written once and never changes, so
// reading a run again (the console's refresh, an operator's command)
// decodes no plan and reads only the step rows changed since.
type planCache struct {
	mu    sync.Mutex
	runs  map[string]*cachedRun
	steps int // the steps of the runs kept
}

type cachedRun struct {
	mu      sync.Mutex
	plan    *deploy.Run   // immutable
	steps   []deploy.Step // the plan's steps with their statuses as of commits
	commits int64         // 0: no status read yet
}

// The cache keeps up to planCacheRuns runs and planCacheSteps steps
// (about 40 MB): the console reads the 200 newest runs, a train's run
// has 7,000 steps.
const (
	planCacheRuns  = 256
	planCacheSteps = 60000
)

// entry returns the run's cache entry, reading and decoding its plan the
// first time.
func (c *planCache) entry(ctx context.Context, s *Store, id string) (*cachedRun, error) {
	c.mu.Lock()
	e := c.runs[id]
	c.mu.Unlock()
	if e != nil {
		return e, nil
	}
	var doc string
	if err := s.r.QueryRowContext(ctx, `SELECT plan FROM run_plans WHERE run_id = ?`, id).Scan(&doc); err != nil {
		return nil, fmt.Errorf("store: run %s: plan: %w", id, err)
	}
	plan := &deploy.Run{}
	if err := json.Unmarshal([]byte(doc), plan); err != nil {
		return nil, fmt.Errorf("store: run %s: unreadable plan: %w", id, err)
	}
	e = &cachedRun{plan: plan, steps: slices.Clone(plan.Steps)}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cur := c.runs[id]; cur != nil {
		return cur, nil
	}
	if c.runs == nil || len(c.runs) >= planCacheRuns || c.steps+len(e.steps) > planCacheSteps {
		c.runs, c.steps = map[string]*cachedRun{}, 0
	}
	c.runs[id] = e
	c.steps += len(e.steps)
	return e, nil
}

// CreateRun persists a new run, audited: its plan once, its header, and a
// row per step.
func (s *Store) CreateRun(ctx context.Context, r *deploy.Run, a deploy.Audit) error {
	_, err := s.Write(ctx, a.Actor, a.Command, func(ctx context.Context, tx *Tx) (Change, error) {
		r.Version, r.Commits = 1, 1
		plan, err := json.Marshal(r.PlanOnly())
		if err != nil {
			return Change{}, err
		}
		sum := sha256.Sum256(plan)
		digest := "sha256:" + hex.EncodeToString(sum[:])
		envs, _ := json.Marshal(r.Environments)
		approvals, _ := json.Marshal(nonNil(r.Approvals))
		_, err = tx.tx.ExecContext(ctx, `INSERT INTO deploy_runs
			(id, release, environments, state, emergency, started_by, created_at, updated_at, version, reason, plan_digest, approvals)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`,
			r.ID, r.Release, string(envs), string(r.State), boolInt(r.Emergency), r.StartedBy,
			formatTime(r.CreatedAt), formatTime(tx.now), r.Reason, digest, string(approvals))
		if err != nil {
			return Change{}, fmt.Errorf("store: create run %s: %w", r.ID, err)
		}
		if _, err := tx.tx.ExecContext(ctx, `INSERT INTO run_plans (run_id, plan, digest) VALUES (?, ?, ?)`, r.ID, string(plan), digest); err != nil {
			return Change{}, fmt.Errorf("store: create run %s: plan: %w", r.ID, err)
		}
		stmt, err := tx.tx.PrepareContext(ctx, insertStep)
		if err != nil {
			return Change{}, fmt.Errorf("store: create run %s: %w", r.ID, err)
		}
		defer stmt.Close()
		for i := range r.Steps {
			r.Steps[i].Rev = 1
			if err := insertStepRow(ctx, stmt, tx.now, r.ID, &r.Steps[i]); err != nil {
				return Change{}, err
			}
		}
		return Change{Summary: nonEmpty(a.Summary, a.Command), Payload: a.Payload}, nil
	})
	return err
}

func nonNil(a []deploy.Approval) []deploy.Approval {
	if a == nil {
		return []deploy.Approval{}
	}
	return a
}

// LoadRun returns a run as last committed.
func (s *Store) LoadRun(ctx context.Context, id string) (*deploy.Run, error) {
	return s.loadRun(ctx, s.r.QueryRowContext(ctx, `SELECT `+headerColumns+` FROM deploy_runs WHERE id = ?`, id), id)
}

// LatestRun returns the most recently created run (of a release, when
// release is not empty).
func (s *Store) LatestRun(ctx context.Context, release string) (*deploy.Run, error) {
	row := s.r.QueryRowContext(ctx, `SELECT `+headerColumns+` FROM deploy_runs
		WHERE ? = '' OR release = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`, release, release)
	return s.loadRun(ctx, row, "latest")
}

// Runs lists runs, newest first (of a release, when release is not empty).
func (s *Store) Runs(ctx context.Context, release string, limit int) ([]*deploy.Run, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+headerColumns+` FROM deploy_runs
		WHERE ? = '' OR release = ? ORDER BY created_at DESC, rowid DESC LIMIT ?`, release, release, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list runs: %w", err)
	}
	var heads []runHead
	for rows.Next() {
		h, err := scanHead(rows, "")
		if err != nil {
			rows.Close()
			return nil, err
		}
		heads = append(heads, h)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list runs: %w", err)
	}
	out := make([]*deploy.Run, 0, len(heads))
	for _, h := range heads {
		r, err := s.assemble(ctx, h)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

const headerColumns = `id, state, reason, version, commits, updated_at, approvals, wait`

// runHead is a run's header as read, with its id.
type runHead struct {
	id string
	h  deploy.RunHeader
}

type scanner interface{ Scan(...any) error }

func scanHead(row scanner, id string) (runHead, error) {
	var (
		out       runHead
		state     string
		updated   string
		approvals string
		wait      sql.NullString
	)
	if err := row.Scan(&out.id, &state, &out.h.Reason, &out.h.Version, &out.h.Commits, &updated, &approvals, &wait); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return out, fmt.Errorf("%w: %s", deploy.ErrNotFound, id)
		}
		return out, fmt.Errorf("store: load run %s: %w", id, err)
	}
	out.h.State = deploy.RunState(state)
	out.h.UpdatedAt, _ = parseTime(updated)
	if err := json.Unmarshal([]byte(approvals), &out.h.Approvals); err != nil {
		return out, fmt.Errorf("store: run %s: unreadable approvals: %w", out.id, err)
	}
	if wait.Valid {
		out.h.Wait = new(deploy.Wait)
		if err := json.Unmarshal([]byte(wait.String), out.h.Wait); err != nil {
			return out, fmt.Errorf("store: run %s: unreadable wait: %w", out.id, err)
		}
	}
	return out, nil
}

func (s *Store) loadRun(ctx context.Context, row scanner, id string) (*deploy.Run, error) {
	h, err := scanHead(row, id)
	if err != nil {
		return nil, err
	}
	return s.assemble(ctx, h)
}

// assemble makes a run of its plan (decoded once per process), its header
// and its steps' rows. The steps as last assembled are kept with the
// run's commit count: reading the run again reads only the rows changed
// since (each row carries the commit that last changed it), so a refresh
// costs what changed, not the size of the run.
func (s *Store) assemble(ctx context.Context, h runHead) (*deploy.Run, error) {
	c, err := s.plans.entry(ctx, s, h.id)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.commits != h.h.Commits {
		rows, err := s.r.QueryContext(ctx, `SELECT `+statusColumns+` FROM run_steps WHERE run_id = ? AND seq > ? ORDER BY idx`, h.id, c.commits)
		if err != nil {
			return nil, fmt.Errorf("store: steps of run %s: %w", h.id, err)
		}
		sts, err := scanStatuses(rows, h.id)
		if err != nil {
			return nil, err
		}
		for _, st := range sts {
			if st.Index >= 1 && st.Index <= len(c.steps) {
				c.steps[st.Index-1].SetStatus(st)
			}
		}
		// A commit may land between the header's read and the rows':
		// keep the older count so the next read asks for it again.
		c.commits = h.h.Commits
	}
	r := *c.plan
	r.Steps = slices.Clone(c.steps)
	r.SetHeader(h.h)
	return &r, nil
}

// RunHeader returns a run's header: one row, whatever the size of the run.
func (s *Store) RunHeader(ctx context.Context, id string) (deploy.RunHeader, error) {
	h, err := scanHead(s.r.QueryRowContext(ctx, `SELECT `+headerColumns+` FROM deploy_runs WHERE id = ?`, id), id)
	return h.h, err
}

const statusColumns = `idx, state, progress, weight, attempt, started_at, finished_at, bake_until, error, evidence, rev`

// StepStatuses returns the statuses of a run's steps, in order.
func (s *Store) StepStatuses(ctx context.Context, id string) ([]deploy.StepStatus, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+statusColumns+` FROM run_steps WHERE run_id = ? ORDER BY idx`, id)
	if err != nil {
		return nil, fmt.Errorf("store: steps of run %s: %w", id, err)
	}
	return scanStatuses(rows, id)
}

func scanStatuses(rows *sql.Rows, id string) ([]deploy.StepStatus, error) {
	defer rows.Close()
	var out []deploy.StepStatus
	for rows.Next() {
		var (
			st                        deploy.StepStatus
			state                     string
			started, ended, bake, msg sql.NullString
			evidence                  sql.NullString
		)
		if err := rows.Scan(&st.Index, &state, &st.Progress, &st.Weight, &st.Attempt, &started, &ended, &bake,
			&msg, &evidence, &st.Rev); err != nil {
			return nil, fmt.Errorf("store: steps of run %s: %w", id, err)
		}
		st.State = deploy.StepState(state)
		st.StartedAt, st.EndedAt, st.BakeUntil = timePtr(started), timePtr(ended), timePtr(bake)
		st.Error = msg.String
		if evidence.Valid {
			st.Evidence = json.RawMessage(evidence.String)
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

func timePtr(s sql.NullString) *time.Time {
	if !s.Valid || s.String == "" {
		return nil
	}
	t, err := parseTime(s.String)
	if err != nil {
		return nil
	}
	return &t
}

// Apply commits a change of a run (some steps' statuses, perhaps its
// header) with its audit event and the steps' transitions, in one
// transaction. Each step is updated in place if its revision is the one
// the change was made against; the header if its version is (or, for a
// change conditional on the run's state, if the run is in that state).
//
// Changes that arrive together (the steps of a wave running side by side)
// share one SQLite transaction, and so one sync to disk: a group commit.
// Each keeps its own savepoint and audit event, so one that fails changes
// nothing and does not affect the others; each returns only once the
// transaction holding it is durable.
func (s *Store) Apply(ctx context.Context, c deploy.Change, a deploy.Audit) (deploy.RunHeader, error) {
	if a.Actor == "" || a.Command == "" {
		return deploy.RunHeader{}, fmt.Errorf("store: apply: actor and command are required (got actor %q, command %q)", a.Actor, a.Command)
	}
	req := &applyReq{ctx: ctx, c: c, a: a}
	g := &s.group
	g.mu.Lock()
	if g.cond == nil {
		g.cond = sync.NewCond(&g.mu)
	}
	g.pending = append(g.pending, req)
	for !req.finished {
		if g.busy {
			g.cond.Wait()
			continue
		}
		// Lead: commit everything queued, this change included.
		g.busy = true
		batch := g.pending
		g.pending = nil
		g.mu.Unlock()
		s.applyBatch(batch)
		g.mu.Lock()
		g.busy = false
		g.cond.Broadcast()
	}
	g.mu.Unlock()
	return req.h, req.err
}

// applyGroup queues the changes waiting for the transaction in progress.
type applyGroup struct {
	mu      sync.Mutex
	cond    *sync.Cond
	busy    bool
	pending []*applyReq
}

type applyReq struct {
	ctx      context.Context
	c        deploy.Change
	a        deploy.Audit
	h        deploy.RunHeader
	err      error
	finished bool // guarded by applyGroup.mu
}

// applyBatch commits a batch of changes in one transaction, each in a
// savepoint of its own.
func (s *Store) applyBatch(batch []*applyReq) {
	finish := func(err error) {
		s.group.mu.Lock()
		for _, r := range batch {
			if err != nil && r.err == nil {
				r.err = err
			}
			r.finished = true
		}
		s.group.mu.Unlock()
	}
	ctx := context.Background()
	sqlTx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		finish(fmt.Errorf("store: apply: begin: %w", s.busy(err)))
		return
	}
	defer sqlTx.Rollback()
	tx := &Tx{s: s, tx: sqlTx, now: s.now()}
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = err // a caller that gave up commits nothing
			continue
		}
		if _, err := sqlTx.ExecContext(ctx, `SAVEPOINT apply`); err != nil {
			r.err = fmt.Errorf("store: apply: %w", s.busy(err))
			continue
		}
		// The statements run without the caller's context: interrupting
		// one would roll back the whole shared transaction.
		h, err := tx.applyChange(ctx, r.c, r.a.Actor)
		if err == nil {
			_, err = tx.appendEvent(ctx, r.a.Actor, r.a.Command, Change{Summary: nonEmpty(r.a.Summary, r.a.Command), Payload: r.a.Payload})
			if err != nil {
				err = fmt.Errorf("store: %s: audit: %w", r.a.Command, err)
			}
		}
		if err != nil {
			if _, rerr := sqlTx.ExecContext(ctx, `ROLLBACK TO apply`); rerr != nil {
				finish(fmt.Errorf("store: apply: %w", rerr))
				return
			}
			r.err = s.busy(err)
		}
		if _, err := sqlTx.ExecContext(ctx, `RELEASE apply`); err != nil {
			finish(fmt.Errorf("store: apply: %w", err))
			return
		}
		r.h = h
	}
	if err := sqlTx.Commit(); err != nil {
		finish(fmt.Errorf("store: apply: commit: %w", s.busy(err)))
		return
	}
	finish(nil)
}

// applyChange writes one change inside a transaction and returns the
// run's header after it.
func (tx *Tx) applyChange(ctx context.Context, c deploy.Change, actor string) (deploy.RunHeader, error) {
	var commits int64
	if err := tx.tx.QueryRowContext(ctx, `SELECT commits FROM deploy_runs WHERE id = ?`, c.RunID).Scan(&commits); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return deploy.RunHeader{}, fmt.Errorf("%w: %s", deploy.ErrNotFound, c.RunID)
		}
		return deploy.RunHeader{}, fmt.Errorf("store: commit run %s: %w", c.RunID, err)
	}
	for _, sc := range c.Steps {
		st := sc.To
		key := ""
		if st.Attempt > 0 {
			key = fmt.Sprintf("%s/%d/%d", c.RunID, st.Index, st.Attempt)
		}
		res, err := tx.tx.ExecContext(ctx, `UPDATE run_steps SET state = ?, progress = ?, weight = ?, attempt = ?,
			idempotency_key = ?, started_at = ?, finished_at = ?, bake_until = ?, error = ?, evidence = ?,
			updated_at = ?, rev = rev + 1, seq = ? WHERE run_id = ? AND idx = ? AND rev = ?`,
			string(st.State), st.Progress, st.Weight, st.Attempt, nullString(key), nullTime(st.StartedAt), nullTime(st.EndedAt),
			nullTime(st.BakeUntil), nullString(st.Error), nullJSON(st.Evidence), formatTime(tx.now), commits+1, c.RunID, st.Index, st.Rev)
		if err != nil {
			return deploy.RunHeader{}, fmt.Errorf("store: step %d of run %s: %w", st.Index, c.RunID, err)
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return deploy.RunHeader{}, tx.missingOr(ctx, c.RunID, deploy.ErrConflict)
		}
		if sc.From != st.State {
			if _, err := tx.tx.ExecContext(ctx, `INSERT INTO step_transitions
				(run_id, step_idx, from_state, to_state, attempt, actor, reason, evidence, at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				c.RunID, st.Index, string(sc.From), string(st.State), st.Attempt, actor,
				nonEmpty(st.Error, st.Progress), nullJSON(st.Evidence), formatTime(tx.now)); err != nil {
				return deploy.RunHeader{}, fmt.Errorf("store: step transition: %w", err)
			}
		}
	}
	if h := c.Header; h != nil {
		if err := tx.checkEntryApprovals(ctx, c.RunID, h.Approvals); err != nil {
			return deploy.RunHeader{}, err
		}
		approvals, _ := json.Marshal(nonNil(h.Approvals))
		var finished any
		if h.State.Terminal() {
			finished = formatTime(tx.now)
		}
		var wait any // NULL: the run waits on nothing outside itself
		if h.Wait != nil {
			b, err := json.Marshal(h.Wait)
			if err != nil {
				return deploy.RunHeader{}, fmt.Errorf("store: commit run %s: wait: %w", c.RunID, err)
			}
			wait = string(b)
		}
		q := `UPDATE deploy_runs SET state = ?, reason = ?, approvals = ?, wait = ?, version = version + 1, commits = commits + 1,
			updated_at = ?, finished_at = ? WHERE id = ? AND `
		args := []any{string(h.State), h.Reason, string(approvals), wait, formatTime(tx.now), finished, c.RunID}
		if c.IfState != "" {
			q += `state = ?`
			args = append(args, string(c.IfState))
		} else {
			q += `version = ?`
			args = append(args, h.Version)
		}
		res, err := tx.tx.ExecContext(ctx, q, args...)
		if err != nil {
			return deploy.RunHeader{}, fmt.Errorf("store: commit run %s: %w", c.RunID, err)
		}
		n, _ := res.RowsAffected()
		if n != 1 && c.IfState == "" {
			return deploy.RunHeader{}, tx.missingOr(ctx, c.RunID, deploy.ErrConflict)
		}
		if n == 1 {
			return tx.runHeader(ctx, c.RunID)
		}
	}
	// Only steps changed (or a conditional header change was dropped).
	if _, err := tx.tx.ExecContext(ctx, `UPDATE deploy_runs SET updated_at = ?, commits = commits + 1 WHERE id = ?`, formatTime(tx.now), c.RunID); err != nil {
		return deploy.RunHeader{}, fmt.Errorf("store: commit run %s: %w", c.RunID, err)
	}
	return tx.runHeader(ctx, c.RunID)
}

// missingOr is ErrNotFound if the run does not exist, otherwise err.
func (tx *Tx) missingOr(ctx context.Context, runID string, err error) error {
	if _, herr := tx.runHeader(ctx, runID); herr != nil {
		return herr
	}
	return err
}

func (tx *Tx) runHeader(ctx context.Context, id string) (deploy.RunHeader, error) {
	h, err := scanHead(tx.tx.QueryRowContext(ctx, `SELECT `+headerColumns+` FROM deploy_runs WHERE id = ?`, id), id)
	return h.h, err
}

const insertStep = `INSERT INTO run_steps
	(run_id, idx, wave, service, version, artifact_digest, env, region, strategy, phase, state, attempt,
	 idempotency_key, not_before, started_at, finished_at, bake_until, updated_at, error, evidence, kind, target, progress, weight, rev)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// insertStepRow writes a new step's row.
func insertStepRow(ctx context.Context, stmt *sql.Stmt, now time.Time, runID string, st *deploy.Step) error {
	key := st.Key(runID)
	if st.Attempt == 0 {
		key = ""
	}
	_, err := stmt.ExecContext(ctx, runID, st.Index, st.Wave, st.Service, st.Version, nullString(st.Artifact.Digest), st.Env, st.Region,
		string(st.Strategy), string(st.Phase), string(st.State), st.Attempt, nullString(key),
		nullTime(st.NotBefore), nullTime(st.StartedAt), nullTime(st.EndedAt), nullTime(st.BakeUntil), formatTime(now),
		nullString(st.Error), nullJSON(st.Evidence), string(st.Kind), st.Target, st.Progress, st.Weight, st.Rev)
	if err != nil {
		return fmt.Errorf("store: step %d of run %s: %w", st.Index, runID, err)
	}
	return nil
}

// AcquireLease takes or renews a run's lease for owner until the given
// time, unless another owner's lease is still live. Leases are
// bookkeeping, not state changes: they are not audited.
func (s *Store) AcquireLease(ctx context.Context, runID, owner string, until time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE deploy_runs SET lease_owner = ?, lease_expires_at = ?
		WHERE id = ? AND (lease_owner IS NULL OR lease_owner = ? OR lease_expires_at <= ?)`,
		owner, formatTime(until), runID, owner, formatTime(s.now()))
	if err != nil {
		return fmt.Errorf("store: lease of run %s: %w", runID, s.busy(err))
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	var holder, expires sql.NullString
	err = s.r.QueryRowContext(ctx, `SELECT lease_owner, lease_expires_at FROM deploy_runs WHERE id = ?`, runID).Scan(&holder, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %s", deploy.ErrNotFound, runID)
	}
	if err != nil {
		return fmt.Errorf("store: lease of run %s: %w", runID, err)
	}
	heldUntil, _ := parseTime(expires.String)
	return &deploy.LeaseHeldError{RunID: runID, Holder: holder.String, Until: heldUntil}
}

// BreakLease takes a run's lease from a holder known to be dead, if it
// still holds it.
func (s *Store) BreakLease(ctx context.Context, runID, holder, owner string, until time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE deploy_runs SET lease_owner = ?, lease_expires_at = ?
		WHERE id = ? AND (lease_owner IS NULL OR lease_owner = ?)`, owner, formatTime(until), runID, holder)
	if err != nil {
		return fmt.Errorf("store: break lease of run %s: %w", runID, s.busy(err))
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	return s.AcquireLease(ctx, runID, owner, until)
}

// ReleaseLease gives a lease up.
func (s *Store) ReleaseLease(ctx context.Context, runID, owner string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE deploy_runs SET lease_owner = NULL, lease_expires_at = NULL
		WHERE id = ? AND lease_owner = ?`, runID, owner)
	if err != nil {
		return fmt.Errorf("store: release lease of run %s: %w", runID, s.busy(err))
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t *time.Time) any {
	if t == nil {
		return nil
	}
	return formatTime(*t)
}

func nullJSON(b json.RawMessage) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}
