package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"golang.org/x/term"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/policy"
	"github.com/warroom/warroom/store"
	"github.com/warroom/warroom/tui"
)

// consoleOptions are how the console starts runs.
type consoleOptions struct {
	Target  string
	Options deploy.Options
}

func defaultConsoleOptions() consoleOptions {
	return consoleOptions{Target: "localfleet", Options: deploy.Options{AutoRollback: true}}
}

// openConsole runs the war-room console on the database until the
// operator quits.
func (a *app) openConsole(ctx context.Context) error {
	s, err := a.openExisting(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	err = a.runConsole(ctx, s, defaultConsoleOptions())
	a.stopLocalFleet(ctx, s, false)
	return err
}

// runConsole shows the console on this terminal. While it is open this
// process also drives every unfinished run whose lease is free (those
// the console starts, and those of processes that died), as 'warroom
// serve' does; the engines' lines go to the log file, never the screen.
func (a *app) runConsole(ctx context.Context, s *store.Store, opts consoleOptions) error {
	if !isTerminal() {
		return withCode(exitUsage, errors.New("the console needs a terminal: run warroom in one, or use its commands ('warroom --help')"))
	}
	logf, err := a.openLog()
	if err != nil {
		return err
	}
	defer logf.Close()
	// Nothing but the console may write to the terminal while it is open.
	a.outMu.Lock()
	stdout, stderr := a.stdout, a.stderr
	a.stdout, a.stderr, a.stderrIsLog = logf, logf, true
	a.outMu.Unlock()
	defer func() {
		a.outMu.Lock()
		a.stdout, a.stderr, a.stderrIsLog = stdout, stderr, false
		a.outMu.Unlock()
	}()

	stop, err := a.serveMetrics()
	if err != nil {
		return err
	}
	defer stop()
	ctx, cancel := context.WithCancel(ctx)
	src := newConsoleSource(a, s)
	gov := newConsoleGovernance(ctx, a, s)
	src.gov = gov
	served := make(chan error, 1)
	go func() {
		// Runs are driven once the console has read its first data:
		// taking a run over (reading its plan, asking the target about
		// the steps in flight) would compete with the first frame.
		select {
		case <-src.loaded:
		case <-ctx.Done():
			served <- nil
			return
		}
		served <- a.serve(ctx, s, time.Second)
	}()
	defer func() {
		cancel()
		if err := <-served; err != nil {
			fmt.Fprintf(logf, "%s  console: driving runs: %v\n", time.Now().Format("15:04:05"), err)
		}
	}()

	// The renderer asks the terminal for its background colour (to pick
	// adaptive colours) on first use. Ask now, before the program reads
	// the keyboard: asked later, the terminal's answer races the key
	// reader, and the query swallows the next key or hangs the first
	// frame until one is pressed.
	renderer := lipgloss.NewRenderer(os.Stdout)
	renderer.HasDarkBackground()
	cmdr := &consoleCommander{a: a, s: s, opts: opts, gov: gov}
	m := tui.New(tui.Deps{
		Source:    src,
		Renderer:  renderer,
		Now:       time.Now,
		Actor:     a.actor,
		Commander: cmdr,
		Gates:     cmdr,
	})
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithMouseCellMotion(), tea.WithContext(ctx))
	if _, err := p.Run(); err != nil && !errors.Is(err, tea.ErrProgramKilled) {
		return fmt.Errorf("console: %w", err)
	}
	return nil
}

// isTerminal reports whether warroom talks to a person at a terminal.
func isTerminal() bool {
	return term.IsTerminal(int(os.Stdout.Fd())) && term.IsTerminal(int(os.Stdin.Fd()))
}

// consoleCommander carries out the console's commands on the store; the
// runs it starts are driven by the console's own serve loop.
type consoleCommander struct {
	a    *app
	s    *store.Store
	opts consoleOptions
	// gov is who acts, kept current (shared with the source); made from
	// the app's on first use when not given.
	gov   *consoleGovernance
	actMu sync.Mutex
}

var _ tui.Commander = (*consoleCommander)(nil)

func (c *consoleCommander) Start(ctx context.Context, release, _ string) (string, error) {
	var id string
	err := c.act(ctx, func() error {
		if err := c.authorize(ctx, "warroom deploy start", policy.Request{Action: policy.DeployStart, Release: release}); err != nil {
			return err
		}
		r, err := c.a.startRun(ctx, c.s, runStart{Release: release, Target: c.opts.Target, Options: c.opts.Options, Actor: c.a.actor})
		if err != nil {
			return err
		}
		id = r.ID
		return nil
	})
	return id, err
}

// Operate applies an operator's command to a run once the policy allows
// it: continuing a run that awaits approval is deploy.approve, with the
// environment's approvers, its quorum and four-eyes against the starter.
func (c *consoleCommander) Operate(ctx context.Context, req deploy.OperatorRequest) error {
	if _, known := operatorActions[req.Command]; !known {
		return fmt.Errorf("unknown operator command %q", req.Command)
	}
	return c.act(ctx, func() error {
		r, err := c.s.LoadRun(ctx, req.RunID)
		if errors.Is(err, deploy.ErrNotFound) {
			return fmt.Errorf("unknown run %q", req.RunID)
		}
		if err != nil {
			return fmt.Errorf("read run %s: %w", req.RunID, err)
		}
		org, err := governanceOrg(ctx, c.s)
		if err != nil {
			return fmt.Errorf("read the people and policy: %w", err)
		}
		if err := c.authorize(ctx, operatorCommandPath(req.Command), c.a.operatorRequest(r, req.Command, org)); err != nil {
			return err
		}
		// The actor is the console's, as resolved now.
		req.Actor = c.a.actor
		_, err = (&deploy.Operator{Journal: c.s, Clock: realClock{}}).Do(ctx, req)
		if errors.Is(err, deploy.ErrNotFound) {
			return fmt.Errorf("unknown run %q", req.RunID)
		}
		return err
	})
}
