package tui

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// changesKeys are the Changes screen's bindings: a list, and filing.
type changesKeys struct {
	listKeys
	File key.Binding
}

// changesScreen is the recorded change requests as a table, with the
// selected one in full below it.
type changesScreen struct {
	c      *Common
	keys   changesKeys
	snap   *Snapshot
	width  int
	height int
	cursor int
	offset int
	// empty says how to file a change when there is none.
	empty string
	// note is a one-off remark (nothing in focus to file for).
	note  string
	title string
	head  string
	// rows, selRows and panels are rendered when data or size change, so
	// View only picks the visible window.
	rows, selRows []string
	panels        [][]string
}

var _ Screen = (*changesScreen)(nil)

func newChanges(c *Common) *changesScreen {
	return &changesScreen{c: c, keys: changesKeys{
		listKeys: defaultListKeys(),
		File:     key.NewBinding(key.WithKeys("n"), key.WithHelp("n", "file change")),
	}}
}

func (s *changesScreen) Title() string { return "Changes" }

func (s *changesScreen) ShortHelp() []key.Binding {
	return []key.Binding{s.keys.Up, s.keys.Down, s.keys.File}
}

func (s *changesScreen) FullHelp() [][]key.Binding {
	k := s.keys
	return [][]key.Binding{{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}, {k.File}}
}

func (s *changesScreen) SetSize(width, height int) {
	s.width, s.height = width, height
	s.render()
}

func (s *changesScreen) SetData(snap *Snapshot) {
	s.snap = snap
	s.render()
}

// release is the release a new change would be for: the one in focus,
// else the run's.
func (s *changesScreen) release() string {
	switch {
	case s.snap == nil:
		return ""
	case s.snap.Focus != "":
		return s.snap.Focus
	case s.snap.Run != nil:
		return s.snap.Run.Release
	}
	return ""
}

// visible is how many table rows show: a third to a half of the body,
// the rest is the detail pane.
func (s *changesScreen) visible() int {
	return min(len(s.rows), max(3, (s.height-3)/2))
}

func (s *changesScreen) Update(msg tea.Msg) tea.Cmd {
	if k, ok := msg.(tea.KeyMsg); ok && key.Matches(k, s.keys.File) {
		rel := s.release()
		if rel == "" {
			s.note = "no release in focus: run warroom change create RELEASE"
			s.render()
			return nil
		}
		s.note = ""
		return func() tea.Msg { return FileChangeMsg{Release: rel} }
	}
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

// ChangeStatus is how a change request's state reads.
func ChangeStatus(state string) Status {
	switch state {
	case "draft":
		return Status{"·", "draft", ToneNeutral}
	case "submitted":
		return Status{"◷", "submitted", ToneActive}
	case "approved":
		return Status{"✓", "approved", ToneOK}
	case "scheduled":
		return Status{"◷", "scheduled", ToneActive}
	case "implementing":
		return Status{"▸", "implementing", ToneActive}
	case "implemented":
		return Status{"✓", "implemented", ToneOK}
	case "closed":
		return Status{"✓", "closed", ToneNeutral}
	case "rejected":
		return Status{"✗", "rejected", ToneBad}
	case "failed":
		return Status{"✗", "failed", ToneBad}
	case "cancelled":
		return Status{"–", "cancelled", ToneNeutral}
	}
	return Status{"?", state, ToneNeutral}
}

// decisionStatus is how one approval decision reads.
func decisionStatus(d string) Status {
	if strings.HasPrefix(strings.ToLower(d), "reject") {
		return Status{"✗", "rejected", ToneBad}
	}
	return Status{"✓", "approved", ToneOK}
}

// changeColumns are the table's column widths for a terminal width; the
// release and the ticket take what is left and are shown whole below.
type changeColumns struct{ id, release, class, state, appr, ticket, updated int }

func changeColumnsFor(width int) changeColumns {
	c := changeColumns{id: 9, class: 9, state: 14, appr: 6, updated: 12}
	rest := max(0, width-2-6-c.id-c.class-c.state-c.appr-c.updated)
	c.release = rest * 55 / 100
	c.ticket = rest - c.release
	return c
}

// approvalTally is "2✓", or "1✓ 1✗" with rejections.
func approvalTally(as []ChangeApproval) string {
	if len(as) == 0 {
		return "-"
	}
	var yes, no int
	for _, a := range as {
		if decisionStatus(a.Decision).Word == "rejected" {
			no++
		} else {
			yes++
		}
	}
	if no == 0 {
		return fmt.Sprintf("%d✓", yes)
	}
	return fmt.Sprintf("%d✓ %d✗", yes, no)
}

func (s *changesScreen) render() {
	st := s.c.Styles
	s.rows, s.selRows, s.panels = s.rows[:0], s.selRows[:0], s.panels[:0]
	if s.snap == nil {
		return
	}
	list := s.snap.Changes
	s.title = st.Title.Render("Change requests") + st.Muted.Render(fmt.Sprintf("  %d recorded", len(list)))
	if rel := s.release(); rel != "" {
		s.title += st.Muted.Render(" · n files one for " + rel)
	}
	if s.note != "" {
		s.title += "  " + st.Confirm.Render(s.note)
	}
	s.empty = st.Muted.Render("No change requests recorded yet.") + "\n" +
		strings.Join(wrapIndented("To file one, press n, or run warroom change create RELEASE.", s.width, 0), "\n")
	c := changeColumnsFor(s.width)
	s.head = "  " + st.ColumnHead.Render(strings.Join([]string{
		pad("ID", c.id), pad("RELEASE", c.release), pad("CLASS", c.class), pad("STATE", c.state),
		pad("APPR", c.appr), pad("TICKET", c.ticket), pad("UPDATED UTC", c.updated)}, " "))
	for i := range list {
		ch := &list[i]
		status := ChangeStatus(ch.State)
		before := strings.Join([]string{pad(ch.ID, c.id), pad(ch.Release, c.release), pad(ch.Class, c.class)}, " ") + " "
		state := pad(status.Text(), c.state)
		updated := ""
		if !ch.UpdatedAt.IsZero() {
			updated = ch.UpdatedAt.UTC().Format("02 Jan 15:04")
		}
		after := " " + strings.Join([]string{pad(approvalTally(ch.Approvals), c.appr),
			pad(strings.TrimSpace(ch.System+" "+ch.TicketRef), c.ticket), pad(updated, c.updated)}, " ")
		s.rows = append(s.rows, "  "+before+st.Tone[status.Tone].Render(state)+after)
		s.selRows = append(s.selRows, "› "+st.Selected.Render(before+state+after))
		s.panels = append(s.panels, s.panel(ch))
	}
	s.cursor = min(max(0, s.cursor), max(0, len(s.rows)-1))
	s.offset = scrollTo(s.offset, s.cursor, s.visible(), len(s.rows))
}

// panel is the change in full, wrapped to the width.
func (s *changesScreen) panel(ch *ChangeRequest) []string {
	st := s.c.Styles
	w := s.width
	var out []string
	out = append(out, wrapIndented(st.Title.Render(ch.ID)+"  "+ch.Title, w, 0)...)
	rel := ch.Release
	if rel == "" {
		rel = "(none)"
	}
	out = append(out, field(st, "Release", fmt.Sprintf("%s · class %s · risk %g", rel, ch.Class, ch.Risk), w)...)
	state := ChangeStatus(ch.State).Render(st)
	if ch.Requester != "" {
		state += " · requested by " + ch.Requester
	}
	if !ch.CreatedAt.IsZero() {
		state += " · filed " + ch.CreatedAt.UTC().Format("02 Jan 15:04 UTC")
	}
	out = append(out, field(st, "State", state, w)...)
	ticket := "not filed with a ticketing system"
	if ch.TicketRef != "" {
		ticket = ch.TicketRef + " in " + ch.System
	}
	out = append(out, field(st, "Ticket", ticket, w)...)
	if ch.URL != "" {
		out = append(out, field(st, "URL", ch.URL, w)...)
	}
	if len(ch.Approvals) == 0 {
		return append(out, field(st, "Approvals", st.Muted.Render("none yet"), w)...)
	}
	out = append(out, st.Label.Render("Approvals"))
	for _, a := range ch.Approvals {
		line := decisionStatus(a.Decision).Render(st) + " " + a.Approver
		if a.Role != "" {
			line += " (" + a.Role + ")"
		}
		if !a.At.IsZero() {
			line += " " + a.At.UTC().Format("02 Jan 15:04 UTC")
		}
		if a.Reason != "" {
			line += " — " + a.Reason
		}
		out = append(out, wrapIndented(line, w, 2)...)
	}
	return out
}

// fieldLabel is the width of a detail pane's labels.
const fieldLabel = 11

// field is a labelled value of a detail pane, the value wrapped under
// itself so nothing is cut.
func field(st *Styles, label, value string, width int) []string {
	lines := strings.Split(ansi.Wrap(value, max(10, width-fieldLabel), " "), "\n")
	for i, l := range lines {
		if i == 0 {
			lines[i] = st.Label.Render(pad(label, fieldLabel-1)) + " " + l
		} else {
			lines[i] = strings.Repeat(" ", fieldLabel) + l
		}
	}
	return lines
}

// wrapIndented wraps s to width, continuation lines indented by indent
// (the first line too).
func wrapIndented(s string, width, indent int) []string {
	lines := strings.Split(ansi.Wrap(s, max(10, width-indent-2), " "), "\n")
	for i, l := range lines {
		if i == 0 {
			lines[i] = strings.Repeat(" ", indent) + l
		} else {
			lines[i] = strings.Repeat(" ", indent+2) + l
		}
	}
	return lines
}

func (s *changesScreen) View() string {
	if s.snap == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(s.title)
	b.WriteByte('\n')
	if len(s.rows) == 0 {
		b.WriteString(s.empty)
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
