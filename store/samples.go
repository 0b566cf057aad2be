package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/warroom/warroom/core/canary"
)

// Sample is one cohort's canary metrics at one instant (see canary.Sample).
type Sample = canary.Sample

// The metric names of metric_samples rows.
const (
	MetricRPS       = "rps"
	MetricErrorRate = "error_rate"
	MetricP99Ms     = "p99_ms"
)

// AppendSamples writes a batch of a canary step's samples in one
// transaction: one row per metric (rps, error_rate, and p99_ms when
// known), at millisecond precision. Samples are high-rate data for charts,
// not state changes: they are not audited. The step must exist (the run's
// steps are mirrored in run_steps when it is created); otherwise the
// error matches ErrNotFound.
func (s *Store) AppendSamples(ctx context.Context, runID string, step int, samples []Sample) error {
	if len(samples) == 0 {
		return nil
	}
	for _, sm := range samples {
		if sm.Cohort != canary.CohortBaseline && sm.Cohort != canary.CohortCanary {
			return fmt.Errorf("store: samples of run %s step %d: cohort %q is neither %q nor %q",
				runID, step, sm.Cohort, canary.CohortBaseline, canary.CohortCanary)
		}
		for _, v := range []float64{sm.RPS, sm.ErrorRate, sm.P99Ms} {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("store: samples of run %s step %d: %s sample at %s is not a number",
					runID, step, sm.Cohort, sm.At.UTC().Format(time.RFC3339))
			}
		}
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: samples of run %s step %d: begin: %w", runID, step, s.busy(err))
	}
	defer tx.Rollback()
	var one int
	err = tx.QueryRowContext(ctx, `SELECT 1 FROM run_steps WHERE run_id = ? AND idx = ?`, runID, step).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("store: samples of run %s step %d: no such step: %w", runID, step, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("store: samples of run %s step %d: %w", runID, step, s.busy(err))
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO metric_samples (run_id, step_idx, metric, cohort, at_ms, value)
		VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("store: samples of run %s step %d: %w", runID, step, s.busy(err))
	}
	defer ins.Close()
	for _, sm := range samples {
		at := sm.At.UnixMilli()
		rows := []struct {
			metric string
			v      float64
		}{{MetricRPS, sm.RPS}, {MetricErrorRate, sm.ErrorRate}, {MetricP99Ms, sm.P99Ms}}
		for _, r := range rows {
			if r.metric == MetricP99Ms && r.v <= 0 {
				continue // unknown
			}
			if _, err := ins.ExecContext(ctx, runID, step, r.metric, sm.Cohort, at, r.v); err != nil {
				return fmt.Errorf("store: samples of run %s step %d: %w", runID, step, s.busy(err))
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: samples of run %s step %d: commit: %w", runID, step, s.busy(err))
	}
	return nil
}

// CanarySamples returns a canary step's samples taken at or after since
// (zero: all), one per cohort and instant, oldest first (the baseline
// before the canary at the same instant). With limit > 0 it returns the
// newest limit of them.
func (s *Store) CanarySamples(ctx context.Context, runID string, step int, since time.Time, limit int) ([]Sample, error) {
	from := int64(math.MinInt64)
	if !since.IsZero() {
		from = since.UnixMilli()
	}
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	rows, err := s.r.QueryContext(ctx, `SELECT at_ms, cohort,
		       MAX(CASE WHEN metric = 'rps' THEN value END),
		       MAX(CASE WHEN metric = 'error_rate' THEN value END),
		       MAX(CASE WHEN metric = 'p99_ms' THEN value END)
		FROM metric_samples
		WHERE run_id = ? AND step_idx = ? AND at_ms >= ?
		GROUP BY at_ms, cohort
		ORDER BY at_ms DESC, cohort DESC
		LIMIT ?`, runID, step, from, limit)
	if err != nil {
		return nil, fmt.Errorf("store: samples of run %s step %d: %w", runID, step, err)
	}
	defer rows.Close()
	var out []Sample
	for rows.Next() {
		var (
			at           int64
			cohort       string
			rps, er, p99 sql.NullFloat64
		)
		if err := rows.Scan(&at, &cohort, &rps, &er, &p99); err != nil {
			return nil, fmt.Errorf("store: samples of run %s step %d: %w", runID, step, err)
		}
		out = append(out, Sample{At: time.UnixMilli(at).UTC(), Cohort: cohort,
			RPS: rps.Float64, ErrorRate: er.Float64, P99Ms: p99.Float64})
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: samples of run %s step %d: %w", runID, step, err)
	}
	slices.Reverse(out)
	return out, nil
}
