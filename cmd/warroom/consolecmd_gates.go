package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/policy"
	"github.com/warroom/warroom/store"
	"github.com/warroom/warroom/tui"
)

// The console's commands are decided by the policy exactly as the CLI's:
// the same request (built from the same records), the same central
// check (app.authorize: a refusal is audited as "policy refuse" and its
// error says who, what they hold and what the action needs), then the
// same store call, whose four-eyes refusal is audited the same way
// (app.gateRefusal). The console shows the error's text as it is.

var _ tui.GateActor = (*consoleCommander)(nil)

// authorize decides req for the person at the console, as the command
// path would be decided on the command line (inside act, which brought
// the app's identity up to date). A refusal is audited by app.authorize;
// its error reads on one line (the console's status line is one), with
// who acts, what they hold and what the action needs first.
func (c *consoleCommander) authorize(ctx context.Context, command string, req policy.Request) error {
	if c.a.gov.pol == nil {
		// Never silently permissive: an unresolved identity acts on nothing.
		return errors.New("the console's identity is not resolved: restart warroom")
	}
	d := c.a.gov.pol.Decide(c.a.gov.id, req)
	err := c.a.authorize(ctx, c.s, command, req)
	if err == nil || d.Allowed {
		return err
	}
	return &consoleRefusal{line: refusalLine(d, err), err: err}
}

// consoleRefusal is a policy refusal as the console shows it: one line.
// It unwraps to the CLI's error (exit 3, the full text).
type consoleRefusal struct {
	line string
	err  error
}

func (e *consoleRefusal) Error() string { return e.line }
func (e *consoleRefusal) Unwrap() error { return e.err }

// refusalLine is "policy refuses deploy.pause to lena: lena holds viewer,
// business, support, team commerce-ops; deploy.pause needs captain or
// operator (default) (recorded as audit event 12)".
func refusalLine(d policy.Decision, err error) string {
	why := strings.Join(d.Reasons, "; ")
	held := slices.Concat(d.Roles, d.Governance)
	for _, t := range d.Teams {
		held = append(held, "team "+t)
	}
	holds := "no role"
	if len(held) > 0 {
		holds = strings.Join(held, ", ")
	}
	who := d.Actor
	if !strings.Contains(why, holds) {
		// Every refusal says what the actor holds, even when the rule
		// failed is not the roles' (a gate's approvers, four-eyes).
		who += " (holds " + holds + ")"
	}
	line := fmt.Sprintf("policy refuses %s to %s: %s", d.Action, who, why)
	text := err.Error()
	if i := strings.LastIndex(text, "\n"); i >= 0 {
		line += " (" + strings.TrimSpace(text[i+1:]) + ")"
	}
	return line
}

// gateSignOffRequest is a waiver's or sign-off's request, as 'warroom
// gate waive|approve' builds it (authorize.go, gateSignOffRequest), from
// the people, policy and gates the store declares now.
func (c *consoleCommander) gateSignOffRequest(ctx context.Context, act policy.Action, release, gate string) (policy.Request, error) {
	org, err := governanceOrg(ctx, c.s)
	if err != nil {
		return policy.Request{Action: act, Release: release, Gate: gate}, fmt.Errorf("read the people and policy: %w", err)
	}
	return gateSignOffRequest(act, org, release, gate), nil
}

// WaiveGate waives a gate for a service of a release, as 'warroom gate
// waive' does.
func (c *consoleCommander) WaiveGate(ctx context.Context, r tui.GateRequest) error {
	if strings.TrimSpace(r.Reason) == "" {
		return errors.New("a reason is required: say why the gate may be let through")
	}
	if r.Expires.IsZero() {
		return errors.New("an expiry is required: a waiver lets a gate through until it ends")
	}
	return c.act(ctx, func() error {
		req, err := c.gateSignOffRequest(ctx, policy.GateWaive, r.Release, r.Gate)
		if err != nil {
			return err
		}
		if err := c.authorize(ctx, "warroom gate waive", req); err != nil {
			return err
		}
		_, _, err = c.s.WaiveGate(ctx, c.a.gateActor(), store.WaiverRequest{Release: r.Release, Service: r.Service, Gate: r.Gate,
			Reason: r.Reason, Expires: r.Expires.UTC()})
		if err != nil {
			return c.a.gateRefusal(ctx, c.s, actionGateWaive, r.Release, r.Service, r.Gate, err)
		}
		return nil
	})
}

// ApproveGate signs off an approval gate for a service of a release, as
// 'warroom gate approve' does.
func (c *consoleCommander) ApproveGate(ctx context.Context, r tui.GateRequest) error {
	return c.act(ctx, func() error {
		req, err := c.gateSignOffRequest(ctx, policy.GateApprove, r.Release, r.Gate)
		if err != nil {
			return err
		}
		if err := c.authorize(ctx, "warroom gate approve", req); err != nil {
			return err
		}
		_, _, err = c.s.ApproveGate(ctx, c.a.gateActor(), store.SignOffRequest{Release: r.Release, Service: r.Service, Gate: r.Gate, Reason: r.Reason})
		if err != nil {
			return c.a.gateRefusal(ctx, c.s, actionGateApprove, r.Release, r.Service, r.Gate, err)
		}
		return nil
	})
}

// operatorCommandPath is the CLI command an operator's command on a run
// is: the console's refusals are audited under the same name.
func operatorCommandPath(c deploy.Command) string { return "warroom deploy " + string(c) }
