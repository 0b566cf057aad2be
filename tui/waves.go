package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/warroom/warroom/core/deploy"
)

// waves is the run's steps as a table, one row per step in running order.
type waves struct {
	c      *Common
	keys   listKeys
	run    *deploy.Run
	width  int
	height int
	cursor int
	offset int
	title  string
	head   string
	// rows and selRows are rendered when data or size change, so View
	// only picks the visible window.
	rows, selRows []string
}

var _ Screen = (*waves)(nil)

func newWaves(c *Common) *waves { return &waves{c: c, keys: defaultListKeys()} }

func (w *waves) Title() string { return "Waves" }

func (w *waves) ShortHelp() []key.Binding { return []key.Binding{w.keys.Up, w.keys.Down} }

func (w *waves) FullHelp() [][]key.Binding {
	k := w.keys
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}}
}

func (w *waves) SetSize(width, height int) {
	w.width, w.height = width, height
	w.render()
}

func (w *waves) SetData(s *Snapshot) {
	w.run = s.Run
	w.render()
}

// visible is how many rows fit under the title and column heads.
func (w *waves) visible() int { return max(0, w.height-2) }

func (w *waves) Update(msg tea.Msg) tea.Cmd {
	n := len(w.rows)
	if n == 0 {
		return nil
	}
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, w.keys.Up):
			w.cursor--
		case key.Matches(msg, w.keys.Down):
			w.cursor++
		case key.Matches(msg, w.keys.PageUp):
			w.cursor -= max(1, w.visible())
		case key.Matches(msg, w.keys.PageDown):
			w.cursor += max(1, w.visible())
		case key.Matches(msg, w.keys.Top):
			w.cursor = 0
		case key.Matches(msg, w.keys.Bottom):
			w.cursor = n - 1
		}
	case tea.MouseMsg:
		switch msg.Button {
		case tea.MouseButtonWheelUp:
			w.cursor--
		case tea.MouseButtonWheelDown:
			w.cursor++
		}
	}
	w.cursor = min(max(0, w.cursor), n-1)
	w.offset = scrollTo(w.offset, w.cursor, w.visible(), n)
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
	w.rows, w.selRows = w.rows[:0], w.selRows[:0]
	if w.run == nil {
		w.title = st.Muted.Render("No deployment run yet.")
		w.head = ""
		return
	}
	c := columnsFor(w.width)
	w.title = st.Title.Render("Run "+w.run.ID) + "  " + RunStatus(w.run.State).Render(st) + "  " + progressLine(w.run)
	w.head = "  " + st.ColumnHead.Render(strings.Join([]string{
		pad("WAVE", c.wave), pad("WHERE", c.where), pad("WHAT", c.what),
		pad("STRATEGY", c.strategy), pad("STATE", c.state), pad("PROGRESS", c.progress)}, " "))
	for i := range w.run.Steps {
		s := &w.run.Steps[i]
		status := StepStatus(s.State)
		before := strings.Join([]string{
			pad(fmt.Sprintf("%d", s.Wave), c.wave), pad(stepWhere(s), c.where),
			pad(stepWhat(s), c.what), pad(string(s.Strategy), c.strategy)}, " ") + " "
		state := pad(status.Text(), c.state)
		after := " " + pad(stepProgress(s), c.progress)
		w.rows = append(w.rows, "  "+before+st.Tone[status.Tone].Render(state)+after)
		w.selRows = append(w.selRows, "› "+st.Selected.Render(before+state+after))
	}
	w.cursor = min(max(0, w.cursor), max(0, len(w.rows)-1))
	w.offset = scrollTo(w.offset, w.cursor, w.visible(), len(w.rows))
}

func stepWhere(s *deploy.Step) string {
	if s.Region == "" {
		return s.Env
	}
	return s.Env + "/" + s.Region
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
	if w.run == nil {
		return w.title
	}
	var b strings.Builder
	b.WriteString(w.title)
	b.WriteByte('\n')
	b.WriteString(w.head)
	end := min(len(w.rows), w.offset+w.visible())
	for i := w.offset; i < end; i++ {
		b.WriteByte('\n')
		if i == w.cursor {
			b.WriteString(w.selRows[i])
		} else {
			b.WriteString(w.rows[i])
		}
	}
	return b.String()
}
