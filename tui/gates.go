package tui

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/warroom/warroom/core/model"
)

type gatesKeys struct {
	listKeys
	Left, Right, Waive, Approve, Cancel key.Binding
}

func defaultGatesKeys() gatesKeys {
	l := defaultListKeys()
	l.Up.SetHelp("↑/k", "service up")
	l.Down.SetHelp("↓/j", "service down")
	return gatesKeys{
		listKeys: l,
		Left:     key.NewBinding(key.WithKeys("h", "left"), key.WithHelp("←/h", "gate left")),
		Right:    key.NewBinding(key.WithKeys("l", "right"), key.WithHelp("→/l", "gate right")),
		Waive:    key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "waive")),
		Approve:  key.NewBinding(key.WithKeys("a"), key.WithHelp("a", "approve")),
		Cancel:   key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "cancel")),
	}
}

// GateStatus is how a gate result's state reads. Every word is there
// without colour; the symbols are one cell wide.
func GateStatus(s GateState) Status {
	switch s {
	case GatePass:
		return Status{"✓", "pass", ToneOK}
	case GateFail:
		return Status{"✗", "fail", ToneBad}
	case GateMissing:
		return Status{"?", "missing", ToneWarn}
	case GateWaived:
		return Status{"~", "waived", ToneActive}
	case GateExpired:
		return Status{"⧖", "expired", ToneWarn}
	}
	return Status{"?", string(s), ToneNeutral}
}

// resultStatus is a cell's status: a result's, or what stands for a
// missing one.
func (g *gatesScreen) resultStatus(r *GateResult) Status {
	switch {
	case !g.known:
		return Status{"·", "unknown", ToneNeutral}
	case r == nil:
		return GateStatus(GateMissing)
	case r.NotEvaluated:
		return Status{"?", "not yet", ToneWarn}
	}
	return GateStatus(r.State)
}

// gatePrompt is the reason (then, for a waiver, the expiry) being typed.
type gatePrompt struct {
	waive   bool
	service string
	gate    string
	// reason is set once typed; expiry is asked next for a waiver.
	reason string
	asking string // "reason" or "expires"
	err    string
}

// gatesScreen is the release's service × gate matrix: one row per service
// of the focus release's scope, one column per gate its environments
// require, each cell a result's symbol and word. The panel under it has
// the selected cell's reason, evidence, waiver and sign-offs; w waives and
// a approves the selected cell with a typed reason.
type gatesScreen struct {
	c      *Common
	keys   gatesKeys
	width  int
	height int

	release  string
	envs     []model.Environment
	gates    []model.Gate
	defined  []bool
	services []string
	// longest is the widest service name, for the service column.
	longest int
	// results[i*len(gates)+j] is service i's result of gate j, or nil.
	results []*GateResult
	known   bool
	filter  string
	shown   []int // services shown (filtered), indices into services

	row, col  int
	offset    int
	colOffset int
	prompt    *gatePrompt
	input     textinput.Model

	// title, head, rows (the visible window only) and panel are rendered
	// when data, size or the cursor change; View only joins them.
	title, head, rule string
	rows              []string
	panel             []string
	// rowCache keeps unselected rows as rendered, by service index, for
	// the layout (width, first gate column) they were rendered at:
	// moving the cursor renders two rows, not the window.
	rowCache    map[int]string
	cacheLayout [2]int
}

var (
	_ Screen     = (*gatesScreen)(nil)
	_ Filterable = (*gatesScreen)(nil)
)

func newGates(c *Common) *gatesScreen {
	in := textinput.New()
	in.Prompt = ""
	in.CharLimit = 300
	in.Cursor.SetMode(cursor.CursorStatic)
	return &gatesScreen{c: c, keys: defaultGatesKeys(), input: in}
}

func (g *gatesScreen) Title() string { return "Gates" }

// Capturing: while a reason is typed every key goes to the prompt.
func (g *gatesScreen) Capturing() bool { return g.prompt != nil }

func (g *gatesScreen) ShortHelp() []key.Binding {
	k := g.keys
	if g.prompt != nil {
		enter := key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "confirm"))
		return []key.Binding{enter, k.Cancel}
	}
	return []key.Binding{shown("↑↓", "service", k.Up, k.Down), shown("←→", "gate", k.Left, k.Right), k.Waive, k.Approve}
}

func (g *gatesScreen) FullHelp() [][]key.Binding {
	k := g.keys
	return [][]key.Binding{{k.Up, k.Down, k.Left, k.Right}, {k.PageUp, k.PageDown, k.Top, k.Bottom}, {k.Waive, k.Approve, k.Cancel}}
}

func (g *gatesScreen) SetSize(width, height int) {
	g.width, g.height = width, height
	g.render()
}

func (g *gatesScreen) Filter() string { return g.filter }

func (g *gatesScreen) SetFilter(q string) {
	g.filter = q
	g.reshow()
	g.render()
}

func (g *gatesScreen) SetData(s *Snapshot) {
	g.envs, g.gates, g.defined, g.services, g.results = nil, nil, nil, nil, nil
	g.longest = 0
	g.release, g.known = s.Focus, s.GatesKnown
	g.rowCache = nil
	if s.Org != nil {
		rel, _ := s.Release()
		g.envs = releaseEnvs(s.Org, rel)
		byName := map[string]int{}
		for i, gt := range s.Org.Gates {
			byName[gt.Name] = i
		}
		seen := map[string]bool{}
		add := func(n string) {
			if seen[n] {
				return
			}
			seen[n] = true
			if i, ok := byName[n]; ok {
				g.gates, g.defined = append(g.gates, s.Org.Gates[i]), append(g.defined, true)
			} else {
				g.gates, g.defined = append(g.gates, model.Gate{Name: n}), append(g.defined, false)
			}
		}
		// Columns in the order the run meets them: by environment.
		for _, e := range g.envs {
			for _, n := range e.Gates {
				add(n)
			}
		}
		svcSeen := map[string]bool{}
		for _, it := range rel.Scope {
			if it.Service != "" && !svcSeen[it.Service] {
				svcSeen[it.Service] = true
				g.services = append(g.services, it.Service)
			}
		}
		res := s.GateResults[s.Focus]
		// A result for a gate or service the spec no longer names still
		// shows: it was recorded.
		for i := range res {
			add(res[i].Gate)
			if !svcSeen[res[i].Service] {
				svcSeen[res[i].Service] = true
				g.services = append(g.services, res[i].Service)
			}
		}
		col := make(map[string]int, len(g.gates))
		for j, gt := range g.gates {
			col[gt.Name] = j
		}
		row := make(map[string]int, len(g.services))
		for i, sv := range g.services {
			row[sv] = i
		}
		for _, sv := range g.services {
			g.longest = max(g.longest, width(sv))
		}
		g.results = make([]*GateResult, len(g.services)*len(g.gates))
		for i := range res {
			g.results[row[res[i].Service]*len(g.gates)+col[res[i].Gate]] = &res[i]
		}
	}
	g.reshow()
	g.render()
}

// releaseEnvs are the environments the release goes through, in
// promotion order.
func releaseEnvs(org *model.Org, rel model.Release) []model.Environment {
	var out []model.Environment
	want := map[string]bool{}
	for _, n := range rel.Environments {
		want[n] = true
	}
	for _, e := range org.Environments {
		if len(want) == 0 || want[e.Name] {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Order < out[j].Order })
	return out
}

func (g *gatesScreen) reshow() {
	g.shown = g.shown[:0]
	q := strings.ToLower(g.filter)
	for i, s := range g.services {
		if q == "" || strings.Contains(strings.ToLower(s), q) {
			g.shown = append(g.shown, i)
		}
	}
}

// selected is the cell under the cursor: service index, gate index, ok.
func (g *gatesScreen) selected() (int, int, bool) {
	if len(g.shown) == 0 || len(g.gates) == 0 {
		return 0, 0, false
	}
	return g.shown[g.row], g.col, true
}

func (g *gatesScreen) result(i, j int) *GateResult { return g.results[i*len(g.gates)+j] }

func (g *gatesScreen) Update(msg tea.Msg) tea.Cmd {
	if g.prompt != nil {
		km, ok := msg.(tea.KeyMsg)
		if !ok {
			return nil
		}
		return g.promptKey(km)
	}
	km, isKey := msg.(tea.KeyMsg)
	if isKey {
		switch {
		case key.Matches(km, g.keys.Waive):
			return g.ask(true)
		case key.Matches(km, g.keys.Approve):
			return g.ask(false)
		case key.Matches(km, g.keys.Left):
			g.col--
			g.render()
			return nil
		case key.Matches(km, g.keys.Right):
			g.col++
			g.render()
			return nil
		}
	}
	next, moved := g.keys.move(msg, g.row, len(g.shown), g.matrixRows())
	if !moved {
		return nil
	}
	g.row = next
	g.render()
	return nil
}

// ask opens the reason prompt for the selected cell.
func (g *gatesScreen) ask(waive bool) tea.Cmd {
	i, j, ok := g.selected()
	what := "approve"
	if waive {
		what = "waive"
	}
	if !ok {
		return g.c.fail(what, errors.New("no gate selected: the release has no services or no gates"))
	}
	gt := g.gates[j]
	if !waive && g.defined[j] && gt.Kind != model.GateApproval {
		return g.c.fail(what, fmt.Errorf("%s is a %s gate: it passes on evidence ('warroom evidence add'), not on sign-offs; w waives it", gt.Name, gt.Kind))
	}
	if g.c.Gates == nil {
		return g.c.fail(what, errors.New("this console cannot decide gates (no gate actions): use 'warroom gate "+what+"'"))
	}
	g.prompt = &gatePrompt{waive: waive, service: g.services[i], gate: gt.Name, asking: "reason"}
	g.input.SetValue("")
	g.render()
	return g.input.Focus()
}

func (g *gatesScreen) promptKey(km tea.KeyMsg) tea.Cmd {
	p := g.prompt
	switch km.Type {
	case tea.KeyEsc:
		g.prompt = nil
		g.input.Blur()
		g.render()
		return nil
	case tea.KeyEnter:
		v := strings.TrimSpace(g.input.Value())
		switch p.asking {
		case "reason":
			if v == "" {
				p.err = "a reason is required: it is recorded and shown with the decision"
				g.render()
				return nil
			}
			p.reason, p.err = v, ""
			if p.waive {
				p.asking = "expires"
				g.input.SetValue("24h")
				g.input.CursorEnd()
				g.render()
				return nil
			}
			return g.submit(time.Time{})
		case "expires":
			at, err := parseExpiry(v, g.c.Now())
			if err != nil {
				p.err = err.Error()
				g.render()
				return nil
			}
			return g.submit(at)
		}
		return nil
	}
	var cmd tea.Cmd
	g.input, cmd = g.input.Update(km)
	g.render()
	return cmd
}

// submit closes the prompt and returns the command that asks the gate
// actor; its outcome (a refusal's text included) comes back as an
// actionResultMsg for the status line.
func (g *gatesScreen) submit(expires time.Time) tea.Cmd {
	p := g.prompt
	g.prompt = nil
	g.input.Blur()
	g.render()
	req := GateRequest{Release: g.release, Service: p.service, Gate: p.gate, Actor: g.c.Actor, Reason: p.reason, Expires: expires}
	return gateAction(g.c.Gates, p.waive, req)
}

// gateAction is the tea.Cmd that carries out a waiver or an approval.
func gateAction(actor GateActor, waive bool, req GateRequest) tea.Cmd {
	what := fmt.Sprintf("approve %s for %s", req.Gate, req.Service)
	if waive {
		what = fmt.Sprintf("waive %s for %s", req.Gate, req.Service)
	}
	return func() tea.Msg {
		if actor == nil {
			return actionResultMsg{what: what, err: errors.New("this console cannot decide gates")}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var err error
		ok := ""
		if waive {
			err = actor.WaiveGate(ctx, req)
			ok = fmt.Sprintf("waived %s for %s until %s", req.Gate, req.Service, req.Expires.UTC().Format("2006-01-02 15:04 UTC"))
		} else {
			err = actor.ApproveGate(ctx, req)
			ok = fmt.Sprintf("approved %s for %s", req.Gate, req.Service)
		}
		return actionResultMsg{what: what, ok: ok, err: err}
	}
}

// parseExpiry reads a waiver's end: a duration from now ("24h", "90m",
// "3d") or a UTC time ("2026-11-28 18:00", RFC 3339).
func parseExpiry(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("an expiry is required: e.g. 24h, 3d or 2026-11-28 18:00 (UTC)")
	}
	if strings.HasSuffix(s, "d") {
		if n, err := strconv.Atoi(strings.TrimSuffix(s, "d")); err == nil && n > 0 {
			return now.Add(time.Duration(n) * 24 * time.Hour), nil
		}
	}
	if d, err := time.ParseDuration(s); err == nil {
		if d <= 0 {
			return time.Time{}, fmt.Errorf("expiry %q is not in the future: give e.g. 24h", s)
		}
		return now.Add(d), nil
	}
	for _, layout := range []string{time.RFC3339, "2006-01-02 15:04", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			if !t.After(now) {
				return time.Time{}, fmt.Errorf("expiry %s is in the past", t.UTC().Format("2006-01-02 15:04 UTC"))
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot read expiry %q: give a duration (24h, 3d) or a UTC time (2026-11-28 18:00)", s)
}

// gatesPanelLines is the room kept for the panel, so the matrix does not
// change height as the cursor moves between cells; a longer panel (a
// prompt and its error) takes more.
const gatesPanelLines = 6

// gatesMinInput is the least room for typing beside a prompt's question;
// with less, the typed text goes on the next line.
const gatesMinInput = 20

// matrixRows is how many service rows fit above the panel.
func (g *gatesScreen) matrixRows() int {
	return max(1, g.height-3-max(gatesPanelLines, len(g.panel))) // title, head, rule
}

// columns are the matrix's widths: the service column, a cell, and how
// many gate columns fit (the rest scroll with ←/→). Cells are as wide as
// the longest gate name (at most 18) while all gates fit, never narrower
// than a state ("? missing").
func (g *gatesScreen) columns() (nameW, cellW, fit int) {
	nameW = 14
	if g.width >= 100 {
		nameW = 24
	}
	const minCell = 9
	cellW = minCell
	for _, gt := range g.gates {
		cellW = max(cellW, min(18, width(gt.Name)))
	}
	room := g.width - 2 - nameW
	if n := len(g.gates); n > 0 && room/n-1 < cellW {
		cellW = max(minCell, room/n-1)
	}
	fit = max(1, room/(cellW+1))
	// Room left once every gate fits goes to the service names: a name
	// is cut only when the gates need its room ("recommendations" at 80
	// columns with six gates).
	if n := len(g.gates); fit >= n {
		spare := room - n*(cellW+1)
		nameW += max(0, min(spare, g.longest-nameW))
	}
	return nameW, cellW, fit
}

func (g *gatesScreen) render() {
	st := g.c.Styles
	g.rows, g.panel, g.head = g.rows[:0], g.panel[:0], ""
	switch {
	case g.release == "":
		g.title = st.Muted.Render("No release in focus: ':release NAME' picks one.")
		return
	}
	// "Gates · 4 gates × 3 environments · 5 services of R": the gates the
	// release's environments require, and the services they apply to.
	of := fmt.Sprintf(" · %s of %s", count(len(g.services), "service"), g.release)
	if !g.known {
		of = " · no results from this source" // first: the cells say unknown
	}
	g.title = st.Title.Render("Gates") + st.Muted.Render(fmt.Sprintf(" · %s × %s", count(len(g.gates), "gate"), count(len(g.envs), "environment")))
	titleEnd := st.Muted.Render(of)
	switch {
	case len(g.gates) == 0:
		g.title += st.Muted.Render(" · its environments require no gates")
		return
	case len(g.services) == 0:
		g.title += st.Muted.Render(" · no services in scope")
		return
	}
	defer func() { g.title += titleEnd }()
	g.row = min(max(0, g.row), max(0, len(g.shown)-1))
	g.col = min(max(0, g.col), len(g.gates)-1)
	nameW, cellW, fit := g.columns()
	if g.col < g.colOffset {
		g.colOffset = g.col
	}
	if g.col >= g.colOffset+fit {
		g.colOffset = g.col - fit + 1
	}
	g.colOffset = max(0, min(g.colOffset, len(g.gates)-fit))
	lastCol := min(len(g.gates), g.colOffset+fit)

	if lastCol-g.colOffset < len(g.gates) {
		// Before the release's name: narrow terminals need it most.
		g.title += st.Muted.Render(fmt.Sprintf(" · gates %d–%d shown, ←/→ scroll", g.colOffset+1, lastCol))
	}

	var head strings.Builder
	head.WriteString(pad("SERVICE", nameW))
	for j := g.colOffset; j < lastCol; j++ {
		head.WriteString(" " + pad(g.gates[j].Name, cellW))
	}
	g.head = "  " + st.ColumnHead.Render(head.String())

	if len(g.shown) > 0 {
		g.panel = g.detail()
	}
	g.offset = scrollTo(g.offset, g.row, g.matrixRows(), len(g.shown))
	end := min(len(g.shown), g.offset+g.matrixRows())
	g.rule = st.Muted.Render(strings.Repeat("─", g.width))
	// Only the visible rows are rendered: 1,000 services cost what 20 do;
	// and a state's cell is styled once per render, not once per cell.
	cells := map[string]string{}
	if g.rowCache == nil || g.cacheLayout != [2]int{g.width, g.colOffset} {
		g.rowCache, g.cacheLayout = map[int]string{}, [2]int{g.width, g.colOffset}
	}
	for r := g.offset; r < end; r++ {
		i := g.shown[r]
		if row, ok := g.rowCache[i]; ok && r != g.row {
			g.rows = append(g.rows, row)
			continue
		}
		var b strings.Builder
		mark := "  "
		if r == g.row {
			mark = "› "
		}
		b.WriteString(mark + pad(g.services[i], nameW))
		for j := g.colOffset; j < lastCol; j++ {
			s := g.resultStatus(g.result(i, j))
			cell := pad(s.Text(), cellW)
			if r == g.row && j == g.col {
				// The cursor's mark in the separator before the cell, as
				// before the row: reverse video alone is lost under
				// NO_COLOR, and w and a act on this cell.
				b.WriteString("›" + st.Selected.Render(cell))
				continue
			}
			b.WriteByte(' ')
			styled, ok := cells[cell]
			if !ok {
				styled = st.Tone[s.Tone].Render(cell)
				cells[cell] = styled
			}
			b.WriteString(styled)
		}
		if r != g.row {
			g.rowCache[i] = b.String()
		}
		g.rows = append(g.rows, b.String())
	}
	if len(g.shown) == 0 {
		g.rows = append(g.rows, st.Muted.Render(fmt.Sprintf("  no services match %q", g.filter)))
	}
}

// detail is the selected cell: the gate, its state and reason, the
// evidence, the waiver and sign-offs — or the prompt being typed.
func (g *gatesScreen) detail() []string {
	st := g.c.Styles
	i, j, _ := g.selected()
	gt, r := g.gates[j], g.result(i, j)
	label := func(s string) string { return st.Label.Render(pad(s, 10)) }
	var reqBy []string
	for _, e := range g.envs {
		for _, n := range e.Gates {
			if n == gt.Name {
				reqBy = append(reqBy, e.Name)
			}
		}
	}
	head := st.Title.Render(g.services[i]+" · "+gt.Name) + st.Muted.Render(" · "+gateSummary(gt, g.defined[j])+
		" · required by "+strings.Join(reqBy, ", "))
	out := []string{head}
	s := g.resultStatus(r)
	state := s.Render(st)
	switch {
	case !g.known:
		state += st.Muted.Render(" — this source evaluates no gates: see 'warroom gate status " + g.release + "'")
	case r == nil:
		state += " — no result recorded: add evidence with 'warroom evidence add'"
	case r.NotEvaluated:
		state += " — not evaluated yet (counts as missing)"
	case r.Reason != "":
		state += " — " + r.Reason
	}
	// The reason and the waiver are the point of the panel: they wrap
	// onto a second line, under the value, rather than being cut.
	wrap2 := func(name, value string) []string {
		lines := wrapLines(value, max(10, g.width-10))
		if len(lines) > 2 {
			lines = []string{lines[0], cut(strings.Join(lines[1:], " "), g.width-10)}
		}
		out := []string{label(name) + lines[0]}
		for _, l := range lines[1:] {
			out = append(out, strings.Repeat(" ", 10)+l)
		}
		return out
	}
	out = append(out, wrap2("State", state)...)
	if r != nil && (r.Value != "" || r.Threshold != "") {
		out = append(out, label("Measured")+orDash(r.Value)+st.Muted.Render(" · threshold ")+orDash(r.Threshold))
	}
	if r != nil && r.Evidence != nil {
		e := r.Evidence
		out = append(out, label("Evidence")+fmt.Sprintf("%s · sha256:%s · added by %s %s", e.File, shortHash(e.SHA256),
			orDash(e.AddedBy), stamp(e.AddedAt)))
	} else if g.known && gt.Kind != model.GateApproval {
		out = append(out, label("Evidence")+st.Muted.Render("none added"))
	}
	if r != nil && r.Waiver != nil {
		w := r.Waiver
		out = append(out, wrap2("Waiver", fmt.Sprintf("by %s %s, until %s — %q", w.By, stamp(w.At), stamp(w.Expires), w.Reason))...)
	}
	if gt.Kind == model.GateApproval {
		need := 1
		if r != nil && r.Needed > 0 {
			need = r.Needed
		}
		var by []string
		if r != nil {
			for _, a := range r.Approvals {
				by = append(by, a.By+" "+stamp(a.At))
			}
		}
		line := label("Sign-offs") + fmt.Sprintf("%d/%d", len(by), need)
		if len(gt.Approvers) > 0 {
			line += " by " + strings.Join(gt.Approvers, ", ")
		}
		if len(by) > 0 {
			line += st.Muted.Render(" · ") + strings.Join(by, ", ")
		}
		out = append(out, line)
	}
	if p := g.prompt; p != nil {
		verb := "Approve"
		if p.waive {
			verb = "Waive"
		}
		q := fmt.Sprintf("%s %s for %s — reason: ", verb, p.gate, p.service)
		if p.asking == "expires" {
			q = fmt.Sprintf("%s %s for %s — expires (24h, 3d or YYYY-MM-DD HH:MM UTC): ", verb, p.gate, p.service)
		}
		// The question first; the typed text scrolls in the room left,
		// or on a line of its own when the question leaves too little
		// (at 80 columns the expiry's would show "2…" of "24h").
		if room := g.width - width(q) - 2; room >= gatesMinInput {
			g.input.Width = room
			out = append(out, st.Confirm.Render(q)+g.input.View())
		} else {
			g.input.Width = max(8, g.width-4)
			out = append(out, st.Confirm.Render(strings.TrimSuffix(q, " ")), "  "+g.input.View())
		}
		if p.err != "" {
			out = append(out, st.Error.Render("✗ "+p.err))
		}
	}
	for k := range out {
		out[k] = cut(out[k], g.width)
	}
	return out
}

// gateSummary is a gate's kind and thresholds in a few words.
func gateSummary(gt model.Gate, defined bool) string {
	if !defined {
		return "not defined in the organisation"
	}
	s := string(gt.Kind)
	if gt.Min != nil {
		s += " min " + threshold(gt.Min)
	}
	if gt.Max != nil {
		s += " max " + threshold(gt.Max)
	}
	if gt.Severity != "" {
		s += " " + gt.Severity + "+"
	}
	return s
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12] + "…"
	}
	return h
}

// stamp is a time as "27 Nov 12:03 UTC"; "" for none.
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format("02 Jan 15:04 UTC")
}

func threshold(v *float64) string {
	if v == nil {
		return "—"
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

func (g *gatesScreen) View() string {
	var b strings.Builder
	n := len(g.title) + len(g.head) + len(g.rule) + 8
	for _, r := range g.rows {
		n += len(r) + 1
	}
	for _, l := range g.panel {
		n += len(l) + 1
	}
	b.Grow(n)
	b.WriteString(g.title)
	if g.head == "" {
		return b.String()
	}
	b.WriteByte('\n')
	b.WriteString(g.head)
	for _, r := range g.rows {
		b.WriteByte('\n')
		b.WriteString(r)
	}
	b.WriteByte('\n')
	b.WriteString(g.rule)
	for _, l := range g.panel {
		b.WriteByte('\n')
		b.WriteString(l)
	}
	return b.String()
}

// count is "1 gate", "8 gates".
func count(n int, word string) string {
	return fmt.Sprintf("%d %s", n, plural(n, word, word+"s"))
}
