package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
)

// overviewAuditLines is how many of the latest audit events Overview shows.
const overviewAuditLines = 5

// overview is the release in flight at a glance.
type overview struct {
	c     *Common
	lines []string // rendered on SetData; View only joins them
	view  string
}

var _ Screen = (*overview)(nil)

func newOverview(c *Common) *overview { return &overview{c: c} }

func (o *overview) Title() string             { return "Overview" }
func (o *overview) SetSize(int, int)          {}
func (o *overview) Update(tea.Msg) tea.Cmd    { return nil }
func (o *overview) ShortHelp() []key.Binding  { return nil }
func (o *overview) FullHelp() [][]key.Binding { return nil }
func (o *overview) View() string              { return o.view }

func (o *overview) SetData(s *Snapshot) {
	st := o.c.Styles
	var l []string
	label := func(name string) string { return st.Label.Render(fmt.Sprintf("%-10s", name)) }
	if r, ok := s.Release(); ok {
		title := r.Name
		if r.Title != "" {
			title += " — " + r.Title
		}
		l = append(l, label("Release")+title)
		l = append(l, label("Window")+fmt.Sprintf("%s – %s UTC",
			r.Window.Start.UTC().Format("2006-01-02 15:04"), r.Window.End.UTC().Format("2006-01-02 15:04")))
		if r.Captain != "" {
			l = append(l, label("Captain")+r.Captain)
		}
	}
	run := s.Run
	if run == nil {
		l = append(l, label("Run")+st.Muted.Render("no deployment run yet"))
		if s.Focus != "" {
			l = append(l, "", st.Confirm.Render("Ready: "+s.Focus+" has not been deployed"),
				"  deploy it: 5 (Waves), then s — you are asked first; ? shows every key")
		}
	} else {
		line := label("Run") + run.ID + "  " + RunStatus(run.State).Render(st)
		if run.Reason != "" {
			line += " — " + run.Reason
		}
		l = append(l, line)
		l = append(l, label("Progress")+progressLine(run))
		if what, how := waitingOnYou(run); what != "" {
			l = append(l, "", st.Confirm.Render("Waiting on you: "+what), "  "+how)
		}
	}
	l = append(l, "", st.Title.Render("Latest audit events"))
	events := s.Audit
	if len(events) == 0 {
		l = append(l, st.Muted.Render("  none yet"))
	}
	for i := len(events) - 1; i >= 0 && i >= len(events)-overviewAuditLines; i-- {
		l = append(l, "  "+auditLine(events[i]))
	}
	o.lines = l
	o.view = strings.Join(l, "\n")
}

// progressLine counts steps: "12/35 steps done · 1 failed · wave 2 of 4".
func progressLine(r *deploy.Run) string {
	var done, failed, rolled, skipped, waves int
	current := 0
	for _, s := range r.Steps {
		waves = max(waves, s.Wave)
		switch s.State {
		case deploy.StepDone:
			done++
		case deploy.StepFailed:
			failed++
		case deploy.StepRolledBack:
			rolled++
		case deploy.StepSkipped:
			skipped++
		}
		if !s.State.Terminal() && (current == 0 || s.Wave < current) {
			current = s.Wave
		}
	}
	out := fmt.Sprintf("%d/%d steps done", done, len(r.Steps))
	for _, c := range []struct {
		n    int
		word string
	}{{failed, "failed"}, {rolled, "rolled back"}, {skipped, "skipped"}} {
		if c.n > 0 {
			out += fmt.Sprintf(" · %d %s", c.n, c.word)
		}
	}
	if current > 0 && !r.State.Terminal() {
		out += fmt.Sprintf(" · wave %d of %d", current, waves)
	}
	return out
}

// waitingOnYou says what the run needs from an operator, and how to give
// it from this console.
func waitingOnYou(r *deploy.Run) (what, how string) {
	switch r.State {
	case deploy.RunPaused:
		return "the run is paused", "continue it: 5 (Waves), then c — or roll it back with r"
	case deploy.RunAwaitingApproval:
		return "the run awaits approval into " + nextEnv(r), "approve it: 5 (Waves), then c"
	case deploy.RunFailed:
		return "the run failed", "on Waves (5): r rolls back, x skips the failed step, c resumes"
	}
	return "", ""
}

// auditLine is one audit event on one line: seq, UTC time, actor,
// command, summary.
func auditLine(e model.AuditEvent) string {
	return fmt.Sprintf("#%-5d %s  %s %s %s", e.Seq, e.At.UTC().Format("01-02 15:04:05"),
		pad(e.Actor, 10), pad(e.Command, 16), e.Summary)
}
