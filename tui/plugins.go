package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// pluginsScreen is the configured plugins as the plugin host sees them,
// with the selected one in full below the table.
type pluginsScreen struct {
	c      *Common
	keys   listKeys
	snap   *Snapshot
	width  int
	height int
	cursor int
	offset int
	title  string
	head   string
	// rows, selRows and panels are rendered when data or size change.
	rows, selRows []string
	panels        [][]string
}

var _ Screen = (*pluginsScreen)(nil)

func newPlugins(c *Common) *pluginsScreen { return &pluginsScreen{c: c, keys: defaultListKeys()} }

func (s *pluginsScreen) Title() string { return "Plugins" }

func (s *pluginsScreen) ShortHelp() []key.Binding { return []key.Binding{s.keys.Up, s.keys.Down} }

func (s *pluginsScreen) FullHelp() [][]key.Binding {
	k := s.keys
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}}
}

func (s *pluginsScreen) SetSize(width, height int) {
	s.width, s.height = width, height
	s.render()
}

func (s *pluginsScreen) SetData(snap *Snapshot) {
	s.snap = snap
	s.render()
}

func (s *pluginsScreen) visible() int { return min(len(s.rows), max(3, (s.height-3)/2)) }

func (s *pluginsScreen) Update(msg tea.Msg) tea.Cmd {
	n := len(s.rows)
	if n == 0 {
		return nil
	}
	next, ok := s.keys.move(msg, s.cursor, n, s.visible())
	if !ok {
		return nil
	}
	s.cursor = next
	s.offset = scrollTo(s.offset, s.cursor, s.visible(), n)
	return nil
}

// PluginHealth is how a plugin's health reads.
func PluginHealth(p PluginStatus) Status {
	switch {
	case !p.Trusted || p.Fault == "untrusted":
		return Status{"!", "untrusted", ToneWarn}
	case p.Healthy:
		return Status{"✓", "healthy", ToneOK}
	case p.Fault != "":
		return Status{"✗", p.Fault, ToneBad}
	case !p.Running:
		return Status{"–", "stopped", ToneNeutral}
	}
	return Status{"!", "unhealthy", ToneWarn}
}

// pluginTrust is how a plugin's trust reads: whose, or none.
func pluginTrust(p PluginStatus) Status {
	if !p.Trusted {
		return Status{"✗", "not trusted", ToneWarn}
	}
	src := p.TrustSource
	if src == "" {
		src = "trusted"
	}
	return Status{"✓", src, ToneOK}
}

type pluginColumns struct{ name, kinds, version, trust, health int }

func pluginColumnsFor(width int) pluginColumns {
	c := pluginColumns{name: 16, version: 10, trust: 13, health: 12}
	if width >= 100 {
		c.name = 24
	}
	c.kinds = max(0, width-2-4-c.name-c.version-c.trust-c.health)
	return c
}

func (s *pluginsScreen) render() {
	st := s.c.Styles
	s.rows, s.selRows, s.panels = s.rows[:0], s.selRows[:0], s.panels[:0]
	if s.snap == nil {
		return
	}
	list := s.snap.Plugins
	healthy := 0
	for _, p := range list {
		if PluginHealth(p).Word == "healthy" {
			healthy++
		}
	}
	s.title = st.Title.Render("Plugins") + st.Muted.Render(fmt.Sprintf("  %d configured · %d healthy", len(list), healthy))
	c := pluginColumnsFor(s.width)
	s.head = "  " + st.ColumnHead.Render(strings.Join([]string{
		pad("NAME", c.name), pad("KINDS", c.kinds), pad("VERSION", c.version), pad("TRUST", c.trust), pad("HEALTH", c.health)}, " "))
	for i := range list {
		p := &list[i]
		h, tr := PluginHealth(*p), pluginTrust(*p)
		version := p.Version
		if version == "" {
			version = "-"
		}
		before := strings.Join([]string{pad(p.Name, c.name), pad(strings.Join(p.Kinds, ","), c.kinds), pad(version, c.version)}, " ") + " "
		trust, health := pad(tr.Text(), c.trust), pad(h.Text(), c.health)
		s.rows = append(s.rows, "  "+before+st.Tone[tr.Tone].Render(trust)+" "+st.Tone[h.Tone].Render(health))
		s.selRows = append(s.selRows, "› "+st.Selected.Render(before+trust+" "+health))
		s.panels = append(s.panels, s.panel(p))
	}
	s.cursor = min(max(0, s.cursor), max(0, len(s.rows)-1))
	s.offset = scrollTo(s.offset, s.cursor, s.visible(), len(s.rows))
}

// panel is the plugin in full: nothing of it is cut.
func (s *pluginsScreen) panel(p *PluginStatus) []string {
	st := s.c.Styles
	w := s.width
	out := wrapIndented(st.Title.Render(p.Name)+"  "+PluginHealth(*p).Render(st), w, 0)
	kinds := strings.Join(p.Kinds, ", ")
	if kinds == "" {
		kinds = "none"
	}
	out = append(out, field(st, "Kinds", kinds, w)...)
	version := p.Version
	if version == "" {
		version = "unknown: it has not started"
	}
	out = append(out, field(st, "Version", version, w)...)
	out = append(out, field(st, "Path", p.Path, w)...)
	sum := p.SHA256
	if sum == "" {
		sum = "unknown: the binary cannot be read"
	}
	out = append(out, field(st, "SHA-256", sum, w)...)
	trust := pluginTrust(*p).Render(st)
	switch {
	case p.Trusted && p.TrustSource == "database":
		trust += " — by an operator (warroom plugins trust)"
	case p.Trusted && p.TrustSource == "build":
		trust += " — by its build's SHA256SUMS"
	case !p.Trusted:
		trust += " — run warroom plugins trust " + p.Name + " after checking the binary"
	}
	out = append(out, field(st, "Trust", trust, w)...)
	running := "no"
	if p.Running {
		running = "yes"
	}
	out = append(out, field(st, "Running", running, w)...)
	lastErr := st.Muted.Render("none")
	if p.LastError != "" {
		lastErr = p.LastError
		if p.Fault != "" {
			lastErr = "[" + p.Fault + "] " + lastErr
		}
	}
	return append(out, field(st, "Last error", lastErr, w)...)
}

func (s *pluginsScreen) View() string {
	if s.snap == nil {
		return ""
	}
	st := s.c.Styles
	if !s.snap.PluginsKnown && s.snap.PluginsPending {
		return st.Title.Render("Plugins") + "\n" + st.Muted.Render("Asking the plugin host about the plugins…")
	}
	if !s.snap.PluginsKnown {
		return st.Title.Render("Plugins") + "\n" + strings.Join(wrapIndented(st.Muted.Render(
			"This console has no plugin host, so it cannot say how the plugins are: run warroom plugins list to see them."), s.width, 0), "\n")
	}
	var b strings.Builder
	b.WriteString(s.title)
	b.WriteByte('\n')
	if len(s.rows) == 0 {
		b.WriteString(strings.Join(wrapIndented(st.Muted.Render(
			"No plugins configured: write a warroom-plugins.yaml, or run make build for the built-in ones."), s.width, 0), "\n"))
		return b.String()
	}
	b.WriteString(s.head)
	writeRows(&b, s.rows, s.selRows, s.offset, s.visible(), s.cursor)
	b.WriteByte('\n')
	for _, l := range s.panels[s.cursor] {
		b.WriteByte('\n')
		b.WriteString(l)
	}
	return b.String()
}
