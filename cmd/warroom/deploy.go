package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/plan"
	"github.com/warroom/warroom/store"
)

func newDeployCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "deploy",
		Short: "Run releases through their waves: start, follow, pause, roll back",
		Long: `Deployment runs: a release's plan executed wave by wave through its
environments and regions, every transition persisted before its effect and
audited, so a run survives a crash of warroom and resumes where it stopped.

A run is driven by the process that holds its lease: 'deploy start --follow',
'deploy resume', the console, or 'warroom serve'. The other commands act on
a run from any process.

A canary with a judge is promoted weight by weight only on the judge's
proof; a bake that ends with no verdict is extended (bake_extension x
bake_time at most, never past the release window), then the run pauses with
"insufficient evidence" and waits: 'deploy continue' promotes the weight
as your decision (audited with the judge's reason), 'deploy rollback' rolls
back, 'deploy resume' leaves it paused. Without a judge (canary_judge: none)
a canary weight is promoted when its bake time is over. See docs/spec.md,
"Canary bakes".

A run's states: pending, running, waiting (on gates), awaiting-approval
(on an approval quorum), paused (for an operator), rolling-back, and the
ends succeeded, failed, aborted, rolled-back. A run "waiting" enters its
next environment by itself once every gate it names is pass or waived
for the services of the wave (evidence added, a gate waived); 'deploy
continue' is refused on it, pause, skip, rollback and abort apply. A run
"awaiting-approval" enters once the environment's quorum of approvers
ran 'deploy continue' (never its starter). See docs/spec.md, "Entering an
environment".`,
	}
	cmd.AddCommand(newDeployStartCmd(a), newDeployStatusCmd(a), newDeployResumeCmd(a), newDeploySkipCmd(a), newDeployRetryCmd(a))
	for _, c := range []struct {
		cmd   deploy.Command
		short string
	}{
		{deploy.CmdContinue, "Continue a paused run, approve it into the next environment, or promote a canary that waits on insufficient evidence"},
		{deploy.CmdPause, "Pause a run: the step in flight finishes, nothing new starts"},
		{deploy.CmdAbort, "Stop a run where it is, without rolling back"},
		{deploy.CmdRollback, "Roll a run back: undo its steps in reverse order"},
	} {
		cmd.AddCommand(newDeployOperatorCmd(a, c.cmd, c.short))
	}
	return cmd
}

func newDeployStartCmd(a *app) *cobra.Command {
	var (
		envs   []string
		follow bool
		wait   bool
		opts   deploy.Options
		target string
		noAuto bool
	)
	cmd := &cobra.Command{
		Use:   "start RELEASE [--env ENV]... [--follow [--wait]]",
		Short: "Start a deployment run of a release",
		Long: `Start a run of the release's plan through the given environments (all of
the release's, in promotion order, when none is given). A blocked plan is
refused (exit 3). With --follow the run is driven here and its progress
shown until it ends, or until it waits on something outside itself.

Entering an environment needs every gate the environment names to be pass
or waived for each service of the wave entering it ('warroom gate status
RELEASE --env ENV'); until then the run is "waiting", with the blocking
(service, gate, state, reason) list in 'deploy status', and it goes on by
itself once evidence ('warroom evidence add') or a waiver ('warroom gate
waive') clears them, checked again every second while it is driven. An
environment with 'approval: true' is entered once 'approvals' (default 1)
distinct people among its 'approvers' approved it with 'deploy continue',
never the run's starter or its delegate, each approval valid for the
policy's approval_ttl; until then the run is "awaiting-approval" and
'deploy status' says "approval 1/2 ...".

Exit codes with --follow:
  0  the run succeeded
  1  the run ended otherwise (failed, rolled back, aborted), or an error
  3  the run waits on something outside itself: gates (evidence or a
     waiver), an approval quorum, or an operator (a paused run, e.g. a
     canary with insufficient evidence or a failed pre-flight check).
     What it waits on is printed (with -o json, the run, whose "wait"
     says it), and the run is left as it is for whoever drives it next
     ('deploy resume', the console, 'warroom serve'). Also 3: a blocked
     plan, or a start the policy refuses.
With --follow --wait the run is followed until it ends, waiting as long
as it waits (what it waits on is printed each time it starts waiting);
exit 0 or 1 as above. --wait without --follow is a usage error (exit 2).

The steps of one wave run side by side, up to --parallel for this run,
else the release's 'parallel' for the environment, else the
environment's (default 10); waves and
environments stay in order. A failing step stops new starts in its wave,
the steps in flight finish, then the run rolls back (or, with
--no-auto-rollback, fails for an operator).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			// The command line is checked before any run is started (the
			// policy decided first, in PersistentPreRunE): a usage error
			// starts no run.
			if wait && !follow {
				return usageError{errors.New("--wait only applies with --follow")}
			}
			if err := checkBakeScale(opts.BakeScale); err != nil {
				return err
			}
			if cmd.Flags().Changed("bake-scale") && opts.BakeScale == 0 {
				opts.NoBake = true
			}
			if opts.Parallel < 0 {
				return usageError{fmt.Errorf("--parallel must be 0 (each environment's own limit) or more, got %d", opts.Parallel)}
			}
			ctx := cmd.Context()
			s, err := a.openExisting(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			opts.AutoRollback = !noAuto
			r, err := a.startRun(ctx, s, runStart{Release: args[0], Environments: splitList(envs), Target: target, Options: opts, Actor: a.actor})
			if err != nil {
				return err
			}
			if !follow {
				if a.json() {
					return a.writeJSON(r)
				}
				fmt.Fprintf(a.stdout, "run %s started: %s through %s, %d steps\n", r.ID, r.Release, strings.Join(r.Environments, ", "), len(r.Steps))
				fmt.Fprintf(a.stdout, "it is driven by the console, 'warroom serve' or 'warroom deploy resume %s'\n", r.ID)
				return nil
			}
			return a.drive(ctx, s, r.ID, !wait)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&envs, "env", nil, "environment to deploy to (repeatable or comma-separated; default: all of the release's)")
	f.BoolVar(&follow, "follow", false, "drive the run here and show its progress until it ends; exit 3 as soon as it waits on gates, an approval or an operator")
	f.BoolVar(&wait, "wait", false, "with --follow: keep following while the run waits on gates, an approval or an operator, until it ends")
	f.BoolVar(&noAuto, "no-auto-rollback", false, "on failure, stop for an operator instead of rolling back")
	f.BoolVar(&opts.IgnoreLowTraffic, "ignore-low-traffic", false, "start production regions at once, not at their low-traffic windows")
	f.Float64Var(&opts.BakeScale, "bake-scale", 1, "multiply every bake time (e.g. 0.01 for a demo), from 0 (no bake at all) to 1000; anything else is a usage error")
	f.IntVar(&opts.Parallel, "parallel", 0, "deploy up to N steps of one wave at once in every environment (0: the release's 'parallel' for the environment, else the environment's, else 10)")
	f.StringVar(&target, "target", "localfleet", "deploy target for services and environments that name none")
	f.StringVar(&opts.OutsideWindow, "outside-window", "", "REASON: break glass, deploy outside the release window (recorded and audited; freezes still apply)")
	commaList(f, "env")
	return cmd
}

// runStart is what starting a run needs.
type runStart struct {
	Release      string
	Environments []string // empty: all of the release's
	Target       string   // for services and environments that name none
	Options      deploy.Options
	Actor        string
}

// startRun plans the release and records a new run of it (audited); a
// blocked plan is refused (exit 3). The run is driven by whoever takes
// its lease.
func (a *app) startRun(ctx context.Context, s *store.Store, rs runStart) (*deploy.Run, error) {
	org, err := s.Org(ctx)
	if err != nil {
		return nil, err
	}
	ix := model.NewIndex(org)
	p, err := plan.Build(ix, rs.Release)
	if errors.Is(err, plan.ErrUnknownRelease) {
		return nil, unknownRelease(rs.Release, org)
	}
	if err != nil {
		return nil, err
	}
	r, err := deploy.NewRun(ix, p, deploy.NewRunOptions{
		ID: newRunID(), Environments: rs.Environments, StartedBy: rs.Actor,
		DefaultTarget: rs.Target, Options: rs.Options, Now: time.Now().UTC(),
	})
	if err != nil {
		if p.Blocked() {
			return nil, withCode(exitRefused, err)
		}
		return nil, err
	}
	if err := s.CreateRun(ctx, r, deploy.Audit{Actor: rs.Actor, Command: "deploy start",
		Summary: fmt.Sprintf("started run %s of %s through %s (%d steps)", r.ID, r.Release, strings.Join(r.Environments, ", "), len(r.Steps)),
		Payload: map[string]any{"run": r.ID, "release": r.Release, "environments": r.Environments, "options": r.Options}}); err != nil {
		return nil, err
	}
	return r, nil
}

func splitList(vals []string) []string {
	var out []string
	for _, v := range vals {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// newRunID is sortable by time and unique across processes.
func newRunID() string {
	b := make([]byte, 2)
	_, _ = rand.Read(b)
	return "run-" + time.Now().UTC().Format("20060102-150405") + "-" + hex.EncodeToString(b)
}

func newDeployStatusCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "status [RUN]",
		Short: "A run's state and steps (default: the latest run)",
		Long: `A run's state, why it is in it, and its steps. Below a canary step the
canary judge ruled on, its latest ruling in one line: the verdict
(promote, continue, pause, rollback) and the reason, which names each test,
the values observed, the e-value and its threshold, and for a promotion the
bound it proved.

A run that waits on something outside itself says on what: the gates
blocking its next environment (service, gate, state, reason), the
approvals it has and needs, or why it is paused for an operator.

With -o json, the run as it is stored. While it is waiting or
awaiting-approval, "wait" is {"env", "since", "gates": [{"service",
"gate", "state", "reason"}], "approval": {"have", "need", "approvers",
"by", "reason"}}; it is absent otherwise. A judged canary step's "evidence" is
{"verdict", "reason", "evidence", "bake"}: "evidence" holds the judge's
fields ("metrics": each rollback test with its "test", the cohorts'
"requests", "events" and "rate", "e_value", "threshold", "rejected";
"proofs": each promotion proof with its "claim", "confidence", "limit",
"e_value", "threshold", "proved"; "insufficient" when a bake ended with
neither: "requests", "more_requests", "canary_rps", "more_s"); "bake" is
there once its bake was extended: "weight", "started", "extensions",
"until", "limit", "limit_by", "awaiting_operator" (the run waits for an
operator: 'deploy continue' promotes the weight without proof, 'deploy
rollback' rolls back) and "promoted_by" (the operator who did).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			s, err := a.openExisting(cmd.Context())
			if err != nil {
				return err
			}
			defer s.Close()
			r, err := loadRun(cmd.Context(), s, args)
			if err != nil {
				return err
			}
			if a.json() {
				return a.writeJSON(r)
			}
			printRun(a.stdout, r)
			return nil
		},
	}
}

func loadRun(ctx context.Context, s *store.Store, args []string) (*deploy.Run, error) {
	var (
		r   *deploy.Run
		err error
	)
	if len(args) == 0 {
		r, err = s.LatestRun(ctx, "")
		if errors.Is(err, deploy.ErrNotFound) {
			return nil, errors.New("no runs yet: start one with 'warroom deploy start RELEASE'")
		}
	} else {
		r, err = s.LoadRun(ctx, args[0])
		if errors.Is(err, deploy.ErrNotFound) {
			return nil, fmt.Errorf("unknown run %q: 'warroom deploy status' shows the latest", args[0])
		}
	}
	return r, err
}

// printRun writes a run as a table of its steps.
func printRun(w io.Writer, r *deploy.Run) {
	fmt.Fprintf(w, "run %s  release %s  %s\n", r.ID, r.Release, strings.ToUpper(string(r.State)))
	if r.Reason != "" {
		fmt.Fprintf(w, "  %s\n", oneLine(r.Reason))
	}
	fmt.Fprintf(w, "  started by %s at %s; environments %s\n", r.StartedBy, r.CreatedAt.UTC().Format("2006-01-02 15:04:05 UTC"), strings.Join(r.Environments, ", "))
	if waitsOutside(r.State) {
		printWaits(w, r, "  ", false)
	}
	if flight := inFlight(r); len(flight) > 0 {
		fmt.Fprintf(w, "  in flight (%d): %s\n", len(flight), strings.Join(flight, ", "))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%4s  %4s  %-22s  %-28s  %-10s  %-12s  %s\n", "STEP", "WAVE", "WHERE", "WHAT", "STRATEGY", "STATE", "PROGRESS")
	for _, s := range r.Steps {
		whereS := s.Env
		if s.Region != "" {
			whereS += "/" + s.Region
		}
		what := s.Service + " " + s.Version
		if s.Kind == deploy.KindMigration {
			what = s.Migration + " " + string(s.Phase)
		}
		progress := s.Progress
		if s.Error != "" {
			progress = oneLine(s.Error)
		}
		fmt.Fprintf(w, "%4d  %4d  %-22s  %-28s  %-10s  %-12s  %s\n", s.Index, s.Wave, whereS, what, s.Strategy, stepSymbol(s.State)+" "+string(s.State), progress)
		if ev, ok := s.Judged(); ok && ev.Reason != "" {
			// The judge's latest ruling on a canary, in one line.
			fmt.Fprintf(w, "%12s%s: %s\n", "", ev.Verdict, oneLine(ev.Reason))
		}
	}
}

// inFlight names the steps between their start and their end, side by
// side in one wave: "12 payments (deploying)".
func inFlight(r *deploy.Run) []string {
	var out []string
	for _, s := range r.Steps {
		switch s.State {
		case deploy.StepPreflight, deploy.StepDeploying, deploy.StepVerifying, deploy.StepBaking, deploy.StepRollingBack:
			out = append(out, fmt.Sprintf("%d %s/%s (%s)", s.Index, s.Service, s.Where(), s.State))
		}
	}
	return out
}

// stepSymbol shows a state by a symbol as well as a word.
func stepSymbol(s deploy.StepState) string {
	switch s {
	case deploy.StepDone:
		return "✓"
	case deploy.StepFailed:
		return "✗"
	case deploy.StepSkipped:
		return "»"
	case deploy.StepRolledBack, deploy.StepRollingBack:
		return "↺"
	case deploy.StepPending:
		return "·"
	}
	return "▸"
}

func newDeployOperatorCmd(a *app, c deploy.Command, short string) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   string(c) + " RUN",
		Short: short,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.operate(cmd.Context(), deploy.OperatorRequest{Command: c, RunID: args[0], Actor: a.actor, Reason: reason})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit trail")
	return cmd
}

func newDeployRetryCmd(a *app) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "retry RUN STEP",
		Short: "Try a failed step again, as a new attempt",
		Long: `Try a failed step again: the step goes back to pending and runs as a new
attempt, with a new idempotency key, and the run goes on. It is the way on
after a step failed (a crash, a hang past its timeout, a failed check)
without the automatic rollback: 'deploy continue' only retries a step that
changed nothing, and 'deploy skip' only skips one. Refused (exit 3) unless
the step failed and the run is running, paused or failed.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			step, err := parseStep(args[1])
			if err != nil {
				return err
			}
			return a.operate(cmd.Context(), deploy.OperatorRequest{Command: deploy.CmdRetry, RunID: args[0], Actor: a.actor, Step: step, Reason: reason})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why, for the audit trail")
	return cmd
}

// maxBakeScale bounds --bake-scale: 1000 times a 30m bake is three
// weeks, and a scale near the float's range overflowed the bake's
// duration.
const maxBakeScale = 1000

// checkBakeScale refuses a --bake-scale that is not a number from 0 (no
// bake) to maxBakeScale (NaN and Inf parse as floats).
func checkBakeScale(x float64) error {
	if !(x >= 0 && x <= maxBakeScale) {
		return usageError{fmt.Errorf("--bake-scale must be a number from 0 (no bake) to %d, got %g", maxBakeScale, x)}
	}
	return nil
}

// parseStep reads a STEP argument: digits and nothing else (fmt.Sscan
// read "3abc" as step 3, and "2 7" as step 2; Atoi alone takes "+3").
func parseStep(arg string) (int, error) {
	step, err := strconv.Atoi(arg)
	if err != nil || strings.TrimLeft(arg, "0123456789") != "" {
		return 0, usageError{fmt.Errorf("STEP must be a step number, got %q", arg)}
	}
	return step, nil
}

func newDeploySkipCmd(a *app) *cobra.Command {
	var reason string
	cmd := &cobra.Command{
		Use:   "skip RUN STEP --reason TEXT",
		Short: "Skip a pending step (or one that failed before changing anything)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			step, err := parseStep(args[1])
			if err != nil {
				return err
			}
			return a.operate(cmd.Context(), deploy.OperatorRequest{Command: deploy.CmdSkip, RunID: args[0], Actor: a.actor, Step: step, Reason: reason})
		},
	}
	cmd.Flags().StringVar(&reason, "reason", "", "why the step is skipped (required: without it the skip is refused, exit 3)")
	return cmd
}

// operate applies an operator's command; a command the run's state does
// not allow exits 3 with the reason.
func (a *app) operate(ctx context.Context, req deploy.OperatorRequest) error {
	if err := a.checkOutput("text", "json"); err != nil {
		return err
	}
	s, err := a.openExisting(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	op := &deploy.Operator{Journal: s, Clock: realClock{}, Approvals: newStoreGates(s)}
	r, err := op.Do(ctx, req)
	var refused *deploy.RefusedError
	switch {
	case errors.As(err, &refused):
		return withCode(exitRefused, err)
	case errors.Is(err, deploy.ErrNotFound):
		return fmt.Errorf("unknown run %q: 'warroom deploy status' shows the latest", req.RunID)
	case err != nil:
		return err
	}
	if a.json() {
		return a.writeJSON(r)
	}
	fmt.Fprintf(a.stdout, "run %s is %s", r.ID, r.State)
	if r.Reason != "" {
		fmt.Fprintf(a.stdout, ": %s", oneLine(r.Reason))
	}
	fmt.Fprintln(a.stdout)
	return nil
}

func newDeployResumeCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "resume RUN",
		Short: "Drive a run in this process (take it over from a dead one) until it ends",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := a.checkOutput("text", "json"); err != nil {
				return err
			}
			ctx := cmd.Context()
			s, err := a.openExisting(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			op := &deploy.Operator{Journal: s, Clock: realClock{}}
			var refused *deploy.RefusedError
			if _, err := op.Do(ctx, deploy.OperatorRequest{Command: deploy.CmdResume, RunID: args[0], Actor: a.actor}); errors.As(err, &refused) {
				return withCode(exitRefused, err)
			} else if errors.Is(err, deploy.ErrNotFound) {
				return fmt.Errorf("unknown run %q", args[0])
			} else if err != nil {
				return err
			}
			return a.drive(ctx, s, args[0], false)
		},
	}
}

// engine is a deploy engine of this process over the store and the
// configured deploy targets, printing what happens with prefix.
func (a *app) engine(ctx context.Context, s *store.Store, prefix string) (*deploy.Engine, error) {
	targets, err := a.deployTargets(ctx)
	if err != nil {
		return nil, err
	}
	judge, err := a.canaryJudge(ctx, s)
	if err != nil {
		return nil, err
	}
	alerts, err := a.alertSources(ctx)
	if err != nil {
		return nil, err
	}
	// The judge and the gate see the same configuration: the host's.
	ph, err := a.pluginHost(ctx)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	gc := newStoreGates(s)
	e := &deploy.Engine{
		Gates:     gc,
		GatePoll:  time.Second,
		Approvals: gc,
		Judge:     judge,
		Journal:   s,
		Targets:   targets,
		Clock:     realClock{},
		Gate:      canaryJudgeGate{next: &deploy.PolicyGate{Org: s.Org, Version: s.ObjectsVersion}, cfg: ph.Config()},
		Owner:     fmt.Sprintf("%s:%d:%s", host, os.Getpid(), newRunID()[len("run-20060102-150405-"):]),
		Poll:      500 * time.Millisecond,
		Dead:      deadOwner,
		OnChange: func(r *deploy.Run, what string) {
			if !a.json() {
				a.printf("%s  %s%s\n", time.Now().Format("15:04:05"), prefix, oneLine(what))
			}
		},
	}
	if alerts != nil {
		e.Alerts = alerts
	}
	a.metrics.instrument(e) // last: it wraps OnChange and the judge
	return e, nil
}

// printf writes to stdout; engines of several runs may print at once.
func (a *app) printf(format string, args ...any) {
	a.outMu.Lock()
	defer a.outMu.Unlock()
	fmt.Fprintf(a.stdout, format, args...)
}

// errWaitsOutside stops a followed run that waits on something outside
// itself: CI must not hang silently on it.
var errWaitsOutside = errors.New("the run waits on something outside itself")

// waitsOutside reports whether a run in state st waits on someone or
// something else: gates (evidence, a waiver), an approval, an operator.
func waitsOutside(st deploy.RunState) bool {
	return st == deploy.RunWaiting || st == deploy.RunAwaitingApproval || st == deploy.RunPaused
}

// drive runs the engine on a run here, printing its progress, until it
// ends; exit 0 only if it succeeded. With stopOnWait it stops as soon as
// the run waits on something outside itself, says what, and exits 3;
// otherwise it says what each time the run starts waiting, and waits.
func (a *app) drive(ctx context.Context, s *store.Store, runID string, stopOnWait bool) error {
	stop, err := a.serveMetrics()
	if err != nil {
		return err
	}
	defer stop()
	e, err := a.engine(ctx, s, "")
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var waited deploy.RunState
	printed := e.OnChange
	e.OnChange = func(r *deploy.Run, what string) {
		if printed != nil {
			printed(r, what)
		}
		switch {
		case !waitsOutside(r.State):
			waited = ""
		case stopOnWait:
			cancel(errWaitsOutside)
		case waited != r.State && !a.json():
			waited = r.State
			a.outMu.Lock()
			printWaits(a.stdout, r, "  ", true)
			a.outMu.Unlock()
		}
	}
	if stopOnWait {
		// A run an operator paused from another process changes with no
		// commit of this engine: look at its header (one row) too.
		go func() {
			for (realClock{}).Sleep(ctx, time.Second) == nil {
				if h, err := s.RunHeader(ctx, runID); err == nil && waitsOutside(h.State) {
					cancel(errWaitsOutside)
					return
				}
			}
		}()
	}
	r, err := e.Drive(ctx, runID)
	if errors.Is(err, errWaitsOutside) {
		if r, err = s.LoadRun(context.WithoutCancel(ctx), runID); err != nil {
			return err
		}
		if a.json() {
			if err := a.writeJSON(r); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(a.stdout, "run %s %s\n", r.ID, r.State)
			printWaits(a.stdout, r, "", true)
			fmt.Fprintf(a.stdout, "the run stays %s; it goes on when driven ('warroom deploy resume %s', the console, 'warroom serve'); --follow --wait waits here\n", r.State, r.ID)
		}
		return silentExit(exitRefused)
	}
	if err != nil {
		if errors.Is(err, deploy.ErrLeaseHeld) {
			return fmt.Errorf("run %s: %w", runID, err)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted (%v): run %s stays %s and resumes with 'warroom deploy resume %s'", context.Cause(ctx), runID, stateOf(r), runID)
		}
		return err
	}
	if a.json() {
		if err := a.writeJSON(r); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(a.stdout, "run %s %s", r.ID, r.State)
		if r.Reason != "" {
			fmt.Fprintf(a.stdout, ": %s", oneLine(r.Reason))
		}
		fmt.Fprintln(a.stdout)
	}
	if r.State != deploy.RunSucceeded {
		return silentExit(exitError)
	}
	return nil
}

func stateOf(r *deploy.Run) deploy.RunState {
	if r == nil {
		return "as it was"
	}
	return r.State
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now().UTC() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// deadOwner reports whether a lease owner ("host:pid:nonce") is a process
// of this host that no longer exists: its runs need not wait for the
// lease to expire. A pid reused by another process only makes warroom
// wait for the expiry, never take a live run.
func deadOwner(owner string) bool {
	parts := strings.Split(owner, ":")
	if len(parts) != 3 {
		return false
	}
	host, _ := os.Hostname()
	pid, err := strconv.Atoi(parts[1])
	if parts[0] != host || err != nil || pid <= 0 {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

// printWaits says what a run waits on outside itself, and who can give
// it: the gates blocking the next environment (with their states and
// reasons), the approvals it has and needs, or the operator's decision a
// paused run waits for. withReason repeats a paused run's reason (its
// status prints it above already).
func printWaits(w io.Writer, r *deploy.Run, indent string, withReason bool) {
	switch r.State {
	case deploy.RunWaiting:
		if r.Wait == nil || len(r.Wait.Gates) == 0 {
			fmt.Fprintf(w, "%swaits on gates: %s\n", indent, oneLine(r.Reason))
			return
		}
		fmt.Fprintf(w, "%swaits to enter %s on %d %s (since %s):\n", indent, r.Wait.Env, len(r.Wait.Gates),
			plural(len(r.Wait.Gates), "gate", "gates"), r.Wait.Since.UTC().Format("15:04:05 UTC"))
		for _, b := range r.Wait.Gates {
			fmt.Fprintf(w, "%s  %-20s  %-16s  %-8s  %s\n", indent, b.Service, b.Gate, b.State, oneLine(b.Reason))
		}
		fmt.Fprintf(w, "%sit goes on by itself once each is pass or waived: 'warroom evidence add %s --service S --gate G FILE' or 'warroom gate waive %s --service S --gate G --reason TEXT --expires WHEN'\n",
			indent, r.Release, r.Release)
	case deploy.RunAwaitingApproval:
		if r.Wait == nil || r.Wait.Approval == nil {
			fmt.Fprintf(w, "%swaits for an approval: %s\n", indent, oneLine(r.Reason))
			return
		}
		ap := r.Wait.Approval
		who := "anyone who may approve an environment entry"
		if len(ap.Approvers) > 0 {
			who = strings.Join(ap.Approvers, " or ")
		}
		fmt.Fprintf(w, "%swaits for approval to enter %s: %d/%d (%s)\n", indent, r.Wait.Env, ap.Have, ap.Need, oneLine(ap.Reason))
		fmt.Fprintf(w, "%s'warroom deploy continue %s' approves; by %s, not %s (who started it)\n", indent, r.ID, who, r.StartedBy)
	case deploy.RunPaused:
		what := "an operator"
		if strings.HasPrefix(r.Reason, deploy.ReasonInsufficient) {
			what = "an operator's decision on insufficient evidence"
		}
		if withReason {
			fmt.Fprintf(w, "%swaits for %s: %s\n", indent, what, oneLine(r.Reason))
		} else {
			fmt.Fprintf(w, "%swaits for %s (above)\n", indent, what)
		}
		fmt.Fprintf(w, "%s'warroom deploy continue %s' goes on; 'deploy rollback' or 'deploy abort' stop it\n", indent, r.ID)
	}
}
