package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/warroom/warroom/core/model"
)

// Records returns every spec object, kinds in dependency order
// (model.Kinds), then by name.
func (s *Store) Records(ctx context.Context) ([]model.Record, error) {
	recs, err := records(ctx, s.r)
	if err != nil {
		return nil, fmt.Errorf("store: records: %w", s.busy(err))
	}
	return recs, nil
}

// Org returns the organisation the stored spec objects describe.
func (s *Store) Org(ctx context.Context) (*model.Org, error) {
	recs, err := s.Records(ctx)
	if err != nil {
		return nil, err
	}
	org, err := model.OrgFromRecords(recs)
	if err != nil {
		return nil, fmt.Errorf("store: org: %w", err)
	}
	return org, nil
}

// Records returns every spec object as this transaction sees it.
func (t *Tx) Records(ctx context.Context) ([]model.Record, error) {
	recs, err := records(ctx, t.tx)
	if err != nil {
		return nil, fmt.Errorf("store: records: %w", t.s.busy(err))
	}
	return recs, nil
}

// Record returns one spec object; the error matches ErrNotFound when there
// is none of that kind and name.
func (t *Tx) Record(ctx context.Context, kind model.Kind, name string) (model.Record, error) {
	r, err := scanRecord(t.tx.QueryRowContext(ctx, selectRecords+` WHERE kind = ? AND name = ?`, string(kind), name))
	if errors.Is(err, sql.ErrNoRows) {
		return model.Record{}, fmt.Errorf("store: %s/%s: %w", kind, name, ErrNotFound)
	}
	if err != nil {
		return model.Record{}, fmt.Errorf("store: get %s/%s: %w", kind, name, t.s.busy(err))
	}
	return r, nil
}

// PutRecord inserts a spec object or replaces its spec. A new spec bumps
// the generation and updated_at and keeps created_at; putting the same
// spec again (same digest) only refreshes where it was applied from, so
// re-applying an unchanged file changes nothing that matters. An empty
// Digest is computed from Spec; a Digest that does not match Spec is an
// error.
func (t *Tx) PutRecord(ctx context.Context, r model.Record) error {
	t.decoded = nil
	if r.Kind == "" || r.Name == "" {
		return fmt.Errorf("store: put %s/%s: kind and name are required", r.Kind, r.Name)
	}
	sum := sha256.Sum256(r.Spec)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if r.Digest == "" {
		r.Digest = digest
	} else if r.Digest != digest {
		return fmt.Errorf("store: put %s/%s: digest %s does not match the spec (%s)", r.Kind, r.Name, r.Digest, digest)
	}
	if t.put == nil {
		// Prepared once per transaction: an apply puts thousands of
		// objects, and parsing the statement for each one doubles the time.
		stmt, err := t.tx.PrepareContext(ctx, putRecordSQL)
		if err != nil {
			return fmt.Errorf("store: put %s/%s: %w", r.Kind, r.Name, t.s.busy(err))
		}
		t.put = stmt
	}
	now := formatTime(t.now)
	_, err := t.put.ExecContext(ctx,
		string(r.Kind), r.Name, string(r.Spec), r.Digest, r.Source, now, now)
	if err != nil {
		return fmt.Errorf("store: put %s/%s: %w", r.Kind, r.Name, t.s.busy(err))
	}
	return nil
}

// DeleteRecord removes a spec object; the error matches ErrNotFound when
// there was none.
func (t *Tx) DeleteRecord(ctx context.Context, kind model.Kind, name string) error {
	t.decoded = nil
	res, err := t.tx.ExecContext(ctx, `DELETE FROM objects WHERE kind = ? AND name = ?`, string(kind), name)
	if err != nil {
		return fmt.Errorf("store: delete %s/%s: %w", kind, name, t.s.busy(err))
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("store: delete %s/%s: %w", kind, name, err)
	} else if n == 0 {
		return fmt.Errorf("store: delete %s/%s: %w", kind, name, ErrNotFound)
	}
	return nil
}

const putRecordSQL = `
	INSERT INTO objects (kind, name, spec, digest, source, generation, created_at, updated_at)
	VALUES (?, ?, ?, ?, ?, 1, ?, ?)
	ON CONFLICT (kind, name) DO UPDATE SET
		source     = excluded.source,
		spec       = excluded.spec,
		digest     = excluded.digest,
		generation = objects.generation + (objects.digest <> excluded.digest),
		updated_at = CASE WHEN objects.digest <> excluded.digest THEN excluded.updated_at ELSE objects.updated_at END`

const selectRecords = `SELECT kind, name, spec, digest, source, generation, updated_at FROM objects`

func scanRecord(row rowScanner) (model.Record, error) {
	var (
		r          model.Record
		kind, spec string
		updated    string
	)
	if err := row.Scan(&kind, &r.Name, &spec, &r.Digest, &r.Source, &r.Generation, &updated); err != nil {
		return model.Record{}, err
	}
	r.Kind = model.Kind(kind)
	r.Spec = []byte(spec)
	t, err := parseTime(updated)
	if err != nil {
		return model.Record{}, fmt.Errorf("%s/%s: updated_at: %w", kind, r.Name, err)
	}
	r.UpdatedAt = t
	return r, nil
}

func records(ctx context.Context, q queryer) ([]model.Record, error) {
	rows, err := q.QueryContext(ctx, selectRecords+` ORDER BY kind, name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []model.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// Dependency order lets callers process (and print) objects so that
	// what is referred to comes before what refers to it. Unknown kinds,
	// from a newer warroom, go last.
	slices.SortStableFunc(out, func(a, b model.Record) int { return kindRank(a.Kind) - kindRank(b.Kind) })
	return out, nil
}

func kindRank(k model.Kind) int {
	if i := slices.Index(model.Kinds, k); i >= 0 {
		return i
	}
	return len(model.Kinds)
}

// OrgOf returns the organisation restricted to the objects of the given
// kinds: a command that needs releases, environments and gates (gate
// status) does not decode a thousand services.
func (s *Store) OrgOf(ctx context.Context, kinds ...model.Kind) (*model.Org, error) {
	if len(kinds) == 0 {
		return &model.Org{}, nil
	}
	args := make([]any, len(kinds))
	for i, k := range kinds {
		args[i] = string(k)
	}
	q := selectRecords + ` WHERE kind IN (?` + strings.Repeat(`, ?`, len(kinds)-1) + `) ORDER BY kind, name`
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: org: %w", s.busy(err))
	}
	defer rows.Close()
	var recs []model.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("store: org: %w", err)
		}
		recs = append(recs, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: org: %w", s.busy(err))
	}
	org, err := model.OrgFromRecords(recs)
	if err != nil {
		return nil, fmt.Errorf("store: org: %w", err)
	}
	return org, nil
}
