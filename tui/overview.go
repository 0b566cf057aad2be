package tui

import (
	"fmt"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
	"github.com/warroom/warroom/core/plan"
)

// overviewAuditLines is how many of the latest audit events Overview shows.
const overviewAuditLines = 5

// overview is the release in flight at a glance. Its lines wrap to the
// width and scroll, so a narrow terminal loses nothing.
type overview struct {
	c      *Common
	keys   listKeys
	lines  []string // logical lines, built on SetData
	hangs  []int    // where each logical line's continuation starts (0: from its own indent)
	view   []string // lines wrapped to the width
	width  int
	height int
	offset int
	// The plan of the release in focus, kept while the organisation and
	// the focus are the same (planning 5,000 services is not per frame).
	planOrg   *model.Org
	planFocus string
	plan      *plan.Plan
}

var _ Screen = (*overview)(nil)

// labelWidth is the width of the Overview's labels ("Release   ").
const labelWidth = 10

func newOverview(c *Common) *overview { return &overview{c: c, keys: defaultListKeys()} }

func (o *overview) Title() string { return "Overview" }

func (o *overview) ShortHelp() []key.Binding {
	if len(o.view) > o.height {
		return []key.Binding{o.keys.Up, o.keys.Down}
	}
	return nil
}

func (o *overview) FullHelp() [][]key.Binding {
	return [][]key.Binding{{o.keys.Up, o.keys.Down, o.keys.PageUp, o.keys.PageDown}}
}

func (o *overview) SetSize(w, h int) {
	o.width, o.height = w, h
	o.wrap()
}

func (o *overview) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, o.keys.Up):
			o.offset--
		case key.Matches(msg, o.keys.Down):
			o.offset++
		case key.Matches(msg, o.keys.PageUp):
			o.offset -= o.height
		case key.Matches(msg, o.keys.PageDown):
			o.offset += o.height
		}
	case tea.MouseMsg:
		switch msg.Button {
		case tea.MouseButtonWheelUp:
			o.offset--
		case tea.MouseButtonWheelDown:
			o.offset++
		}
	}
	o.offset = min(max(0, o.offset), max(0, len(o.view)-o.height))
	return nil
}

func (o *overview) View() string {
	end := min(len(o.view), o.offset+o.height)
	lines := o.view[min(o.offset, end):end]
	if end < len(o.view) && len(lines) > 0 {
		// Say there is more rather than cut it silently.
		lines = append(lines[:len(lines)-1:len(lines)-1], o.c.Styles.Muted.Render(fmt.Sprintf("↓ %d more lines (j/k scroll)", len(o.view)-end+1)))
	}
	return strings.Join(lines, "\n")
}

// wrap wraps the logical lines to the width. A wrapped line goes on
// under its value, not at the margin: a labelled line under the value
// column (labelWidth), an item of a list ("  ✗ ...") two cells in from
// the item, so the labels and bullets stay a column of their own.
func (o *overview) wrap() {
	o.view = o.view[:0]
	for i, l := range o.lines {
		if l == "" {
			o.view = append(o.view, "")
			continue
		}
		hang := 0
		if i < len(o.hangs) {
			hang = o.hangs[i]
		}
		if hang == 0 {
			plain := ansi.Strip(l)
			if indent := len(plain) - len(strings.TrimLeft(plain, " ")); indent > 0 {
				hang = indent + 2
			}
		}
		o.view = append(o.view, wrapHangingAt(l, o.width, hang)...)
	}
	o.offset = min(max(0, o.offset), max(0, len(o.view)-o.height))
}

// wrapHangingAt wraps l to width, its first line using the whole width
// and the others indented by hang (no hang, or too little room: plain
// wrapping).
func wrapHangingAt(l string, width, hang int) []string {
	lines := wrapLines(l, width)
	if len(lines) <= 1 || hang == 0 || width-hang < 20 {
		return lines
	}
	first := lines[0]
	// The rest of l after the first line's cells, without the blank the
	// line broke at (styles are kept: TruncateLeft skips cells, not
	// escape sequences).
	rest := ansi.TruncateLeft(l, ansi.StringWidth(first), "")
	for strings.HasPrefix(ansi.Strip(rest), " ") {
		rest = ansi.TruncateLeft(rest, 1, "")
	}
	out := []string{first}
	for _, wl := range wrapLines(rest, width-hang) {
		out = append(out, strings.Repeat(" ", hang)+wl)
	}
	return out
}

// focusPlan is the plan of the release in focus, cached.
func (o *overview) focusPlan(s *Snapshot) *plan.Plan {
	if s.Org == nil || s.Focus == "" {
		return nil
	}
	if s.Org != o.planOrg || s.Focus != o.planFocus {
		o.planOrg, o.planFocus, o.plan = s.Org, s.Focus, nil
		if p, err := plan.Build(model.NewIndex(s.Org), s.Focus); err == nil {
			o.plan = p
		}
	}
	return o.plan
}

func (o *overview) SetData(s *Snapshot) {
	st := o.c.Styles
	var l []string
	o.hangs = o.hangs[:0]
	label := func(name string) string {
		// The line being labelled is the next one appended: its
		// continuation goes under the value.
		for len(o.hangs) < len(l) {
			o.hangs = append(o.hangs, 0)
		}
		o.hangs = append(o.hangs, labelWidth)
		return st.Label.Render(fmt.Sprintf("%-*s", labelWidth, name))
	}
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
	p := o.focusPlan(s)
	if run == nil {
		l = append(l, label("Run")+st.Muted.Render("no deployment run yet"))
		if p != nil && p.Blocked() {
			l = append(l, "", st.Tone[ToneBad].Render(fmt.Sprintf("✗ Blocked: %d blockers stop %s", len(p.Blockers), s.Focus)))
			for _, b := range p.Blockers {
				l = append(l, "  · "+b.Message)
			}
		} else if s.Focus != "" {
			l = append(l, "", st.Confirm.Render("Waiting on you: "+s.Focus+" is ready and not deployed yet"),
				"  deploy it: 5 (Waves), then s — you are asked first; ? shows every key")
		}
	} else {
		line := label("Run") + run.ID + "  " + RunStatus(run.State).Render(st)
		if run.Reason != "" {
			line += " — " + run.Reason
		}
		l = append(l, line)
		progress := progressLine(run)
		if n := flightCount(run); n > 0 && !run.State.Terminal() {
			progress += fmt.Sprintf(" · %d in flight", n)
		}
		l = append(l, label("Progress")+progress)
		if what, how := waitingOnYou(run); what != "" {
			l = append(l, "", st.Confirm.Render("Waiting on you: "+what), "  "+how)
		}
		if inFlight := canariesInFlight(run); len(inFlight) > 0 {
			l = append(l, "", st.Title.Render("Canaries in flight")+st.Muted.Render(" · each judgement whole on 6: Canary"))
			for _, cs := range inFlight {
				v := st.Muted.Render("· no judgement yet")
				if cs.judged {
					v = VerdictStatus(cs.j.Verdict).Render(st) + " " + firstClause(cs.j.Reason)
				}
				l = append(l, fmt.Sprintf("  %s %s %d%%  %s", cs.step.Service, cs.step.Where(), cs.step.Weight, v))
			}
		}
	}
	shown := 0
	for _, r := range s.Runs {
		if r.Release == s.Focus || shown == 3 {
			continue
		}
		name := "Others"
		if shown > 0 {
			name = ""
		}
		if shown == 0 {
			l = append(l, "")
		}
		l = append(l, label(name)+r.Release+"  "+RunStatus(r.State).Render(st)+st.Muted.Render("  "+r.ID+" · :release "+r.Release+" shows it"))
		shown++
	}
	if s.Org != nil {
		required := 0
		for _, e := range s.Org.Environments {
			required += len(e.Gates)
		}
		l = append(l, "")
		l = append(l, label("Gates")+fmt.Sprintf("%d gates, %d required across %d environments · %s (4: Gates)",
			len(s.Org.Gates), required, len(s.Org.Environments), gateCounts(s)))
	}
	if p != nil && len(p.Warnings) > 0 {
		l = append(l, label("Warnings")+fmt.Sprintf("%d for %s: %s", len(p.Warnings), s.Focus, p.Warnings[0].Message))
	}
	switch {
	case !s.AlertsKnown && s.PluginsPending:
		l = append(l, label("Alerts")+st.Muted.Render("asking the monitoring plugins…"))
	case !s.AlertsKnown:
		l = append(l, label("Alerts")+st.Muted.Render("no alert source answering (a monitoring plugin with alertmanager_url feeds the engine and this line)"))
	case len(s.Alerts) == 0:
		l = append(l, label("Alerts")+st.Tone[ToneOK].Render("✓ none firing"))
	default:
		l = append(l, label("Alerts")+st.Tone[ToneBad].Render(fmt.Sprintf("✗ %d firing", len(s.Alerts))))
		for _, a := range s.Alerts {
			where := a.Service
			if a.Env != "" {
				where += " " + a.Env
				if a.Region != "" {
					where += "/" + a.Region
				}
			}
			line := fmt.Sprintf("  ✗ %s", a.Name)
			if a.Severity != "" {
				line += " (" + a.Severity + ")"
			}
			if where != "" {
				line += " · " + where
			}
			if !a.Since.IsZero() {
				line += " · since " + a.Since.UTC().Format("15:04 UTC")
			}
			if a.Summary != "" {
				line += " — " + a.Summary
			}
			l = append(l, st.Tone[ToneBad].Render(line))
		}
	}
	l = append(l, "", st.Title.Render("Latest audit events"))
	events := s.Audit
	if len(events) == 0 {
		l = append(l, st.Muted.Render("  none yet"))
	}
	for i := len(events) - 1; i >= 0 && i >= len(events)-overviewAuditLines; i-- {
		e := events[i]
		if run != nil {
			e.Summary = strings.TrimPrefix(e.Summary, "run "+run.ID+": ")
		}
		l = append(l, fmt.Sprintf("  %s %s · %s", e.At.UTC().Format("15:04:05"), e.Actor, e.Summary))
	}
	o.lines = l
	for len(o.hangs) < len(l) {
		o.hangs = append(o.hangs, 0)
	}
	o.wrap()
}

// canariesInFlight are the run's canary steps being deployed or baked.
func canariesInFlight(r *deploy.Run) []canaryStep {
	var out []canaryStep
	for i := range r.Steps {
		st := &r.Steps[i]
		if st.Kind == deploy.KindService && st.Strategy == model.Canary &&
			(st.State == deploy.StepDeploying || st.State == deploy.StepVerifying || st.State == deploy.StepBaking) {
			out = append(out, decodeCanary(st))
		}
	}
	return out
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

// flightCount is how many steps are in flight (see inFlight).
func flightCount(r *deploy.Run) int {
	n := 0
	for i := range r.Steps {
		if inFlight(r.Steps[i].State) {
			n++
		}
	}
	return n
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

// gateCounts is the focus release's gate results in a few words:
// "storefront-2026-12: 29 pass, 1 fail", worst states last.
func gateCounts(s *Snapshot) string {
	if !s.GatesKnown {
		return "no results from this source"
	}
	res := s.GateResults[s.Focus]
	if len(res) == 0 {
		return "no results recorded yet"
	}
	n := map[GateState]int{}
	for _, r := range res {
		n[r.State]++
	}
	var parts []string
	for _, st := range []GateState{GatePass, GateWaived, GateMissing, GateExpired, GateFail} {
		if n[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[st], st))
			delete(n, st)
		}
	}
	var other []string // states this list does not know yet
	for st, k := range n {
		other = append(other, fmt.Sprintf("%d %s", k, st))
	}
	sort.Strings(other)
	parts = append(parts, other...)
	return s.Focus + ": " + strings.Join(parts, ", ")
}

// firstClause is a judge's reason up to its first "; ": what it decided
// and on how much, without the list of every test, which would fill an
// 80-column Overview with one canary (the Canary screen has it whole).
func firstClause(reason string) string {
	if i := strings.Index(reason, "; "); i > 0 {
		reason = reason[:i] + " …"
	}
	// A summary: two lines at most at 80 columns (an error chain can run
	// to four); the whole reason is on 6: Canary.
	const most = 100
	if r := []rune(reason); len(r) > most {
		cut := string(r[:most])
		if i := strings.LastIndex(cut, " "); i > most/2 {
			cut = cut[:i]
		}
		reason = cut + " …"
	}
	return reason
}
