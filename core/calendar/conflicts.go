package calendar

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/warroom/warroom/core/graph"
	"github.com/warroom/warroom/core/model"
)

// Conflict is a calendar item that collides with a release.
type Conflict struct {
	Kind  model.CalendarKind `json:"kind"`
	Item  string             `json:"item"` // for maintenance: the environment's maintenance items, comma-separated
	Title string             `json:"title,omitempty"`
	// Window is the item's occurrence that collides. For a maintenance
	// conflict it is the next maintenance window that would hold the
	// release, if one was found within a week.
	Window model.Window `json:"window"`
	// Overlap is the part of the release window inside Window (zero for
	// maintenance conflicts, which are about being outside).
	Overlap      model.Window `json:"overlap"`
	Environments []string     `json:"environments,omitempty"` // of the release's, those concerned
	Services     []string     `json:"services,omitempty"`     // in-scope services concerned (vendor windows: the vendor's services the scope depends on)
	Impact       string       `json:"impact,omitempty"`
	Vendor       string       `json:"vendor,omitempty"`
	// Allowed reports whether the release may go ahead all the same: for
	// a freeze, through its exception policy; business events and vendor
	// windows are warnings and always allowed; a maintenance misfit never
	// is.
	Allowed   bool     `json:"allowed"`
	Approvers []string `json:"approvers,omitempty"` // who must sign off an allowed freeze exception
	Message   string   `json:"message"`
}

// releaseEnvs lists the environments a release goes through, in promotion
// order: its own list, or every environment. Names the org lacks are kept,
// last, so that an item naming them still matches.
func releaseEnvs(org *model.Org, rel *model.Release) []string {
	envs := make([]model.Environment, len(org.Environments))
	copy(envs, org.Environments)
	slices.SortStableFunc(envs, func(a, b model.Environment) int {
		return cmp.Or(cmp.Compare(a.Order, b.Order), cmp.Compare(a.Name, b.Name))
	})
	var out []string
	for _, e := range envs {
		if len(rel.Environments) == 0 || slices.Contains(rel.Environments, e.Name) {
			out = append(out, e.Name)
		}
	}
	for _, n := range rel.Environments {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

func scopeNames(rel *model.Release) []string {
	out := make([]string, 0, len(rel.Scope))
	for _, it := range rel.Scope {
		out = append(out, it.Service)
	}
	return out
}

// concerned returns the release environments an item applies to.
func concerned(item model.CalendarItem, envs, services []string) []string {
	var out []string
	for _, e := range envs {
		if Applies(item, e, services) {
			out = append(out, e)
		}
	}
	return out
}

func intersect(w, o model.Window) model.Window {
	s, e := w.Start, w.End
	if o.Start.After(s) {
		s = o.Start
	}
	if o.End.Before(e) {
		e = o.End
	}
	return model.Window{Start: s.UTC(), End: e.UTC()}
}

func sortConflicts(cs []Conflict) {
	slices.SortFunc(cs, func(a, b Conflict) int {
		return cmp.Or(a.Window.Start.Compare(b.Window.Start), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Item, b.Item))
	})
}

func describe(rel *model.Release) string {
	return fmt.Sprintf("release %s (%s)", rel.Name, rel.EffectiveClass())
}

func named(item model.CalendarItem) string {
	if item.Title != "" {
		return fmt.Sprintf("%s (%q)", item.Name, item.Title)
	}
	return item.Name
}

// FreezeConflicts returns the freezes that overlap the release window in
// any of the release's environments and for any of its services, one
// conflict per overlapping occurrence, each saying whether the release may
// pass through the freeze's exception policy: its class must be one the
// policy lists and, when the policy has a max tier, every in-scope service
// the freeze concerns must be of that tier or a less critical one. A
// freeze that cannot be evaluated (see Check) is treated as in force over
// the whole release window. Sorted by window, then item.
func FreezeConflicts(org *model.Org, rel *model.Release) []Conflict {
	envs, scope := releaseEnvs(org, rel), scopeNames(rel)
	var svcs map[string]*model.Service
	var out []Conflict
	for _, item := range org.Calendar {
		if item.Kind != model.Freeze {
			continue
		}
		on := concerned(item, envs, scope)
		if len(on) == 0 {
			continue
		}
		if svcs == nil {
			svcs = make(map[string]*model.Service, len(rel.Scope))
			for _, n := range scope {
				svcs[n] = nil
			}
			for i := range org.Services {
				if _, ok := svcs[org.Services[i].Name]; ok {
					svcs[org.Services[i].Name] = &org.Services[i]
				}
			}
		}
		var affected []string
		for _, s := range scope {
			if len(item.Services) == 0 || slices.Contains(item.Services, s) {
				affected = append(affected, s)
			}
		}
		base := Conflict{Kind: model.Freeze, Item: item.Name, Title: item.Title, Environments: on}
		if len(item.Services) > 0 {
			base.Services = affected
		}
		if err := Check(item); err != nil {
			c := base
			c.Window, c.Overlap = rel.Window, rel.Window
			c.Message = fmt.Sprintf("%s: freeze %s cannot be evaluated (%v); it is treated as in force", describe(rel), item.Name, err)
			out = append(out, c)
			continue
		}
		allowed, why := exception(item, rel, affected, svcs)
		for _, occ := range Occurrences(item, rel.Window.Start, rel.Window.End) {
			c := base
			c.Window, c.Overlap, c.Allowed = occ, intersect(occ, rel.Window), allowed
			if allowed && item.Exceptions != nil {
				c.Approvers = item.Exceptions.Approvers
			}
			c.Message = fmt.Sprintf("%s overlaps freeze %s (%s) in %s: %s",
				describe(rel), named(item), FormatWindow(occ), strings.Join(on, ", "), why)
			out = append(out, c)
		}
	}
	sortConflicts(out)
	return out
}

// exception decides whether a release passes a freeze's exception policy,
// and says why in words.
func exception(item model.CalendarItem, rel *model.Release, affected []string, svcs map[string]*model.Service) (bool, string) {
	ex := item.Exceptions
	class := rel.EffectiveClass()
	if ex == nil || len(ex.Classes) == 0 {
		return false, "the freeze allows no exceptions"
	}
	if !slices.Contains(ex.Classes, class) {
		names := make([]string, len(ex.Classes))
		for i, c := range ex.Classes {
			names[i] = string(c)
		}
		return false, fmt.Sprintf("a %s change is not an exception it allows (only %s)", class, strings.Join(names, ", "))
	}
	if ex.MaxTier != nil {
		var tooCritical []string
		for _, name := range affected {
			if s := svcs[name]; s != nil && s.Tier < *ex.MaxTier {
				tooCritical = append(tooCritical, fmt.Sprintf("%s (tier %d)", name, s.Tier))
			}
		}
		if len(tooCritical) > 0 {
			return false, fmt.Sprintf("its exceptions cover tier %d and less critical services only, and %s %s more critical",
				*ex.MaxTier, strings.Join(tooCritical, ", "), isAre(len(tooCritical)))
		}
	}
	why := fmt.Sprintf("allowed through its exception policy as a %s change", class)
	if len(ex.Approvers) > 0 {
		why += "; the exception needs sign-off from " + strings.Join(ex.Approvers, ", ")
	}
	return true, why
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

// maintenanceItems returns the maintenance items that apply to env for the
// release's services.
func maintenanceItems(org *model.Org, env string, scope []string) []model.CalendarItem {
	var out []model.CalendarItem
	for _, item := range org.Calendar {
		if item.Kind == model.Maintenance && Applies(item, env, scope) {
			out = append(out, item)
		}
	}
	return out
}

// maintenanceHorizon is how far around the release window maintenance
// windows are listed, so a misfit can be shown its alternatives.
const maintenanceHorizon = 7 * 24 * time.Hour

// MaintenanceFit checks the release window against an environment's
// maintenance windows (maintenance items applying to it and to the
// release's services). An environment without any is unconstrained: ok,
// no windows. Otherwise ok reports whether the release window lies inside
// the union of their occurrences, and windows lists that union from a day
// before the release window to a week after it, in order.
func MaintenanceFit(org *model.Org, rel *model.Release, env string) (ok bool, windows []model.Window) {
	items := maintenanceItems(org, env, scopeNames(rel))
	if len(items) == 0 {
		return true, nil
	}
	from, to := rel.Window.Start.Add(-24*time.Hour), rel.Window.End.Add(maintenanceHorizon)
	var occ []model.Window
	for _, item := range items {
		occ = append(occ, Occurrences(item, from, to)...)
	}
	windows = merge(occ)
	for _, w := range windows {
		if w.Contains(rel.Window) {
			return true, windows
		}
	}
	return false, windows
}

// MaintenanceConflicts returns, for each of the release's environments
// whose maintenance windows do not hold the release window, a conflict
// naming the next window long enough for it, when there is one within a
// week. Environments in promotion order.
func MaintenanceConflicts(org *model.Org, rel *model.Release) []Conflict {
	scope := scopeNames(rel)
	var out []Conflict
	for _, env := range releaseEnvs(org, rel) {
		ok, windows := MaintenanceFit(org, rel, env)
		if ok {
			continue
		}
		var names []string
		for _, item := range maintenanceItems(org, env, scope) {
			names = append(names, item.Name)
		}
		c := Conflict{Kind: model.Maintenance, Item: strings.Join(names, ", "), Environments: []string{env}}
		c.Message = fmt.Sprintf("%s window %s is not inside a maintenance window of %s (%s)",
			describe(rel), FormatWindow(rel.Window), env, strings.Join(names, ", "))
		need := rel.Window.End.Sub(rel.Window.Start)
		for _, w := range windows {
			start := w.Start
			if rel.Window.Start.After(start) {
				start = rel.Window.Start
			}
			if w.End.Sub(start) >= need {
				c.Window = w
				c.Message += fmt.Sprintf("; the next maintenance window that can hold it is %s", FormatWindow(w))
				break
			}
		}
		if c.Window.Start.IsZero() {
			c.Message += fmt.Sprintf("; no maintenance window within a week can hold its %s", need)
		}
		out = append(out, c)
	}
	return out
}

// EventConflicts returns the high-impact business events and the vendor
// windows that overlap the release window; see EventConflictsIn. It
// builds the release's dependency graph; callers that have it already
// should call EventConflictsIn.
func EventConflicts(org *model.Org, rel *model.Release) []Conflict {
	return EventConflictsIn(graph.ForRelease(model.NewIndex(org), rel), org, rel)
}

// EventConflictsIn returns, one per overlapping occurrence:
//   - high-impact business events applying to the release's environments
//     and services;
//   - vendor windows that matter to the release: the scope depends,
//     directly or transitively (in g, the graph after the release), on a
//     service the item's vendor owns or the item lists, or ships such a
//     service itself. A vendor window naming neither vendor nor services
//     concerns everyone.
//
// These are warnings: Allowed is true. Sorted by window, then item.
func EventConflictsIn(g *graph.Graph, org *model.Org, rel *model.Release) []Conflict {
	envs, scope := releaseEnvs(org, rel), scopeNames(rel)
	var reach []string // scope and everything it depends on, by name
	var out []Conflict
	for _, item := range org.Calendar {
		var c Conflict
		switch {
		case item.Kind == model.Business && strings.EqualFold(item.Impact, "high"):
			on := concerned(item, envs, scope)
			if len(on) == 0 {
				continue
			}
			c = Conflict{Environments: on}
			if len(item.Services) > 0 {
				for _, s := range scope {
					if slices.Contains(item.Services, s) {
						c.Services = append(c.Services, s)
					}
				}
			}
		case item.Kind == model.VendorEvent:
			// Environments only: its services are matched against what
			// the scope depends on, below.
			envOnly := item
			envOnly.Services = nil
			on := concerned(envOnly, envs, nil)
			if len(on) == 0 {
				continue
			}
			c = Conflict{Environments: on, Vendor: item.Vendor}
			if item.Vendor != "" || len(item.Services) > 0 {
				if reach == nil {
					reach = append(g.Upstream(scope...), scope...)
					slices.Sort(reach)
					reach = slices.Compact(reach)
				}
				for _, name := range reach {
					s, known := g.Service(name)
					if (known && item.Vendor != "" && s.Owner == item.Vendor) || slices.Contains(item.Services, name) {
						c.Services = append(c.Services, name)
					}
				}
				if len(c.Services) == 0 {
					continue
				}
			}
		default:
			continue
		}
		occs := Occurrences(item, rel.Window.Start, rel.Window.End)
		for _, occ := range occs {
			o := c
			o.Kind, o.Item, o.Title, o.Impact, o.Allowed = item.Kind, item.Name, item.Title, item.Impact, true
			o.Window, o.Overlap = occ, intersect(occ, rel.Window)
			o.Message = eventMessage(rel, item, o)
			out = append(out, o)
		}
	}
	sortConflicts(out)
	return out
}

func eventMessage(rel *model.Release, item model.CalendarItem, c Conflict) string {
	if item.Kind == model.Business {
		msg := fmt.Sprintf("%s overlaps high-impact business event %s (%s) in %s",
			describe(rel), named(item), FormatWindow(c.Window), strings.Join(c.Environments, ", "))
		if len(c.Services) > 0 {
			msg += " for " + strings.Join(c.Services, ", ")
		}
		return msg
	}
	who := "vendor window"
	if item.Vendor != "" {
		who = "vendor window of " + item.Vendor
	}
	msg := fmt.Sprintf("%s overlaps %s %s (%s)", describe(rel), who, named(item), FormatWindow(c.Window))
	if item.Impact != "" {
		msg += ", impact " + item.Impact
	}
	if len(c.Services) > 0 {
		msg += "; the release depends on " + strings.Join(c.Services, ", ")
	}
	return msg
}

// Conflicts returns every calendar conflict of a release: freezes,
// maintenance misfits, business events and vendor windows, sorted by
// window, then kind, then item.
func Conflicts(org *model.Org, rel *model.Release) []Conflict {
	out := FreezeConflicts(org, rel)
	out = append(out, MaintenanceConflicts(org, rel)...)
	out = append(out, EventConflicts(org, rel)...)
	sortConflicts(out)
	return out
}
