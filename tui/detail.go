package tui

import (
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// detail is a full-body page of wrapped text that a screen opens with
// enter and closes with esc: where a row's whole content is shown when a
// table had to shorten it.
type detail struct {
	open   bool
	title  string
	text   string
	lines  []string
	offset int
	width  int
	height int
	keys   detailKeys
}

type detailKeys struct {
	Back     key.Binding
	Up, Down key.Binding
}

func defaultDetailKeys() detailKeys {
	return detailKeys{
		Back: key.NewBinding(key.WithKeys("esc", "backspace"), key.WithHelp("esc", "back")),
		Up:   key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("↑/k", "scroll up")),
		Down: key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("↓/j", "scroll down")),
	}
}

func newDetail() detail { return detail{keys: defaultDetailKeys()} }

// show opens the page on title and text (text may hold newlines).
func (d *detail) show(title, text string) {
	d.open, d.title, d.text, d.offset = true, title, text, 0
	d.wrap()
}

// refresh replaces the text of an open page (live data), keeping the
// scroll position.
func (d *detail) refresh(title, text string) {
	if d.open {
		d.title, d.text = title, text
		d.wrap()
	}
}

func (d *detail) setSize(w, h int) {
	d.width, d.height = w, h
	d.wrap()
}

func (d *detail) wrap() {
	d.lines = wrapLines(d.text, d.width)
	d.offset = min(d.offset, max(0, len(d.lines)-d.visible()))
}

func (d *detail) visible() int { return max(0, d.height-1) }

// update handles the page's keys; it reports whether it used the message.
func (d *detail) update(msg tea.Msg) bool {
	if !d.open {
		return false
	}
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, d.keys.Back):
			d.open = false
		case key.Matches(msg, d.keys.Up):
			d.offset--
		case key.Matches(msg, d.keys.Down):
			d.offset++
		default:
			return true
		}
	case tea.MouseMsg:
		switch msg.Button {
		case tea.MouseButtonWheelUp:
			d.offset--
		case tea.MouseButtonWheelDown:
			d.offset++
		}
	default:
		return false
	}
	d.offset = min(max(0, d.offset), max(0, len(d.lines)-d.visible()))
	return true
}

func (d *detail) view(st *Styles) string {
	var b strings.Builder
	b.WriteString(st.Title.Render(d.title) + st.Muted.Render("  (esc: back)"))
	end := min(len(d.lines), d.offset+d.visible())
	for _, l := range d.lines[d.offset:end] {
		b.WriteByte('\n')
		b.WriteString(l)
	}
	return b.String()
}

func (d *detail) help() []key.Binding { return []key.Binding{d.keys.Back, d.keys.Up, d.keys.Down} }

// wrapLines wraps text to width cells, at spaces where it can and
// anywhere where it must, so no line is ever cut.
func wrapLines(text string, width int) []string {
	if width <= 0 {
		return nil
	}
	return strings.Split(ansi.Wrap(text, width, ""), "\n")
}

// wrapHanging is wrapLines, but a line that begins with blanks (an item
// of a list: "  ✗ fail payments · coverage — …") continues under its
// text, two cells in from the item, not at the margin.
func wrapHanging(text string, width int) []string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		body := strings.TrimLeft(l, " ")
		indent := len(l) - len(body)
		hang := indent + 2
		if indent == 0 || width-hang < 20 {
			out = append(out, wrapLines(l, width)...)
			continue
		}
		for i, wl := range wrapLines(body, width-hang) {
			if i == 0 {
				out = append(out, strings.Repeat(" ", indent)+wl)
			} else {
				out = append(out, strings.Repeat(" ", hang)+wl)
			}
		}
	}
	return out
}
