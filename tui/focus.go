package tui

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/warroom/warroom/core/calendar"
	"github.com/warroom/warroom/core/deploy"
	"github.com/warroom/warroom/core/model"
)

// focusRelease is the release the console is about: the one pinned with
// ':release'; else the release of a run in flight; else the first release
// (by window) not yet deployed successfully — the one ready to deploy;
// else the latest run's; else the first release.
func focusRelease(s *Snapshot, pinned string) string {
	if s == nil || s.Org == nil {
		return pinned
	}
	if pinned != "" && s.releaseNamed(pinned) != nil {
		return pinned
	}
	for _, r := range s.runs() {
		if !r.State.Terminal() {
			return r.Release
		}
	}
	rels := append([]model.Release(nil), s.Org.Releases...)
	sort.SliceStable(rels, func(i, j int) bool { return rels[i].Window.Start.Before(rels[j].Window.Start) })
	for _, rel := range rels {
		if r := s.latestRunOf(rel.Name); r == nil || r.State != deploy.RunSucceeded {
			return rel.Name
		}
	}
	if s.Run != nil {
		return s.Run.Release
	}
	if len(rels) > 0 {
		return rels[0].Name
	}
	return ""
}

// runs is Runs, or the one Run when a source gives no list.
func (s *Snapshot) runs() []*deploy.Run {
	if len(s.Runs) > 0 || s.Run == nil {
		return s.Runs
	}
	return []*deploy.Run{s.Run}
}

// latestRunOf is the newest run of a release, or nil.
func (s *Snapshot) latestRunOf(release string) *deploy.Run {
	for _, r := range s.runs() {
		if r.Release == release {
			return r
		}
	}
	return nil
}

// focused returns the snapshot as the console shows it: Focus set and
// Run the focus release's latest run.
func (s *Snapshot) focused(pinned string) *Snapshot {
	v := *s
	v.Focus = focusRelease(s, pinned)
	v.Run = s.latestRunOf(v.Focus)
	if v.Run == nil || s.Run == nil || v.Run.ID != s.Run.ID {
		// Samples belong to the latest run overall.
		v.Samples = nil
	}
	return &v
}

// headerFacts are the header's time-dependent parts, worked out on each
// tick (not in View): the release window's countdown and freeze status.
type headerFacts struct {
	phase  Status
	window string
	freeze string
	frozen bool
}

func (s *Snapshot) headerFacts(now time.Time) headerFacts {
	var h headerFacts
	if s == nil || s.Org == nil {
		return h
	}
	rel, ok := s.Release()
	if !ok {
		return h
	}
	switch {
	case s.Run != nil:
		h.phase = RunStatus(s.Run.State)
	case now.Before(rel.Window.Start):
		h.phase = Status{"·", "planned", ToneNeutral}
	case now.Before(rel.Window.End):
		h.phase = Status{"○", "ready to deploy", ToneActive}
	default:
		h.phase = Status{"·", "window passed", ToneNeutral}
	}
	switch {
	case rel.Window.Start.IsZero():
	case now.Before(rel.Window.Start):
		h.window = "window opens in " + countdown(rel.Window.Start.Sub(now))
	case now.Before(rel.Window.End):
		h.window = "window closes in " + countdown(rel.Window.End.Sub(now))
	default:
		h.window = "window closed " + countdown(now.Sub(rel.Window.End)) + " ago"
	}
	h.freeze = "no freeze"
	var soon []string
	for _, c := range s.Org.Calendar {
		if c.Kind != model.Freeze {
			continue
		}
		for _, w := range calendar.Occurrences(c, now.Add(-30*24*time.Hour), now.Add(24*time.Hour)) {
			switch {
			case !now.Before(w.Start) && now.Before(w.End):
				h.frozen = true
				h.freeze = fmt.Sprintf("FREEZE %s, %s left", c.Name, countdown(w.End.Sub(now)))
			case now.Before(w.Start):
				soon = append(soon, fmt.Sprintf("freeze %s in %s", c.Name, countdown(w.Start.Sub(now))))
			}
		}
	}
	if !h.frozen && len(soon) > 0 {
		h.freeze = soon[0]
	}
	return h
}

// countdown is a short duration: 2d4h, 3h12m, 12m05s, 40s.
func countdown(d time.Duration) string {
	if d < 0 {
		d = -d
	}
	d = d.Round(time.Second)
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
	case d >= time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	case d >= time.Minute:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%ds", int(d.Seconds()))
}

// headerLines renders the header: one line when it fits, else two (the
// window and freeze on the second) — it never cuts the facts.
func (m *Model) headerLines() []string {
	st := m.c.Styles
	left := st.Header.Render("WARROOM")
	switch {
	case m.snap == nil:
		left += "  " + st.Muted.Render("loading…")
	case m.view.Focus == "":
		left += "  " + st.Muted.Render("no releases")
	default:
		left += "  " + st.Title.Render(m.view.Focus)
		if m.facts.phase.Word != "" {
			left += "  " + m.facts.phase.Render(st)
		}
	}
	var facts []string
	if m.facts.window != "" {
		facts = append(facts, m.facts.window)
	}
	if m.facts.freeze != "" {
		fz := "☀ " + m.facts.freeze
		if m.facts.frozen {
			fz = st.Tone[ToneBad].Render("❄ " + m.facts.freeze)
		}
		facts = append(facts, fz)
	}
	local := m.now.In(m.c.Location)
	long := local.Format("Mon 15:04:05 MST") + " · " + m.now.UTC().Format("15:04:05 UTC")
	short := local.Format("15:04 MST") + "·" + m.now.UTC().Format("15:04Z")
	if name, off := local.Zone(); off == 0 && name == "UTC" {
		// Local time is UTC (a server's zone): once is enough. A zone
		// that is at UTC's offset only for now (GMT in London's winter)
		// keeps its own name.
		long, short = m.now.UTC().Format("Mon 15:04:05 UTC"), m.now.UTC().Format("15:04 UTC")
	}
	full, brief := m.who()
	// The richest right-hand side that fits beside the left one: the
	// mode is in every variant, the roles and seconds go first.
	rights := []string{joinDot(full, long), joinDot(brief, long), joinDot(full, short), joinDot(brief, short), brief}
	w := m.c.Width
	one := left
	if len(facts) > 0 {
		one += "  " + strings.Join(facts, " · ")
	}
	if r := rights[0]; width(one)+2+width(r) <= w {
		return []string{spread(one, r, w)}
	}
	right := rights[len(rights)-1]
	for _, r := range rights {
		if width(left)+2+width(r) <= w {
			right = r
			break
		}
	}
	return []string{spread(left, right, w), strings.Join(facts, " · ")}
}

// who is the person at the keyboard for the header, in full (with roles)
// and briefly; open mode is written in both, in words.
func (m *Model) who() (full, brief string) {
	st := m.c.Styles
	var id *Identity
	if m.snap != nil {
		id = m.snap.Identity
	}
	if id == nil {
		return m.c.Actor, m.c.Actor
	}
	name := id.Person
	if name == "" {
		name = id.Login
	}
	if name == "" {
		name = m.c.Actor
	}
	switch {
	case id.Open:
		mode := st.Tone[ToneWarn].Render("⚠ OPEN MODE")
		return joinSpace(name, mode), joinSpace(name, mode)
	case id.Person == "":
		v := st.Tone[ToneWarn].Render("viewer (undeclared)")
		return joinSpace(name, v), joinSpace(name, v)
	case len(id.Roles) > 0:
		return name + " [" + strings.Join(id.Roles, ",") + "]", name
	}
	return name + " [no roles]", name
}

func joinDot(a, b string) string {
	if a == "" {
		return b
	}
	return a + " · " + b
}

func joinSpace(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}

// spread puts left and right at the two ends of a line of width w.
func spread(left, right string, w int) string {
	gap := w - width(left) - width(right)
	if gap < 2 {
		return left + "  " + right
	}
	return left + strings.Repeat(" ", gap) + right
}
