package tui

import (
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// GlobalKeys are the bindings the root model handles on every screen.
type GlobalKeys struct {
	Next, Prev, Jump, Help, Quit, ForceQuit, Yes, No key.Binding
	Command, Filter                                  key.Binding
}

// DefaultGlobalKeys are the k9s/lazygit-style global bindings.
func DefaultGlobalKeys() *GlobalKeys {
	return &GlobalKeys{
		Next:      key.NewBinding(key.WithKeys("tab"), key.WithHelp("tab", "next")),
		Prev:      key.NewBinding(key.WithKeys("shift+tab"), key.WithHelp("shift+tab", "previous screen")),
		Jump:      key.NewBinding(key.WithKeys("1", "2", "3", "4", "5", "6", "7", "8", "9"), key.WithHelp("1-9", "screens")),
		Help:      key.NewBinding(key.WithKeys("?"), key.WithHelp("?", "help")),
		Quit:      key.NewBinding(key.WithKeys("q"), key.WithHelp("q", "quit")),
		ForceQuit: key.NewBinding(key.WithKeys("ctrl+c"), key.WithHelp("ctrl+c", "quit now")),
		Yes:       key.NewBinding(key.WithKeys("y", "Y"), key.WithHelp("y", "yes")),
		No:        key.NewBinding(key.WithKeys("n", "N", "esc"), key.WithHelp("n", "no")),
		Command:   key.NewBinding(key.WithKeys(":"), key.WithHelp(":", "command")),
		Filter:    key.NewBinding(key.WithKeys("/"), key.WithHelp("/", "filter")),
	}
}

// listKeys move through a scrolling list; Waves and Audit share them.
type listKeys struct {
	Up, Down, PageUp, PageDown, Top, Bottom key.Binding
}

func defaultListKeys() listKeys {
	return listKeys{
		Up:       key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("↑/k", "up")),
		Down:     key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("↓/j", "down")),
		PageUp:   key.NewBinding(key.WithKeys("pgup", "ctrl+u"), key.WithHelp("pgup", "page up")),
		PageDown: key.NewBinding(key.WithKeys("pgdown", "ctrl+d"), key.WithHelp("pgdn", "page down")),
		Top:      key.NewBinding(key.WithKeys("g", "home"), key.WithHelp("g", "top")),
		Bottom:   key.NewBinding(key.WithKeys("G", "end"), key.WithHelp("G", "bottom")),
	}
}

// move applies a list key or a wheel event to a cursor over n rows, page
// rows to a page; moved is false when msg is no movement. The result is
// clamped to the rows.
func (k listKeys) move(msg tea.Msg, cursor, n, page int) (next int, moved bool) {
	page = max(1, page)
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, k.Up):
			cursor--
		case key.Matches(msg, k.Down):
			cursor++
		case key.Matches(msg, k.PageUp):
			cursor -= page
		case key.Matches(msg, k.PageDown):
			cursor += page
		case key.Matches(msg, k.Top):
			cursor = 0
		case key.Matches(msg, k.Bottom):
			cursor = n - 1
		default:
			return cursor, false
		}
	case tea.MouseMsg:
		switch msg.Button {
		case tea.MouseButtonWheelUp:
			cursor--
		case tea.MouseButtonWheelDown:
			cursor++
		default:
			return cursor, false
		}
	default:
		return cursor, false
	}
	return min(max(0, cursor), max(0, n-1)), true
}

// shown is a binding for short help only that stands for several (e.g.
// "↑↓ service" for up and down): footers fit 80 columns, and the full help
// lists each key.
func shown(keys, desc string, of ...key.Binding) key.Binding {
	var ks []string
	for _, b := range of {
		ks = append(ks, b.Keys()...)
	}
	return key.NewBinding(key.WithKeys(ks...), key.WithHelp(keys, desc))
}
