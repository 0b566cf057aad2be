package deploy

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/warroom/warroom/core/model"
)

// Run is a deployment of a release through one or more environments.
type Run struct {
	ID           string   `json:"run"`
	Release      string   `json:"release"`
	Environments []string `json:"environments"`
	State        RunState `json:"state"`
	// Reason says why the run is in its state when that needs saying:
	// what paused it, what failed, what was rolled back and why.
	Reason    string    `json:"reason,omitempty"`
	Emergency bool      `json:"emergency,omitempty"`
	StartedBy string    `json:"started_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
	// Version counts the changes of the run's header (state, reason,
	// approvals); a change names the version it was made against, so
	// concurrent changes (an operator's pause while the engine advances)
	// never overwrite each other. Each step has a revision of its own.
	Version int64 `json:"version"`
	// Commits counts every change of the run, of its header or of any of
	// its steps, creation included: each has one audit event.
	Commits int64   `json:"commits"`
	Options Options `json:"options"`
	// WindowEnd is the end of the release's window when the run was made:
	// a canary's bake is never extended past it (unless the run was
	// started outside its window on purpose, Options.OutsideWindow).
	WindowEnd *time.Time `json:"window_end,omitempty"`
	Stages    []Stage    `json:"stages"`
	Approvals []Approval `json:"approvals,omitempty"`
	// Wait is what the run waits on outside itself while it is waiting
	// (gates) or awaiting approval (a quorum); nil otherwise.
	Wait  *Wait  `json:"wait,omitempty"`
	Steps []Step `json:"steps"`
}

// Wait is what keeps a run out of the next environment it enters: the
// gates that are not pass or waived for the services of its next wave
// (state waiting), or the approvals it still needs (state
// awaiting-approval). It is part of the run's header: persisted, shown by
// 'deploy status' and the console, and audited with each change.
type Wait struct {
	Env string `json:"env"`
	// Since is when the run began to wait on this environment.
	Since time.Time `json:"since"`
	// Gates are the (service, gate) pairs that block, each with its state
	// and the gate's one-line reason.
	Gates []GateBlock `json:"gates,omitempty"`
	// Approval is the approval quorum not met yet.
	Approval *ApprovalWait `json:"approval,omitempty"`
}

// GateBlock is one gate that is not pass or waived for one service.
type GateBlock struct {
	Service string `json:"service"`
	Gate    string `json:"gate"`
	State   string `json:"state"` // fail, missing, expired (core/gates states)
	Reason  string `json:"reason"`
}

// ApprovalWait is an approval quorum not met yet.
type ApprovalWait struct {
	Have int `json:"have"`
	Need int `json:"need"`
	// Approvers are the roles or teams who may approve (empty: anyone
	// who may approve an environment entry).
	Approvers []string `json:"approvers,omitempty"`
	// By are the people whose approvals count so far.
	By []string `json:"by,omitempty"`
	// Reason is the quorum's one line: "approved by carol 12:03 (1 of
	// 2): 1 more by approver".
	Reason string `json:"reason"`
}

func (w *Wait) clone() *Wait {
	if w == nil {
		return nil
	}
	c := *w
	c.Gates = slices.Clone(w.Gates)
	if w.Approval != nil {
		a := *w.Approval
		a.Approvers, a.By = slices.Clone(a.Approvers), slices.Clone(a.By)
		c.Approval = &a
	}
	return &c
}

// sameWait reports whether two waits say the same, Since aside.
func sameWait(a, b *Wait) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Env != b.Env || !slices.Equal(a.Gates, b.Gates) || (a.Approval == nil) != (b.Approval == nil) {
		return false
	}
	if a.Approval == nil {
		return true
	}
	x, y := a.Approval, b.Approval
	return x.Have == y.Have && x.Need == y.Need && x.Reason == y.Reason && slices.Equal(x.Approvers, y.Approvers) && slices.Equal(x.By, y.By)
}

// Options change how a run behaves.
type Options struct {
	// AutoRollback rolls the run back when a deployment, a smoke check, an
	// alert or the canary judge fails it. Without it the run fails and
	// waits for an operator.
	AutoRollback bool `json:"auto_rollback"`
	// IgnoreLowTraffic starts production regions at once instead of at
	// their next low-traffic window.
	IgnoreLowTraffic bool `json:"ignore_low_traffic,omitempty"`
	// BakeScale multiplies every bake time (a demo may shorten them);
	// 0 means 1 unless NoBake is set.
	BakeScale float64 `json:"bake_scale,omitempty"`
	// NoBake: no bake at all (deploy start --bake-scale 0): a step is
	// done once its smoke checks pass, a canary goes through its weights
	// without waiting, waves follow each other at once.
	NoBake bool `json:"no_bake,omitempty"`
	// Parallel, when above 0, is how many steps of one wave run at once
	// in every environment of the run, instead of each environment's own
	// limit (deploy start --parallel).
	Parallel int `json:"parallel,omitempty"`
	// OutsideWindow, when set, is why the run may deploy outside the
	// release window (break-glass, recorded with the run and audited with
	// its start). Freezes still apply.
	OutsideWindow string `json:"outside_window,omitempty"`
}

// Approval records an operator letting a run into an environment.
type Approval struct {
	Environment string    `json:"environment"`
	By          string    `json:"by"`
	At          time.Time `json:"at"`
}

// StepKind is what a step does.
type StepKind string

const (
	KindService   StepKind = "service"
	KindMigration StepKind = "migration"
)

// Step is one unit of a run: a service deployed to one environment and
// region, or one phase of a data migration in one environment.
type Step struct {
	Index       int                  `json:"index"` // 1-based, in running order
	Wave        int                  `json:"wave"`
	Kind        StepKind             `json:"kind"`
	Service     string               `json:"service"`
	Env         string               `json:"env"`
	Region      string               `json:"region"`
	Migration   string               `json:"migration,omitempty"`
	Phase       model.MigrationPhase `json:"migration_phase,omitempty"`
	FromVersion string               `json:"from_version,omitempty"`
	Version     string               `json:"version,omitempty"`
	Artifact    model.Artifact       `json:"artifact,omitempty"`
	Strategy    model.Strategy       `json:"strategy,omitempty"`
	ServiceKind model.ServiceKind    `json:"service_kind,omitempty"`
	Target      string               `json:"target"` // deploy-target plugin
	Settings    map[string]string    `json:"settings,omitempty"`
	BatchSize   int                  `json:"batch_size,omitempty"`
	Instances   int                  `json:"instances,omitempty"`
	CanarySteps []int                `json:"canary_steps,omitempty"`
	BakeTime    model.Duration       `json:"bake_time,omitempty"`
	// BakeExtension bounds a judged canary weight's bake when the judge
	// has no verdict at the end of BakeTime: at most BakeExtension x
	// BakeTime in all (0: model.DefaultBakeExtension).
	BakeExtension float64 `json:"bake_extension,omitempty"`
	Reversible    bool    `json:"reversible,omitempty"` // migrations: can be undone

	State StepState `json:"state"`
	// Progress is where inside its state the step is: the canary weight
	// reached, the colour switched to, the last event's phase.
	Progress  string     `json:"progress,omitempty"`
	Weight    int        `json:"weight,omitempty"` // canary: traffic on the new version
	Attempt   int        `json:"attempt"`
	NotBefore *time.Time `json:"not_before,omitempty"`
	StartedAt *time.Time `json:"started_at,omitempty"`
	EndedAt   *time.Time `json:"ended_at,omitempty"`
	// BakeUntil is when the current bake ends; persisted so a restart
	// does not bake again from the start.
	BakeUntil *time.Time      `json:"bake_until,omitempty"`
	Error     string          `json:"error,omitempty"`
	Evidence  json.RawMessage `json:"evidence,omitempty"`
	// Rev counts the commits of this step: a step's change names the
	// revision it was made against, so two processes never overwrite
	// each other's change of one step, and changes of different steps
	// never conflict.
	Rev int64 `json:"rev,omitempty"`
}

// StepStatus is the part of a step that changes while a run goes on: its
// own row in the journal, updated in place. The rest of a step is the
// run's plan, written once.
type StepStatus struct {
	Index     int
	State     StepState
	Progress  string
	Weight    int
	Attempt   int
	StartedAt *time.Time
	EndedAt   *time.Time
	BakeUntil *time.Time
	Error     string
	Evidence  json.RawMessage
	Rev       int64
}

// Status is the step's changing part.
func (s *Step) Status() StepStatus {
	return StepStatus{Index: s.Index, State: s.State, Progress: s.Progress, Weight: s.Weight, Attempt: s.Attempt,
		StartedAt: s.StartedAt, EndedAt: s.EndedAt, BakeUntil: s.BakeUntil, Error: s.Error, Evidence: s.Evidence, Rev: s.Rev}
}

// SetStatus replaces the step's changing part.
func (s *Step) SetStatus(st StepStatus) {
	s.State, s.Progress, s.Weight, s.Attempt = st.State, st.Progress, st.Weight, st.Attempt
	s.StartedAt, s.EndedAt, s.BakeUntil = st.StartedAt, st.EndedAt, st.BakeUntil
	s.Error, s.Evidence, s.Rev = st.Error, st.Evidence, st.Rev
}

// same reports whether two statuses say the same (revisions aside).
func (a StepStatus) same(b StepStatus) bool {
	return a.State == b.State && a.Progress == b.Progress && a.Weight == b.Weight && a.Attempt == b.Attempt &&
		sameTime(a.StartedAt, b.StartedAt) && sameTime(a.EndedAt, b.EndedAt) && sameTime(a.BakeUntil, b.BakeUntil) &&
		a.Error == b.Error && string(a.Evidence) == string(b.Evidence)
}

func sameTime(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Equal(*b)
}

// RunHeader is the part of a run that changes as a whole: its state,
// why, and the approvals given. Operators' commands change it, guarded by
// its Version.
type RunHeader struct {
	State     RunState
	Reason    string
	Version   int64
	Commits   int64 // every change of the run, kept by the journal
	UpdatedAt time.Time
	Approvals []Approval
	Wait      *Wait
}

// Header is the run's changing part.
func (r *Run) Header() RunHeader {
	return RunHeader{State: r.State, Reason: r.Reason, Version: r.Version, Commits: r.Commits, UpdatedAt: r.UpdatedAt,
		Approvals: slices.Clone(r.Approvals), Wait: r.Wait.clone()}
}

// SetHeader replaces the run's changing part.
func (r *Run) SetHeader(h RunHeader) {
	r.State, r.Reason, r.Version, r.Commits, r.UpdatedAt, r.Approvals = h.State, h.Reason, h.Version, h.Commits, h.UpdatedAt, h.Approvals
	r.Wait = h.Wait
}

// PlanOnly is a copy of the run without anything that changes: the
// plan as written once when the run is created.
func (r *Run) PlanOnly() *Run {
	p := *r
	p.State, p.Reason, p.Version, p.Commits, p.Approvals, p.Wait = "", "", 0, 0, nil, nil
	p.Steps = make([]Step, len(r.Steps))
	for i := range r.Steps {
		p.Steps[i] = r.Steps[i]
		p.Steps[i].SetStatus(StepStatus{Index: r.Steps[i].Index})
	}
	return &p
}

// Key is the idempotency key of the step's current attempt.
func (s *Step) Key(runID string) string { return fmt.Sprintf("%s/%d/%d", runID, s.Index, s.Attempt) }

// rollbackKey is the idempotency key of undoing the step's attempt.
func (s *Step) rollbackKey(runID string) string {
	return fmt.Sprintf("%s/%d/%d/rollback", runID, s.Index, s.Attempt)
}

// Where is the step's environment, with its region when it has one:
// "prod/eu-west".
func (s *Step) Where() string {
	if s.Region == "" {
		return s.Env
	}
	return s.Env + "/" + s.Region
}

// Describe names the step for people: "payments 3.2.0 in prod/eu-west".
func (s *Step) Describe() string {
	where := s.Where()
	if s.Kind == KindMigration {
		return fmt.Sprintf("migration %s %s on %s in %s", s.Migration, s.Phase, s.Service, where)
	}
	return fmt.Sprintf("%s %s in %s", s.Service, s.Version, where)
}

// Step returns the step with the given index.
func (r *Run) Step(index int) (*Step, bool) {
	if index < 1 || index > len(r.Steps) {
		return nil, false
	}
	return &r.Steps[index-1], true
}

// Clone returns a deep copy, so the engine can compute a new state
// without touching the snapshot it read.
func (r *Run) Clone() *Run {
	b, _ := json.Marshal(r)
	var out Run
	_ = json.Unmarshal(b, &out)
	return &out
}

// parallel is how many steps of one wave run at once in a stage.
func (r *Run) parallel(st Stage) int {
	switch {
	case r.Options.Parallel > 0:
		return r.Options.Parallel
	case st.Parallel > 0:
		return st.Parallel
	}
	return DefaultParallel
}

// DefaultParallel is how many steps of one wave run at once when neither
// the environment nor the run says.
const DefaultParallel = 10

func (o Options) bake(d model.Duration) time.Duration {
	if o.NoBake {
		return 0
	}
	if o.BakeScale <= 0 {
		return d.Std()
	}
	return time.Duration(float64(d.Std()) * o.BakeScale)
}
