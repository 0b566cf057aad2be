package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/policy"
	"github.com/warroom/warroom/store"
)

func newPolicyCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Who may do what: the policy's actions and roles, and why you may or may not act",
		Long: `The policy decides who may take each action: apply, deploy.start,
deploy.continue, deploy.approve (approve a run into an environment),
deploy.pause, deploy.resume, deploy.rollback, deploy.abort, deploy.skip,
gate.waive, gate.approve, evidence.add, plugins.trust, change.create and
change.approve.
The policy spec (docs/spec.md) names the roles or teams allowed each
action; the actions it does not name keep their default.`,
	}
	cmd.AddCommand(newPolicyCheckCmd(a), newPolicyShowCmd(a))
	return cmd
}

func newPolicyShowCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "show",
		Short: "List every action with the roles and teams allowed it",
		Long: `List every action with who may take it (roles or teams) and where that
comes from: "default" or "policy NAME". Also the approval TTL and the mode.
With -o json: {"policy", "policy_name", "approval_ttl", "actions": [{"action",
"allowed", "from"}]}.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			type row struct {
				Action  policy.Action `json:"action"`
				Allowed []string      `json:"allowed"`
				From    string        `json:"from"`
			}
			pol := a.gov.pol
			var rows []row
			for _, act := range policy.Actions {
				who, declared := pol.Allowed(act)
				from := "default"
				if declared {
					from = "policy " + pol.Name()
				}
				rows = append(rows, row{act, orEmpty(who), from})
			}
			ttl := model.Duration(pol.TTL()).String()
			if a.json() {
				return a.writeJSON(struct {
					Mode    policy.Mode `json:"policy"`
					Name    string      `json:"policy_name,omitempty"`
					TTL     string      `json:"approval_ttl"`
					Actions []row       `json:"actions"`
				}{a.policyMode(), pol.Name(), ttl, rows})
			}
			tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ACTION\tALLOWED\tFROM")
			for _, r := range rows {
				who := strings.Join(r.Allowed, ", ")
				if who == "" {
					who = "(admin only)"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Action, who, r.From)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "\nadmin may take every action; approvals expire after %s\n", ttl)
			if a.policyMode() == policy.Open {
				fmt.Fprintln(a.stdout, "mode: open: no people are declared, so anyone may do anything")
			}
			return nil
		},
	}
}

func newPolicyCheckCmd(a *app) *cobra.Command {
	var release, env, run, gate string
	cmd := &cobra.Command{
		Use:   "check ACTION [--release R] [--env E] [--run RUN] [--gate G]",
		Short: "Explain whether you may take an action, and why (exit 0 allowed, 3 refused)",
		Long: `Decide, without acting, whether the current actor (the OS user, or a
delegate's --as) may take ACTION, and explain why: who the actor is, what
they hold, what the action needs, and every rule met or failed. Exit 0 when
allowed, 3 when refused. Nothing is written: a check is not audited.

ACTION is one of: apply, deploy.start, deploy.continue, deploy.approve,
deploy.pause, deploy.resume, deploy.rollback, deploy.abort, deploy.skip,
gate.waive, gate.approve, evidence.add, plugins.trust, change.create,
change.approve; any other is a usage error (exit 2). A name given with --release, --env, --run
or --gate that does not exist is an error (exit 1).

The context makes the check exact:
  --env E     deploy.approve: the actor must hold one of E's approvers
  --gate G    gate.waive, gate.approve: one of G's approvers
  --run RUN   deploy.approve: four-eyes against who started RUN, the
              approvals RUN already has (each person counts once toward
              the environment's quorum), and RUN's next environment when
              --env is not given; gate.waive, gate.approve: four-eyes
              against who started RUN (its waiver's requester)
  --release R the release acted on (must exist); gate.waive, gate.approve
              without --run: four-eyes against who started the release's
              newest unfinished run, as the store holds its starter to
              have asked for the waiver or sign-off

With -o json: {"policy", "allowed", "action", "actor", "login", "person",
"delegate", "roles", "teams", "governance_roles", "needs", "needs_from",
"approvers", "reasons"}.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			act := policy.Action(args[0])
			if !policy.Known(act) {
				hint := "the actions are " + strings.Join(policy.ActionNames(), ", ")
				if s := closest(args[0], policy.ActionNames()); s != "" {
					hint = fmt.Sprintf("did you mean %q? %s", s, hint)
				}
				return usageError{fmt.Errorf("unknown action %q: %s", args[0], hint)}
			}
			ctx := cmd.Context()
			req := policy.Request{Action: act, Release: release, Env: env, Gate: gate, Run: run}
			s, err := store.OpenExisting(ctx, a.dbPath)
			switch {
			case errors.Is(err, store.ErrNoDatabase) && release == "" && env == "" && run == "" && gate == "":
				// No database: open mode, nothing to look up.
			case err != nil:
				return a.openError(err)
			default:
				defer s.Close()
				org, err := s.Org(ctx)
				if err != nil {
					return err
				}
				if err := checkContext(ctx, s, org, a.gov.pol, &req); err != nil {
					return err
				}
			}
			d := a.gov.pol.Decide(a.gov.id, req)
			if a.json() {
				if err := a.writeJSON(d); err != nil {
					return err
				}
			} else {
				verdict := "allowed"
				if !d.Allowed {
					verdict = "refused"
				}
				fmt.Fprintf(a.stdout, "%s: %s for %s\n", verdict, d.Action, a.gov.id.Describe())
				needs := joinOr(d.Needs)
				if needs == "" {
					needs = "admin only"
				}
				fmt.Fprintf(a.stdout, "  needs: %s (%s)\n", needs, d.NeedsFrom)
				if len(d.Approvers) > 0 {
					fmt.Fprintf(a.stdout, "  and one of the approvers: %s\n", strings.Join(d.Approvers, ", "))
				}
				for _, r := range d.Reasons {
					fmt.Fprintf(a.stdout, "  why: %s\n", r)
				}
			}
			if !d.Allowed {
				return silentExit(exitRefused)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&release, "release", "", "the release acted on")
	f.StringVar(&env, "env", "", "the environment: deploy.approve checks its approvers")
	f.StringVar(&run, "run", "", "the run: deploy.approve checks four-eyes against its starter and its approvals so far")
	f.StringVar(&gate, "gate", "", "the gate: gate.waive and gate.approve check its approvers")
	return cmd
}

// checkContext fills the request from the names given, refusing unknown
// ones (exit 1, with the nearest name).
func checkContext(ctx context.Context, s *store.Store, org *model.Org, pol *policy.Policy, req *policy.Request) error {
	ix := model.NewIndex(org)
	if req.Release != "" && ix.Releases[req.Release] == nil {
		return unknownName("release", req.Release, names(org.Releases, func(r model.Release) string { return r.Name }))
	}
	if req.Env != "" && ix.Environments[req.Env] == nil {
		return unknownName("environment", req.Env, names(org.Environments, func(e model.Environment) string { return e.Name }))
	}
	if req.Gate != "" && ix.Gates[req.Gate] == nil {
		return unknownName("gate", req.Gate, names(org.Gates, func(g model.Gate) string { return g.Name }))
	}
	if req.Run != "" {
		r, err := s.LoadRun(ctx, req.Run)
		if errors.Is(err, deploy.ErrNotFound) {
			return fmt.Errorf("unknown run %q: 'warroom deploy status' shows the latest", req.Run)
		}
		if err != nil {
			return err
		}
		if req.Action == policy.DeployApprove {
			env := req.Env
			*req = approvalRequest(r, org, pol.TTL(), time.Now())
			if env != "" && env != req.Env {
				req.Env, req.Prior = env, priorApprovals(r, env, pol.TTL(), time.Now())
			}
		} else if req.Action.SignOff() {
			req.Requester, req.Requested = r.StartedBy, "run "+r.ID
		}
		if req.Release == "" {
			req.Release = r.Release
		}
	}
	if req.Run == "" && req.Release != "" && (req.Action == policy.GateWaive || req.Action == policy.GateApprove) {
		// The store holds the starters of a release's unfinished runs to
		// have asked for its waivers and sign-offs (their runs wait on
		// the gates): the newest one's is the check's requester.
		runs, err := s.Runs(ctx, req.Release, 0)
		if err != nil {
			return err
		}
		for _, r := range runs {
			if !r.State.Terminal() {
				req.Requester, req.Requested = r.StartedBy, "run "+r.ID
				break
			}
		}
	}
	switch {
	case req.Action == policy.DeployApprove && req.Env != "":
		e := ix.Environments[req.Env]
		req.Approvers, req.ApproversOf = e.Approvers, "environment "+e.Name
	case (req.Action == policy.GateWaive || req.Action == policy.GateApprove) && req.Gate != "":
		g := ix.Gates[req.Gate]
		req.Approvers, req.ApproversOf = g.Approvers, "gate "+g.Name
	}
	return nil
}

func names[T any](s []T, name func(T) string) []string {
	out := make([]string, len(s))
	for i, x := range s {
		out[i] = name(x)
	}
	slices.Sort(out)
	return out
}

func unknownName(what, got string, have []string) error {
	if s := closest(got, have); s != "" {
		return fmt.Errorf("unknown %s %q: did you mean %q?", what, got, s)
	}
	return fmt.Errorf("unknown %s %q", what, got)
}

// closest is the name nearest got, within a third of its length.
func closest(got string, names []string) string {
	best, bestD := "", len(got)/3+2
	for _, n := range names {
		if d := editDistance(got, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur := make([]int, len(rb)+1)
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(rb)]
}
