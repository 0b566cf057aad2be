package plan

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/warroom/warroom/core/calendar"
	"github.com/warroom/warroom/core/graph"
	"github.com/warroom/warroom/core/model"
)

// ErrUnknownRelease is returned by Build for a release the org lacks.
var ErrUnknownRelease = errors.New("unknown release")

// Issue kinds. Blockers use every kind but the warning-only ones; some
// kinds (freeze, incompatible, library-conflict) are a blocker or a
// warning depending on the case.
const (
	KindIncompatible       = "incompatible"        // a requirement breaks after or during the release
	KindCycle              = "cycle"               // release items wait on each other
	KindFreeze             = "freeze"              // a freeze overlaps the window
	KindMaintenanceWindow  = "maintenance-window"  // the window lies outside an environment's maintenance windows
	KindNoOwner            = "no-owner"            // nobody to call: no owner, or one that is neither team nor vendor
	KindLibraryConflict    = "library-conflict"    // a shared library at several versions
	KindUnknownService     = "unknown-service"     // the scope names a service the catalogue lacks
	KindUnknownEnvironment = "unknown-environment" // the release names an environment the org lacks

	// Warnings only.
	KindBusinessEvent = "business-event" // a high-impact business event overlaps the window
	KindVendorWindow  = "vendor-window"  // a vendor window upstream of the scope overlaps it
	KindLowTraffic    = "low-traffic"    // a production region cannot be timed to its low-traffic window
)

// Issue is a blocker or a warning.
type Issue struct {
	Kind     string   `json:"kind"`
	Message  string   `json:"message"`
	Services []string `json:"services"`
}

// Plan is a release plan. Every list is present (possibly empty) in JSON.
type Plan struct {
	Release string            `json:"release"`
	Title   string            `json:"title,omitempty"`
	Class   model.ChangeClass `json:"class"`
	Window  model.Window      `json:"window"`
	// Services are the in-scope services of the catalogue, by name.
	Services []ServiceChange `json:"services"`
	// Environments are the release's, in promotion order.
	Environments []Environment `json:"environments"`
	// Waves are empty when the release items form a cycle (see Blockers).
	Waves []graph.Wave `json:"waves"`
	// Steps expand environments (promotion order) x waves x services x
	// regions; each wave's migration phases come first, once per
	// environment.
	Steps            []Step                  `json:"steps"`
	Compatibility    []graph.Incompatibility `json:"compatibility"`
	LibraryConflicts []graph.LibraryConflict `json:"library_conflicts"`
	Calendar         []calendar.Conflict     `json:"calendar"`
	Blockers         []Issue                 `json:"blockers"`
	Warnings         []Issue                 `json:"warnings"`
}

// Blocked reports whether anything stops the release.
func (p *Plan) Blocked() bool { return len(p.Blockers) > 0 }

// ServiceChange is one service the release ships.
type ServiceChange struct {
	Name        string         `json:"name"`
	Owner       string         `json:"owner,omitempty"`
	OwnerKind   string         `json:"owner_kind,omitempty"` // team, vendor, or empty when unresolved
	Tier        model.Tier     `json:"tier"`
	FromVersion string         `json:"from_version"`
	ToVersion   string         `json:"to_version"`
	Strategy    model.Strategy `json:"strategy,omitempty"`
	Hotfix      bool           `json:"hotfix,omitempty"`
}

// Environment is a stage the release goes through.
type Environment struct {
	Name       string         `json:"name"`
	Order      int            `json:"order"`
	Production bool           `json:"production"`
	Gates      []string       `json:"gates"`
	Approval   bool           `json:"approval"`
	Approvers  []string       `json:"approvers,omitempty"`
	BakeTime   model.Duration `json:"bake_time,omitempty"`
	// Regions: in production, by their next low-traffic window at or
	// after the release window start (regions without one last, by
	// weight then name); elsewhere as declared.
	Regions []Region `json:"regions"`
	// MaintenanceOK is false when the environment has maintenance windows
	// and the release window is not inside them; Maintenance lists them
	// around the release window.
	MaintenanceOK bool           `json:"maintenance_ok"`
	Maintenance   []model.Window `json:"maintenance,omitempty"`
}

// Region is where an environment runs.
type Region struct {
	Name     string `json:"name"`
	TimeZone string `json:"time_zone"`
	Weight   int    `json:"weight,omitempty"`
	// LowTraffic is the region's next low-traffic window at or after the
	// release window start, in UTC (production environments only).
	LowTraffic *model.Window `json:"low_traffic,omitempty"`
}

// Step is one unit of deployment work: a service into one region of one
// environment, or a migration phase in one environment.
type Step struct {
	Index       int                  `json:"index"` // 1-based, in running order
	Environment string               `json:"environment"`
	Wave        int                  `json:"wave"`
	Service     string               `json:"service,omitempty"`
	FromVersion string               `json:"from_version,omitempty"`
	Version     string               `json:"version,omitempty"`
	Strategy    model.Strategy       `json:"strategy,omitempty"`
	Region      string               `json:"region"`
	Migration   string               `json:"migration,omitempty"`
	Phase       model.MigrationPhase `json:"phase,omitempty"`
	// NotBefore is when the step may start: the region's low-traffic
	// window, in production.
	NotBefore *time.Time `json:"not_before,omitempty"`
	// Canary is what a canary step's bakes need for the judge's proofs.
	Canary *CanaryBake `json:"canary,omitempty"`
}

// DefaultCanarySteps are the weights of a canary that names none (as the
// deploy engine runs it).
var DefaultCanarySteps = []int{10, 50, 100}

// CanaryBake is a canary step's bakes as the plan expects them: the
// traffic each weight gets and, once EstimateCanaryBakes ran, the bake
// time a healthy canary needs for the judge's proofs at that traffic.
type CanaryBake struct {
	BakeTime      model.Duration `json:"bake_time"`
	BakeExtension float64        `json:"bake_extension"`
	// MaxBake is the longest a weight may bake with no verdict before it
	// waits for an operator: bake_extension x bake_time.
	MaxBake model.Duration `json:"max_bake"`
	// ExpectedRPS is the step's traffic in requests per second: its
	// service's deploy.expected_rps in the environment, the region's share
	// of it; 0 when the spec does not say.
	ExpectedRPS float64        `json:"expected_rps"`
	Weights     []CanaryWeight `json:"weights"`
	// Outlook is the worst of the weights' outlooks.
	Outlook string `json:"outlook"`
	// Note says it in a sentence, for the weight that needs the longest.
	Note string `json:"note"`
}

// CanaryWeight is one weight of a canary step.
type CanaryWeight struct {
	Percent     int     `json:"percent"`
	CanaryRPS   float64 `json:"canary_rps"`
	BaselineRPS float64 `json:"baseline_rps"`
	// BakeNeeded is the bake a healthy canary needs at this weight for the
	// judge's proofs; null when the traffic is not known or the proofs are
	// not reached within MaxEstimate.
	BakeNeeded *model.Duration `json:"bake_needed"`
	// Outlook is OutlookEnough, OutlookExtended, OutlookOperator or
	// OutlookUnknown.
	Outlook string `json:"outlook"`
}

// A canary weight's outlook.
const (
	OutlookEnough   = "enough"   // bake_time is enough for the proofs
	OutlookExtended = "extended" // the judge will extend the bake, within bake_extension x bake_time
	OutlookOperator = "operator" // more than bake_extension x bake_time: the step will wait for an operator
	OutlookUnknown  = "unknown"  // no expected traffic, or no judge estimate
)

// MaxEstimate bounds the bake times estimated: beyond a day a canary
// step is not going to be proved by waiting.
const MaxEstimate = 24 * time.Hour

// BakeEstimator is the bake time a healthy canary of service needs for
// the judge's proofs at the traffic given, if reached within max.
type BakeEstimator func(service string, canaryRPS, baselineRPS float64, max time.Duration) (time.Duration, bool)

type builder struct {
	ix  *model.Index
	rel *model.Release
	g   *graph.Graph
	p   *Plan
}

// Build plans a release of the indexed org. The only error is an unknown
// release: everything else that is wrong becomes a blocker or a warning,
// and the rest of the plan is still built.
func Build(ix *model.Index, release string) (*Plan, error) {
	rel, ok := ix.Releases[release]
	if !ok {
		return nil, fmt.Errorf("plan %q: %w", release, ErrUnknownRelease)
	}
	b := &builder{ix: ix, rel: rel, g: graph.ForRelease(ix, rel), p: &Plan{
		Release: rel.Name, Title: rel.Title, Class: rel.EffectiveClass(), Window: rel.Window,
		Services: []ServiceChange{}, Environments: []Environment{}, Waves: []graph.Wave{}, Steps: []Step{},
		Compatibility: []graph.Incompatibility{}, LibraryConflicts: []graph.LibraryConflict{},
		Calendar: []calendar.Conflict{}, Blockers: []Issue{}, Warnings: []Issue{},
	}}
	b.scope()
	b.environments()
	b.waves()
	b.compatibility()
	b.libraries()
	b.calendar()
	b.steps()
	sortIssues(b.p.Blockers)
	sortIssues(b.p.Warnings)
	return b.p, nil
}

func (b *builder) block(kind, msg string, services ...string) {
	b.p.Blockers = append(b.p.Blockers, Issue{Kind: kind, Message: msg, Services: nonNil(services)})
}

func (b *builder) warn(kind, msg string, services ...string) {
	b.p.Warnings = append(b.p.Warnings, Issue{Kind: kind, Message: msg, Services: nonNil(services)})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func sortIssues(is []Issue) {
	slices.SortStableFunc(is, func(a, b Issue) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), slices.Compare(a.Services, b.Services), cmp.Compare(a.Message, b.Message))
	})
}

// scope checks that every service shipped is known and has an owner to
// call.
func (b *builder) scope() {
	seen := map[string]bool{}
	for _, it := range b.rel.Scope {
		if seen[it.Service] {
			continue
		}
		seen[it.Service] = true
		svc, ok := b.ix.Services[it.Service]
		if !ok {
			b.block(KindUnknownService, fmt.Sprintf("release %s ships %s %s, which is not in the service catalogue", b.rel.Name, it.Service, it.Version), it.Service)
			continue
		}
		eff, _ := b.g.Service(it.Service)
		owner := b.ix.OwnerOf(svc.Owner)
		b.p.Services = append(b.p.Services, ServiceChange{Name: svc.Name, Owner: svc.Owner, OwnerKind: owner.Kind, Tier: svc.Tier,
			FromVersion: svc.Version, ToVersion: it.Version, Strategy: eff.Deploy.Strategy, Hotfix: it.Hotfix})
		switch {
		case svc.Owner == "":
			b.block(KindNoOwner, fmt.Sprintf("%s has no owner: nobody to call when its step fails", svc.Name), svc.Name)
		case owner.Kind == "":
			b.block(KindNoOwner, fmt.Sprintf("%s is owned by %s, which is neither a team nor a vendor: nobody to call when its step fails", svc.Name, svc.Owner), svc.Name)
		}
	}
	slices.SortFunc(b.p.Services, func(x, y ServiceChange) int { return cmp.Compare(x.Name, y.Name) })
}

// environments lists the release's environments in promotion order, with
// production regions ordered by their next low-traffic window.
func (b *builder) environments() {
	want := map[string]bool{}
	for _, n := range b.rel.Environments {
		want[n] = true
		if _, ok := b.ix.Environments[n]; !ok {
			b.block(KindUnknownEnvironment, fmt.Sprintf("release %s goes through environment %s, which is not declared", b.rel.Name, n))
		}
	}
	start := b.rel.Window.Start
	for _, e := range b.ix.EnvironmentsInOrder() {
		if len(want) > 0 && !want[e.Name] {
			continue
		}
		env := Environment{Name: e.Name, Order: e.Order, Production: e.Production, Gates: nonNil(slices.Clone(e.Gates)),
			Approval: e.Approval, Approvers: e.Approvers, BakeTime: e.BakeTime, Regions: []Region{}}
		for _, r := range e.Regions {
			reg := Region{Name: r.Name, TimeZone: r.TimeZone, Weight: r.Weight}
			if e.Production {
				w, err := calendar.NextLowTraffic(r, start)
				switch {
				case err != nil:
					b.warn(KindLowTraffic, fmt.Sprintf("%s region %s: %v; its waves are not timed", e.Name, r.Name, err))
				default:
					reg.LowTraffic = &w
					if !w.Start.Before(b.rel.Window.End) {
						b.warn(KindLowTraffic, fmt.Sprintf("%s region %s: its next low-traffic window (%s) starts after the release window ends",
							e.Name, r.Name, calendar.FormatWindow(w)))
					}
				}
			}
			env.Regions = append(env.Regions, reg)
		}
		if e.Production {
			slices.SortStableFunc(env.Regions, func(x, y Region) int {
				switch {
				case x.LowTraffic == nil && y.LowTraffic == nil:
				case x.LowTraffic == nil:
					return 1
				case y.LowTraffic == nil:
					return -1
				default:
					if c := x.LowTraffic.Start.Compare(y.LowTraffic.Start); c != 0 {
						return c
					}
				}
				return cmp.Or(cmp.Compare(y.Weight, x.Weight), cmp.Compare(x.Name, y.Name))
			})
		}
		env.MaintenanceOK, env.Maintenance = calendar.MaintenanceFit(b.ix.Org, b.rel, e.Name)
		b.p.Environments = append(b.p.Environments, env)
	}
}

func (b *builder) waves() {
	waves, err := b.g.Waves()
	var ce *graph.CycleError
	switch {
	case errors.As(err, &ce):
		var svcs []string
		for _, n := range ce.Path {
			if b.g.Has(n) && !slices.Contains(svcs, n) {
				svcs = append(svcs, n)
			}
		}
		b.block(KindCycle, fmt.Sprintf("release items wait on each other, so no wave order exists: %s", graph.FormatCycle(ce.Path)), svcs...)
	case err != nil:
		b.block(KindCycle, err.Error())
	default:
		b.p.Waves = waves
	}
}

func (b *builder) compatibility() {
	incs := b.g.Compatibility()
	if incs != nil {
		b.p.Compatibility = incs
	}
	for _, inc := range incs {
		svcs := []string{inc.Consumer}
		if inc.Provider != "" {
			svcs = append(svcs, inc.Provider)
		}
		switch {
		case inc.Kind == graph.KindRelease && !inc.Optional:
			b.block(KindIncompatible, inc.Message, svcs...)
		case inc.Kind == graph.KindExisting:
			b.warn(KindIncompatible, inc.Message+" (already broken before this release)", svcs...)
		default:
			b.warn(KindIncompatible, inc.Message, svcs...)
		}
	}
}

func (b *builder) libraries() {
	lcs := b.g.LibraryConflicts()
	if lcs != nil {
		b.p.LibraryConflicts = lcs
	}
	for _, c := range lcs {
		var uses, svcs []string
		for _, u := range c.Users {
			var names []string
			for _, s := range u.Services {
				names = append(names, s.Name+" "+s.Range)
				svcs = append(svcs, s.Name)
			}
			uses = append(uses, fmt.Sprintf("%s (%s)", u.Version, strings.Join(names, ", ")))
		}
		slices.Sort(svcs)
		lib := c.Library
		if c.Owner != "" {
			lib += ", owned by " + c.Owner + ","
		}
		msg := fmt.Sprintf("shared library %s is used at %s", lib, strings.Join(uses, " and "))
		if len(c.Satisfying) == 0 {
			b.block(KindLibraryConflict, msg+"; no released version satisfies every range", svcs...)
			continue
		}
		b.warn(KindLibraryConflict, fmt.Sprintf("%s; %s would satisfy everyone", msg, strings.Join(c.Satisfying, ", ")), svcs...)
	}
}

func (b *builder) calendar() {
	org := b.ix.Org
	var all []calendar.Conflict
	for _, c := range calendar.FreezeConflicts(org, b.rel) {
		all = append(all, c)
		if c.Allowed {
			b.warn(KindFreeze, c.Message, c.Services...)
		} else {
			b.block(KindFreeze, c.Message, c.Services...)
		}
	}
	for _, c := range calendar.MaintenanceConflicts(org, b.rel) {
		if _, known := b.ix.Environments[c.Environments[0]]; !known {
			continue // reported as an unknown environment
		}
		all = append(all, c)
		b.block(KindMaintenanceWindow, c.Message, c.Services...)
	}
	for _, c := range calendar.EventConflictsIn(b.g, org, b.rel) {
		all = append(all, c)
		kind := KindBusinessEvent
		if c.Kind == model.VendorEvent {
			kind = KindVendorWindow
		}
		b.warn(kind, c.Message, c.Services...)
	}
	slices.SortStableFunc(all, func(x, y calendar.Conflict) int {
		return cmp.Or(x.Window.Start.Compare(y.Window.Start), cmp.Compare(x.Kind, y.Kind), cmp.Compare(x.Item, y.Item))
	})
	if all != nil {
		b.p.Calendar = all
	}
}

// steps expands environments x waves x services x regions.
func (b *builder) steps() {
	changes := make(map[string]ServiceChange, len(b.p.Services))
	for _, c := range b.p.Services {
		changes[c.Name] = c
	}
	var steps []Step
	add := func(s Step) {
		s.Index = len(steps) + 1
		steps = append(steps, s)
	}
	for _, env := range b.p.Environments {
		for _, w := range b.p.Waves {
			for _, m := range w.Migrations {
				add(Step{Environment: env.Name, Wave: w.Index, Migration: m.Migration, Phase: m.Phase})
			}
			for _, name := range w.Services {
				c := changes[name]
				base := Step{Environment: env.Name, Wave: w.Index, Service: name, FromVersion: c.FromVersion,
					Version: c.ToVersion, Strategy: c.Strategy}
				if len(env.Regions) == 0 {
					base.Canary = b.canaryBake(name, c.Strategy, env, nil)
					add(base)
					continue
				}
				for _, r := range env.Regions {
					s := base
					s.Canary = b.canaryBake(name, c.Strategy, env, &r)
					s.Region = r.Name
					if r.LowTraffic != nil {
						t := r.LowTraffic.Start
						s.NotBefore = &t
					}
					add(s)
				}
			}
		}
	}
	if steps != nil {
		b.p.Steps = steps
	}
}

// canaryBake is a canary step's bakes in env (and region), with the
// traffic its service's expected_rps gives it; nil for another strategy.
func (b *builder) canaryBake(service string, strategy model.Strategy, env Environment, region *Region) *CanaryBake {
	svc := b.ix.Services[service]
	if svc == nil || strategy != model.Canary {
		return nil
	}
	d := svc.Deploy
	cb := &CanaryBake{BakeTime: d.BakeTime, BakeExtension: d.BakeExtension, Outlook: OutlookUnknown}
	if cb.BakeExtension == 0 {
		cb.BakeExtension = model.DefaultBakeExtension
	}
	cb.MaxBake = model.Duration(time.Duration(cb.BakeExtension * float64(d.BakeTime)))
	rps := d.ExpectedRPS[env.Name]
	if region != nil && rps > 0 {
		rps *= regionShare(env.Regions, region.Name)
	}
	cb.ExpectedRPS = rps
	weights := d.CanarySteps
	if len(weights) == 0 {
		weights = DefaultCanarySteps
	}
	for _, w := range weights {
		cb.Weights = append(cb.Weights, CanaryWeight{Percent: w, CanaryRPS: rps * float64(w) / 100,
			BaselineRPS: rps * float64(100-w) / 100, Outlook: OutlookUnknown})
	}
	if rps == 0 {
		cb.Note = fmt.Sprintf("no deploy.expected_rps for %s: the bake time the proofs need is not known", env.Name)
	}
	return cb
}

// regionShare is a region's share of its environment's traffic: its
// weight's share when every region has one, else an equal share.
func regionShare(regions []Region, name string) float64 {
	total, mine := 0, 0
	for _, r := range regions {
		if r.Weight <= 0 {
			return 1 / float64(len(regions))
		}
		total += r.Weight
		if r.Name == name {
			mine = r.Weight
		}
	}
	return float64(mine) / float64(total)
}

// EstimateCanaryBakes fills in each canary step's bake times needed, as
// est gives them, with each weight's outlook and the step's note. Steps
// with no expected traffic stay unknown.
func (p *Plan) EstimateCanaryBakes(est BakeEstimator) {
	type key struct {
		service    string
		canary, bl float64
	}
	memo := map[key]*time.Duration{}
	for i := range p.Steps {
		s := &p.Steps[i]
		cb := s.Canary
		if cb == nil || cb.ExpectedRPS <= 0 {
			continue
		}
		bake := time.Duration(cb.BakeTime)
		var worst *CanaryWeight
		cb.Outlook = OutlookEnough
		for j := range cb.Weights {
			w := &cb.Weights[j]
			k := key{s.Service, w.CanaryRPS, w.BaselineRPS}
			need, seen := memo[k]
			if !seen {
				if d, ok := est(s.Service, w.CanaryRPS, w.BaselineRPS, MaxEstimate); ok {
					need = &d
				}
				memo[k] = need
			}
			switch {
			case need == nil || *need > time.Duration(cb.MaxBake):
				w.Outlook = OutlookOperator
			case *need > bake:
				w.Outlook = OutlookExtended
			default:
				w.Outlook = OutlookEnough
			}
			if need != nil {
				d := model.Duration(*need)
				w.BakeNeeded = &d
			}
			if worst == nil || outlookRank(w.Outlook) > outlookRank(worst.Outlook) ||
				(w.Outlook == worst.Outlook && w.BakeNeeded != nil && worst.BakeNeeded != nil && *w.BakeNeeded > *worst.BakeNeeded) {
				worst = w
			}
		}
		if worst == nil {
			continue
		}
		cb.Outlook = worst.Outlook
		cb.Note = canaryNote(cb, worst)
	}
}

func outlookRank(o string) int {
	switch o {
	case OutlookEnough:
		return 0
	case OutlookExtended:
		return 1
	case OutlookOperator:
		return 2
	}
	return -1
}

// canaryNote says in a sentence what the weight that needs the longest
// means for the step.
func canaryNote(cb *CanaryBake, w *CanaryWeight) string {
	at := fmt.Sprintf("at %s rps on the canary (%d%%)", rps(w.CanaryRPS), w.Percent)
	switch {
	case w.BakeNeeded == nil:
		return fmt.Sprintf("bake %s: the proofs are not reached within %s %s: the step will wait for an operator", cb.BakeTime, model.Duration(MaxEstimate), at)
	case w.Outlook == OutlookEnough:
		return fmt.Sprintf("bake %s >= %s needed %s", cb.BakeTime, *w.BakeNeeded, at)
	case w.Outlook == OutlookExtended:
		return fmt.Sprintf("bake %s < %s needed %s: the judge will extend up to %s", cb.BakeTime, *w.BakeNeeded, at, cb.MaxBake)
	}
	return fmt.Sprintf("bake %s < %s needed %s, more than the %s it may bake: the step will wait for an operator", cb.BakeTime, *w.BakeNeeded, at, cb.MaxBake)
}

// rps formats requests per second with two significant digits at most.
func rps(x float64) string {
	if x >= 10 {
		return strconv.FormatFloat(x, 'f', 0, 64)
	}
	return strconv.FormatFloat(x, 'g', 2, 64)
}
