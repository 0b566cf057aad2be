package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/warroom/warroom/core/deploy"
)

// The store is the deploy engine's journal.
var _ deploy.Journal = (*Store)(nil)

// CreateRun persists a new run with its steps, audited.
func (s *Store) CreateRun(ctx context.Context, r *deploy.Run, a deploy.Audit) error {
	_, err := s.Write(ctx, a.Actor, a.Command, func(ctx context.Context, tx *Tx) (Change, error) {
		r.Version = 1
		doc, err := json.Marshal(r)
		if err != nil {
			return Change{}, err
		}
		envs, _ := json.Marshal(r.Environments)
		_, err = tx.tx.ExecContext(ctx, `INSERT INTO deploy_runs
			(id, release, environments, state, emergency, started_by, created_at, updated_at, version, reason, doc)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)`,
			r.ID, r.Release, string(envs), string(r.State), boolInt(r.Emergency), r.StartedBy,
			formatTime(r.CreatedAt), formatTime(tx.now), r.Reason, string(doc))
		if err != nil {
			return Change{}, fmt.Errorf("store: create run %s: %w", r.ID, err)
		}
		for i := range r.Steps {
			if err := tx.putStep(ctx, r.ID, &r.Steps[i]); err != nil {
				return Change{}, err
			}
		}
		return Change{Summary: nonEmpty(a.Summary, a.Command), Payload: a.Payload}, nil
	})
	return err
}

// LoadRun returns a run as last committed.
func (s *Store) LoadRun(ctx context.Context, id string) (*deploy.Run, error) {
	return s.loadRun(ctx, s.r.QueryRowContext(ctx, `SELECT doc, version FROM deploy_runs WHERE id = ?`, id), id)
}

// LatestRun returns the most recently created run (of a release, when
// release is not empty).
func (s *Store) LatestRun(ctx context.Context, release string) (*deploy.Run, error) {
	row := s.r.QueryRowContext(ctx, `SELECT doc, version FROM deploy_runs
		WHERE ? = '' OR release = ? ORDER BY created_at DESC, rowid DESC LIMIT 1`, release, release)
	return s.loadRun(ctx, row, "latest")
}

// Runs lists runs, newest first (of a release, when release is not empty).
func (s *Store) Runs(ctx context.Context, release string, limit int) ([]*deploy.Run, error) {
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.r.QueryContext(ctx, `SELECT doc, version FROM deploy_runs
		WHERE ? = '' OR release = ? ORDER BY created_at DESC, rowid DESC LIMIT ?`, release, release, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list runs: %w", err)
	}
	defer rows.Close()
	var out []*deploy.Run
	for rows.Next() {
		r, err := s.loadRun(ctx, rows, "")
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(...any) error }

func (s *Store) loadRun(_ context.Context, row scanner, id string) (*deploy.Run, error) {
	var (
		doc     sql.NullString
		version int64
	)
	if err := row.Scan(&doc, &version); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("%w: %s", deploy.ErrNotFound, id)
		}
		return nil, fmt.Errorf("store: load run %s: %w", id, err)
	}
	var r deploy.Run
	if err := json.Unmarshal([]byte(doc.String), &r); err != nil {
		return nil, fmt.Errorf("store: run %s: unreadable document: %w", id, err)
	}
	r.Version = version
	return &r, nil
}

// Commit persists a run's new state and its audit event in one
// transaction, if nobody committed since the version r was read at.
func (s *Store) Commit(ctx context.Context, r *deploy.Run, a deploy.Audit) (*deploy.Run, error) {
	var out *deploy.Run
	_, err := s.Write(ctx, a.Actor, a.Command, func(ctx context.Context, tx *Tx) (Change, error) {
		var (
			version int64
			oldDoc  string
		)
		err := tx.tx.QueryRowContext(ctx, `SELECT version, doc FROM deploy_runs WHERE id = ?`, r.ID).Scan(&version, &oldDoc)
		if errors.Is(err, sql.ErrNoRows) {
			return Change{}, fmt.Errorf("%w: %s", deploy.ErrNotFound, r.ID)
		}
		if err != nil {
			return Change{}, fmt.Errorf("store: commit run %s: %w", r.ID, err)
		}
		if version != r.Version {
			return Change{}, deploy.ErrConflict
		}
		var old deploy.Run
		if err := json.Unmarshal([]byte(oldDoc), &old); err != nil {
			return Change{}, fmt.Errorf("store: run %s: unreadable document: %w", r.ID, err)
		}
		next := r.Clone()
		next.Version = version + 1
		doc, err := json.Marshal(next)
		if err != nil {
			return Change{}, err
		}
		var finished any
		if next.State.Terminal() {
			finished = formatTime(tx.now)
		}
		if _, err := tx.tx.ExecContext(ctx, `UPDATE deploy_runs SET doc = ?, state = ?, reason = ?, version = ?,
			updated_at = ?, finished_at = ? WHERE id = ?`,
			string(doc), string(next.State), next.Reason, next.Version, formatTime(tx.now), finished, r.ID); err != nil {
			return Change{}, fmt.Errorf("store: commit run %s: %w", r.ID, err)
		}
		for i := range next.Steps {
			st := &next.Steps[i]
			var was *deploy.Step
			if i < len(old.Steps) {
				was = &old.Steps[i]
			}
			if was != nil && was.State == st.State && was.Progress == st.Progress && was.Attempt == st.Attempt && was.Weight == st.Weight {
				continue
			}
			if err := tx.putStep(ctx, r.ID, st); err != nil {
				return Change{}, err
			}
			if was != nil && was.State != st.State {
				if _, err := tx.tx.ExecContext(ctx, `INSERT INTO step_transitions
					(run_id, step_idx, from_state, to_state, attempt, actor, reason, evidence, at)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
					r.ID, st.Index, string(was.State), string(st.State), st.Attempt, a.Actor,
					nonEmpty(st.Error, st.Progress), nullJSON(st.Evidence), formatTime(tx.now)); err != nil {
					return Change{}, fmt.Errorf("store: step transition: %w", err)
				}
			}
		}
		out = next
		return Change{Summary: nonEmpty(a.Summary, a.Command), Payload: a.Payload}, nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// putStep writes a step's row, the queryable mirror of the document.
func (tx *Tx) putStep(ctx context.Context, runID string, st *deploy.Step) error {
	key := st.Key(runID)
	if st.Attempt == 0 {
		key = ""
	}
	_, err := tx.tx.ExecContext(ctx, `INSERT INTO run_steps
		(run_id, idx, wave, service, version, artifact_digest, env, region, strategy, phase, state, attempt,
		 idempotency_key, not_before, started_at, finished_at, updated_at, error, evidence, kind, target, progress, weight)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (run_id, idx) DO UPDATE SET state = excluded.state, attempt = excluded.attempt,
		 idempotency_key = excluded.idempotency_key, started_at = excluded.started_at, finished_at = excluded.finished_at,
		 updated_at = excluded.updated_at, error = excluded.error, evidence = excluded.evidence,
		 progress = excluded.progress, weight = excluded.weight, phase = excluded.phase`,
		runID, st.Index, st.Wave, st.Service, st.Version, nullString(st.Artifact.Digest), st.Env, st.Region,
		string(st.Strategy), string(st.Phase), string(st.State), st.Attempt, nullString(key),
		nullTime(st.NotBefore), nullTime(st.StartedAt), nullTime(st.EndedAt), formatTime(tx.now),
		nullString(st.Error), nullJSON(st.Evidence), string(st.Kind), st.Target, st.Progress, st.Weight)
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
