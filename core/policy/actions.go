package policy

import (
	"slices"
	"time"
)

// Action is something the policy governs. The names are fixed: the
// policy spec, 'warroom policy check' and the audit use them.
type Action string

const (
	Apply          Action = "apply"
	DeployStart    Action = "deploy.start"
	DeployContinue Action = "deploy.continue"
	// DeployApprove is letting a run into an environment that requires
	// approval ('deploy continue' on a run awaiting approval).
	DeployApprove  Action = "deploy.approve"
	DeployPause    Action = "deploy.pause"
	DeployResume   Action = "deploy.resume"
	DeployRollback Action = "deploy.rollback"
	DeployAbort    Action = "deploy.abort"
	DeploySkip     Action = "deploy.skip"
	GateWaive      Action = "gate.waive"
	GateApprove    Action = "gate.approve"
	PluginsTrust   Action = "plugins.trust"
	ChangeApprove  Action = "change.approve"
	// ChangeCreate is filing a change request for a release ('warroom
	// change create', n in the console): the release's captain or its
	// engineers by default, not a viewer.
	ChangeCreate Action = "change.create"
	// EvidenceAdd is handing evidence to gates ('warroom evidence add',
	// 'evidence import'): what CI does, so operators (and the delegates
	// CI runs as) may by default, viewers never.
	EvidenceAdd Action = "evidence.add"
)

// Actions lists every action, in the order documentation shows them.
var Actions = []Action{Apply, DeployStart, DeployContinue, DeployApprove, DeployPause, DeployResume,
	DeployRollback, DeployAbort, DeploySkip, GateWaive, GateApprove, EvidenceAdd, PluginsTrust, ChangeCreate, ChangeApprove}

// ActionNames lists the actions' names, for validation and messages.
func ActionNames() []string {
	out := make([]string, len(Actions))
	for i, a := range Actions {
		out[i] = string(a)
	}
	return out
}

// Known reports whether a is one of the actions.
func Known(a Action) bool { return slices.Contains(Actions, a) }

// SignOff reports whether the action signs off something someone else
// asked for, which four-eyes governs: approving a run into an
// environment, waiving or approving a gate, approving a change.
func (a Action) SignOff() bool {
	switch a {
	case DeployApprove, GateWaive, GateApprove, ChangeApprove:
		return true
	}
	return false
}

// Built-in roles.
const (
	Captain  = "captain"
	Operator = "operator"
	Approver = "approver"
	Viewer   = "viewer"
	Admin    = "admin"
)

// defaults are who may take each action when the policy object does not
// name it. docs/spec.md documents them; TestDefaultsDocumented keeps the
// two the same.
var defaults = map[Action][]string{
	Apply:          {Admin, Captain},
	DeployStart:    {Captain, Operator},
	DeployContinue: {Captain, Operator},
	DeployApprove:  {Approver, Captain},
	DeployPause:    {Captain, Operator},
	DeployResume:   {Captain, Operator},
	DeployRollback: {Captain, Operator},
	DeployAbort:    {Captain, Operator},
	DeploySkip:     {Captain, Operator},
	GateWaive:      {Approver, Captain},
	GateApprove:    {Approver, Captain},
	EvidenceAdd:    {Captain, Operator},
	PluginsTrust:   {Admin},
	ChangeCreate:   {Captain, Operator},
	ChangeApprove:  {Approver, Captain},
}

// Default returns who may take the action by default (a copy).
func Default(a Action) []string { return slices.Clone(defaults[a]) }

// DefaultApprovalTTL is how long an approval or sign-off stays valid when
// the policy sets no approval_ttl.
const DefaultApprovalTTL = 24 * time.Hour

// Expired reports whether a sign-off given at `at` has expired at now
// under ttl (0: DefaultApprovalTTL). A sign-off is valid for exactly ttl:
// at at+ttl it has expired.
func Expired(at, now time.Time, ttl time.Duration) bool {
	if ttl <= 0 {
		ttl = DefaultApprovalTTL
	}
	return !now.Before(at.Add(ttl))
}
