package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/warroom/warroom/core/calendar"
	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/plan"
	"github.com/warroom/warroom/core/spec"
	"github.com/warroom/warroom/plugins/sdk"
	"github.com/warroom/warroom/store"
)

func newDemoCmd(a *app) *cobra.Command {
	var (
		dir, specDir, release string
		envs                  []string
		bakeScale             float64
		once, approve         bool
		headless              bool
		faults                string
	)
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "The war room on a live local fleet: the demo organisation, ready to deploy",
		Long: `The demo: a fresh database of the demo organisation (testdata/demo) in a
temporary directory, with its release windows moved to now (a demo must
work any day: the windows open now, a freeze in the way moves after
them, and a maintenance window opens for the war room), and the console
open on the first release, deploying on the local fleet (real processes
behind weighted proxies, with traffic).

Governance. The demo declares people and a policy (people.yaml,
policy.yaml), so the policy is enforced. You play the demo's captain:
the person who already lists your OS login, else the captain the release
names (sofia in testdata/demo), else the first person with the captain
role. The demo says so, and adds your OS login to that person's logins
with a generated people overlay, applied and audited as "demo people
overlay" (nothing in the spec files changes). --as is accepted only when
that person is a delegate, as for every command. The demo's CI delegate
(the first person with delegate: true, ci-bot in testdata/demo) imports
the evidence and starts the runs, so that you, who did not start them,
may waive gates and approve production (four-eyes). A spec without
people runs in open mode, the run started by you.

Evidence. The spec's evidence folder (SPEC/evidence, with its
evidence.yaml) is imported before the run, as 'warroom evidence import'
does, and what does not pass its gate is printed. In testdata/demo every
gate passes but one: recommendations covers 63.6 % of its statements,
under coverage's 75 %, and coverage guards staging. The storefront run
waits at staging until the gate is waived: on the Gates screen (4), w
waives the selected cell with a reason; or, from another terminal,
  WARROOM_DB=DIR/warroom.db warroom gate waive storefront-2026-12 \
      --service recommendations --gate coverage --reason TEXT --expires 24h
Then the run continues by itself. Press 5 for Waves; c approves
production; ? shows every key. The second release carries checkout
4.9.0, a version that answers 700 ms late: the canary judge catches it
and the run rolls back (to watch it, start the demo with --release
checkout-2026-12, so that its run too is started by the CI delegate).
Quitting stops every process the demo started; with --dir, the local
fleet of a run not finished keeps running, and warroom on that database
(WARROOM_DB=DIR/warroom.db) resumes the run on it.

With --headless (or without a terminal) there is no console: the release
deploys at once, its progress printed, and the fleet keeps serving until
Ctrl-C (or exit at once with --once).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			// Checked before anything is created (as deploy start does).
			if err := a.checkOutput("text"); err != nil {
				return err
			}
			if err := checkBakeScale(bakeScale); err != nil {
				return err
			}
			ctx := cmd.Context()
			stop, err := a.serveMetrics()
			if err != nil {
				return err
			}
			defer stop()
			temporary := dir == ""
			if dir == "" {
				tmp, err := os.MkdirTemp("", "warroom-demo-") // 0700
				if err != nil {
					return err
				}
				defer os.RemoveAll(tmp)
				if err := os.Chmod(tmp, a.mode().Dir()); err != nil {
					return fmt.Errorf("demo directory: %w", err)
				}
				dir = tmp
			}
			if err := a.mode().MkdirAll(dir); err != nil {
				return fmt.Errorf("demo directory: %w", err)
			}
			a.dbPath = filepath.Join(dir, "warroom.db")
			if f := cmd.Flag("log-file"); (f == nil || !f.Changed) && a.getenv("WARROOM_LOG") == "" {
				a.logFile = filepath.Join(dir, "warroom.log")
			}
			if faults != "" {
				a.plugins.settings = map[string]map[string]string{"localfleet": {"faults": faults}}
			}
			s, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer s.Close()
			// Before the store closes and the temporary directory goes:
			// the fleet outlives the plugins, so it is stopped on purpose.
			defer a.stopLocalFleet(ctx, s, temporary)
			rel, err := a.prepareDemo(ctx, s, specDir, release)
			if err != nil {
				return err
			}
			a.printf("demo database %s (WARROOM_DB); plugin logs in %s\n", a.dbPath, a.logFile)
			cast, err := a.demoGovernance(ctx, s, rel, asFlag(cmd))
			if err != nil {
				return err
			}
			a.printf("%s\n", cast.describe(osLogin(a.getenv), a.actor))
			starter := cast.starter(a.actor)
			imported, err := importDemoEvidence(ctx, s, specDir, starter)
			if err != nil {
				return err
			}
			a.printf("%s\n", imported)
			if faults != "" {
				if org, err := s.Org(ctx); err == nil {
					for _, w := range undeployedFaults(org, faults) {
						a.warn(w)
					}
				}
			}
			// 0 is no bake at all, not the full bake times (BakeScale 0
			// alone means 1).
			opts := deploy.Options{AutoRollback: true, IgnoreLowTraffic: true, BakeScale: bakeScale, NoBake: bakeScale == 0}
			if !headless && !once && isTerminal() {
				// The fleet's plugins start now, and the versions the
				// release replaces come up with traffic; then the CI
				// delegate starts the run (not before: a deploy racing the
				// warm-up would find its target replaced), and the
				// console's serve loop drives it.
				a.printf("demo: %s starts the run of %s once the fleet is warm\n", starter, rel)
				wctx, stopWarming := context.WithCancel(ctx)
				warmed := make(chan struct{})
				go func() {
					defer close(warmed)
					if h, err := a.pluginHost(wctx); err == nil {
						h.List(wctx)
					}
					a.warmFleet(wctx, s, rel)
					if wctx.Err() != nil {
						return
					}
					if _, err := a.startRun(wctx, s, runStart{Release: rel, Environments: splitList(envs), Target: "localfleet", Options: opts, Actor: starter}); err != nil && wctx.Err() == nil {
						a.printf("%s  demo: %s could not start the run of %s: %v\n", time.Now().Format("15:04:05"), starter, rel, err)
					}
				}()
				err = a.runConsole(ctx, s, consoleOptions{Target: "localfleet", Options: opts})
				stopWarming()
				<-warmed
				return err
			}
			org, err := s.Org(ctx)
			if err != nil {
				return err
			}
			ix := model.NewIndex(org)
			p, err := plan.Build(ix, rel)
			if err != nil {
				return err
			}
			r, err := deploy.NewRun(ix, p, deploy.NewRunOptions{ID: newRunID(), Environments: splitList(envs), StartedBy: starter,
				DefaultTarget: "localfleet", Now: time.Now().UTC(),
				Options: opts})
			if err != nil {
				return err
			}
			if err := s.CreateRun(ctx, r, deploy.Audit{Actor: starter, Command: "deploy start",
				Summary: fmt.Sprintf("started run %s of %s through %s (%d steps)", r.ID, r.Release, strings.Join(r.Environments, ", "), len(r.Steps))}); err != nil {
				return err
			}
			a.printf("%s deploying %s through %s: %d steps on the local fleet\n", starter, rel, strings.Join(r.Environments, ", "), len(r.Steps))
			if approve {
				stop := a.autoApprove(ctx, s, r.ID)
				defer stop()
			} else {
				a.printf("approvals: from another terminal, WARROOM_DB=%s warroom deploy continue %s\n", a.dbPath, r.ID)
			}
			err = a.drive(ctx, s, r.ID, false) // the demo waits for its approvals and gates
			a.showFleet(ctx, filepath.Join(dir, "plugin-state", "localfleet", "endpoints.json"))
			if err != nil || once {
				return err
			}
			a.printf("serving: the fleet keeps running until Ctrl-C\n")
			<-ctx.Done()
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "directory for the demo's database and state (default: a temporary one, removed at exit)")
	f.StringVar(&specDir, "spec", "testdata/demo", "the demo organisation's spec files")
	f.StringVar(&release, "release", "", "release to deploy (default: the one whose window opens first)")
	f.StringArrayVar(&envs, "env", nil, "environments to deploy to (repeatable or comma-separated; default: all of the release's)")
	f.Float64Var(&bakeScale, "bake-scale", 0.002, "multiply every bake time (30m becomes 3.6s), from 0 (no bake at all, and no canary judgement) to 1000; anything else is a usage error")
	f.BoolVar(&once, "once", false, "exit when the run ends instead of serving (implies --headless)")
	f.BoolVar(&headless, "headless", false, "no console: deploy the first release at once, printing its progress")
	f.BoolVar(&approve, "approve", false, "headless (--headless, --once or no terminal): approve the run into environments that ask for it (audited as you); in the console, c approves")
	f.StringVar(&faults, "faults", "checkout@4.9.0=latency=700ms",
		"the fleet's faulty versions (SERVICE@VERSION=FAULT[,FAULT...] entries separated by ';'; '' for none): the demo's bad version answers, but slowly, so smoke checks pass and the canary judge catches it")
	commaList(f, "env")
	allowEmpty(f, "faults", "no faulty versions")
	return cmd
}

// prepareDemo applies the demo organisation and the overlay that moves
// its windows to now; it returns the release to deploy.
func (a *app) prepareDemo(ctx context.Context, s *store.Store, specDir, release string) (string, error) {
	set, errs := spec.ParseFiles([]string{specDir})
	if len(errs) > 0 {
		return "", fmt.Errorf("demo spec %s:\n%v", specDir, errs)
	}
	if err := a.applyDemo(ctx, s, "apply", set); err != nil {
		return "", err
	}
	org, err := s.Org(ctx)
	if err != nil {
		return "", err
	}
	if len(org.Releases) == 0 {
		return "", fmt.Errorf("demo spec %s has no releases", specDir)
	}
	if release == "" {
		rels := append([]model.Release(nil), org.Releases...)
		sort.SliceStable(rels, func(i, j int) bool { return rels[i].Window.Start.Before(rels[j].Window.Start) })
		release = rels[0].Name
	}
	overlay := &spec.Set{Files: []string{"(demo overlay)"}}
	for _, o := range demoOverlay(org, time.Now().UTC()) {
		overlay.Sources = append(overlay.Sources, &spec.Source{Object: o, Pos: spec.Pos{File: "(demo overlay)"}})
	}
	if err := a.applyDemo(ctx, s, "demo overlay", overlay); err != nil {
		return "", err
	}
	return release, nil
}

// applyDemo applies a parsed set of the demo in one audited transaction.
func (a *app) applyDemo(ctx context.Context, s *store.Store, command string, set *spec.Set) error {
	res, _, err := applySet(ctx, s, a.actor, command, set, spec.Options{})
	if err != nil {
		return fmt.Errorf("%s: %w\n%v", command, err, res.Errors)
	}
	return nil
}

// demoOverlay moves the demo's calendar to now: every release's window
// opens now for ten hours, freezes and high-impact events in the way move
// after it, and a maintenance window opens for the war room.
func demoOverlay(org *model.Org, now time.Time) []model.Object {
	span := model.Window{Start: now.Add(-10 * time.Minute).Truncate(time.Minute), End: now.Add(10 * time.Hour).Truncate(time.Minute)}
	var out []model.Object
	// The releases keep their order: each window opens a minute after the
	// one before, so the console offers the first release first.
	rels := append([]model.Release(nil), org.Releases...)
	sort.SliceStable(rels, func(i, j int) bool { return rels[i].Window.Start.Before(rels[j].Window.Start) })
	for i, r := range rels {
		r.Window = model.Window{Start: span.Start.Add(time.Duration(i) * time.Minute), End: span.End}
		out = append(out, r)
	}
	for _, c := range org.Calendar {
		if c.Kind == model.Maintenance || c.Start.IsZero() || c.End.IsZero() {
			continue
		}
		if len(calendar.Occurrences(c, span.Start, span.End)) == 0 {
			continue
		}
		shift := span.End.Add(24 * time.Hour).Sub(c.Start)
		c.Start, c.End = c.Start.Add(shift), c.End.Add(shift)
		out = append(out, c)
	}
	out = append(out, model.CalendarItem{Name: "demo-war-room", Kind: model.Maintenance,
		Title:       "The war room is open",
		Description: "Added by 'warroom demo' so the demo's releases fit a maintenance window whatever the day.",
		Start:       span.Start.Add(-5 * time.Minute), End: span.End.Add(5 * time.Minute)})
	return out
}

// showFleet prints where the fleet's proxies are and what one of them
// serves.
func (a *app) showFleet(ctx context.Context, endpointsFile string) {
	b, err := os.ReadFile(endpointsFile)
	if err != nil {
		return
	}
	var eps map[string]string
	if json.Unmarshal(b, &eps) != nil || len(eps) == 0 {
		return
	}
	names := make([]string, 0, len(eps))
	for n := range eps {
		names = append(names, n)
	}
	sort.Strings(names)
	a.printf("the local fleet's proxies (%s):\n", endpointsFile)
	for _, n := range names {
		a.printf("  %-40s %s\n", n, eps[n])
	}
	// The first proxy, from the last, that answers: a full fleet stops
	// the instances of the targets idle longest (evict_idle), and a
	// stopped target's proxy has nothing to show.
	client := &http.Client{Timeout: 2 * time.Second}
	for i := len(names) - 1; i >= 0; i-- {
		url := eps[names[i]]
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/", nil)
		if err != nil {
			continue
		}
		resp, err := client.Do(req)
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			a.printf("  $ curl %s/\n  %s\n", url, strings.TrimSpace(string(body)))
			return
		}
	}
}

// autoApprove approves the run whenever it waits for an approval, as the
// operator who asked for it with --approve; it stops when stop is called.
func (a *app) autoApprove(ctx context.Context, s *store.Store, runID string) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		op := &deploy.Operator{Journal: s, Clock: realClock{}, Approvals: newStoreGates(s)}
		for (realClock{}).Sleep(ctx, 300*time.Millisecond) == nil {
			r, err := s.LoadRun(ctx, runID)
			if err != nil || r.State.Terminal() {
				return
			}
			if r.State == deploy.RunAwaitingApproval {
				_, _ = op.Do(ctx, deploy.OperatorRequest{Command: deploy.CmdContinue, RunID: runID, Actor: a.actor, Reason: "demo --approve"})
			}
		}
	}()
	return func() { cancel(); <-done }
}

// warmFleet brings up on the local fleet, with traffic, the versions the
// release replaces in its first environment: the war room opens on a live
// fleet, and the first canaries have a real baseline. Deploys of one
// target are serialised by the fleet and converge, so a run started
// meanwhile is safe; failures only go to the log.
func (a *app) warmFleet(ctx context.Context, s *store.Store, release string) {
	fail := func(err error) {
		if ctx.Err() != nil {
			return // the console closed: nothing to warm any more
		}
		a.printf("%s  demo: warming the fleet: %v\n", time.Now().Format("15:04:05"), err)
	}
	org, err := s.Org(ctx)
	if err != nil {
		fail(err)
		return
	}
	ix := model.NewIndex(org)
	p, err := plan.Build(ix, release)
	if err != nil {
		fail(err)
		return
	}
	r, err := deploy.NewRun(ix, p, deploy.NewRunOptions{ID: "demo-warm-up", DefaultTarget: "localfleet", Now: time.Now().UTC()})
	if err != nil || len(r.Environments) == 0 {
		fail(fmt.Errorf("no run to warm up for: %v", err))
		return
	}
	h, err := a.pluginHost(ctx)
	if err != nil {
		fail(err)
		return
	}
	target, err := h.DeployTarget(ctx, "localfleet")
	if err != nil {
		fail(err)
		return
	}
	for _, st := range r.Steps {
		if st.Env != r.Environments[0] || st.Kind != deploy.KindService || st.Target != "localfleet" || st.FromVersion == "" {
			continue
		}
		req := sdk.DeployRequest{
			IdempotencyKey: fmt.Sprintf("demo-warm-up/%s/%s/%s", st.Service, st.Env, st.Region),
			Target:         sdk.Target{Service: st.Service, Environment: st.Env, Region: st.Region},
			Version:        st.FromVersion, Strategy: "rolling", Instances: st.Instances,
			ServiceKind: string(st.ServiceKind), Settings: st.Settings,
		}
		if err := target.Deploy(ctx, req, discardEvents{}); err != nil && ctx.Err() == nil {
			fail(fmt.Errorf("%s %s in %s: %w", st.Service, st.FromVersion, st.Where(), err))
		}
	}
}

// discardEvents drops a deployment's progress events.
type discardEvents struct{}

func (discardEvents) Send(sdk.DeployEvent) error { return nil }
