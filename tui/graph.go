package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/warroom/warroom/core/graph"
	"github.com/warroom/warroom/core/model"
)

type graphKeys struct {
	Up, Down, Left, Right, ScrollLeft, ScrollRight key.Binding
}

func defaultGraphKeys() graphKeys {
	return graphKeys{
		Up:          key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("↑/k", "service up")),
		Down:        key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("↓/j", "service down")),
		Left:        key.NewBinding(key.WithKeys("h", "left"), key.WithHelp("←/h", "wave left")),
		Right:       key.NewBinding(key.WithKeys("l", "right"), key.WithHelp("→/l", "wave right")),
		ScrollLeft:  key.NewBinding(key.WithKeys("["), key.WithHelp("[", "scroll waves left")),
		ScrollRight: key.NewBinding(key.WithKeys("]"), key.WithHelp("]", "scroll waves right")),
	}
}

// graphColumn is one wave drawn as a column of the services it deploys.
type graphColumn struct {
	wave       int // 1-based wave number
	services   []string
	migrations int
}

// graphScreen is the release's dependency graph laid out by waves, left to
// right, with the selected service's owner, escalation path, versions,
// neighbours in scope and blast radius below.
type graphScreen struct {
	c      *Common
	org    *model.Org // the organisation the graph was built from
	keys   graphKeys
	width  int
	height int

	rel     *model.Release
	ix      *model.Index
	g       *graph.Graph
	nodes   map[string]graph.Node
	inScope map[string]bool
	cols    []graphColumn
	others  int // services of the graph outside the release's scope
	unknown []string
	waveErr error
	incs    map[string][]graph.Incompatibility // by consumer
	libs    map[string][]graph.LibraryConflict // by service involved

	col, row int // cursor: wave column and service within it
	first    int // first wave column on show
	offset   int // first service row on show

	// title, info, head, rows and panel are rendered when data, size or
	// the cursor change; View only joins them.
	title, info, head string
	rows              []string
	panel             []string
}

var _ Screen = (*graphScreen)(nil)

func newGraph(c *Common) *graphScreen { return &graphScreen{c: c, keys: defaultGraphKeys()} }

func (s *graphScreen) Title() string { return "Graph" }

func (s *graphScreen) ShortHelp() []key.Binding {
	k := s.keys
	return []key.Binding{shown("↑↓", "service", k.Up, k.Down), shown("←→", "wave", k.Left, k.Right),
		shown("[ ]", "scroll waves", k.ScrollLeft, k.ScrollRight)}
}

func (s *graphScreen) FullHelp() [][]key.Binding {
	k := s.keys
	return [][]key.Binding{{k.Up, k.Down, k.Left, k.Right}, {k.ScrollLeft, k.ScrollRight}}
}

func (s *graphScreen) SetSize(width, height int) {
	s.width, s.height = width, height
	s.render()
}

// releaseInFlight is the release in focus, else the run's, else the
// first release by window.
func releaseInFlight(snap *Snapshot) *model.Release {
	if snap == nil || snap.Org == nil {
		return nil
	}
	if rel := snap.releaseNamed(snap.Focus); rel != nil {
		return rel
	}
	if snap.Run != nil {
		if rel := snap.releaseNamed(snap.Run.Release); rel != nil {
			return rel
		}
	}
	var best *model.Release
	for i := range snap.Org.Releases {
		r := &snap.Org.Releases[i]
		if best == nil || r.Window.Start.Before(best.Window.Start) ||
			(r.Window.Start.Equal(best.Window.Start) && r.Name < best.Name) {
			best = r
		}
	}
	return best
}

func (s *graphScreen) SetData(snap *Snapshot) {
	// The graph depends on the organisation and the release only: a new
	// run state (most refreshes) changes nothing here.
	rel := releaseInFlight(snap)
	if snap != nil && snap.Org != nil && snap.Org == s.org && rel != nil && s.rel != nil && rel.Name == s.rel.Name {
		return
	}
	if snap != nil {
		s.org = snap.Org
	}
	s.rel, s.ix, s.g, s.cols, s.waveErr, s.unknown = nil, nil, nil, nil, nil, nil
	s.nodes, s.inScope = map[string]graph.Node{}, map[string]bool{}
	s.incs, s.libs = map[string][]graph.Incompatibility{}, map[string][]graph.LibraryConflict{}
	s.others = 0
	if rel != nil {
		s.rel = rel
		s.ix = model.NewIndex(snap.Org)
		s.g = graph.ForRelease(s.ix, rel)
		for _, n := range s.g.Nodes() {
			s.nodes[n.Name] = n
			if n.InScope {
				s.inScope[n.Name] = true
			} else {
				s.others++
			}
		}
		s.unknown = s.g.UnknownServices()
		waves, err := s.g.Waves()
		if err != nil {
			// No order exists; still show the scope, as one column.
			s.waveErr = err
			s.cols = []graphColumn{{wave: 0, services: s.g.InScope()}}
		}
		for _, w := range waves {
			if len(w.Services) > 0 {
				s.cols = append(s.cols, graphColumn{wave: w.Index, services: w.Services, migrations: len(w.Migrations)})
			}
		}
		for _, inc := range s.g.Compatibility() {
			s.incs[inc.Consumer] = append(s.incs[inc.Consumer], inc)
		}
		for _, lc := range s.g.LibraryConflicts() {
			for _, u := range lc.Users {
				for _, svc := range u.Services {
					if l := s.libs[svc.Name]; len(l) == 0 || l[len(l)-1].Library != lc.Library {
						s.libs[svc.Name] = append(l, lc)
					}
				}
			}
		}
	}
	s.render()
}

func (s *graphScreen) Update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyMsg)
	if !ok || len(s.cols) == 0 {
		return nil
	}
	switch {
	case key.Matches(km, s.keys.Up):
		s.row--
	case key.Matches(km, s.keys.Down):
		s.row++
	case key.Matches(km, s.keys.Left):
		s.col--
	case key.Matches(km, s.keys.Right):
		s.col++
	case key.Matches(km, s.keys.ScrollLeft):
		s.first--
		s.first = max(0, s.first)
		s.col = min(s.col, s.first+s.visibleCols()-1)
	case key.Matches(km, s.keys.ScrollRight):
		s.first = min(s.first+1, len(s.cols)-s.visibleCols())
		s.col = max(s.col, s.first)
	default:
		return nil
	}
	s.render()
	return nil
}

// Column widths: each wave gets colW cells and a space; at least
// graphMinCol so names stay readable, scrolling when the waves do not fit.
const (
	graphMinCol = 18
	graphMaxCol = 32
)

func (s *graphScreen) visibleCols() int {
	n := len(s.cols)
	if n == 0 {
		return 0
	}
	return max(1, min(n, (s.width+1)/(graphMinCol+1)))
}

func (s *graphScreen) colWidth() int {
	v := s.visibleCols()
	if v == 0 {
		return 0
	}
	return max(1, min(graphMaxCol, (s.width+1)/v-1))
}

// graphRows is how many service rows fit above the panel.
func (s *graphScreen) graphRows() int { return max(1, s.height-3-1-len(s.panel)) }

// selected is the service under the cursor.
func (s *graphScreen) selected() string {
	if len(s.cols) == 0 || len(s.cols[s.col].services) == 0 {
		return ""
	}
	return s.cols[s.col].services[s.row]
}

func (s *graphScreen) render() {
	st := s.c.Styles
	s.rows, s.panel, s.head, s.info = s.rows[:0], s.panel[:0], "", ""
	if s.rel == nil {
		s.title = st.Muted.Render("No release in the organisation: no graph to show.")
		return
	}
	vis := s.visibleCols()
	s.col = min(max(0, s.col), max(0, len(s.cols)-1))
	s.first = min(max(0, s.first), max(0, len(s.cols)-vis))
	if s.col < s.first {
		s.first = s.col
	}
	if s.col >= s.first+vis {
		s.first = s.col - vis + 1
	}
	if len(s.cols) > 0 {
		s.row = min(max(0, s.row), max(0, len(s.cols[s.col].services)-1))
	}

	scope := len(s.inScope)
	title := st.Title.Render("Graph of "+s.rel.Name) + st.Muted.Render(fmt.Sprintf(" · %d %s in %d %s",
		scope, plural(scope, "service", "services"), len(s.cols), plural(len(s.cols), "wave", "waves")))
	if vis < len(s.cols) {
		// Where the window is matters more than the counts: it replaces them.
		title = st.Title.Render("Graph of "+s.rel.Name) + st.Muted.Render(fmt.Sprintf(" · waves %d–%d of %d · [ ] scroll",
			s.cols[s.first].wave, s.cols[s.first+vis-1].wave, len(s.cols)))
	}
	s.title = cut(title, s.width)
	info := fmt.Sprintf("+%d other %s not in this release", s.others, plural(s.others, "service", "services"))
	if len(s.unknown) > 0 {
		info += fmt.Sprintf(" · %d scope %s not in the catalogue", len(s.unknown), plural(len(s.unknown), "item", "items"))
	}
	s.info = cut(st.Muted.Render(info+" · ")+st.Tone[ToneBad].Render("✗ incompatible")+st.Muted.Render(" · ")+
		st.Tone[ToneWarn].Render("! library conflict"), s.width)
	if s.waveErr != nil {
		s.info = cut(st.Error.Render("✗ no wave order: "+s.waveErr.Error()), s.width)
	}
	if len(s.cols) == 0 {
		s.head = st.Muted.Render("Nothing in scope is in the catalogue.")
		return
	}

	colW := s.colWidth()
	var heads []string
	for _, c := range s.cols[s.first : s.first+vis] {
		h := fmt.Sprintf("WAVE %d", c.wave)
		if c.wave == 0 {
			h = "SCOPE (unordered)"
		}
		if c.migrations > 0 {
			h += fmt.Sprintf(" +%d migr.", c.migrations)
		}
		heads = append(heads, st.ColumnHead.Render(pad(h, colW)))
	}
	s.head = strings.Join(heads, " ")

	s.panel = s.detail(s.selected())
	rows := s.graphRows()
	tallest := 0
	for _, c := range s.cols[s.first : s.first+vis] {
		tallest = max(tallest, len(c.services))
	}
	s.offset = scrollTo(s.offset, s.row, rows, tallest)
	for r := s.offset; r < min(tallest, s.offset+rows); r++ {
		var cells []string
		for ci := s.first; ci < s.first+vis; ci++ {
			cells = append(cells, s.cell(ci, r, colW))
		}
		s.rows = append(s.rows, strings.Join(cells, " "))
	}
}

// cell draws one service of a wave column: cursor marker, incompatibility
// and library-conflict symbols, name.
func (s *graphScreen) cell(ci, r, w int) string {
	st := s.c.Styles
	c := s.cols[ci]
	if r >= len(c.services) {
		return strings.Repeat(" ", w)
	}
	name := c.services[r]
	bad, lib := " ", " "
	if len(s.incs[name]) > 0 {
		bad = "✗"
	}
	if len(s.libs[name]) > 0 {
		lib = "!"
	}
	if ci == s.col && r == s.row {
		return st.Selected.Render(pad("›"+bad+lib+" "+name, w))
	}
	return " " + st.Tone[ToneBad].Render(bad) + st.Tone[ToneWarn].Render(lib) + " " + pad(name, w-4)
}

// detail is the selected service's panel.
func (s *graphScreen) detail(name string) []string {
	st := s.c.Styles
	if name == "" {
		return nil
	}
	n := s.nodes[name]
	label := func(l string) string { return st.Label.Render(pad(l, 13)) }
	list := func(xs []string) string {
		if len(xs) == 0 {
			return st.Muted.Render("—")
		}
		return strings.Join(xs, ", ")
	}
	head := st.Title.Render(name)
	if len(s.incs[name]) > 0 {
		head += "  " + st.Tone[ToneBad].Render("✗ incompatible")
	}
	if len(s.libs[name]) > 0 {
		head += "  " + st.Tone[ToneWarn].Render("! library conflict")
	}
	out := []string{head}

	owner := st.Tone[ToneBad].Render("✗ no owner")
	var esc []model.Contact
	if n.Owner != "" {
		o := s.ix.OwnerOf(n.Owner)
		kind := o.Kind
		if kind == "" {
			kind = "unknown: neither team nor vendor"
		}
		owner = n.Owner + " (" + kind + ")"
		if o.Channel != "" {
			owner += " · " + o.Channel
		}
		if o.OnCall != "" {
			owner += " · on-call " + o.OnCall
		}
		esc = o.Escalation
	}
	out = append(out, label("Owner")+owner)
	if len(esc) == 0 {
		out = append(out, label("Escalation")+st.Muted.Render("none recorded"))
	}
	for i, ct := range esc[:min(3, len(esc))] {
		l := label("")
		if i == 0 {
			l = label("Escalation")
		}
		out = append(out, l+fmt.Sprintf("%d. %s", i+1, contactLine(ct)))
	}
	if len(esc) > 3 {
		out[len(out)-1] += st.Muted.Render(fmt.Sprintf(" (+%d more)", len(esc)-3))
	}

	version := n.Version
	if n.InScope {
		version = n.FromVersion + " -> " + n.ToVersion
	}
	kind := string(n.Kind)
	if kind == "" {
		kind = string(model.Stateless)
	}
	out = append(out, label("Version")+version+st.Muted.Render(fmt.Sprintf(" · tier %d · %s", n.Tier, kind)))

	inScope := func(xs []string) string {
		var in []string
		for _, x := range xs {
			if s.inScope[x] {
				in = append(in, x)
			}
		}
		l := list(in)
		if o := len(xs) - len(in); o > 0 {
			l += st.Muted.Render(fmt.Sprintf(" (+%d outside the release)", o))
		}
		return l
	}
	out = append(out,
		label("Depends on")+inScope(s.g.Dependencies(name)),
		label("Used by")+inScope(s.g.Dependents(name)))

	sum := graph.Summarize(s.g.BlastRadius(name))
	blast := st.Muted.Render("none: nothing depends on it")
	if sum.Total > 0 {
		blast = fmt.Sprintf("%d %s · %d direct · most critical tier %d", sum.Total,
			plural(sum.Total, "service", "services"), sum.Direct, sum.MostCritical)
		if sum.MostCritical == model.MinTier {
			blast = st.Tone[ToneWarn].Render(blast)
		}
	}
	out = append(out, label("Blast radius")+blast)

	// Problems are the point of the panel: wrapped, never cut.
	issue := func(tone Tone, sym, msg string) {
		for i, l := range strings.Split(ansi.Wrap(msg, max(10, s.width-2), ""), "\n") {
			p := "  "
			if i == 0 {
				p = sym + " "
			}
			out = append(out, st.Tone[tone].Render(p+l))
		}
	}
	for _, inc := range s.incs[name] {
		issue(ToneBad, "✗", inc.Message)
	}
	for _, lc := range s.libs[name] {
		var uses []string
		for _, u := range lc.Users {
			var who []string
			for _, x := range u.Services {
				who = append(who, x.Name)
			}
			uses = append(uses, u.Version+" ("+strings.Join(who, ", ")+")")
		}
		fix := "no version satisfies all"
		if len(lc.Satisfying) > 0 {
			fix = "all accept " + lc.Satisfying[0]
		}
		issue(ToneWarn, "!", lc.Library+": "+strings.Join(uses, ", ")+"; "+fix)
	}
	for i := range out {
		out[i] = cut(out[i], s.width)
	}
	return out
}

// contactLine is a contact and how to reach them, most urgent means first.
func contactLine(ct model.Contact) string {
	l := ct.Name
	if ct.Role != "" {
		l += " (" + ct.Role + ")"
	}
	var how []string
	if ct.Pager {
		how = append(how, "pager")
	}
	for _, h := range []string{ct.Phone, ct.Chat, ct.Email} {
		if h != "" {
			how = append(how, h)
		}
	}
	if ct.OnCall != "" {
		how = append(how, "on-call "+ct.OnCall)
	}
	if len(how) == 0 {
		return l + " — no way to reach recorded"
	}
	return l + " — " + strings.Join(how, " · ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func (s *graphScreen) View() string {
	var b strings.Builder
	b.WriteString(s.title)
	for _, l := range []string{s.info, s.head} {
		if l != "" {
			b.WriteByte('\n')
			b.WriteString(l)
		}
	}
	for _, r := range s.rows {
		b.WriteByte('\n')
		b.WriteString(r)
	}
	if len(s.panel) > 0 {
		b.WriteByte('\n')
		for _, l := range s.panel {
			b.WriteByte('\n')
			b.WriteString(l)
		}
	}
	return b.String()
}
