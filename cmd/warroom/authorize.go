package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/policy"
	"github.com/warroom/warroom/store"
)

// Enforcement is central: before any command runs, root's
// PersistentPreRunE resolves the actor and, for a command in
// actionRules, decides the policy action the command takes. A refused
// command never starts; the refusal is the one write (an audit event).

// actionInput is what deciding a command's request may read.
type actionInput struct {
	cmd  *cobra.Command
	args []string
	s    *store.Store
	org  *model.Org
	pol  *policy.Policy
}

// actionRule is how a command maps to a policy action: action is the
// action it takes (known before the database is read), request builds
// the full request (the run's state may turn 'deploy continue' into
// deploy.approve).
type actionRule struct {
	action  policy.Action
	request func(ctx context.Context, in actionInput) (policy.Request, error)
}

// actionRules maps command paths to the action each takes. The gate and
// change sign-off commands are listed ahead of the commands themselves;
// four-eyes for them is enforced in the store as well.
var actionRules = map[string]actionRule{
	"warroom apply":           {policy.Apply, applyRequest},
	"warroom deploy start":    {policy.DeployStart, deployStartRequest},
	"warroom deploy continue": {policy.DeployContinue, deployContinueRequest},
	"warroom deploy retry":    {policy.DeployContinue, runRequest(policy.DeployContinue)},
	"warroom deploy pause":    {policy.DeployPause, runRequest(policy.DeployPause)},
	"warroom deploy resume":   {policy.DeployResume, runRequest(policy.DeployResume)},
	"warroom deploy rollback": {policy.DeployRollback, runRequest(policy.DeployRollback)},
	"warroom deploy abort":    {policy.DeployAbort, runRequest(policy.DeployAbort)},
	"warroom deploy skip":     {policy.DeploySkip, runRequest(policy.DeploySkip)},
	"warroom serve":           {policy.DeployResume, fixedRequest(policy.DeployResume)},
	"warroom plugins trust":   {policy.PluginsTrust, fixedRequest(policy.PluginsTrust)},
	"warroom plugins untrust": {policy.PluginsTrust, fixedRequest(policy.PluginsTrust)},
	"warroom gate waive":      {policy.GateWaive, gateRequest(policy.GateWaive)},
	"warroom gate approve":    {policy.GateApprove, gateRequest(policy.GateApprove)},
	"warroom change create":   {policy.ChangeCreate, releaseRequest(policy.ChangeCreate)},
	"warroom change approve":  {policy.ChangeApprove, fixedRequest(policy.ChangeApprove)},
	"warroom evidence add":    {policy.EvidenceAdd, releaseRequest(policy.EvidenceAdd)},
	"warroom evidence import": {policy.EvidenceAdd, fixedRequest(policy.EvidenceAdd)},
}

// releaseRequest is an action on the release named by the first
// argument.
func releaseRequest(act policy.Action) func(context.Context, actionInput) (policy.Request, error) {
	return func(_ context.Context, in actionInput) (policy.Request, error) {
		req := policy.Request{Action: act}
		if len(in.args) > 0 {
			req.Release = in.args[0]
		}
		return req, nil
	}
}

// actionRule returns the rule of the command, if it takes an action.
func (a *app) actionRule(cmd *cobra.Command) (actionRule, bool) {
	r, ok := actionRules[cmd.CommandPath()]
	return r, ok
}

func fixedRequest(act policy.Action) func(context.Context, actionInput) (policy.Request, error) {
	return func(context.Context, actionInput) (policy.Request, error) { return policy.Request{Action: act}, nil }
}

// applyRequest is apply's request (apply --dry-run is not governed: see
// resolveIdentity).
func applyRequest(context.Context, actionInput) (policy.Request, error) {
	return policy.Request{Action: policy.Apply}, nil
}

func deployStartRequest(_ context.Context, in actionInput) (policy.Request, error) {
	req := policy.Request{Action: policy.DeployStart}
	if len(in.args) > 0 {
		req.Release = in.args[0]
	}
	if f := in.cmd.Flag("env"); f != nil && f.Changed {
		if sv, ok := f.Value.(sliceValue); ok {
			req.Env = strings.Join(sv.GetSlice(), ",")
		}
	}
	return req, nil
}

// runRequest is an operator's command on the run named by the first
// argument.
func runRequest(act policy.Action) func(context.Context, actionInput) (policy.Request, error) {
	return func(_ context.Context, in actionInput) (policy.Request, error) {
		req := policy.Request{Action: act}
		if len(in.args) > 0 {
			req.Run = in.args[0]
		}
		return req, nil
	}
}

// deployContinueRequest is deploy.continue, or deploy.approve when the
// run awaits approval to enter an environment: then the environment's
// approvers, the run's starter (four-eyes) and the approvals given so
// far (a quorum counts each person once) are part of the request.
func deployContinueRequest(ctx context.Context, in actionInput) (policy.Request, error) {
	req := policy.Request{Action: policy.DeployContinue}
	if len(in.args) == 0 {
		return req, nil
	}
	req.Run = in.args[0]
	r, err := in.s.LoadRun(ctx, req.Run)
	if errors.Is(err, deploy.ErrNotFound) {
		return req, nil // the command says the run is unknown
	}
	if err != nil {
		return req, fmt.Errorf("read run %s: %w", req.Run, err)
	}
	req.Release = r.Release
	if r.State != deploy.RunAwaitingApproval {
		return req, nil
	}
	return approvalRequest(r, in.org, in.pol.TTL(), time.Now()), nil
}

// approvalRequest is the request to approve run r into the next
// environment it enters. Approvals older than ttl no longer count.
func approvalRequest(r *deploy.Run, org *model.Org, ttl time.Duration, now time.Time) policy.Request {
	req := policy.Request{Action: policy.DeployApprove, Run: r.ID, Release: r.Release,
		Requester: r.StartedBy, Requested: "run " + r.ID}
	for _, s := range r.Steps {
		if !s.State.Terminal() {
			req.Env = s.Env
			break
		}
	}
	if env := orgEnvironment(org, req.Env); env != nil {
		req.Approvers, req.ApproversOf = env.Approvers, "environment "+env.Name
	}
	req.Prior = priorApprovals(r, req.Env, ttl, now)
	return req
}

// priorApprovals are the valid approvals run r has to enter env.
func priorApprovals(r *deploy.Run, env string, ttl time.Duration, now time.Time) []string {
	var out []string
	for _, ap := range r.Approvals {
		if ap.Environment == env && !policy.Expired(ap.At, now, ttl) {
			out = append(out, ap.By)
		}
	}
	return out
}

// gateRequest is a sign-off of a gate ('warroom gate waive|approve
// RELEASE --gate G'): gateSignOffRequest of the release and gate named.
func gateRequest(act policy.Action) func(context.Context, actionInput) (policy.Request, error) {
	return func(_ context.Context, in actionInput) (policy.Request, error) {
		var release, gate string
		if len(in.args) > 0 {
			release = in.args[0]
		}
		if f := in.cmd.Flag("gate"); f != nil {
			gate = f.Value.String()
		}
		return gateSignOffRequest(act, in.org, release, gate), nil
	}
}

// gateSignOffRequest is a waiver's or sign-off's request, on the command
// line and in the console alike: the gate's approvers, when it names
// some, must include one the actor holds. Four-eyes against the waiver's
// or sign-off's requester is checked by the store, which knows who asked.
func gateSignOffRequest(act policy.Action, org *model.Org, release, gate string) policy.Request {
	req := policy.Request{Action: act, Release: release, Gate: gate}
	for _, g := range org.Gates {
		if g.Name == gate {
			req.Approvers, req.ApproversOf = g.Approvers, "gate "+g.Name
		}
	}
	return req
}

// operatorActions are the policy actions of the operator's commands on a
// run (deploy.Command), for the console's keys.
var operatorActions = map[deploy.Command]policy.Action{
	deploy.CmdContinue: policy.DeployContinue, deploy.CmdRetry: policy.DeployContinue,
	deploy.CmdPause: policy.DeployPause, deploy.CmdResume: policy.DeployResume,
	deploy.CmdRollback: policy.DeployRollback, deploy.CmdAbort: policy.DeployAbort,
	deploy.CmdSkip: policy.DeploySkip,
}

// operatorRequest is the policy request of an operator's command on run
// r: continuing a run that awaits approval is deploy.approve.
func (a *app) operatorRequest(r *deploy.Run, c deploy.Command, org *model.Org) policy.Request {
	if c == deploy.CmdContinue && r.State == deploy.RunAwaitingApproval {
		return approvalRequest(r, org, a.gov.pol.TTL(), time.Now())
	}
	return policy.Request{Action: operatorActions[c], Run: r.ID, Release: r.Release}
}
