package tui

import (
	"context"
	"os"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/cursor"
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/ansi"
)

// Deps is what a console needs from its host.
type Deps struct {
	// Source is where data comes from; required.
	Source Source
	// Renderer styles this console's output; one per terminal (per SSH
	// session). Nil means a new renderer on os.Stdout — never the global
	// default.
	Renderer *lipgloss.Renderer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Actor is the person at the keyboard.
	Actor string
	// Commander carries out the operator's commands; nil makes the
	// console read-only.
	Commander Commander
	// Gates waives and approves gates (the Gates screen's w and a); nil:
	// the Source, else the Commander, if either is a GateActor.
	Gates GateActor
}

// Option changes a console's defaults.
type Option func(*Model)

// WithLocation sets the zone of the "local" clock (default time.Local).
func WithLocation(loc *time.Location) Option { return func(m *Model) { m.c.Location = loc } }

// WithAuditLimit sets how many of the newest audit events are loaded
// (default 500).
func WithAuditLimit(n int) Option { return func(m *Model) { m.auditLimit = n } }

// WithTheme replaces the default palette.
func WithTheme(t Theme) Option { return func(m *Model) { m.theme = t } }

// WithPollInterval sets how often the console asks whether data changed
// (default half a second, so a change shows within one).
func WithPollInterval(d time.Duration) Option { return func(m *Model) { m.poll = d } }

// Model is the console's root: layout, global keys, data loading.
type Model struct {
	c       *Common
	theme   Theme
	src     Source
	screens []Screen
	active  int
	help    help.Model

	snap *Snapshot
	// view is snap as shown: focused on a release (pinned with ':release').
	view *Snapshot
	// stale marks the screens that have not had view yet.
	stale  []bool
	pinned string
	facts  headerFacts
	header []string
	// ask is the yes/no question on the status line, if any.
	ask *ConfirmMsg
	// flash is the outcome of the last command, shown until flashUntil.
	flash      string
	flashUntil time.Time
	// input is the ':' command line or the '/' filter while typed.
	input     textinput.Model
	inputMode inputMode

	err         error
	gen         int // generation of the newest load asked for
	loading     bool
	version     int64
	haveVersion bool

	now        time.Time
	auditLimit int
	poll       time.Duration
	footerH    int
	// tick schedules the next poll; tests replace it to drive ticks by hand.
	tick func() tea.Cmd
}

var _ tea.Model = (*Model)(nil)

// New returns the console. Run it with tea.NewProgram(tui.New(deps),
// tea.WithAltScreen(), tea.WithMouseCellMotion()).
func New(deps Deps, opts ...Option) *Model {
	r := deps.Renderer
	if r == nil {
		r = lipgloss.NewRenderer(os.Stdout)
	}
	now := deps.Now
	if now == nil {
		now = time.Now
	}
	m := &Model{
		c: &Common{
			Keys:      DefaultGlobalKeys(),
			Now:       now,
			Location:  time.Local,
			Actor:     deps.Actor,
			Commander: deps.Commander,
			Gates:     gateActor(deps),
		},
		theme:      DefaultTheme(),
		src:        deps.Source,
		auditLimit: 500,
		poll:       500 * time.Millisecond,
	}
	for _, o := range opts {
		o(m)
	}
	m.c.Styles = NewStyles(r, m.theme)
	m.now = now()
	m.help = help.New()
	m.help.Styles.ShortKey = r.NewStyle().Bold(true)
	m.help.Styles.FullKey = r.NewStyle().Bold(true)
	m.help.Styles.ShortDesc = m.c.Styles.Muted
	m.help.Styles.FullDesc = m.c.Styles.Muted
	m.help.Styles.ShortSeparator = m.c.Styles.Muted
	m.help.Styles.FullSeparator = m.c.Styles.Muted
	m.help.Styles.Ellipsis = m.c.Styles.Muted
	m.input = textinput.New()
	m.input.Prompt = ""
	m.input.CharLimit = 200
	// A steady cursor: blinking would redraw the screen twice a second.
	m.input.Cursor.SetMode(cursor.CursorStatic)
	m.tick = func() tea.Cmd {
		return tea.Tick(m.poll, func(t time.Time) tea.Msg { return tickMsg{} })
	}
	for _, t := range screenTitles {
		switch t {
		case "Overview":
			m.screens = append(m.screens, newOverview(m.c))
		case "Calendar":
			m.screens = append(m.screens, newCalendar(m.c))
		case "Graph":
			m.screens = append(m.screens, newGraph(m.c))
		case "Gates":
			m.screens = append(m.screens, newGates(m.c))
		case "Waves":
			m.screens = append(m.screens, newWaves(m.c))
		case "Canary":
			m.screens = append(m.screens, newCanary(m.c))
		case "Changes":
			m.screens = append(m.screens, newChanges(m.c))
		case "Audit":
			m.screens = append(m.screens, newAudit(m.c))
		case "Plugins":
			m.screens = append(m.screens, newPlugins(m.c))
		default:
			m.screens = append(m.screens, &placeholder{c: m.c, title: t})
		}
	}
	return m
}

// gateActor is the console's GateActor: the one given, else the source's
// or the commander's.
func gateActor(d Deps) GateActor {
	if d.Gates != nil {
		return d.Gates
	}
	if g, ok := d.Source.(GateActor); ok {
		return g
	}
	if g, ok := d.Commander.(GateActor); ok {
		return g
	}
	return nil
}

// capturer is a screen typing text (a reason): every key but ctrl+c goes
// to it, none to the global bindings.
type capturer interface{ Capturing() bool }

type (
	// snapshotMsg carries a load's result, tagged with its generation.
	snapshotMsg struct {
		gen  int
		snap Snapshot
		err  error
	}
	// tickMsg is the once-a-second heartbeat: clock and change poll.
	tickMsg struct{}
	// versionMsg is what the change poll read.
	versionMsg struct {
		version int64
		err     error
	}
)

// Init starts the first load and the heartbeat.
func (m *Model) Init() tea.Cmd { return tea.Batch(m.load(), m.tick()) }

// load asks the Source for a snapshot in the background.
func (m *Model) load() tea.Cmd {
	if m.src == nil {
		return nil
	}
	m.gen++
	m.loading = true
	gen, src, limit := m.gen, m.src, m.auditLimit
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := src.Load(ctx, limit)
		return snapshotMsg{gen: gen, snap: s, err: err}
	}
}

// pollChange asks the Source whether anything changed.
func (m *Model) pollChange() tea.Cmd {
	if m.src == nil {
		return nil
	}
	src := m.src
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		v, err := src.Changed(ctx)
		return versionMsg{version: v, err: err}
	}
}

// Update routes messages: data and heartbeat to the root, global keys to
// the root, every other key and mouse event to the active screen.
func (m *Model) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case tea.WindowSizeMsg:
		m.c.Width, m.c.Height = msg.Width, msg.Height
		m.resize()
		return m, nil
	case snapshotMsg:
		if msg.gen != m.gen {
			return m, nil // a newer load is on its way
		}
		m.loading = false
		if msg.err != nil {
			m.err = msg.err
			return m, nil
		}
		m.err = nil
		snap := msg.snap
		m.snap = &snap
		m.version, m.haveVersion = snap.Version, true
		m.applySnapshot()
		return m, nil
	case tickMsg:
		m.now = m.c.Now()
		m.refreshHeader()
		if m.flash != "" && !m.now.Before(m.flashUntil) {
			m.flash = ""
		}
		return m, tea.Batch(m.pollChange(), m.tick())
	case ConfirmMsg:
		m.ask = &msg
		return m, nil
	case FileChangeMsg:
		return m, m.c.fileChange(msg.Release)
	case actionResultMsg:
		st := m.c.Styles
		if msg.err != nil {
			m.flash = st.Error.Render("✗ " + msg.what + ": " + msg.err.Error())
		} else {
			m.flash = st.Tone[ToneOK].Render("✓ " + msg.ok)
		}
		m.flashUntil = m.c.Now().Add(8 * time.Second)
		if m.loading {
			return m, nil
		}
		return m, m.load()
	case versionMsg:
		if msg.err != nil {
			m.err = msg.err
			return m, nil
		}
		if !m.loading && (!m.haveVersion || msg.version != m.version) {
			return m, m.load()
		}
		return m, nil
	case tea.KeyMsg:
		if msg.Type == tea.KeyRunes && len(msg.Runes) > 1 && !msg.Paste {
			// bubbletea v1 hands letters that arrive in one read over as
			// one message ("12"): keys typed fast, or over a slow SSH
			// link, would match no binding and be lost. Each is a key.
			cmds := make([]tea.Cmd, 0, len(msg.Runes))
			for _, r := range msg.Runes {
				cmds = append(cmds, m.handleKey(tea.KeyMsg{Type: tea.KeyRunes, Runes: []rune{r}, Alt: msg.Alt}))
			}
			return m, tea.Batch(cmds...)
		}
		return m, m.handleKey(msg)
	case tea.MouseMsg:
		return m, m.screens[m.active].Update(msg)
	}
	return m, m.screens[m.active].Update(msg)
}

// inputMode is what the status line's text input is for.
type inputMode int

const (
	inputNone inputMode = iota
	inputCommand
	inputFilter
)

// Filterable is a screen whose rows '/' narrows.
type Filterable interface {
	// SetFilter shows only rows containing q (case-insensitive); "" shows all.
	SetFilter(q string)
	Filter() string
}

// applySnapshot focuses the loaded snapshot and hands it to every screen.
func (m *Model) applySnapshot() {
	if m.snap == nil {
		return
	}
	m.view = m.snap.focused(m.pinned)
	m.refreshHeader()
	// Only the screen on show is brought up to date now; the others when
	// they are shown (on a large organisation a screen's SetData costs
	// milliseconds, all nine of them tens of milliseconds per refresh).
	if m.stale == nil {
		m.stale = make([]bool, len(m.screens))
	}
	for i := range m.screens {
		m.stale[i] = true
	}
	m.freshen(m.active)
}

// freshen hands screen i the current data if it has not had it yet.
func (m *Model) freshen(i int) {
	if m.view != nil && m.stale != nil && m.stale[i] {
		m.screens[i].SetData(m.view)
		m.stale[i] = false
	}
}

// refreshHeader works out the header's facts for the current time.
func (m *Model) refreshHeader() {
	if m.view != nil {
		m.facts = m.view.headerFacts(m.now)
	}
	h := len(m.header)
	m.header = m.headerLines()
	if len(m.header) != h {
		m.resize()
	}
}

// quit quits, asking first while a run is in flight.
func (m *Model) quit() tea.Cmd {
	if m.view.runActive() {
		r := m.view.Run
		m.ask = &ConfirmMsg{Question: "Quit? y/n — run " + r.ID + " is " + RunStatus(r.State).Text() +
			"; if this console drives it, it stops here and resumes with 'warroom deploy resume " + r.ID + "'",
			Run: tea.Quit}
		return nil
	}
	return tea.Quit
}

func (m *Model) handleKey(msg tea.KeyMsg) tea.Cmd {
	k := m.c.Keys
	if m.ask != nil {
		switch {
		case key.Matches(msg, k.ForceQuit):
			return tea.Quit
		case key.Matches(msg, k.Yes):
			run := m.ask.Run
			m.ask = nil
			return run
		case key.Matches(msg, k.No), key.Matches(msg, k.Quit):
			m.ask = nil
		}
		return nil
	}
	if m.inputMode != inputNone {
		return m.handleInput(msg)
	}
	if c, ok := m.screens[m.active].(capturer); ok && c.Capturing() {
		if key.Matches(msg, k.ForceQuit) {
			return tea.Quit
		}
		cmd := m.screens[m.active].Update(msg)
		m.resize() // the screen's keys changed with its mode
		return cmd
	}
	switch {
	case key.Matches(msg, k.ForceQuit):
		return tea.Quit
	case key.Matches(msg, k.Quit):
		return m.quit()
	case key.Matches(msg, k.Command):
		m.inputMode = inputCommand
		m.input.SetValue("")
		return m.input.Focus()
	case key.Matches(msg, k.Filter):
		f, ok := m.screens[m.active].(Filterable)
		if !ok {
			m.flash = m.c.Styles.Muted.Render(m.screens[m.active].Title() + " has nothing to filter")
			m.flashUntil = m.c.Now().Add(4 * time.Second)
			return nil
		}
		m.inputMode = inputFilter
		m.input.SetValue(f.Filter())
		m.input.CursorEnd()
		return m.input.Focus()
	case key.Matches(msg, k.Help):
		m.help.ShowAll = !m.help.ShowAll
		m.resize()
	case key.Matches(msg, k.Next):
		m.setActive((m.active + 1) % len(m.screens))
	case key.Matches(msg, k.Prev):
		m.setActive((m.active + len(m.screens) - 1) % len(m.screens))
	case key.Matches(msg, k.Jump):
		m.setActive(int(msg.String()[0] - '1'))
	default:
		return m.screens[m.active].Update(msg)
	}
	return nil
}

// handleInput edits the command line or the filter; enter runs or keeps
// it, esc cancels (and clears a filter).
func (m *Model) handleInput(msg tea.KeyMsg) tea.Cmd {
	mode := m.inputMode
	switch msg.Type {
	case tea.KeyEsc:
		m.inputMode = inputNone
		m.input.Blur()
		if f, ok := m.screens[m.active].(Filterable); ok && mode == inputFilter {
			f.SetFilter("")
		}
		return nil
	case tea.KeyEnter:
		m.inputMode = inputNone
		m.input.Blur()
		if mode == inputCommand {
			return m.runCommandLine(m.input.Value())
		}
		return nil
	case tea.KeyCtrlC:
		return tea.Quit
	}
	var cmd tea.Cmd
	m.input, cmd = m.input.Update(msg)
	if f, ok := m.screens[m.active].(Filterable); ok && mode == inputFilter {
		f.SetFilter(m.input.Value())
	}
	return cmd
}

func (m *Model) setActive(i int) {
	if i >= 0 && i < len(m.screens) {
		m.active = i
		m.freshen(i)
		m.resize()
	}
}

// Active returns the title of the screen on show.
func (m *Model) Active() string { return m.screens[m.active].Title() }

// resize lays the screen out: header, tabs, body, status line, help.
func (m *Model) resize() {
	m.help.Width = m.c.Width
	m.input.Width = max(10, m.c.Width-4)
	m.footerH = lipgloss.Height(m.help.View(m.keyMap()))
	m.header = m.headerLines()
	for _, s := range m.screens {
		s.SetSize(m.c.Width, m.bodyHeight())
	}
}

// bodyHeight is what is left for the screen under the header and tabs
// and above the status line and help.
func (m *Model) bodyHeight() int {
	return max(0, m.c.Height-len(m.header)-2-m.footerH)
}

// View renders the cached state; it does no I/O.
func (m *Model) View() string {
	w := m.c.Width
	if w == 0 {
		return ""
	}
	bodyH := m.bodyHeight()
	var b strings.Builder
	for _, l := range m.header {
		b.WriteString(cut(l, w))
		b.WriteByte('\n')
	}
	b.WriteString(cut(m.tabsView(), w))
	b.WriteByte('\n')
	var body string
	switch {
	case m.snap == nil && m.err != nil:
		body = m.c.Styles.Error.Render("✗ cannot load: " + m.err.Error())
	case m.snap == nil:
		body = m.c.Styles.Muted.Render("loading…")
	default:
		body = m.screens[m.active].View()
	}
	b.WriteString(fit(body, w, bodyH))
	b.WriteByte('\n')
	b.WriteString(cut(m.statusView(), w))
	b.WriteByte('\n')
	// help truncates itself, but not always to the cell: make sure.
	help := strings.Split(m.help.View(m.keyMap()), "\n")
	for i, l := range help {
		help[i] = cut(l, w)
	}
	b.WriteString(strings.Join(help, "\n"))
	return b.String()
}

// tabsView names every screen with its number key; the active one is
// bracketed so it shows without colour too.
func (m *Model) tabsView() string {
	st := m.c.Styles
	render := func(sep string, spaced bool) (string, int) {
		var b strings.Builder
		width := 0
		for i, s := range m.screens {
			label := string(rune('1'+i)) + s.Title()
			if spaced {
				label = string(rune('1'+i)) + " " + s.Title()
			}
			if i > 0 {
				b.WriteString(sep)
				width += len(sep)
			}
			if i == m.active {
				label = "[" + label + "]"
				b.WriteString(st.TabActive.Render(label))
			} else {
				b.WriteString(st.TabInactive.Render(label))
			}
			width += ansi.StringWidth(label)
		}
		return b.String(), width
	}
	if s, w := render("  ", true); w <= m.c.Width {
		return s
	}
	s, _ := render(" ", false)
	return s
}

func (m *Model) statusView() string {
	st := m.c.Styles
	switch {
	case m.ask != nil:
		// The question comes first so a narrow terminal never cuts it.
		return st.Confirm.Render(m.ask.Question)
	case m.inputMode == inputCommand:
		return ":" + m.input.View()
	case m.inputMode == inputFilter:
		return "/" + m.input.View()
	case m.flash != "":
		return m.flash
	case m.err != nil && m.snap != nil:
		return st.Error.Render("✗ refresh failed (showing older data): " + m.err.Error())
	}
	if f, ok := m.screens[m.active].(Filterable); ok && f.Filter() != "" {
		return st.Muted.Render("filter: " + f.Filter() + " (/ to change, esc in it to clear)")
	}
	return ""
}

// keyMap joins the active screen's bindings with the global ones.
func (m *Model) keyMap() help.KeyMap {
	return joinedKeys{screen: m.screens[m.active], global: m.c.Keys, width: m.c.Width}
}

type joinedKeys struct {
	screen Screen
	global *GlobalKeys
	width  int
}

func (j joinedKeys) ShortHelp() []key.Binding {
	g := j.global
	// Short help is the screen's own keys, after "? more" and quit: the
	// tab bar already names the number keys, and ? lists the rest. It
	// fits 80 columns on every screen (TestFooterFits80).
	more := g.Help
	more.SetHelp("?", "more")
	own := j.screen.ShortHelp()
	with := append([]key.Binding{more, g.Quit}, own...)
	if shortHelpWidth(with) <= j.width {
		return with
	}
	return append([]key.Binding{more}, own...)
}

// shortHelpWidth is the width of bindings as help.ShortHelpView lays
// them out: "key desc" joined by " • ".
func shortHelpWidth(bs []key.Binding) int {
	w, n := 0, 0
	for _, b := range bs {
		if !b.Enabled() {
			continue
		}
		if n > 0 {
			w += 3
		}
		h := b.Help()
		w += ansi.StringWidth(h.Key) + 1 + ansi.StringWidth(h.Desc)
		n++
	}
	return w
}

func (j joinedKeys) FullHelp() [][]key.Binding {
	g := j.global
	less := g.Help
	less.SetHelp("?", "less")
	return append(j.screen.FullHelp(), []key.Binding{g.Jump, g.Next, g.Prev, g.Command, g.Filter, less, g.Quit, g.ForceQuit})
}
