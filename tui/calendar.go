package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/warroom/warroom/core/calendar"
	"github.com/warroom/warroom/core/model"
)

// calKind is one kind of thing on the calendar: a release window or a
// calendar item's kind. Each has a symbol as well as a colour.
type calKind struct {
	sym, word string
	tone      Tone
}

// calKinds in the order their symbols appear in a day cell.
var calKinds = []struct {
	kind string
	calKind
}{
	{"release", calKind{"▮", "release", ToneActive}},
	{string(model.Freeze), calKind{"❄", "freeze", ToneBad}},
	{string(model.Maintenance), calKind{"⚒", "maintenance", ToneOK}},
	{string(model.Business), calKind{"★", "business", ToneWarn}},
	{string(model.VendorEvent), calKind{"⚑", "vendor", ToneWarn}},
}

func kindOf(kind string) (int, calKind) {
	for i, k := range calKinds {
		if k.kind == kind {
			return i, k.calKind
		}
	}
	return len(calKinds), calKind{"?", kind, ToneNeutral}
}

// calEntry is one occurrence in the visible range.
type calEntry struct {
	kind   int // index into calKinds
	name   string
	title  string
	window model.Window
}

type calendarKeys struct {
	Month, Week, Prev, Next, Today, Up, Down key.Binding
}

func defaultCalendarKeys() calendarKeys {
	return calendarKeys{
		Month: key.NewBinding(key.WithKeys("m"), key.WithHelp("m", "month view")),
		Week:  key.NewBinding(key.WithKeys("w"), key.WithHelp("w", "week view")),
		Prev:  key.NewBinding(key.WithKeys("[", "h", "left"), key.WithHelp("[/h", "previous")),
		Next:  key.NewBinding(key.WithKeys("]", "l", "right"), key.WithHelp("]/l", "next")),
		Today: key.NewBinding(key.WithKeys("t"), key.WithHelp("t", "today")),
		Up:    key.NewBinding(key.WithKeys("k", "up"), key.WithHelp("↑/k", "scroll up")),
		Down:  key.NewBinding(key.WithKeys("j", "down"), key.WithHelp("↓/j", "scroll down")),
	}
}

// calendarScreen shows the organisation's calendar by month or by week
// (UTC days), and every release's calendar conflicts under the grid.
type calendarScreen struct {
	c      *Common
	keys   calendarKeys
	org    *model.Org
	width  int
	height int
	week   bool
	// anchor is the first day shown: the 1st of the month, or a Monday.
	anchor time.Time
	offset int
	// grid and list are rendered when data, size or range change; View
	// only picks the visible window of list.
	grid      []string
	list      []string
	conflicts []string
	// flags mark the release windows that have conflicts: ✗ when one
	// blocks the release, ! when all are warnings.
	flags []calFlag
}

type calFlag struct {
	window  model.Window
	blocked bool
}

var _ Screen = (*calendarScreen)(nil)

func newCalendar(c *Common) *calendarScreen {
	s := &calendarScreen{c: c, keys: defaultCalendarKeys()}
	s.anchor = monthOf(c.Now())
	return s
}

func day(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func monthOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// mondayOf is the Monday starting t's week.
func mondayOf(t time.Time) time.Time {
	d := day(t)
	return d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
}

func (s *calendarScreen) Title() string { return "Calendar" }

func (s *calendarScreen) ShortHelp() []key.Binding {
	return []key.Binding{s.keys.Month, s.keys.Week, s.keys.Prev, s.keys.Next}
}

func (s *calendarScreen) FullHelp() [][]key.Binding {
	k := s.keys
	return [][]key.Binding{{k.Month, k.Week, k.Prev, k.Next, k.Today}, {k.Up, k.Down}}
}

func (s *calendarScreen) SetSize(width, height int) {
	s.width, s.height = width, height
	s.render()
}

func (s *calendarScreen) SetData(snap *Snapshot) {
	if snap.Org != nil && snap.Org == s.org {
		return // the calendar is the organisation's; a run's progress changes nothing here
	}
	s.org = snap.Org
	s.conflicts = s.conflictRows()
	s.render()
}

// span is the visible range [from, to).
func (s *calendarScreen) span() (from, to time.Time) {
	if s.week {
		return s.anchor, s.anchor.AddDate(0, 0, 7)
	}
	return s.anchor, s.anchor.AddDate(0, 1, 0)
}

func (s *calendarScreen) visible() int { return max(0, s.height-len(s.grid)) }

func (s *calendarScreen) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case tea.KeyMsg:
		k := s.keys
		switch {
		case key.Matches(msg, k.Month):
			if s.week {
				s.week = false
				// The month holding most of the week: its Thursday's.
				s.anchor = monthOf(s.anchor.AddDate(0, 0, 3))
				s.offset = 0
				s.render()
			}
		case key.Matches(msg, k.Week):
			if !s.week {
				s.week = true
				now := s.c.Now()
				if monthOf(now).Equal(s.anchor) {
					s.anchor = mondayOf(now)
				} else {
					s.anchor = mondayOf(s.anchor)
				}
				s.offset = 0
				s.render()
			}
		case key.Matches(msg, k.Prev), key.Matches(msg, k.Next):
			n := 1
			if key.Matches(msg, k.Prev) {
				n = -1
			}
			if s.week {
				s.anchor = s.anchor.AddDate(0, 0, 7*n)
			} else {
				s.anchor = s.anchor.AddDate(0, n, 0)
			}
			s.offset = 0
			s.render()
		case key.Matches(msg, k.Today):
			if s.week {
				s.anchor = mondayOf(s.c.Now())
			} else {
				s.anchor = monthOf(s.c.Now())
			}
			s.offset = 0
			s.render()
		case key.Matches(msg, k.Up):
			s.scroll(-1)
		case key.Matches(msg, k.Down):
			s.scroll(1)
		}
	case tea.MouseMsg:
		switch msg.Button {
		case tea.MouseButtonWheelUp:
			s.scroll(-1)
		case tea.MouseButtonWheelDown:
			s.scroll(1)
		}
	}
	return nil
}

func (s *calendarScreen) scroll(n int) {
	s.offset = min(max(0, s.offset+n), max(0, len(s.list)-s.visible()))
}

// entries are the occurrences that overlap [from, to), by start.
func (s *calendarScreen) entries(from, to time.Time) []calEntry {
	var out []calEntry
	if s.org == nil {
		return nil
	}
	q := model.Window{Start: from, End: to}
	for _, r := range s.org.Releases {
		w := model.Window{Start: r.Window.Start.UTC(), End: r.Window.End.UTC()}
		if w.Overlaps(q) {
			out = append(out, calEntry{kind: 0, name: r.Name, title: r.Title, window: w})
		}
	}
	for _, item := range s.org.Calendar {
		k, _ := kindOf(string(item.Kind))
		for _, w := range calendar.Occurrences(item, from, to) {
			out = append(out, calEntry{kind: k, name: item.Name, title: item.Title, window: w})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if !a.window.Start.Equal(b.window.Start) {
			return a.window.Start.Before(b.window.Start)
		}
		if a.kind != b.kind {
			return a.kind < b.kind
		}
		return a.name < b.name
	})
	return out
}

func (s *calendarScreen) sym(kind int) string {
	_, k := kindOrUnknown(kind)
	return s.c.Styles.Tone[k.tone].Render(k.sym)
}

func kindOrUnknown(kind int) (string, calKind) {
	if kind >= 0 && kind < len(calKinds) {
		return calKinds[kind].kind, calKinds[kind].calKind
	}
	return "", calKind{"?", "other", ToneNeutral}
}

// symbols are the kinds present on a day, one symbol each, in kind order.
func (s *calendarScreen) symbols(es []calEntry, d time.Time) string {
	dw := model.Window{Start: d, End: d.AddDate(0, 0, 1)}
	seen := make([]bool, len(calKinds)+1)
	for _, e := range es {
		if e.window.Overlaps(dw) {
			seen[min(e.kind, len(calKinds))] = true
		}
	}
	var b strings.Builder
	for i, ok := range seen {
		if ok {
			b.WriteString(s.sym(i))
		}
	}
	b.WriteString(s.flag(dw))
	return b.String()
}

// flag is the worst conflict mark of the releases on day dw, if any.
func (s *calendarScreen) flag(dw model.Window) string {
	warn := false
	for _, f := range s.flags {
		if f.window.Overlaps(dw) {
			if f.blocked {
				return s.c.Styles.Tone[ToneBad].Render("✗")
			}
			warn = true
		}
	}
	if warn {
		return s.c.Styles.Tone[ToneWarn].Render("!")
	}
	return ""
}

func (s *calendarScreen) render() {
	st := s.c.Styles
	s.grid, s.list = s.grid[:0], s.list[:0]
	if s.org == nil {
		return
	}
	from, to := s.span()
	es := s.entries(from, to)
	today := day(s.c.Now())
	var legend []string
	for i, k := range calKinds {
		legend = append(legend, s.sym(i)+" "+k.word)
	}
	legend = append(legend, Status{"✗", "blocked", ToneBad}.Render(st), Status{"!", "warning", ToneWarn}.Render(st))
	if s.week {
		last := to.AddDate(0, 0, -1)
		s.grid = append(s.grid, st.Title.Render("Week of "+from.Format("Mon 2 Jan 2006"))+
			st.Muted.Render(" – "+last.Format("Mon 2 Jan")+" · UTC · week view"))
		s.grid = append(s.grid, strings.Join(legend, "  "))
		for d := from; d.Before(to); d = d.AddDate(0, 0, 1) {
			mark := "  "
			if d.Equal(today) {
				mark = "› "
			}
			label := mark + d.Format("Mon 02 Jan")
			if d.Equal(today) {
				label = st.Label.Render(label)
			}
			dw := model.Window{Start: d, End: d.AddDate(0, 0, 1)}
			label += " " + pad(s.flag(dw), 1) + " "
			var parts []string
			for _, e := range es {
				if e.window.Overlaps(dw) {
					parts = append(parts, s.sym(e.kind)+" "+e.name+" "+dayPart(e.window, dw))
				}
			}
			if len(parts) == 0 {
				parts = append(parts, st.Muted.Render("·"))
			}
			s.grid = append(s.grid, cut(label+strings.Join(parts, "  "), s.width))
		}
	} else {
		s.grid = append(s.grid, st.Title.Render(from.Format("January 2006"))+st.Muted.Render(" · UTC · month view"))
		s.grid = append(s.grid, strings.Join(legend, "  "))
		cw := max(4, min(16, s.width/7))
		var head strings.Builder
		for i := range 7 {
			head.WriteString(pad(" "+mondayOf(from).AddDate(0, 0, i).Format("Mon"), cw))
		}
		s.grid = append(s.grid, st.ColumnHead.Render(head.String()))
		for wk := mondayOf(from); wk.Before(to); wk = wk.AddDate(0, 0, 7) {
			var row strings.Builder
			for i := range 7 {
				d := wk.AddDate(0, 0, i)
				if d.Before(from) || !d.Before(to) {
					row.WriteString(strings.Repeat(" ", cw))
					continue
				}
				num := fmt.Sprintf(" %2d", d.Day())
				if d.Equal(today) {
					num = st.Label.Render(fmt.Sprintf("›%2d", d.Day()))
				}
				row.WriteString(pad(num+" "+s.symbols(es, d), cw))
			}
			s.grid = append(s.grid, row.String())
		}
	}
	s.grid = append(s.grid, "")

	// The list: every release's conflicts first, then what is in view.
	for _, l := range s.conflicts {
		s.list = append(s.list, s.wrap(l)...)
	}
	s.list = append(s.list, "", st.Title.Render("In view"))
	if len(es) == 0 {
		s.list = append(s.list, st.Muted.Render("  nothing on the calendar"))
	}
	for _, e := range es {
		_, k := kindOrUnknown(e.kind)
		line := "  " + s.sym(e.kind) + " " + pad(k.word, 11) + " " + pad(e.name, 22) + " " +
			e.window.Start.Format("01-02 15:04") + " – " + e.window.End.Format("01-02 15:04")
		if e.title != "" {
			line += "  " + st.Muted.Render(e.title)
		}
		s.list = append(s.list, cut(line, s.width))
	}
	s.offset = min(max(0, s.offset), max(0, len(s.list)-s.visible()))
}

// wrap breaks a long list line into indented lines of the screen's width,
// so a conflict's explanation is never cut.
func (s *calendarScreen) wrap(l string) []string {
	if s.width <= 8 || ansi.StringWidth(l) <= s.width {
		return []string{cut(l, s.width)}
	}
	// Break at spaces only: dates and names keep their hyphens.
	const indent = "      "
	var lines []string
	rest := strings.TrimLeft(l, " ")
	line := l[:len(l)-len(rest)]
	w, fresh := len(line), true
	for _, word := range strings.Split(rest, " ") {
		ww := ansi.StringWidth(word)
		switch {
		case fresh:
		case w+1+ww > s.width:
			lines = append(lines, cut(line, s.width))
			line, w = indent, len(indent)
		default:
			line += " "
			w++
		}
		line += word
		w += ww
		fresh = false
	}
	return append(lines, cut(line, s.width))
}

// conflictRows says, for each release, what on the calendar it collides
// with: a symbol and word for how bad it is, then why.
func (s *calendarScreen) conflictRows() []string {
	st := s.c.Styles
	if s.org == nil {
		return nil
	}
	var out []string
	s.flags = s.flags[:0]
	for i := range s.org.Releases {
		rel := &s.org.Releases[i]
		cs := calendar.Conflicts(s.org, rel)
		if len(cs) > 0 {
			f := calFlag{window: model.Window{Start: rel.Window.Start.UTC(), End: rel.Window.End.UTC()}}
			for _, c := range cs {
				f.blocked = f.blocked || !c.Allowed
			}
			s.flags = append(s.flags, f)
		}
		head := st.Title.Render("Conflicts of release " + rel.Name)
		if len(cs) == 0 {
			out = append(out, head+"  "+Status{"✓", "none", ToneOK}.Render(st))
			continue
		}
		out = append(out, head+st.Muted.Render(fmt.Sprintf("  (%d)", len(cs))))
		for _, c := range cs {
			out = append(out, "  "+conflictStatus(c).Render(st)+" — "+c.Message)
		}
	}
	if len(out) == 0 {
		out = append(out, st.Muted.Render("No releases, so no conflicts."))
	}
	return out
}

// conflictStatus is how bad a conflict is, in a symbol and words.
func conflictStatus(c calendar.Conflict) Status {
	switch {
	case c.Kind == model.Freeze && !c.Allowed:
		return Status{"✗", "blocked by freeze", ToneBad}
	case c.Kind == model.Freeze:
		return Status{"!", "freeze exception needed", ToneWarn}
	case c.Kind == model.Maintenance:
		return Status{"✗", "outside maintenance window", ToneBad}
	case !c.Allowed:
		return Status{"✗", "blocked by " + string(c.Kind), ToneBad}
	}
	return Status{"!", "warning: " + string(c.Kind) + " event", ToneWarn}
}

// dayPart is the part of w inside the day dw: "all day" or "13:00–17:00".
func dayPart(w, dw model.Window) string {
	start, end := w.Start, w.End
	if start.Before(dw.Start) {
		start = dw.Start
	}
	if end.After(dw.End) {
		end = dw.End
	}
	if start.Equal(dw.Start) && end.Equal(dw.End) {
		return "all day"
	}
	e := end.Format("15:04")
	if end.Equal(dw.End) {
		e = "24:00"
	}
	return start.Format("15:04") + "–" + e
}

func (s *calendarScreen) View() string {
	if s.org == nil {
		return ""
	}
	var b strings.Builder
	b.WriteString(strings.Join(s.grid, "\n"))
	end := min(len(s.list), s.offset+s.visible())
	for i := s.offset; i < end; i++ {
		b.WriteByte('\n')
		if i == end-1 && end < len(s.list) {
			// The last line says more is below rather than hiding it.
			b.WriteString(s.c.Styles.Muted.Render(fmt.Sprintf("↓ %d more lines — j/k or the wheel scrolls", len(s.list)-end+1)))
			break
		}
		b.WriteString(s.list[i])
	}
	return b.String()
}
