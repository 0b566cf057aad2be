package tui

import (
	"github.com/charmbracelet/bubbles/help"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// Screen is one tab of the console: a model with its own keymap that the
// root sizes and feeds data.
type Screen interface {
	help.KeyMap
	Title() string
	// SetSize gives the screen its body area.
	SetSize(width, height int)
	// SetData hands the screen a new snapshot. Heavy work (formatting
	// rows) happens here, not in View.
	SetData(s *Snapshot)
	Update(msg tea.Msg) tea.Cmd
	View() string
}

// screenTitles names the nine screens in tab order (issue #6).
var screenTitles = []string{"Overview", "Calendar", "Graph", "Gates", "Waves", "Canary", "Changes", "Audit", "Plugins"}

// placeholder stands for a screen not built yet: it says so, and shows no
// made-up data.
type placeholder struct {
	c     *Common
	title string
}

var _ Screen = (*placeholder)(nil)

func (p *placeholder) Title() string             { return p.title }
func (p *placeholder) SetSize(int, int)          {}
func (p *placeholder) SetData(*Snapshot)         {}
func (p *placeholder) Update(tea.Msg) tea.Cmd    { return nil }
func (p *placeholder) ShortHelp() []key.Binding  { return nil }
func (p *placeholder) FullHelp() [][]key.Binding { return nil }
func (p *placeholder) View() string {
	return p.c.Styles.Muted.Render(p.title + ": not built yet — see issue #6")
}
