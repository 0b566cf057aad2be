package tui

import (
	"context"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
)

// Source is where the console reads its data. The console only reads; it
// calls Load and Changed from tea.Cmds, never from View.
type Source interface {
	// Load reads a consistent-enough picture of the world: the
	// organisation, the latest run, the last auditLimit audit events and
	// the audit chain's verification.
	Load(ctx context.Context, auditLimit int) (Snapshot, error)
	// Changed returns a number that changes whenever the data does; the
	// console polls it every second and reloads when it moved.
	Changed(ctx context.Context) (int64, error)
}

// Snapshot is everything the console shows, read at one moment.
type Snapshot struct {
	// Version is the Source's change counter read before loading, so a
	// change that lands during the load triggers another one.
	Version int64
	Org     *model.Org
	// Run is the most recent run; nil when there is none yet.
	Run *deploy.Run
	// Audit holds the newest events, ascending by seq.
	Audit       []model.AuditEvent
	AuditVerify AuditVerification
}

// AuditVerification is the outcome of walking the audit hash chain.
type AuditVerification struct {
	OK       bool
	Events   int64  // events in the whole log
	FirstBad int64  // seq of the first event missing or tampered with
	Reason   string // for people; empty when OK
}

// Release returns the spec of the release the run deploys, if known.
func (s *Snapshot) Release() (model.Release, bool) {
	if s == nil || s.Run == nil || s.Org == nil {
		return model.Release{}, false
	}
	for _, r := range s.Org.Releases {
		if r.Name == s.Run.Release {
			return r, true
		}
	}
	return model.Release{}, false
}

// runActive reports whether a run is in flight (quitting asks first).
func (s *Snapshot) runActive() bool {
	return s != nil && s.Run != nil && !s.Run.State.Terminal()
}
