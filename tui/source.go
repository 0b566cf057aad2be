package tui

import (
	"context"
	"time"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/plan"
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

	// The fields below are optional: a source that leaves them zero gets
	// the console as it was before them.

	// Identity is the person at the keyboard and the policy's mode; nil
	// when the source does not say (the header then shows Deps.Actor).
	Identity *Identity
	// Plans are release plans (core/plan.Build) by release name: Waves
	// shows the focus release's planned waves while it has no run. The
	// console may focus any release, so give every release that has no
	// run in flight (a source may cache them by data version).
	Plans map[string]*plan.Plan
	// GateResults are gate results by release name: every service of
	// the release's scope by every gate its environments require.
	// GatesKnown is false when the source evaluates no gates (the Gates
	// screen then says so rather than showing every gate missing).
	GateResults map[string][]GateResult
	GatesKnown  bool
	// Waits are what runs wait on, for any run of Runs (or Run).
	Waits []Wait
	// Bakes are the canary steps whose bake was extended.
	Bakes map[StepRef]BakeExtension
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

// ChangeApproval is one decision on a change. Approver is the person, or
// "delegate for person" when a delegate recorded it.
type ChangeApproval struct {
	Approver, Role, Decision, Reason string
	At                               time.Time
}

// Identity is the person at the keyboard as the policy sees them.
type Identity struct {
	// Person is the declared person the OS user resolved to; empty when
	// people are declared and the OS user is not one of them (a viewer).
	Person string
	// Login is the OS user name the console runs as.
	Login string
	// Roles are the built-in and team roles the person holds.
	Roles []string
	Teams []string
	// Open is open mode: no people are declared, so anyone may do
	// anything. The header says so on every screen.
	Open bool
}

// GateState is a gate result's state.
type GateState string

// The states of a gate result (the gates' shared contract).
const (
	GatePass    GateState = "pass"
	GateFail    GateState = "fail"
	GateMissing GateState = "missing"
	GateWaived  GateState = "waived"
	GateExpired GateState = "expired"
)

// GateResult is one (release, service, gate) result as evaluated.
type GateResult struct {
	Service, Gate string
	State         GateState
	// NotEvaluated: a kind evaluated by later work (rehearsal, drift);
	// it counts as missing and says "not evaluated yet".
	NotEvaluated bool
	// Value is the measurement in the gate kind's unit, as text
	// ("71.2 %"); Threshold what it is held to ("min 75 %").
	Value, Threshold string
	// Reason is the one line that says why, e.g. "coverage 71.2 % < min
	// 75 % (cover.out sha256:ab12…, added by alice 12:03)".
	Reason string
	// Evidence is the evidence read; nil when none was added.
	Evidence *GateEvidence
	// Waiver is the waiver in force (or expired, when State is expired).
	Waiver *GateWaiver
	// Approvals are the sign-offs of an approval gate.
	Approvals []GateSignoff
	// Needed is how many sign-offs an approval gate needs (0: one).
	Needed int
}

// GateEvidence is a piece of evidence as stored: by content hash, with
// who added it, when, and the file's name.
type GateEvidence struct {
	SHA256  string
	File    string
	Format  string
	AddedBy string
	AddedAt time.Time
}

// GateWaiver is a waiver of a gate for one service of a release.
type GateWaiver struct {
	By      string
	Reason  string
	At      time.Time
	Expires time.Time
}

// GateSignoff is one approval of an approval gate.
type GateSignoff struct {
	By     string
	Reason string
	At     time.Time
}

// Wait is what a run, or one step of it, waits on: gates blocking an
// environment's entry, an approval quorum, or an operator's decision.
type Wait struct {
	RunID string
	// Step is the waiting step's Index; 0: the run as a whole (the
	// console then shows it on the run's next pending step).
	Step int
	// Env is the environment the run waits to enter, if that is it.
	Env string
	// Gates are the (service, gate, reason) blocking the entry.
	Gates []GateBlock
	// Approval is the quorum the entry waits on; nil when none.
	Approval *ApprovalWait
	// Operator says why an operator must decide, e.g. "insufficient
	// evidence: 412 requests, about 1900 more needed".
	Operator string
}

// GateBlock is one gate that keeps a run out of an environment.
type GateBlock struct {
	Service, Gate, Reason string
	State                 GateState
}

// ApprovalWait is an approval quorum not met yet.
type ApprovalWait struct {
	Have, Need int
	// Approvers are the roles, teams or people who may approve.
	Approvers []string
	// By are those who approved so far.
	By []string
}

// BakeExtension is how far a canary step's bake was extended because the
// judge had neither proof nor rejection when it ended.
type BakeExtension struct {
	// Factor is the bake so far in bake times (2: extended to twice);
	// Max the policy's bound (deploy.bake_extension, default 4).
	Factor, Max float64
	// Until is when the extended bake ends.
	Until time.Time
}

// StepRef names one step of one run.
type StepRef struct {
	RunID string
	Step  int
}

// GateRequest is a waiver or an approval asked from the console.
type GateRequest struct {
	Release, Service, Gate string
	// Actor is the person at the keyboard (Deps.Actor).
	Actor  string
	Reason string
	// Expires is when a waiver ends; zero for an approval.
	Expires time.Time
}

// GateActor carries out gate decisions for the console: it checks the
// policy (roles, four-eyes) and records the decision, or returns an error
// that says why it was refused; the console shows that text as it is. A
// console finds it in Deps.Gates, else on its Source or Commander.
type GateActor interface {
	WaiveGate(ctx context.Context, req GateRequest) error
	ApproveGate(ctx context.Context, req GateRequest) error
}
