package tui

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/warroom/warroom/core/model"
)

// auditPaneLines is the height of the pane under the table that shows the
// selected event's whole summary.
const auditPaneLines = 3

// audit is a live tail of the audit log with the chain's verification.
// The table shortens summaries to fit; the pane under it shows the
// selected event's in full, and enter opens the whole event.
type audit struct {
	c      *Common
	keys   auditKeys
	width  int
	height int
	cursor int
	offset int
	// follow keeps the newest event selected as events arrive, like
	// tail -f; moving up stops it, G resumes it.
	follow bool
	filter string
	snap   *Snapshot
	title  string
	head   string
	shown  []int // indices into snap.Audit that pass the filter
	rows   []string
	pane   []string // the selected event's summary, wrapped
	page   detail
}

type auditKeys struct {
	listKeys
	Open key.Binding
}

var (
	_ Screen     = (*audit)(nil)
	_ Filterable = (*audit)(nil)
)

func newAudit(c *Common) *audit {
	return &audit{c: c, keys: auditKeys{defaultListKeys(), key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "event"))},
		follow: true, page: newDetail()}
}

func (a *audit) Title() string { return "Audit" }

func (a *audit) ShortHelp() []key.Binding {
	if a.page.open {
		return a.page.help()
	}
	return []key.Binding{a.keys.Open, a.keys.Up, a.keys.Down, a.keys.Bottom}
}

func (a *audit) FullHelp() [][]key.Binding {
	k := a.keys
	return [][]key.Binding{{k.Open, k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}, a.page.help()}
}

func (a *audit) SetSize(width, height int) {
	a.width, a.height = width, height
	a.page.setSize(width, height)
	a.render()
}

func (a *audit) SetData(s *Snapshot) {
	a.snap = s
	a.render()
}

func (a *audit) Filter() string { return a.filter }

func (a *audit) SetFilter(q string) {
	a.filter = q
	a.render()
}

// visible is how many table rows fit above the pane.
func (a *audit) visible() int { return max(1, a.height-3-auditPaneLines) }

func (a *audit) Update(msg tea.Msg) tea.Cmd {
	if a.page.update(msg) {
		return nil
	}
	n := len(a.rows)
	if msg, ok := msg.(tea.KeyMsg); ok && key.Matches(msg, a.keys.Open) {
		if n > 0 {
			e := a.snap.Audit[a.shown[a.cursor]]
			a.page.show(fmt.Sprintf("Audit event #%d", e.Seq), eventText(e))
		}
		return nil
	}
	next, ok := a.keys.move(msg, a.cursor, n, a.visible())
	if !ok {
		return nil
	}
	a.cursor = next
	a.follow = a.cursor == n-1
	a.renderPane()
	a.offset = scrollTo(a.offset, a.cursor, a.visible(), n)
	return nil
}

func (a *audit) render() {
	st := a.c.Styles
	a.rows, a.shown = a.rows[:0], a.shown[:0]
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
		shown = fmt.Sprintf(" · newest %d loaded", n)
	}
	a.title = st.Title.Render("Audit log") + "  " + chain + st.Muted.Render(shown)
	sumW := max(0, a.width-52)
	a.head = " " + st.ColumnHead.Render(pad("SEQ", 6)+" "+pad("TIME (UTC)", 14)+"  "+pad("ACTOR", 10)+" "+
		pad("COMMAND", 16)+" "+pad("SUMMARY", sumW))
	q := strings.ToLower(a.filter)
	for i, e := range a.snap.Audit {
		if q != "" && !strings.Contains(strings.ToLower(e.Actor+" "+e.Command+" "+e.Summary), q) {
			continue
		}
		a.shown = append(a.shown, i)
		// The engine's summaries begin "run <id>: "; the table shows the
		// rest (the id's last part stays), the pane the whole summary.
		if rest, ok := strings.CutPrefix(e.Summary, "run "); ok {
			if id, tail, ok := strings.Cut(rest, ": "); ok && !strings.Contains(id, " ") {
				if j := strings.LastIndexByte(id, '-'); j >= 0 {
					id = id[j+1:]
				}
				e.Summary = "[" + id + "] " + tail
			}
		}
		a.rows = append(a.rows, " "+auditLine(e))
	}
	n := len(a.rows)
	if a.follow {
		a.cursor = n - 1
	}
	a.cursor = min(max(0, a.cursor), max(0, n-1))
	a.offset = scrollTo(a.offset, a.cursor, a.visible(), n)
	a.renderPane()
	if a.page.open && n > 0 {
		e := a.snap.Audit[a.shown[a.cursor]]
		a.page.refresh(fmt.Sprintf("Audit event #%d", e.Seq), eventText(e))
	}
}

// eventText is an audit event in full, for the detail page.
func eventText(e model.AuditEvent) string {
	var b strings.Builder
	fmt.Fprintf(&b, "When     %s\n", e.At.UTC().Format("2006-01-02 15:04:05.000 UTC"))
	fmt.Fprintf(&b, "Actor    %s\n", e.Actor)
	fmt.Fprintf(&b, "Command  %s\n", e.Command)
	fmt.Fprintf(&b, "Summary  %s\n", e.Summary)
	fmt.Fprintf(&b, "Hash     %s\n", e.Hash)
	fmt.Fprintf(&b, "Previous %s\n", e.PrevHash)
	if len(e.Payload) > 0 {
		var v any
		if json.Unmarshal(e.Payload, &v) == nil {
			if p, err := json.MarshalIndent(v, "", "  "); err == nil {
				b.WriteString("Payload\n" + string(p))
				return b.String()
			}
		}
		b.WriteString("Payload  " + string(e.Payload))
	}
	return b.String()
}

func (a *audit) View() string {
	if a.snap == nil {
		return ""
	}
	if a.page.open {
		return a.page.view(a.c.Styles)
	}
	st := a.c.Styles
	var b strings.Builder
	b.WriteString(a.title)
	b.WriteByte('\n')
	b.WriteString(a.head)
	if len(a.rows) == 0 {
		if a.filter != "" {
			b.WriteString("\n" + st.Muted.Render("no events match "+fmt.Sprintf("%q", a.filter)))
		} else {
			b.WriteString("\n" + st.Muted.Render("no audit events yet"))
		}
		return b.String()
	}
	end := min(len(a.rows), a.offset+a.visible())
	for i := a.offset; i < end; i++ {
		b.WriteByte('\n')
		if i == a.cursor {
			// The marker shows the selection without colour too.
			b.WriteString("›" + st.Selected.Render(cut(a.rows[i][1:], a.width-1)))
		} else {
			b.WriteString(a.rows[i])
		}
	}
	for i := end - a.offset; i < a.visible(); i++ {
		b.WriteByte('\n')
	}
	b.WriteString("\n" + st.Muted.Render(strings.Repeat("─", a.width)))
	for _, l := range a.pane {
		b.WriteString("\n" + l)
	}
	return b.String()
}

// renderPane wraps the selected event's whole summary: the table may
// shorten it, this pane never does (enter shows everything else).
func (a *audit) renderPane() {
	a.pane = a.pane[:0]
	if len(a.rows) == 0 {
		return
	}
	e := a.snap.Audit[a.shown[a.cursor]]
	lines := wrapLines(fmt.Sprintf("#%d %s · %s: %s", e.Seq, e.Actor, e.Command, e.Summary), a.width)
	if len(lines) > auditPaneLines {
		lines = append(lines[:auditPaneLines-1], a.c.Styles.Muted.Render("… enter shows the whole event"))
	}
	a.pane = append(a.pane, lines...)
}
