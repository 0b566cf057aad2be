package calendar

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/warroom/warroom/core/model"
)

// ErrNoLowTraffic is returned for a region that declares no low-traffic
// window.
var ErrNoLowTraffic = errors.New("no low-traffic window")

// daily is a validated wall-clock window in a time zone, on some weekdays.
type daily struct {
	loc        *time.Location
	start, end int // minutes after midnight; end <= start crosses midnight
	days       [7]bool
}

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

func parseDaily(tz, start, end string, days []string) (daily, error) {
	var d daily
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return d, fmt.Errorf("time zone %q: %w", tz, err)
	}
	d.loc = loc
	if d.start, err = model.ParseClock(start); err != nil {
		return d, err
	}
	if d.end, err = model.ParseClock(end); err != nil {
		return d, err
	}
	if len(days) == 0 {
		d.days = [7]bool{true, true, true, true, true, true, true}
	}
	for _, s := range days {
		s = strings.ToLower(strings.TrimSpace(s))
		wd, ok := weekdays[s]
		if !ok && len(s) > 3 {
			// Full names too: "monday".
			if w, ok3 := weekdays[s[:3]]; ok3 && strings.HasPrefix(strings.ToLower(w.String()), s) {
				wd, ok = w, true
			}
		}
		if !ok {
			return d, fmt.Errorf("invalid day %q: want mon, tue, wed, thu, fri, sat or sun", s)
		}
		d.days[wd] = true
	}
	return d, nil
}

// on returns the window that starts on local date y-m-d. A window whose
// end is not after its start ends the next day (22:00-04:00; 00:00-00:00
// is a whole day). Both ends are wall-clock times in the zone, so a window
// spanning a daylight-saving change is an hour shorter or longer.
func (d daily) on(y int, m time.Month, day int) model.Window {
	endDay := day
	if d.end <= d.start {
		endDay++
	}
	return model.Window{Start: wallClock(y, m, day, d.start, d.loc), End: wallClock(y, m, endDay, d.end, d.loc)}
}

// wallClock returns the instant (in UTC) at which clocks in loc show
// the given minute of date y-m-d, the way iCalendar (RFC 5545) resolves the two
// awkward cases: a time skipped by a daylight-saving change is moved
// forward by the length of the gap (02:30 on a spring-forward night is
// 03:30), and a time that happens twice is the first one. time.Date leaves
// both unspecified, and in practice picks differently per zone.
func wallClock(y int, m time.Month, day, minute int, loc *time.Location) time.Time {
	naive := time.Date(y, m, day, minute/60, minute%60, 0, 0, time.UTC)
	// Offsets a day either side: a zone changes its offset at most once
	// in that span.
	_, before := naive.Add(-26 * time.Hour).In(loc).Zone()
	_, after := naive.Add(26 * time.Hour).In(loc).Zone()
	var best time.Time
	for _, off := range []int{before, after} {
		t := naive.Add(-time.Duration(off) * time.Second)
		ly, lm, ld := t.In(loc).Date()
		lh, lmin, _ := t.In(loc).Clock()
		if ly == naive.Year() && lm == naive.Month() && ld == naive.Day() && lh*60+lmin == minute && (best.IsZero() || t.Before(best)) {
			best = t
		}
	}
	if best.IsZero() { // in the gap: read the clock with the offset before it
		best = naive.Add(-time.Duration(before) * time.Second)
	}
	return best.UTC()
}

// each calls fn with every window starting on a local date from the day
// before lo to hi, in order, until fn returns false.
func (d daily) each(lo, hi time.Time, fn func(model.Window) bool) {
	y, m, day := lo.In(d.loc).Date()
	for i := -1; ; i++ {
		date := time.Date(y, m, day+i, 0, 0, 0, 0, d.loc)
		if date.After(hi) {
			return
		}
		if !d.days[date.Weekday()] {
			continue
		}
		if !fn(d.on(y, m, day+i)) {
			return
		}
	}
}

func weeklyOf(item model.CalendarItem) (daily, error) {
	w := item.Weekly
	d, err := parseDaily(w.TimeZone, w.Start, w.End, w.Days)
	if err == nil && len(w.Days) == 0 {
		err = errors.New("weekly recurrence without days")
	}
	return d, err
}

// Check reports why a calendar item cannot be evaluated: an unknown time
// zone, a malformed time of day or day name, or an interval that ends
// before it starts. Occurrences yields nothing for such an item.
func Check(item model.CalendarItem) error {
	if item.Weekly == nil {
		if item.Start.IsZero() || item.End.IsZero() {
			return fmt.Errorf("calendar item %q: needs start and end, or a weekly recurrence", item.Name)
		}
		if !item.End.After(item.Start) {
			return fmt.Errorf("calendar item %q: ends (%s) before it starts (%s)", item.Name, stamp(item.End), stamp(item.Start))
		}
		return nil
	}
	if _, err := weeklyOf(item); err != nil {
		return fmt.Errorf("calendar item %q: %w", item.Name, err)
	}
	if !item.Start.IsZero() && !item.End.IsZero() && !item.End.After(item.Start) {
		return fmt.Errorf("calendar item %q: recurrence bounds end (%s) before they start (%s)", item.Name, stamp(item.End), stamp(item.Start))
	}
	return nil
}

// Occurrences returns the windows of a calendar item that overlap
// [from, to), in UTC and in order: the item's own interval, or each
// occurrence of its weekly recurrence, clipped to the item's start and end
// when set. Occurrences are whole, not clipped to [from, to), so a freeze
// that began earlier shows its real start. An item that fails Check has
// none.
func Occurrences(item model.CalendarItem, from, to time.Time) []model.Window {
	if !from.Before(to) || Check(item) != nil {
		return nil
	}
	q := model.Window{Start: from, End: to}
	if item.Weekly == nil {
		w := model.Window{Start: item.Start.UTC(), End: item.End.UTC()}
		if w.Overlaps(q) {
			return []model.Window{w}
		}
		return nil
	}
	d, _ := weeklyOf(item)
	lo, hi := from, to
	if !item.Start.IsZero() && item.Start.After(lo) {
		lo = item.Start
	}
	if !item.End.IsZero() && item.End.Before(hi) {
		hi = item.End
	}
	if !lo.Before(hi) {
		return nil
	}
	var out []model.Window
	d.each(lo, hi, func(w model.Window) bool {
		if !item.Start.IsZero() && w.Start.Before(item.Start) {
			w.Start = item.Start.UTC()
		}
		if !item.End.IsZero() && w.End.After(item.End) {
			w.End = item.End.UTC()
		}
		if w.Start.Before(w.End) && w.Overlaps(q) {
			out = append(out, w)
		}
		return true
	})
	return out
}

// Applies reports whether an item concerns an environment and any of some
// services. An item's empty environments or services list means all; an
// empty env asks about no environment in particular.
func Applies(item model.CalendarItem, env string, services []string) bool {
	if env != "" && len(item.Environments) > 0 && !slices.Contains(item.Environments, env) {
		return false
	}
	if len(item.Services) == 0 {
		return true
	}
	for _, s := range services {
		if slices.Contains(item.Services, s) {
			return true
		}
	}
	return false
}

// NextLowTraffic returns the region's next daily low-traffic window in UTC:
// the one in progress at after, or else the first to start after it.
func NextLowTraffic(region model.Region, after time.Time) (model.Window, error) {
	if region.LowTraffic.IsZero() {
		return model.Window{}, fmt.Errorf("region %s: %w", region.Name, ErrNoLowTraffic)
	}
	d, err := parseDaily(region.TimeZone, region.LowTraffic.Start, region.LowTraffic.End, nil)
	if err != nil {
		return model.Window{}, fmt.Errorf("region %s: low-traffic window: %w", region.Name, err)
	}
	var found model.Window
	d.each(after, after.Add(72*time.Hour), func(w model.Window) bool {
		if w.End.After(after) {
			found = w
			return false
		}
		return true
	})
	return found, nil
}

// merge returns the union of windows as disjoint windows in order;
// windows that touch are joined.
func merge(ws []model.Window) []model.Window {
	ws = slices.Clone(ws)
	slices.SortFunc(ws, func(a, b model.Window) int { return a.Start.Compare(b.Start) })
	var out []model.Window
	for _, w := range ws {
		if n := len(out); n > 0 && !w.Start.After(out[n-1].End) {
			if w.End.After(out[n-1].End) {
				out[n-1].End = w.End
			}
			continue
		}
		out = append(out, w)
	}
	return out
}

func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// FormatWindow writes a window as "2025-06-10 20:00 to 2025-06-11 08:00 UTC".
func FormatWindow(w model.Window) string {
	return w.Start.UTC().Format("2006-01-02 15:04") + " to " + stamp(w.End)
}
