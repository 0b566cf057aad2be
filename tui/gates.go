package tui

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/warroom/warroom/core/model"
)

type gatesKeys struct {
	Up, Down, Left, Right key.Binding
}

func defaultGatesKeys() gatesKeys {
	return gatesKeys{
		Up:    key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("↑/k", "gate up")),
		Down:  key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("↓/j", "gate down")),
		Left:  key.NewBinding(key.WithKeys("h", "left"), key.WithHelp("←/h", "environment left")),
		Right: key.NewBinding(key.WithKeys("l", "right"), key.WithHelp("→/l", "environment right")),
	}
}

// gatesScreen is the gates x environments matrix (environments left to
// right in promotion order, one row per gate) and the selected gate's
// definition. No gate results are stored yet, so a required cell says it
// has no evidence rather than inventing a pass.
type gatesScreen struct {
	c      *Common
	keys   gatesKeys
	width  int
	height int
	envs   []model.Environment
	gates  []model.Gate
	// defined is false for a gate an environment requires but the
	// organisation does not define.
	defined  []bool
	row, col int
	offset   int
	// title, head, rows and panel are rendered when data, size or the
	// cursor change; View only joins them.
	title, head string
	rows        []string
	panel       []string
}

var _ Screen = (*gatesScreen)(nil)

func newGates(c *Common) *gatesScreen { return &gatesScreen{c: c, keys: defaultGatesKeys()} }

func (g *gatesScreen) Title() string { return "Gates" }

func (g *gatesScreen) ShortHelp() []key.Binding {
	return []key.Binding{g.keys.Up, g.keys.Down, g.keys.Left, g.keys.Right}
}

func (g *gatesScreen) FullHelp() [][]key.Binding {
	k := g.keys
	return [][]key.Binding{{k.Up, k.Down, k.Left, k.Right}}
}

func (g *gatesScreen) SetSize(width, height int) {
	g.width, g.height = width, height
	g.render()
}

func (g *gatesScreen) SetData(s *Snapshot) {
	g.envs, g.gates, g.defined = nil, nil, nil
	if s.Org != nil {
		g.envs = append(g.envs, s.Org.Environments...)
		sort.SliceStable(g.envs, func(i, j int) bool { return g.envs[i].Order < g.envs[j].Order })
		known := map[string]bool{}
		for _, gt := range s.Org.Gates {
			g.gates = append(g.gates, gt)
			g.defined = append(g.defined, true)
			known[gt.Name] = true
		}
		for _, e := range g.envs {
			for _, n := range e.Gates {
				if !known[n] {
					known[n] = true
					g.gates = append(g.gates, model.Gate{Name: n})
					g.defined = append(g.defined, false)
				}
			}
		}
	}
	g.render()
}

func (g *gatesScreen) Update(msg tea.Msg) tea.Cmd {
	km, ok := msg.(tea.KeyMsg)
	if !ok || len(g.gates) == 0 {
		return nil
	}
	switch {
	case key.Matches(km, g.keys.Up):
		g.row--
	case key.Matches(km, g.keys.Down):
		g.row++
	case key.Matches(km, g.keys.Left):
		g.col--
	case key.Matches(km, g.keys.Right):
		g.col++
	default:
		return nil
	}
	g.render()
	return nil
}

func (g *gatesScreen) required(env model.Environment, gate string) bool {
	for _, n := range env.Gates {
		if n == gate {
			return true
		}
	}
	return false
}

// matrixRows is how many gate rows fit above the panel.
func (g *gatesScreen) matrixRows() int { return max(1, g.height-2-len(g.panel)-1) }

func (g *gatesScreen) render() {
	st := g.c.Styles
	g.rows = g.rows[:0]
	g.panel = g.panel[:0]
	if len(g.gates) == 0 || len(g.envs) == 0 {
		g.title = st.Muted.Render("No gates or environments defined in the organisation.")
		g.head = ""
		return
	}
	g.row = min(max(0, g.row), len(g.gates)-1)
	g.col = min(max(0, g.col), len(g.envs)-1)
	g.title = st.Title.Render("Gates") + st.Muted.Render(fmt.Sprintf(" · %d gates × %d environments · no gate results recorded yet",
		len(g.gates), len(g.envs)))

	nameW := 18
	if g.width >= 100 {
		nameW = 24
	}
	cellW := max(6, min(20, (g.width-2-nameW)/len(g.envs)-1))
	var head strings.Builder
	head.WriteString(pad("GATE", nameW))
	for _, e := range g.envs {
		head.WriteString(" " + pad(e.Name, cellW))
	}
	g.head = "  " + st.ColumnHead.Render(head.String())

	for i, gt := range g.gates {
		var b strings.Builder
		mark := "  "
		if i == g.row {
			mark = "› "
		}
		b.WriteString(mark + pad(gt.Name, nameW))
		for j, e := range g.envs {
			cell := pad("—", cellW)
			tone := ToneNeutral
			if g.required(e, gt.Name) {
				cell, tone = pad("? no evidence", cellW), ToneWarn
			}
			b.WriteByte(' ')
			if i == g.row && j == g.col {
				b.WriteString(st.Selected.Render(cell))
			} else {
				b.WriteString(st.Tone[tone].Render(cell))
			}
		}
		g.rows = append(g.rows, b.String())
	}
	g.panel = g.detail(g.gates[g.row], g.defined[g.row], g.envs[g.col])
	g.offset = scrollTo(g.offset, g.row, g.matrixRows(), len(g.rows))
}

// detail is the selected gate's definition and where it stands in the
// selected environment.
func (g *gatesScreen) detail(gt model.Gate, defined bool, env model.Environment) []string {
	st := g.c.Styles
	label := func(s string) string { return st.Label.Render(pad(s, 12)) }
	list := func(xs []string) string {
		if len(xs) == 0 {
			return st.Muted.Render("—")
		}
		return strings.Join(xs, ", ")
	}
	var reqBy []string
	for _, e := range g.envs {
		if g.required(e, gt.Name) {
			reqBy = append(reqBy, e.Name)
		}
	}
	out := []string{st.Title.Render("Gate " + gt.Name)}
	if !defined {
		out = append(out, st.Tone[ToneBad].Render("✗ not defined in the organisation")+" — required by "+list(reqBy))
	} else {
		out = append(out,
			label("Kind")+string(gt.Kind),
			label("Thresholds")+"min "+threshold(gt.Min)+" · max "+threshold(gt.Max),
		)
		if gt.Severity != "" {
			out = append(out, label("Severity")+gt.Severity)
		}
		if len(gt.Allow) > 0 {
			out = append(out, label("Allow")+list(gt.Allow))
		}
		out = append(out,
			label("Approvers")+list(gt.Approvers),
			label("Owners")+list(gt.Owners),
			label("Required by")+list(reqBy),
		)
		if gt.Description != "" {
			out = append(out, label("Description")+gt.Description)
		}
	}
	in := label("In "+env.Name) + st.Muted.Render("— not required")
	if g.required(env, gt.Name) {
		in = label("In "+env.Name) + st.Tone[ToneWarn].Render("? no evidence") + " — required; no result recorded yet"
	}
	out = append(out, in)
	for i := range out {
		out[i] = cut(out[i], g.width)
	}
	return out
}

func threshold(v *float64) string {
	if v == nil {
		return "—"
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

func (g *gatesScreen) View() string {
	if len(g.rows) == 0 {
		return g.title
	}
	var b strings.Builder
	b.WriteString(g.title)
	b.WriteByte('\n')
	b.WriteString(g.head)
	end := min(len(g.rows), g.offset+g.matrixRows())
	for i := g.offset; i < end; i++ {
		b.WriteByte('\n')
		b.WriteString(g.rows[i])
	}
	b.WriteByte('\n')
	for _, l := range g.panel {
		b.WriteByte('\n')
		b.WriteString(l)
	}
	return b.String()
}
