package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
)

// audit is a live tail of the audit log with the chain's verification.
type audit struct {
	c      *Common
	keys   listKeys
	width  int
	height int
	offset int
	// follow keeps the newest events in view as they arrive, like tail -f;
	// scrolling up stops it, G resumes it.
	follow bool
	snap   *Snapshot
	title  string
	head   string
	rows   []string
}

var _ Screen = (*audit)(nil)

func newAudit(c *Common) *audit { return &audit{c: c, keys: defaultListKeys(), follow: true} }

func (a *audit) Title() string { return "Audit" }

func (a *audit) ShortHelp() []key.Binding {
	return []key.Binding{a.keys.Up, a.keys.Down, a.keys.Bottom}
}

func (a *audit) FullHelp() [][]key.Binding {
	k := a.keys
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}}
}

func (a *audit) SetSize(width, height int) {
	a.width, a.height = width, height
	a.render()
}

func (a *audit) SetData(s *Snapshot) {
	a.snap = s
	a.render()
}

func (a *audit) visible() int { return max(0, a.height-2) }

func (a *audit) maxOffset() int { return max(0, len(a.rows)-a.visible()) }

func (a *audit) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		switch {
		case key.Matches(msg, a.keys.Up):
			a.offset--
		case key.Matches(msg, a.keys.Down):
			a.offset++
		case key.Matches(msg, a.keys.PageUp):
			a.offset -= max(1, a.visible())
		case key.Matches(msg, a.keys.PageDown):
			a.offset += max(1, a.visible())
		case key.Matches(msg, a.keys.Top):
			a.offset = 0
		case key.Matches(msg, a.keys.Bottom):
			a.offset = a.maxOffset()
		default:
			return nil
		}
	case tea.MouseMsg:
		switch msg.Button {
		case tea.MouseButtonWheelUp:
			a.offset--
		case tea.MouseButtonWheelDown:
			a.offset++
		default:
			return nil
		}
	default:
		return nil
	}
	a.offset = min(max(0, a.offset), a.maxOffset())
	a.follow = a.offset == a.maxOffset()
	return nil
}

func (a *audit) render() {
	st := a.c.Styles
	a.rows = a.rows[:0]
	if a.snap == nil {
		return
	}
	v := a.snap.AuditVerify
	var chain string
	if v.OK {
		chain = st.Tone[ToneOK].Render("✓ chain intact") + fmt.Sprintf(" (%d events)", v.Events)
	} else {
		chain = st.Tone[ToneBad].Render(fmt.Sprintf("✗ chain tampered at #%d", v.FirstBad))
		if v.Reason != "" {
			chain += " — " + v.Reason
		}
	}
	shown := ""
	if n := len(a.snap.Audit); int64(n) < v.Events {
		shown = fmt.Sprintf(" · newest %d shown", n)
	}
	a.title = st.Title.Render("Audit log") + "  " + chain + st.Muted.Render(shown)
	a.head = st.ColumnHead.Render(pad("SEQ", 6) + " " + pad("TIME (UTC)", 14) + "  " + pad("ACTOR", 10) + " " +
		pad("COMMAND", 16) + " " + pad("SUMMARY", max(0, a.width-51)))
	for _, e := range a.snap.Audit {
		a.rows = append(a.rows, auditLine(e))
	}
	if a.follow {
		a.offset = a.maxOffset()
	}
	a.offset = min(max(0, a.offset), a.maxOffset())
}

func (a *audit) View() string {
	if a.snap == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(a.title)
	b.WriteByte('\n')
	b.WriteString(a.head)
	if len(a.rows) == 0 {
		b.WriteString("\n" + a.c.Styles.Muted.Render("no audit events yet"))
	}
	end := min(len(a.rows), a.offset+a.visible())
	for i := a.offset; i < end; i++ {
		b.WriteByte('\n')
		b.WriteString(a.rows[i])
	}
	return b.String()
}
