package tui

import (
	"context"
	"errors"
	"fmt"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/store"
)

// StoreSource is the Source over warroom's SQLite store.
type StoreSource struct {
	st *store.Store
}

var _ Source = (*StoreSource)(nil)

// NewStoreSource returns a Source reading st. The console never writes
// through it.
func NewStoreSource(st *store.Store) *StoreSource { return &StoreSource{st: st} }

// Changed returns the store's data version, which moves whenever any
// connection (another process included) commits.
func (s *StoreSource) Changed(ctx context.Context) (int64, error) {
	v, err := s.st.DataVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("console: data version: %w", err)
	}
	return v, nil
}

// Load reads the organisation, the latest run, the newest auditLimit audit
// events and the audit chain's verification.
func (s *StoreSource) Load(ctx context.Context, auditLimit int) (Snapshot, error) {
	var snap Snapshot
	v, err := s.Changed(ctx)
	if err != nil {
		return snap, err
	}
	snap.Version = v
	if snap.Org, err = s.st.Org(ctx); err != nil {
		return snap, fmt.Errorf("console: load organisation: %w", err)
	}
	run, err := s.st.LatestRun(ctx, "")
	switch {
	case errors.Is(err, deploy.ErrNotFound):
	case err != nil:
		return snap, fmt.Errorf("console: load latest run: %w", err)
	default:
		snap.Run = run
	}
	head, _, err := s.st.AuditHead(ctx)
	if err != nil {
		return snap, fmt.Errorf("console: audit head: %w", err)
	}
	// AuditEvents is ascending by seq; start just before the newest
	// auditLimit events rather than reading the whole log.
	f := store.AuditFilter{AfterSeq: max(0, head-int64(auditLimit))}
	if snap.Audit, err = s.st.AuditEvents(ctx, f); err != nil {
		return snap, fmt.Errorf("console: load audit events: %w", err)
	}
	rep, err := s.st.VerifyAudit(ctx)
	if err != nil {
		return snap, fmt.Errorf("console: verify audit: %w", err)
	}
	snap.AuditVerify = AuditVerification{OK: rep.OK, Events: rep.Events, FirstBad: rep.FirstBad, Reason: rep.Reason}
	return snap, nil
}
