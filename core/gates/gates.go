// Package gates decides the quality gates of a release: for each service
// in its scope and each gate an environment requires, whether the gate is
// pass, fail, missing, waived or expired, with the measured value, the
// threshold, the evidence it rests on and a one-line reason.
//
// Evaluation is pure: it reads the records the store keeps (evidence
// already measured by core/evidence, sign-offs, waivers) and a clock
// reading, and writes nothing. Nothing about a gate's status is stored, so
// an expiry or a policy's approval_ttl takes effect without a write.
package gates

import (
	"time"

	"github.com/warroom/warroom/core/model"
)

// State is the status of one gate for one service of a release.
type State string

const (
	// Pass: the current evidence meets the gate, or a live sign-off by
	// one of its approvers approves it.
	Pass State = "pass"
	// Fail: the current evidence falls short of the gate.
	Fail State = "fail"
	// Missing: no evidence or sign-off yet, or a kind evaluated by later
	// work (rehearsal, drift: "not evaluated yet").
	Missing State = "missing"
	// Waived: not passing, but a live waiver lets it through.
	Waived State = "waived"
	// Expired: not passing, and the waiver or sign-off that let it
	// through has expired.
	Expired State = "expired"
)

// States lists every state, in the order a matrix legend shows them.
var States = []State{Pass, Fail, Missing, Waived, Expired}

// Clears reports whether the state lets a build into an environment that
// requires the gate: pass or waived.
func (s State) Clears() bool { return s == Pass || s == Waived }

// DefaultApprovalTTL is how long a sign-off counts when the policy says
// nothing (policy approval_ttl).
const DefaultApprovalTTL = 24 * time.Hour

// Evidence is one file handed to a gate of a release's service, with what
// it measured when it was added (core/evidence's Measurement against the
// gate). The store keeps every addition; the newest per (release,
// service, gate) is the current evidence.
type Evidence struct {
	ID             int64     `json:"id"`
	Release        string    `json:"release"`
	Service        string    `json:"service"`
	Gate           string    `json:"gate"`
	SHA256         string    `json:"sha256"` // hex of the file's bytes
	Size           int64     `json:"size"`
	File           string    `json:"file"`   // the file's name as given
	Format         string    `json:"format"` // junit, gocover, cobertura, sarif, spdx, gobench
	BaselineSHA256 string    `json:"baseline_sha256,omitempty"`
	BaselineFile   string    `json:"baseline_file,omitempty"`
	Value          float64   `json:"value"`
	Threshold      string    `json:"threshold"` // "min 75 %"
	Pass           bool      `json:"pass"`
	Summary        string    `json:"summary"` // "coverage 71.2 % < min 75 %"
	AddedBy        string    `json:"added_by"`
	AddedAt        time.Time `json:"added_at"`
}

// SignOff approves an approval-kind gate for a release's service. It
// counts for ApprovalTTL after At.
type SignOff struct {
	ID       int64     `json:"id"`
	Release  string    `json:"release"`
	Service  string    `json:"service"`
	Gate     string    `json:"gate"`
	Approver string    `json:"approver"`      // the person whose sign-off it is
	Via      string    `json:"via,omitempty"` // the delegate that gave it for them
	Reason   string    `json:"reason,omitempty"`
	At       time.Time `json:"at"`
}

// Waiver lets a gate that does not pass through, until it expires.
type Waiver struct {
	ID          int64     `json:"id"`
	Release     string    `json:"release"`
	Service     string    `json:"service"`
	Gate        string    `json:"gate"`
	Env         string    `json:"env,omitempty"` // "": every environment
	Approver    string    `json:"approver"`
	Via         string    `json:"via,omitempty"`
	RequestedBy string    `json:"requested_by,omitempty"`
	Reason      string    `json:"reason"`
	At          time.Time `json:"at"`
	Expires     time.Time `json:"expires,omitzero"` // zero: never
}

// Live reports whether the waiver still counts at now.
func (w Waiver) Live(now time.Time) bool { return w.Expires.IsZero() || now.Before(w.Expires) }

// Records is what the store keeps about a release's gates: its current
// evidence per (service, gate), and every sign-off and waiver, oldest
// first.
type Records struct {
	Evidence []Evidence
	SignOffs []SignOff
	Waivers  []Waiver
}

// Result is the status of one gate for one service of a release.
type Result struct {
	Release   string         `json:"release"`
	Service   string         `json:"service"`
	Gate      string         `json:"gate"`
	Kind      model.GateKind `json:"kind"`
	State     State          `json:"state"`
	Value     *float64       `json:"value"`     // nil when nothing was measured
	Threshold string         `json:"threshold"` // "min 75 %", "1 sign-off by security"
	// The evidence the result rests on (evidence kinds), when there is
	// some.
	EvidenceSHA string     `json:"evidence_sha256,omitempty"`
	File        string     `json:"file,omitempty"`
	AddedBy     string     `json:"added_by,omitempty"`
	AddedAt     *time.Time `json:"added_at,omitempty"`
	// SignOff is the sign-off an approval-kind result rests on.
	SignOff *SignOff `json:"signoff,omitempty"`
	// Waiver is the waiver that lets it through (waived) or did until it
	// expired (expired).
	Waiver *Waiver `json:"waiver,omitempty"`
	// Reason is one line for people: "coverage 71.2 % < min 75 %
	// (cover.out sha256:ab12…, added by alice 12:03)".
	Reason string `json:"reason"`
}

// Clears reports whether the result lets a build through.
func (r Result) Clears() bool { return r.State.Clears() }
