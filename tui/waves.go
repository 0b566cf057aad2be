package tui

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/plan"
)

// wavesPaneLines is the height of the pane under the table that shows the
// selected step's whole progress or error.
const wavesPaneLines = 3

// waves is the run's steps as a table, one row per step in running order,
// with the operator's actions on the run.
type waves struct {
	c    *Common
	keys wavesKeys
	snap *Snapshot
	run  *deploy.Run
	// planned: run is the focus release's plan, not started (no run
	// yet); plan is that plan.
	planned bool
	plan    *plan.Plan
	// waits are what the run's steps wait on, by step Index.
	waits  map[int]*Wait
	width  int
	height int
	cursor int
	offset int
	filter string
	// follow keeps the step in flight selected as the run moves on;
	// moving the cursor stops it, f resumes it.
	follow bool
	// followIdx is the step (by Index) the cursor follows while it stays
	// in flight: with several steps of a wave running side by side, the
	// cursor stays on one until it finishes rather than jumping to
	// whichever is first.
	followIdx int
	title     string
	// flight names the steps in flight, with their states, on the line
	// above the table; empty when none is.
	flight string
	head   string
	// rows and selRows are rendered when data or size change, so View
	// only picks the visible window; shown maps rows to steps.
	rows, selRows []string
	shown         []int
	pane          []string
	page          detail
	// cache keeps each step's rendered row, keyed by what of it changes
	// (state and progress), for the run and width it was rendered at: a
	// refresh of a 7,000-step run renders the few rows that changed, not
	// all of them.
	cache      []waveRow
	cacheRun   string
	cacheWidth int
}

// waveRow is a step's row as rendered, plain and selected, with the key
// it was rendered for.
type waveRow struct {
	state    deploy.StepState
	waiting  bool
	progress string
	row, sel string
}

type wavesKeys struct {
	listKeys
	Open, Start, Continue, Pause, Abort, Rollback, Skip, Follow key.Binding
}

func defaultWavesKeys() wavesKeys {
	return wavesKeys{
		listKeys: defaultListKeys(),
		Open:     key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "step")),
		Start:    key.NewBinding(key.WithKeys("s"), key.WithHelp("s", "start")),
		Continue: key.NewBinding(key.WithKeys("c"), key.WithHelp("c", "continue/approve")),
		Pause:    key.NewBinding(key.WithKeys("p"), key.WithHelp("p", "pause")),
		Abort:    key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "abort")),
		Rollback: key.NewBinding(key.WithKeys("r"), key.WithHelp("r", "rollback")),
		Skip:     key.NewBinding(key.WithKeys("x"), key.WithHelp("x", "skip step")),
		Follow:   key.NewBinding(key.WithKeys("f"), key.WithHelp("f", "follow the step in flight")),
	}
}

var (
	_ Screen     = (*waves)(nil)
	_ Filterable = (*waves)(nil)
)

func newWaves(c *Common) *waves {
	return &waves{c: c, keys: defaultWavesKeys(), page: newDetail(), follow: true}
}

func (w *waves) Title() string { return "Waves" }

func (w *waves) ShortHelp() []key.Binding {
	k := w.keys
	switch {
	case w.page.open:
		return w.page.help()
	case w.run == nil || w.planned || w.run.State.Terminal():
		return []key.Binding{k.Start, k.Open, shown("↑↓", "step", k.Up, k.Down)}
	}
	cont := k.Continue
	if w.run.State == deploy.RunAwaitingApproval {
		cont.SetHelp("c", "approve")
	} else {
		cont.SetHelp("c", "continue")
	}
	skip := k.Skip
	skip.SetHelp("x", "skip")
	return []key.Binding{cont, k.Pause, k.Abort, k.Rollback, skip, k.Open}
}

func (w *waves) FullHelp() [][]key.Binding {
	k := w.keys
	return [][]key.Binding{
		{k.Start, k.Continue, k.Pause, k.Abort, k.Rollback, k.Skip},
		{k.Open, k.Follow, k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
	}
}

func (w *waves) SetSize(width, height int) {
	w.width, w.height = width, height
	w.page.setSize(width, height)
	w.render()
}

func (w *waves) SetData(s *Snapshot) {
	w.snap, w.run, w.planned, w.plan, w.waits = s, s.Run, false, nil, nil
	if w.run == nil {
		if p := s.Plans[s.Focus]; p != nil {
			w.run, w.planned, w.plan = planRun(p), true, p
		}
	} else {
		w.waits = runWaits(s.Waits, w.run)
	}
	w.render()
}

// planRun is a plan as a run not started: its steps, all pending, so the
// table shows the waves before a run exists.
func planRun(p *plan.Plan) *deploy.Run {
	r := &deploy.Run{Release: p.Release, Steps: make([]deploy.Step, 0, len(p.Steps))}
	for _, ps := range p.Steps {
		st := deploy.Step{Index: ps.Index, Wave: ps.Wave, Kind: deploy.KindService, Service: ps.Service, Env: ps.Environment,
			Region: ps.Region, FromVersion: ps.FromVersion, Version: ps.Version, Strategy: ps.Strategy, NotBefore: ps.NotBefore,
			State: deploy.StepPending}
		if ps.Migration != "" {
			st.Kind, st.Migration, st.Phase = deploy.KindMigration, ps.Migration, ps.Phase
		}
		r.Steps = append(r.Steps, st)
	}
	return r
}

// runWaits are the waits of run by step Index; a wait of the run as a
// whole is shown on the first pending step (of its environment, if it
// names one).
func runWaits(all []Wait, r *deploy.Run) map[int]*Wait {
	var out map[int]*Wait
	for i := range all {
		wt := &all[i]
		if wt.RunID != r.ID {
			continue
		}
		idx := wt.Step
		if idx == 0 {
			for j := range r.Steps {
				s := &r.Steps[j]
				if s.State == deploy.StepPending && (wt.Env == "" || s.Env == wt.Env) {
					idx = s.Index
					break
				}
			}
		}
		if idx == 0 {
			continue
		}
		if out == nil {
			out = map[int]*Wait{}
		}
		out[idx] = wt
	}
	return out
}

// waitSummary is a wait in a few words, for the table's progress column.
func waitSummary(wt *Wait) string {
	var parts []string
	if n := len(wt.Gates); n > 0 {
		g := wt.Gates[0]
		s := fmt.Sprintf("gate %s %s", g.Service, g.Gate)
		if n > 1 {
			s = fmt.Sprintf("%d gates: %s %s +%d", n, g.Service, g.Gate, n-1)
		}
		parts = append(parts, s)
	}
	if a := wt.Approval; a != nil {
		parts = append(parts, approvalText(a))
	}
	if wt.Operator != "" {
		op := wt.Operator
		if i := strings.Index(op, ":"); i > 0 {
			op = op[:i]
		}
		parts = append(parts, "operator: "+op)
	}
	return strings.Join(parts, "; ")
}

// approvalText is "approval 1/2 by sre, release-captains".
func approvalText(a *ApprovalWait) string {
	s := fmt.Sprintf("approval %d/%d", a.Have, max(1, a.Need))
	if len(a.Approvers) > 0 {
		s += " by " + strings.Join(a.Approvers, ", ")
	}
	return s
}

// waitText is a wait in full, one thing waited on a line.
func waitText(wt *Wait) []string {
	head := "waiting"
	if wt.Env != "" {
		head += " to enter " + wt.Env
	}
	out := []string{head + " on:"}
	for _, g := range wt.Gates {
		st := GateStatus(g.State)
		if g.State == "" {
			st = GateStatus(GateMissing)
		}
		line := fmt.Sprintf("  %s %s · %s", st.Text(), g.Service, g.Gate)
		if g.Reason != "" {
			line += " — " + g.Reason
		}
		out = append(out, line)
	}
	if a := wt.Approval; a != nil {
		line := "  ! " + approvalText(a)
		if len(a.By) > 0 {
			line += " (given by " + strings.Join(a.By, ", ") + ")"
		}
		out = append(out, line)
	}
	if wt.Operator != "" {
		out = append(out, "  ‖ operator: "+wt.Operator)
	}
	return out
}

func (w *waves) Filter() string { return w.filter }

func (w *waves) SetFilter(q string) {
	w.filter = q
	w.render()
}

// paneLines is the pane's height: taller while the run waits (what it
// waits on is listed there), when there is room.
func (w *waves) paneLines() int {
	if w.height >= 18 && len(w.waits) > 0 {
		return wavesPaneLines + 3
	}
	return wavesPaneLines
}

// visible is how many rows fit under the title and column heads, above
// the pane.
func (w *waves) visible() int {
	n := w.height - 3 - w.paneLines()
	if w.flight != "" {
		n--
	}
	return max(1, n)
}

// inFlight reports whether a step is running: started and not finished,
// rolling back included. Several steps of one wave can be in flight at
// once (the spec's parallel).
func inFlight(s deploy.StepState) bool {
	switch s {
	case deploy.StepPreflight, deploy.StepDeploying, deploy.StepVerifying, deploy.StepBaking, deploy.StepRollingBack:
		return true
	}
	return false
}

// flightMarker marks the rows of steps in flight in the cursor's column,
// so that the steps running side by side read as one group without
// colour too.
const flightMarker = "┃ "

// flightLine is "in flight (N): ◷ 13 ledger prod/us-east-1 baking · …",
// or, when that does not fit the width, the shorter "◷ 13 ledger · …"
// (the table's rows say where and the state's word), cut to width.
func flightLine(r *deploy.Run, width int) string {
	var long, short []string
	for i := range r.Steps {
		s := &r.Steps[i]
		if inFlight(s.State) {
			st := StepStatus(s.State)
			long = append(long, fmt.Sprintf("%s %d %s %s %s", st.Symbol, s.Index, s.Service, s.Where(), st.Word))
			short = append(short, fmt.Sprintf("%s %d %s", st.Symbol, s.Index, s.Service))
		}
	}
	if len(long) == 0 {
		return ""
	}
	head := fmt.Sprintf("in flight (%d): ", len(long))
	if line := head + strings.Join(long, " · "); width <= 0 || ansi.StringWidth(line) <= width {
		return line
	}
	return cut(head+strings.Join(short, " · "), width)
}

// followed is whether the follow cursor may rest on s: a step in flight,
// or one rolling back while the run rolls back.
func (w *waves) followed(s *deploy.Step) bool {
	if w.run.State == deploy.RunRollingBack {
		return s.State == deploy.StepRollingBack
	}
	return inFlight(s.State)
}

func (w *waves) Update(msg tea.Msg) tea.Cmd {
	if w.page.update(msg) {
		return nil
	}
	n := len(w.rows)
	if msg, ok := msg.(tea.KeyMsg); ok {
		k := w.keys
		switch {
		case key.Matches(msg, k.Start):
			if w.snap == nil { // keys can come before the first data
				return w.c.fail("start", errors.New("still loading the organisation: try again in a moment"))
			}
			return w.c.startRun(w.snap, w.snap.Focus)
		case key.Matches(msg, k.Continue):
			return w.c.operate(w.snap, deploy.CmdContinue, 0, "")
		case key.Matches(msg, k.Pause):
			return w.c.operate(w.snap, deploy.CmdPause, 0, "")
		case key.Matches(msg, k.Abort):
			return w.c.operate(w.snap, deploy.CmdAbort, 0, "")
		case key.Matches(msg, k.Rollback):
			return w.c.operate(w.snap, deploy.CmdRollback, 0, "")
		case key.Matches(msg, k.Skip):
			if n == 0 {
				return nil
			}
			return w.c.operate(w.snap, deploy.CmdSkip, w.run.Steps[w.shown[w.cursor]].Index, "skipped from the console")
		case key.Matches(msg, k.Open):
			if n > 0 {
				s := &w.run.Steps[w.shown[w.cursor]]
				w.page.show(stepTitle(s), w.stepPage(s))
			}
			return nil
		case key.Matches(msg, k.Follow):
			w.follow, w.followIdx = true, 0
			w.render()
			return nil
		}
	}
	next, ok := w.keys.move(msg, w.cursor, n, w.visible())
	if !ok {
		return nil
	}
	w.follow = false
	w.cursor = next
	w.offset = scrollTo(w.offset, w.cursor, w.visible(), n)
	w.renderPane()
	return nil
}

// waveColumns are the table's column widths for a terminal width.
type waveColumns struct{ wave, where, what, strategy, state, progress int }

func columnsFor(width int) waveColumns {
	c := waveColumns{wave: 4, where: 16, strategy: 10, state: 12}
	if width >= 100 {
		c.where, c.state = 22, 14
	}
	// Two cells of cursor marker and one space between six columns.
	rest := max(0, width-2-5-c.wave-c.where-c.strategy-c.state)
	c.what = rest * 6 / 10
	c.progress = rest - c.what
	return c
}

func (w *waves) render() {
	st := w.c.Styles
	w.rows, w.selRows, w.shown = w.rows[:0], w.selRows[:0], w.shown[:0]
	if w.run == nil {
		focus := ""
		if w.snap != nil {
			focus = w.snap.Focus
		}
		w.title = st.Muted.Render("No run of " + focus + " yet.")
		if focus != "" {
			w.title += " Press s to start deploying it (you are asked first), or type :deploy start."
		}
		w.head = ""
		w.pane = nil
		return
	}
	c := columnsFor(w.width)
	switch {
	case w.planned:
		waves := 0
		for _, s := range w.run.Steps {
			waves = max(waves, s.Wave)
		}
		// The call to act first: a narrow terminal cuts the counts.
		w.title = st.Muted.Render("No run of "+w.run.Release+" yet.") + " Press s to start it." +
			st.Muted.Render(fmt.Sprintf(" Planned: %d steps in %d waves", len(w.run.Steps), waves))
		w.flight = ""
		if n := len(w.plan.Blockers); n > 0 {
			more := ""
			if n > 1 {
				more = fmt.Sprintf(" (+%d more)", n-1)
			}
			w.flight = cut(st.Tone[ToneBad].Render("✗ blocked: "+w.plan.Blockers[0].Message+more), w.width)
		}
	default:
		w.title = st.Title.Render("Run "+w.run.ID) + "  " + RunStatus(w.run.State).Render(st) + "  " + progressLine(w.run)
		w.flight = flightLine(w.run, w.width)
		if w.flight != "" {
			w.flight = st.Tone[ToneActive].Render(w.flight)
		} else if len(w.waits) > 0 {
			// Nothing in flight: the line says what the run waits on.
			var parts []string
			for _, s := range w.run.Steps {
				if wt := w.waits[s.Index]; wt != nil {
					parts = append(parts, fmt.Sprintf("⧗ step %d waits on %s", s.Index, waitSummary(wt)))
				}
			}
			w.flight = cut(st.Tone[ToneWarn].Render(strings.Join(parts, " · ")), w.width)
		}
	}
	// The step followed stays selected while it is in flight; when it has
	// finished, the first step in flight is followed.
	if w.follow {
		keep := false
		if i := w.followIdx - 1; i >= 0 && i < len(w.run.Steps) {
			keep = w.followed(&w.run.Steps[i])
		}
		if !keep {
			w.followIdx = 0
			for i := range w.run.Steps {
				if w.followed(&w.run.Steps[i]) {
					w.followIdx = w.run.Steps[i].Index
					break
				}
			}
		}
	}
	w.head = "  " + st.ColumnHead.Render(strings.Join([]string{
		pad("WAVE", c.wave), pad("WHERE", c.where), pad("WHAT", c.what),
		pad("STRATEGY", c.strategy), pad("STATE", c.state), pad("PROGRESS", c.progress)}, " "))
	cacheKey := w.run.ID
	if w.planned {
		cacheKey = "plan " + w.run.Release
	}
	if w.cacheRun != cacheKey || w.cacheWidth != w.width || len(w.cache) != len(w.run.Steps) {
		w.cache = make([]waveRow, len(w.run.Steps))
		w.cacheRun, w.cacheWidth = cacheKey, w.width
	}
	q := strings.ToLower(w.filter)
	lastFlight := -1
	for i := range w.run.Steps {
		s := &w.run.Steps[i]
		progress, wt := stepProgress(s), w.waits[s.Index]
		status := StepStatus(s.State)
		switch {
		case wt != nil:
			progress, status = waitSummary(wt), waitingStatus
		case w.planned:
			status = Status{"·", "planned", ToneNeutral}
			if s.NotBefore != nil {
				progress = "not before " + s.NotBefore.UTC().Format("Jan 2 15:04 UTC")
			}
		}
		if q != "" && !strings.Contains(strings.ToLower(fmt.Sprintf("%d %s %s %s %s %s",
			s.Wave, s.Where(), stepWhat(s), s.Strategy, status.Word, progress)), q) {
			continue
		}
		if w.follow && w.followIdx != 0 && s.Index == w.followIdx {
			w.cursor = len(w.rows)
		}
		if inFlight(s.State) {
			lastFlight = len(w.rows)
		}
		r := &w.cache[i]
		if r.row == "" || r.state != s.State || r.waiting != (wt != nil) || r.progress != progress {
			*r = w.renderRow(s, c, status, progress)
			r.waiting = wt != nil
		}
		w.shown = append(w.shown, i)
		w.rows = append(w.rows, r.row)
		w.selRows = append(w.selRows, r.sel)
	}
	w.cursor = min(max(0, w.cursor), max(0, len(w.rows)-1))
	w.offset = scrollTo(w.offset, w.cursor, w.visible(), len(w.rows))
	// Following, the window also shows the steps in flight after the
	// cursor, as many as fit with it.
	if v := w.visible(); w.follow && lastFlight >= w.offset+v {
		w.offset = max(w.offset, min(w.cursor, lastFlight-v+1))
	}
	w.renderPane()
	if w.page.open && len(w.rows) > 0 {
		s := &w.run.Steps[w.shown[w.cursor]]
		w.page.refresh(stepTitle(s), w.stepPage(s))
	}
}

// renderRow renders a step's row, plain and selected, at the columns c.
func (w *waves) renderRow(s *deploy.Step, c waveColumns, status Status, progress string) waveRow {
	st := w.c.Styles
	before := strings.Join([]string{
		pad(fmt.Sprintf("%d", s.Wave), c.wave), pad(s.Where(), c.where),
		pad(stepWhat(s), c.what), pad(string(s.Strategy), c.strategy)}, " ") + " "
	state := pad(status.Text(), c.state)
	after := " " + pad(progress, c.progress)
	marker := "  "
	if inFlight(s.State) {
		marker = st.Tone[ToneActive].Render(flightMarker)
	}
	return waveRow{state: s.State, progress: progress,
		row: marker + before + st.Tone[status.Tone].Render(state) + after,
		sel: "› " + st.Selected.Render(before+state+after)}
}

// renderPane wraps the selected step's whole line: what the table may
// have shortened. The run's reason (why it paused or failed) comes first.
func (w *waves) renderPane() {
	w.pane = w.pane[:0]
	if w.run == nil {
		return
	}
	var text string
	waits := false
	if len(w.rows) > 0 {
		s := &w.run.Steps[w.shown[w.cursor]]
		text, waits = w.stepLine(s), w.waits[s.Index] != nil
	}
	// A waiting step lists what it waits on: the run's reason says it again.
	if w.run.Reason != "" && !waits {
		text = "run: " + w.run.Reason + "\n" + text
	}

	lines := wrapHanging(text, w.width)
	if n := w.paneLines(); len(lines) > n {
		lines = append(lines[:n-1], w.c.Styles.Muted.Render("… enter shows the whole step"))
	}
	w.pane = lines
}

// stepLine is the selected step in one line for the pane, then what it
// waits on, or what its environment requires before a run starts.
func (w *waves) stepLine(s *deploy.Step) string {
	if wt := w.waits[s.Index]; wt != nil {
		return fmt.Sprintf("step %d · %s · %s · %s\n", s.Index, s.Where(), stepWhat(s), waitingStatus.Text()) +
			strings.Join(waitText(wt), "\n")
	}
	if w.planned {
		text := fmt.Sprintf("step %d · %s · %s · planned", s.Index, s.Where(), stepWhat(s))
		if req := w.envNeeds(s.Env); req != "" {
			text += "; " + s.Env + " needs " + req
		}
		return text
	}
	text := fmt.Sprintf("step %d · %s · %s · %s", s.Index, s.Where(), stepWhat(s), StepStatus(s.State).Text())
	if p := stepProgress(s); p != "" {
		text += ": " + p
	}
	return text
}

// envNeeds is what the plan says entering env takes: gates and approval.
func (w *waves) envNeeds(env string) string {
	if w.plan == nil {
		return ""
	}
	for _, e := range w.plan.Environments {
		if e.Name != env {
			continue
		}
		var parts []string
		if len(e.Gates) > 0 {
			parts = append(parts, "gates "+strings.Join(e.Gates, ", "))
		}
		if e.Approval {
			a := "approval"
			if len(e.Approvers) > 0 {
				a += " by " + strings.Join(e.Approvers, ", ")
			}
			parts = append(parts, a)
		}
		return strings.Join(parts, " and ")
	}
	return ""
}

// stepPage is the detail page's text: the step in full and what it
// waits on.
func (w *waves) stepPage(s *deploy.Step) string {
	text := stepText(s)
	if wt := w.waits[s.Index]; wt != nil {
		text = strings.Join(waitText(wt), "\n") + "\n\n" + text
	}
	if w.planned {
		text = "Planned: the release has no run yet.\n" + strings.Replace(text, "State      · pending", "State      · planned", 1)
		if req := w.envNeeds(s.Env); req != "" {
			text += "\nEntering " + s.Env + " needs " + req
		}
		if w.plan != nil && len(w.plan.Blockers) > 0 {
			text += "\n\nThe plan is blocked:"
			for _, b := range w.plan.Blockers {
				text += "\n  ✗ " + b.Kind + ": " + b.Message
			}
		}
	}
	return text
}

func stepTitle(s *deploy.Step) string {
	return fmt.Sprintf("Step %d: %s in %s", s.Index, stepWhat(s), s.Where())
}

// stepText is a step in full, for the detail page.
func stepText(s *deploy.Step) string {
	var b strings.Builder
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(&b, "%-10s %s\n", k, v)
		}
	}
	line("State", StepStatus(s.State).Text())
	line("Wave", fmt.Sprintf("%d", s.Wave))
	line("Where", s.Where())
	line("What", stepWhat(s))
	line("Strategy", string(s.Strategy))
	line("Target", s.Target)
	if s.Artifact.Digest != "" {
		line("Artifact", strings.TrimPrefix(s.Artifact.Ref+"@"+s.Artifact.Digest, "@"))
	}
	if s.Weight > 0 {
		line("Canary", fmt.Sprintf("%d%% of traffic", s.Weight))
	}
	line("Attempt", fmt.Sprintf("%d", s.Attempt))
	at := func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	}
	line("Started", at(s.StartedAt))
	line("Bake ends", at(s.BakeUntil))
	line("Ended", at(s.EndedAt))
	line("Progress", s.Progress)
	line("Error", s.Error)
	if len(s.Evidence) > 0 {
		var v any
		if json.Unmarshal(s.Evidence, &v) == nil {
			if p, err := json.MarshalIndent(v, "", "  "); err == nil {
				b.WriteString("Evidence\n" + string(p))
			}
		}
	}
	return strings.TrimRight(b.String(), "\n")
}

func stepWhat(s *deploy.Step) string {
	if s.Kind == deploy.KindMigration {
		return fmt.Sprintf("%s: migration %s %s", s.Service, s.Migration, s.Phase)
	}
	if s.FromVersion != "" && s.FromVersion != s.Version {
		return fmt.Sprintf("%s %s→%s", s.Service, s.FromVersion, s.Version)
	}
	return s.Service + " " + s.Version
}

func stepProgress(s *deploy.Step) string {
	switch {
	case s.Error != "":
		return s.Error
	case s.Progress != "":
		return s.Progress
	case s.Weight > 0:
		return fmt.Sprintf("%d%% on canary", s.Weight)
	}
	return ""
}

func (w *waves) View() string {
	if w.page.open {
		return w.page.view(w.c.Styles)
	}
	if w.run == nil {
		return w.title
	}
	var b strings.Builder
	b.WriteString(w.title)
	b.WriteByte('\n')
	if w.flight != "" {
		b.WriteString(w.flight)
		b.WriteByte('\n')
	}
	b.WriteString(w.head)
	n := writeRows(&b, w.rows, w.selRows, w.offset, w.visible(), w.cursor)
	if len(w.rows) == 0 && w.filter != "" {
		b.WriteString("\n" + w.c.Styles.Muted.Render(fmt.Sprintf("no steps match %q", w.filter)))
		n++
	}
	for i := n; i < w.visible(); i++ {
		b.WriteByte('\n')
	}
	b.WriteString("\n" + w.c.Styles.Muted.Render(strings.Repeat("─", w.width)))
	for _, l := range w.pane {
		b.WriteString("\n" + l)
	}
	return b.String()
}
