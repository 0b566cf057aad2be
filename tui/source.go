package tui

import (
	"context"
	"time"

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
	// console polls it twice a second and reloads when it moved.
	Changed(ctx context.Context) (int64, error)
}

// Snapshot is everything the console shows, read at one moment.
type Snapshot struct {
	// Version is the Source's change counter read before loading, so a
	// change that lands during the load triggers another one.
	Version int64
	Org     *model.Org
	// Run is the run on show: the latest run of the release in focus
	// (the console sets it from Runs); nil when there is none yet.
	Run *deploy.Run
	// Runs are the latest run of each release, newest first.
	Runs []*deploy.Run
	// Focus is the release the console is about (see FocusRelease).
	Focus string
	// Samples are the canary metrics of the run on show, oldest first.
	Samples []CanarySample
	// Plugins: the configured plugins; PluginsKnown is false when the
	// console has no plugin host (then the screen says so).
	Plugins      []PluginStatus
	PluginsKnown bool
	// PluginsPending: the plugin host and the alert sources are still
	// being asked, at the console's start (the first frame does not wait
	// for them); the screens say so rather than "unknown".
	PluginsPending bool
	// Changes are the recorded change requests, newest first.
	Changes []ChangeRequest
	// Alerts are the firing alerts of the monitoring sources that serve
	// alerts; AlertsKnown is false when none is configured or none
	// answered (then Overview says so rather than "none firing").
	Alerts      []Alert
	AlertsKnown bool
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

// Release returns the spec of the release in focus (else the one the run
// deploys), if known.
func (s *Snapshot) Release() (model.Release, bool) {
	if s == nil || s.Org == nil {
		return model.Release{}, false
	}
	name := s.Focus
	if name == "" && s.Run != nil {
		name = s.Run.Release
	}
	if r := s.releaseNamed(name); r != nil {
		return *r, true
	}
	return model.Release{}, false
}

// releaseNamed is the organisation's release of that name, or nil.
func (s *Snapshot) releaseNamed(name string) *model.Release {
	if s == nil || s.Org == nil {
		return nil
	}
	for i := range s.Org.Releases {
		if s.Org.Releases[i].Name == name {
			return &s.Org.Releases[i]
		}
	}
	return nil
}

// runActive reports whether a run is in flight (quitting asks first).
func (s *Snapshot) runActive() bool {
	return s != nil && s.Run != nil && !s.Run.State.Terminal()
}

// Commander carries out the operator's commands for the console. The
// console calls it only from tea.Cmds; a console without one is
// read-only and says so when asked to act.
type Commander interface {
	// Start creates a run of the release through all its environments
	// and has it driven (by this process or another); it returns the
	// run's id.
	Start(ctx context.Context, release, actor string) (runID string, err error)
	// Operate applies an operator's command (continue, pause, abort,
	// rollback, skip, resume) to a run.
	Operate(ctx context.Context, req deploy.OperatorRequest) error
	// FileChange files a change request for the release with the
	// ticketing plugin and records it; it returns the change's id.
	FileChange(ctx context.Context, release, actor string) (changeID string, err error)
}

// CanarySample is one cohort's metrics at one instant, as the canary
// judge saw them.
type CanarySample struct {
	At        time.Time
	Cohort    string  // "baseline" or "canary"
	RPS       float64 // requests per second
	ErrorRate float64 // errors / requests, 0..1
	P99Ms     float64 // 99th percentile latency; 0 when unknown
}

// PluginStatus is what the plugin host says about one configured plugin.
type PluginStatus struct {
	Name        string
	Path        string
	Kinds       []string
	Version     string // empty if it never started
	Trusted     bool
	TrustSource string // "database" or "build"; empty when untrusted
	SHA256      string
	Healthy     bool
	Running     bool
	LastError   string
	Fault       string // crashed, timeout, malformed, refused, handshake, untrusted
}

// ChangeRequest is a change request as warroom records it, mirrored
// from the ticketing plugin.
type ChangeRequest struct {
	ID        string
	Release   string
	Title     string
	Class     string // standard, normal, emergency
	State     string // draft, submitted, approved, rejected, implemented, closed
	Requester string
	Risk      float64
	TicketRef string // the id in the ticketing system
	System    string // the ticketing plugin's name
	URL       string
	Approvals []ChangeApproval
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Alert is a firing alert of a monitoring source.
type Alert struct {
	Name     string
	Severity string // critical, warning, info
	Service  string // from the alert's labels; empty when it has none
	Env      string
	Region   string
	Since    time.Time
	Source   string // the monitoring plugin's name
	Summary  string // the alert's summary or description annotation
}

// ChangeApproval is one decision on a change.
type ChangeApproval struct {
	Approver, Role, Decision, Reason string
	At                               time.Time
}
