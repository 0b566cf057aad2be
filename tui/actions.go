package tui

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/warroom/warroom/core/deploy"
)

// ConfirmMsg asks the operator a yes/no question in the status line; on
// yes the root runs Run. Destructive actions say what will happen.
type ConfirmMsg struct {
	Question string
	Run      tea.Cmd
}

// FileChangeMsg asks the root to file a change request for a release
// (after confirmation).
type FileChangeMsg struct{ Release string }

// actionResultMsg is the outcome of a command the console issued.
type actionResultMsg struct {
	what string
	ok   string
	err  error
}

// errReadOnly is what a console without a Commander answers.
var errReadOnly = errors.New("this console is read-only (no commander): use the 'warroom deploy' commands")

// act runs f against the commander in the background, with a deadline,
// and reports its outcome as an actionResultMsg.
func (c *Common) act(what string, f func(ctx context.Context, cmd Commander) (string, error)) tea.Cmd {
	cmdr := c.Commander
	return func() tea.Msg {
		if cmdr == nil {
			return actionResultMsg{what: what, err: errReadOnly}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		ok, err := f(ctx, cmdr)
		return actionResultMsg{what: what, ok: ok, err: err}
	}
}

func confirm(question string, run tea.Cmd) tea.Cmd {
	return func() tea.Msg { return ConfirmMsg{Question: question, Run: run} }
}

// startRun asks to start a run of the release.
func (c *Common) startRun(s *Snapshot, release string) tea.Cmd {
	if s != nil && s.runActive() && s.Run.Release == release {
		return c.fail("start", fmt.Errorf("run %s of %s is already %s", s.Run.ID, release, RunStatus(s.Run.State).Word))
	}
	if release == "" {
		return c.fail("start", errors.New("no release in focus: ':release NAME' picks one"))
	}
	q := fmt.Sprintf("Start deploying %s through all its environments as %s? y/n", release, c.actorName())
	if s != nil && s.Org != nil {
		for _, r := range s.Org.Releases {
			if r.Name == release {
				q = fmt.Sprintf("Start deploying %s (%d services) through all its environments as %s? y/n",
					release, len(r.Scope), c.actorName())
			}
		}
	}
	return confirm(q, c.act("start "+release, func(ctx context.Context, cmd Commander) (string, error) {
		id, err := cmd.Start(ctx, release, c.Actor)
		if err != nil {
			return "", err
		}
		return "started run " + id + " of " + release, nil
	}))
}

// operate asks (when the command is destructive) and applies an
// operator's command to the run on show.
func (c *Common) operate(s *Snapshot, command deploy.Command, step int, reason string) tea.Cmd {
	if s == nil || s.Run == nil {
		return c.fail(string(command), errors.New("no run to act on: start one with s on Waves or ':deploy start'"))
	}
	r := s.Run
	if r.State.Terminal() && command != deploy.CmdRollback {
		return c.fail(string(command), fmt.Errorf("run %s has ended (%s)", r.ID, RunStatus(r.State).Word))
	}
	req := deploy.OperatorRequest{Command: command, RunID: r.ID, Actor: c.Actor, Step: step, Reason: reason}
	if req.Reason == "" {
		req.Reason = "from the console"
	}
	run := c.act(string(command), func(ctx context.Context, cmd Commander) (string, error) {
		if err := cmd.Operate(ctx, req); err != nil {
			return "", err
		}
		if command == deploy.CmdSkip {
			return fmt.Sprintf("skip of step %d of run %s recorded", step, r.ID), nil
		}
		return fmt.Sprintf("%s of run %s recorded", command, r.ID), nil
	})
	switch command {
	case deploy.CmdPause, deploy.CmdResume:
		return run
	case deploy.CmdContinue:
		if r.State == deploy.RunAwaitingApproval {
			return confirm(fmt.Sprintf("Approve run %s into %s as %s? y/n", r.ID, nextEnv(r), c.actorName()), run)
		}
		return confirm(fmt.Sprintf("Continue run %s (%s)? y/n", r.ID, RunStatus(r.State).Word), run)
	case deploy.CmdAbort:
		return confirm(fmt.Sprintf("Abort run %s? It stops where it is and nothing is rolled back. y/n", r.ID), run)
	case deploy.CmdRollback:
		return confirm(fmt.Sprintf("Roll back run %s? Its %d finished steps are undone in reverse order. y/n", r.ID, doneSteps(r)), run)
	case deploy.CmdSkip:
		st, ok := r.Step(step)
		if !ok {
			return c.fail("skip", fmt.Errorf("run %s has no step %d", r.ID, step))
		}
		return confirm(fmt.Sprintf("Skip step %d (%s)? It is not deployed, and the run goes on without it. y/n", step, st.Describe()), run)
	}
	return run
}

// fileChange asks to file a change request for the release.
func (c *Common) fileChange(release string) tea.Cmd {
	if release == "" {
		return c.fail("change", errors.New("no release in focus"))
	}
	return confirm(fmt.Sprintf("File a change request for %s with the ticketing plugin, as %s? y/n", release, c.actorName()),
		c.act("change "+release, func(ctx context.Context, cmd Commander) (string, error) {
			id, err := cmd.FileChange(ctx, release, c.Actor)
			if err != nil {
				return "", err
			}
			return "filed change " + id + " for " + release, nil
		}))
}

func (c *Common) fail(what string, err error) tea.Cmd {
	return func() tea.Msg { return actionResultMsg{what: what, err: err} }
}

func (c *Common) actorName() string {
	if c.Actor == "" {
		return "you"
	}
	return c.Actor
}

func nextEnv(r *deploy.Run) string {
	for i := range r.Steps {
		if r.Steps[i].State == deploy.StepPending {
			return r.Steps[i].Env
		}
	}
	return "the next environment"
}

func doneSteps(r *deploy.Run) int {
	n := 0
	for i := range r.Steps {
		if r.Steps[i].State == deploy.StepDone {
			n++
		}
	}
	return n
}

// runCommandLine parses what was typed after ':' — the CLI's verbs — and
// returns what to do. Screen names switch screens.
func (m *Model) runCommandLine(line string) tea.Cmd {
	f := strings.Fields(line)
	if len(f) == 0 {
		return nil
	}
	c, s := m.c, m.view
	rest := func(i int) string {
		if len(f) > i {
			return strings.Join(f[i:], " ")
		}
		return ""
	}
	verb := strings.ToLower(f[0])
	for i, sc := range m.screens {
		if strings.EqualFold(sc.Title(), verb) {
			m.setActive(i)
			return nil
		}
	}
	switch verb {
	case "q", "quit":
		return m.quit()
	case "help":
		m.help.ShowAll = true
		m.resize()
		return nil
	case "release", "focus":
		if len(f) < 2 {
			return c.fail("release", errors.New("usage: release NAME"))
		}
		if s.releaseNamed(f[1]) == nil {
			return c.fail("release", fmt.Errorf("no release %q: %s", f[1], releaseNames(s)))
		}
		m.pinned = f[1]
		m.applySnapshot()
		return nil
	case "change":
		if len(f) < 2 || f[1] != "create" {
			return c.fail("change", errors.New("usage: change create [RELEASE]"))
		}
		rel := s.Focus
		if len(f) > 2 {
			rel = f[2]
		}
		return c.fileChange(rel)
	case "deploy":
		if len(f) < 2 {
			return c.fail("deploy", errors.New("usage: deploy start [RELEASE] | continue | pause | abort | rollback | resume | skip STEP REASON"))
		}
		switch sub := deploy.Command(strings.ToLower(f[1])); sub {
		case "start":
			rel := s.Focus
			if len(f) > 2 {
				rel = f[2]
			}
			return c.startRun(s, rel)
		case "approve":
			return c.operate(s, deploy.CmdContinue, 0, rest(2))
		case deploy.CmdContinue, deploy.CmdPause, deploy.CmdAbort, deploy.CmdRollback, deploy.CmdResume:
			return c.operate(s, sub, 0, rest(2))
		case deploy.CmdSkip:
			if len(f) < 4 {
				return c.fail("skip", errors.New("usage: deploy skip STEP REASON"))
			}
			n, err := strconv.Atoi(f[2])
			if err != nil {
				return c.fail("skip", fmt.Errorf("step %q is not a number", f[2]))
			}
			return c.operate(s, deploy.CmdSkip, n, rest(3))
		default:
			return c.fail("deploy", fmt.Errorf("unknown deploy command %q: start, continue, approve, pause, abort, rollback, resume, skip", f[1]))
		}
	}
	return c.fail(":", fmt.Errorf("unknown command %q: try deploy, change create, release NAME, a screen name, help or quit", f[0]))
}

func releaseNames(s *Snapshot) string {
	if s == nil || s.Org == nil || len(s.Org.Releases) == 0 {
		return "there are none"
	}
	var n []string
	for _, r := range s.Org.Releases {
		n = append(n, r.Name)
	}
	return "one of " + strings.Join(n, ", ")
}
