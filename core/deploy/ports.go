package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/warroom/warroom/core/model"
)

// Journal persists runs. The store implements it. A run's plan is
// written once, when the run is created; afterwards only its header
// (state, reason, approvals) and its steps' statuses change, each step
// in its own record, so a change costs the same at step 7,000 as at
// step 1. Every Apply is one transaction holding the change and its
// audit event.
type Journal interface {
	// CreateRun persists a new run: its plan, header and steps.
	CreateRun(ctx context.Context, r *Run, audit Audit) error
	// LoadRun returns a run as persisted.
	LoadRun(ctx context.Context, id string) (*Run, error)
	// LatestRun returns the most recently created run, or of one release
	// when release is not empty.
	LatestRun(ctx context.Context, release string) (*Run, error)
	// RunHeader returns the run's header alone: cheap, whatever the size
	// of the run.
	RunHeader(ctx context.Context, id string) (RunHeader, error)
	// StepStatuses returns the status of every step of the run, in order.
	StepStatuses(ctx context.Context, id string) ([]StepStatus, error)
	// Apply commits a change and its audit event in one transaction and
	// returns the run's header as it is after it. It returns ErrConflict,
	// changing nothing, if a step changed since the revision its change
	// names, or if the header changed since the version it names (when
	// the change is not conditional on the run's state).
	Apply(ctx context.Context, c Change, audit Audit) (RunHeader, error)
	// AcquireLease takes or renews the run's lease for owner until the
	// given time; it fails with ErrLeaseHeld naming the holder when a
	// live lease belongs to another owner.
	AcquireLease(ctx context.Context, runID, owner string, until time.Time) error
	// ReleaseLease gives the lease up.
	ReleaseLease(ctx context.Context, runID, owner string) error
	// BreakLease takes the lease from holder, who is known to be dead,
	// if holder still has it.
	BreakLease(ctx context.Context, runID, holder, owner string, until time.Time) error
}

// Change is one transaction of a run: new statuses of some of its steps,
// and perhaps a new header.
type Change struct {
	RunID string
	Steps []StepChange
	// Header, when not nil, is the run's new header. Its Version is the
	// version it was made against: the journal bumps it.
	Header *RunHeader
	// IfState, when set, makes the header change conditional: it applies
	// only if the run is in that state, and is otherwise dropped without
	// an error (the steps' changes still apply). When empty, the header
	// change needs the stored version to be Header.Version.
	IfState RunState
}

// StepChange is a step's new status; To.Rev is the revision it was made
// against. From is the state it leaves, for the step's history.
type StepChange struct {
	From StepState
	To   StepStatus
}

// LeaseHeldError says who drives a run, until when.
type LeaseHeldError struct {
	RunID  string
	Holder string
	Until  time.Time
}

func (e *LeaseHeldError) Error() string {
	return fmt.Sprintf("run %s is driven by %s until %s (the lease expires if that process died)",
		e.RunID, e.Holder, e.Until.UTC().Format(time.RFC3339))
}

func (e *LeaseHeldError) Unwrap() error { return ErrLeaseHeld }

// Audit is the audit record a commit carries.
type Audit struct {
	Actor   string
	Command string
	Summary string
	Payload any
}

var (
	// ErrConflict: the run (or the step) changed since it was read.
	ErrConflict = errors.New("run changed concurrently")
	// ErrNotFound: no such run.
	ErrNotFound = errors.New("run not found")
	// ErrLeaseHeld: another live process drives the run.
	ErrLeaseHeld = errors.New("run is driven by another process")

	// A target's errors, as the adapter of a plugin classifies them
	// (wrapped, with the plugin's message):
	//
	// ErrTargetRefused: the target cleanly refused (FailedPrecondition):
	// it changed nothing, and the step waits for an operator.
	ErrTargetRefused = errors.New("the deploy target refused")
	// ErrTargetUnavailable: the target or something it needs is down, or
	// the plugin crashed (Unavailable): the call is retried with the same
	// idempotency key, with backoff, a bounded number of times.
	ErrTargetUnavailable = errors.New("the deploy target is unavailable")
)

// Target is a deploy target as the engine sees it: a provider plugin
// adapted by the host.
type Target interface {
	Describe(ctx context.Context) (Capabilities, error)
	Preflight(ctx context.Context, req Request) ([]Check, error)
	// Deploy deploys req.Version; progress reports events as they come.
	Deploy(ctx context.Context, req Request, progress func(Event)) (Outcome, error)
	SetTraffic(ctx context.Context, req Request, weights []Weight) error
	Verify(ctx context.Context, req Request) ([]Check, error)
	Rollback(ctx context.Context, req Request, progress func(Event)) (Outcome, error)
	Status(ctx context.Context, req Request) (Status, error)
}

// Targets finds a target by plugin name.
type Targets interface {
	Target(ctx context.Context, name string) (Target, error)
}

// Capabilities is what a target can do, as far as the engine cares.
type Capabilities struct {
	Strategies []model.Strategy
	// Stateful: it can deploy databases and queues (drain, migrate, switch).
	Stateful bool
	// BlueGreenStateful: it can run a database or queue blue-green,
	// keeping the two copies consistent.
	BlueGreenStateful bool
}

// Request is what the engine asks of a target for one step.
type Request struct {
	IdempotencyKey string
	RunID          string
	Step           int
	Attempt        int
	Service        string
	Environment    string
	Region         string
	Version        string
	FromVersion    string
	Artifact       model.Artifact
	Strategy       model.Strategy
	ServiceKind    model.ServiceKind
	BatchSize      int
	Instances      int
	Settings       map[string]string
	Reason         string // rollback
}

// Event is a progress report from a target.
type Event struct {
	At      time.Time
	Phase   string
	Message string
	Percent int
}

// Outcome is how a deployment or rollback ended.
type Outcome struct {
	Replayed bool // the key had been applied before; nothing was done again
	Message  string
}

// Weight is a share of traffic.
type Weight struct {
	Version string `json:"version"`
	Percent int    `json:"percent"`
}

// Check is the outcome of a named check.
type Check struct {
	Name    string `json:"name"`
	Passed  bool   `json:"passed"`
	Message string `json:"message,omitempty"`
}

// Status is what a target says actually runs, and which idempotency keys
// it has applied.
type Status struct {
	Versions    []VersionStatus
	AppliedKeys []string
	Healthy     bool
	// Known says the target reported on the service asked about, so
	// that Versions is what runs (empty: nothing). Without it the target
	// does not say, and the engine trusts its own record.
	Known bool
}

// Runs reports whether the target says version runs (or takes traffic).
func (s Status) Runs(version string) bool {
	for _, v := range s.Versions {
		if v.Version == version && (v.Instances > 0 || v.Ready > 0 || v.Weight > 0) {
			return true
		}
	}
	return false
}

// VersionStatus is one version's share of what runs.
type VersionStatus struct {
	Version   string
	Instances int
	Ready     int
	Weight    int
}

// Applied reports whether the target applied key.
func (s Status) Applied(key string) bool {
	for _, k := range s.AppliedKeys {
		if k == key {
			return true
		}
	}
	return false
}

// Verdict is the canary judge's ruling.
type Verdict string

const (
	VerdictContinue Verdict = "continue" // neither proof yet; keep baking (at the bake's end: insufficient evidence)
	VerdictPromote  Verdict = "promote"  // bake time over and the canary proved within its tolerance
	VerdictPause    Verdict = "pause"    // something is off (e.g. traffic not split as asked)
	VerdictRollback Verdict = "rollback" // the canary is worse than the baseline
)

// Judgement is a verdict with its evidence.
type Judgement struct {
	Verdict  Verdict         `json:"verdict"`
	Reason   string          `json:"reason"`
	Evidence json.RawMessage `json:"evidence,omitempty"`
}

// CanaryRequest asks the judge about one canary step.
type CanaryRequest struct {
	RunID       string
	Step        int
	Service     string
	Environment string
	Region      string
	Baseline    string // version
	Canary      string // version
	Weight      int    // percent on the canary
	Since       time.Time
	BakeEnds    time.Time
}

// Judge rules on a canary. The live canary judge implements it. With one,
// a canary weight goes on only on its promote verdict: a bake that ends
// on continue (or with the judge failing) is extended, up to the step's
// BakeExtension x its bake time and never past the run's WindowEnd, then
// the run pauses and the weight waits for an operator. Without one, a
// canary weight is promoted when its bake time is over.
type Judge interface {
	Judge(ctx context.Context, req CanaryRequest) (Judgement, error)
}

// Alert is a firing alert.
type Alert struct {
	Name     string
	Severity string
	Labels   map[string]string
}

// Alerts reports firing alerts for a service in an environment; one
// firing during a step's bake rolls the run back.
type Alerts interface {
	Firing(ctx context.Context, service, env, region string) ([]Alert, error)
}

// Clock is the engine's time: real in production, fake in tests.
type Clock interface {
	Now() time.Time
	// After waits d, or until ctx ends.
	Sleep(ctx context.Context, d time.Duration) error
}

// Gate decides whether a step may start: windows, freezes, artifacts.
// The engine runs it as part of pre-flight.
type Gate interface {
	Preflight(ctx context.Context, r *Run, s *Step, now time.Time) []Check
}
