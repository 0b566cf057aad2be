package spec

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"

	"github.com/warroom/warroom/core/graph"
	"github.com/warroom/warroom/core/model"
)

var (
	namePattern   = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
	weekdays      = []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	impacts       = []string{"low", "medium", "high"}
	budgetActions = []string{"block", "warn"}
)

// entry is one object of the merged organisation: from a spec file (src
// set) or stored by an earlier apply (src nil).
type entry struct {
	obj model.Object
	src *Source
}

type validator struct {
	errs    Errors
	entries map[model.Kind]map[string]*entry
	org     *model.Org
	ix      *model.Index
	apis    map[string]string // API -> the catalogue service providing it
	roles   map[string]bool   // roles some team holds, built on first use
	logins  map[string]string // OS login -> the person declaring it
}

// Check is the one validation of a spec set, shared by validate and
// apply so that they can never disagree: the errors ParseFiles found and
// everything Validate finds against the stored objects (none with
// opts.Prune, which makes the set the whole organisation).
func Check(set *Set, stored []model.Record, opts Options) (*model.Org, Errors) {
	if opts.Prune {
		stored = nil
	}
	org, verrs := Validate(set, stored)
	errs := append(append(Errors{}, set.parseErrs...), verrs...)
	errs.Sort()
	return org, errs.dedupe()
}

// Validate checks a set of spec objects together with the objects already
// stored, which the set adds to or replaces, and returns the organisation
// they make together. References may point at stored objects; only the
// set's own objects are reported on.
func Validate(set *Set, stored []model.Record) (*model.Org, Errors) {
	v := &validator{entries: map[model.Kind]map[string]*entry{}}
	for _, k := range model.Kinds {
		v.entries[k] = map[string]*entry{}
	}
	for _, r := range stored {
		obj, err := r.Decode()
		if err != nil {
			v.errs.add(Pos{}, "the database holds an object this warroom cannot read; check the warroom version", "%v", err)
			continue
		}
		v.entries[r.Kind][r.Name] = &entry{obj: obj}
	}
	reported := map[Pos]bool{}
	for _, e := range set.parseErrs {
		reported[e.Pos] = true
	}
	for _, s := range set.Sources {
		if s.Name() == "" {
			// Parsing reports a missing or empty name where the object
			// starts; a set built another way is caught here, so an
			// object without a name never reaches the store.
			if !reported[s.Pos] {
				v.errs.add(s.Pos, `give every object a "name:"`, "%s has no name", s.Kind())
			}
			continue
		}
		m := v.entries[s.Kind()]
		if prev, ok := m[s.Name()]; ok && prev.src != nil {
			v.errs.add(s.At("name"), fmt.Sprintf("names are unique per kind; the first is at %s", prev.src.At("name")),
				"duplicate %s name %q", s.Kind(), s.Name())
			continue
		}
		m[s.Name()] = &entry{obj: s.Object, src: s}
	}
	v.org = &model.Org{}
	for _, k := range model.Kinds {
		for _, e := range v.entries[k] {
			v.org.Add(e.obj)
		}
	}
	v.org.Sort()
	v.ix = model.NewIndex(v.org)
	v.indexAPIs()
	v.indexLogins()
	for _, k := range model.Kinds {
		names := make([]string, 0, len(v.entries[k]))
		for n := range v.entries[k] {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			e := v.entries[k][n]
			if e.src != nil {
				v.check(e.obj, e.src)
			}
		}
	}
	v.checkEnvironmentOrders()
	v.checkCycles()
	v.errs.Sort()
	return v.org, v.errs
}

// indexAPIs records which catalogue service provides each API; a second
// provider is an error, since consumers could not know whom they talk to.
func (v *validator) indexAPIs() {
	v.apis = map[string]string{}
	// Stored services first, then spec services in file order, so the
	// error lands on the provider written second.
	ents := make([]*entry, 0, len(v.entries[model.KindService]))
	for _, e := range v.entries[model.KindService] {
		ents = append(ents, e)
	}
	sort.Slice(ents, func(i, j int) bool { return entryBefore(ents[i], ents[j]) })
	for _, e := range ents {
		s := e.obj.(model.Service)
		for i, p := range s.Provides {
			if other, ok := v.apis[p.API]; ok && other != s.Name {
				if e.src != nil {
					v.errs.add(e.src.At(fmt.Sprintf("provides[%d].api", i)), "each API has one provider; rename one of them or remove it from one service",
						"API %q is already provided by service %q", p.API, other)
				}
				continue
			}
			v.apis[p.API] = s.Name
		}
	}
}

// entryBefore orders stored entries first, then by file and line.
func entryBefore(a, b *entry) bool {
	switch {
	case a.src == nil && b.src == nil:
		return a.obj.ObjectName() < b.obj.ObjectName()
	case a.src == nil || b.src == nil:
		return a.src == nil
	}
	pa, pb := a.src.Pos, b.src.Pos
	if pa.File != pb.File {
		return pa.File < pb.File
	}
	return pa.Line < pb.Line
}

func (v *validator) check(obj model.Object, src *Source) {
	v.name(src, "name", obj.ObjectName())
	switch o := obj.(type) {
	case model.Team:
		v.contacts(src, "escalation", o.Escalation)
		for i, r := range o.Roles {
			v.enum(src, fmt.Sprintf("roles[%d]", i), r, model.Roles, "role")
		}
	case model.Person:
		v.person(src, o)
	case model.Policy:
		v.policyObject(src, o)
	case model.Vendor:
		v.contacts(src, "escalation", o.Escalation)
	case model.Library:
		v.owner(src, "owner", o.Owner)
		for i, ver := range o.Versions {
			v.version(src, fmt.Sprintf("versions[%d]", i), ver)
		}
	case model.Service:
		v.service(src, o)
	case model.Gate:
		v.enum(src, "kind", string(o.Kind), model.GateKinds, "gate kind")
		if o.Min != nil && o.Max != nil && *o.Min > *o.Max {
			v.errs.add(src.At("max"), "min is the lowest passing value, max the highest", "gate %q: min %v is above max %v", o.Name, *o.Min, *o.Max)
		}
		for i, t := range o.Owners {
			v.ref(src, fmt.Sprintf("owners[%d]", i), t, "team or vendor", model.KindTeam, model.KindVendor)
		}
		v.enum(src, "severity", o.Severity, model.Severities, "severity")
		if o.Severity != "" && o.Kind != model.GateSecurity && o.Kind != "" {
			v.errs.add(src.At("severity"), "remove severity, or use kind: security", "severity is for security gates, not %q gates", string(o.Kind))
		}
		if len(o.Allow) > 0 && o.Kind != model.GateLicence && o.Kind != "" {
			v.errs.add(src.At("allow"), "remove allow, or use kind: licence", "allow is for licence gates, not %q gates", string(o.Kind))
		}
		v.approvers(src, "approvers", o.Approvers)
	case model.Environment:
		v.environment(src, o)
	case model.CalendarItem:
		v.calendarItem(src, o)
	case model.Release:
		v.release(src, o)
	}
}

func (v *validator) name(src *Source, path, name string) {
	if name != "" && !namePattern.MatchString(name) {
		v.errs.add(src.At(path), "use lowercase letters, digits and single dashes, starting with a letter (e.g. checkout-api)", "invalid name %q", name)
	}
}

func (v *validator) contacts(src *Source, path string, cs []model.Contact) {
	for i, c := range cs {
		if c.Email == "" && c.Phone == "" && c.Chat == "" && c.OnCall == "" {
			v.errs.add(src.At(fmt.Sprintf("%s[%d]", path, i)), "give at least one of email, phone, chat or on_call", "escalation contact %q cannot be reached", c.Name)
		}
	}
}

func (v *validator) exists(kind model.Kind, name string) bool {
	_, ok := v.entries[kind][name]
	return ok
}

func (v *validator) namesOf(kinds ...model.Kind) []string {
	var out []string
	for _, k := range kinds {
		for n := range v.entries[k] {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// ref checks that name refers to an object of one of kinds.
func (v *validator) ref(src *Source, path, name, what string, kinds ...model.Kind) bool {
	if name == "" {
		return false
	}
	for _, k := range kinds {
		if v.exists(k, name) {
			return true
		}
	}
	hint := fmt.Sprintf("declare a %s named %q, or fix the name", what, clip(name))
	if s := suggest(name, v.namesOf(kinds...)); s != "" {
		hint = fmt.Sprintf("did you mean %q? otherwise declare a %s named %q", clip(s), what, clip(name))
	}
	v.errs.add(src.At(path), hint, "unknown %s %q", what, name)
	return false
}

func (v *validator) owner(src *Source, path, name string) {
	v.ref(src, path, name, "team or vendor", model.KindTeam, model.KindVendor)
}

// approvers checks that each approver is a governance role some team
// holds, or a team: anyone else could never sign off.
func (v *validator) approvers(src *Source, path string, names []string) {
	for i, a := range names {
		p := fmt.Sprintf("%s[%d]", path, i)
		switch {
		case a == "" || v.exists(model.KindTeam, a):
		case slices.Contains(model.Roles, a):
			if !v.roleHeld(a) {
				v.errs.add(src.At(p), fmt.Sprintf("add %q to the roles of the team that approves, or name that team here", clip(a)),
					"no team holds role %q, so nobody could approve", a)
			}
		default:
			cands := append(slices.Clone(model.Roles), v.namesOf(model.KindTeam)...)
			hint := fmt.Sprintf("an approver is a role (%s) or a team", strings.Join(model.Roles, ", "))
			if s := suggest(a, cands); s != "" {
				hint = fmt.Sprintf("did you mean %q? %s", clip(s), hint)
			}
			v.errs.add(src.At(p), hint, "unknown approver %q: neither a role nor a team", a)
		}
	}
}

// roleHeld reports whether any team of the merged organisation holds role.
func (v *validator) roleHeld(role string) bool {
	if v.roles == nil {
		v.roles = map[string]bool{}
		for _, t := range v.org.Teams {
			for _, r := range t.Roles {
				v.roles[r] = true
			}
		}
	}
	return v.roles[role]
}

func (v *validator) enum(src *Source, path, got string, valid []string, what string) {
	if got != "" && !slices.Contains(valid, got) {
		v.errs.add(src.At(path), didYouMean(got, valid), "invalid %s %q", what, got)
	}
}

func (v *validator) version(src *Source, path, s string) {
	if s == "" {
		return
	}
	if _, err := semver.StrictNewVersion(s); err != nil {
		v.errs.add(src.At(path), "write a semantic version MAJOR.MINOR.PATCH such as 2.4.1 (no leading v)", "invalid version %q: %v", s, err)
	}
}

func (v *validator) constraint(src *Source, path, s string) {
	if s == "" {
		return
	}
	if _, err := semver.NewConstraint(s); err != nil {
		v.errs.add(src.At(path), `write a semver range such as "^2.1", "~1.4", ">=2.0.0 <3.0.0" or "^2 || ^3"`, "invalid version range %q", s)
	}
}

func (v *validator) duration(src *Source, path string, d model.Duration, min time.Duration) {
	if d != 0 && d.Std() < min {
		v.errs.add(src.At(path), fmt.Sprintf("use at least %s", min), "%s of %s is too short", path, d)
	}
}

func (v *validator) clock(src *Source, path, s string) {
	if _, err := model.ParseClock(s); err != nil {
		v.errs.add(src.At(path), "write a 24-hour local time such as 02:00", "invalid time of day %q: want HH:MM between 00:00 and 23:59", s)
	}
}

func (v *validator) timeZone(src *Source, path, tz string) {
	if tz == "" {
		return
	}
	// time.LoadLocation also takes "Local", the zone of whichever machine
	// reads the spec: low-traffic windows would move with the host.
	if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
		v.errs.add(src.At(path), `use an IANA time zone name such as "Europe/Dublin" or "America/New_York"`, "unknown time zone %q", tz)
	}
}

func (v *validator) service(src *Source, s model.Service) {
	v.owner(src, "owner", s.Owner)
	if s.Tier < model.MinTier || s.Tier > model.MaxTier {
		v.errs.add(src.At("tier"), "tier 0 is the most critical, 3 the least", "tier %d is out of range", s.Tier)
	}
	v.enum(src, "kind", string(s.Kind), model.ServiceKinds, "service kind")
	v.version(src, "version", s.Version)
	v.manifest(src, "", s.Provides, s.Requires, s.Libraries, nil)
	for i, db := range s.Databases {
		v.database(src, fmt.Sprintf("databases[%d]", i), db)
	}
	if a := s.SLO.Availability; a != 0 && (a <= 0 || a > 100) {
		v.errs.add(src.At("slo.availability"), "write a percentage such as 99.9", "availability %v is not a percentage", a)
	}
	v.enum(src, "slo.budget_policy", s.SLO.BudgetPolicy, budgetActions, "budget policy")
	v.deployPolicy(src, "deploy", s.Deploy, s.Kind)
	for i, f := range s.Toggles {
		v.name(src, fmt.Sprintf("toggles[%d].name", i), f.Name)
		for env := range f.PerEnv {
			v.ref(src, fmt.Sprintf("toggles[%d].per_env.%s", i, env), env, "environment", model.KindEnvironment)
		}
	}
}

// manifest checks what a build provides and requires. newAPIs are APIs a
// release introduces, which its own scope may require.
func (v *validator) manifest(src *Source, prefix string, provides []model.APIProvision, requires []model.APIRequirement, libs []model.LibraryUse, newAPIs map[string]bool) {
	for i, p := range provides {
		v.name(src, fmt.Sprintf("%sprovides[%d].api", prefix, i), p.API)
		v.version(src, fmt.Sprintf("%sprovides[%d].version", prefix, i), p.Version)
	}
	for i, r := range requires {
		path := fmt.Sprintf("%srequires[%d]", prefix, i)
		if _, ok := v.apis[r.API]; r.API != "" && !ok && !newAPIs[r.API] && !r.Optional {
			apis := make([]string, 0, len(v.apis))
			for a := range v.apis {
				apis = append(apis, a)
			}
			hint := "no service provides it: add it to a service's provides, fix the name, or mark the requirement optional"
			if s := suggest(r.API, apis); s != "" {
				hint = fmt.Sprintf("did you mean %q? no service provides %q", clip(s), clip(r.API))
			}
			v.errs.add(src.At(path+".api"), hint, "unknown API %q", r.API)
		}
		v.constraint(src, path+".range", r.Range)
	}
	for i, l := range libs {
		path := fmt.Sprintf("%slibraries[%d]", prefix, i)
		v.ref(src, path+".name", l.Name, "library", model.KindLibrary)
		v.version(src, path+".version", l.Version)
		v.constraint(src, path+".range", l.Range)
	}
}

func (v *validator) database(src *Source, path, name string) {
	if !v.ref(src, path, name, "database service", model.KindService) {
		return
	}
	if svc := v.ix.Services[name]; svc != nil && svc.Kind != model.Database {
		v.errs.add(src.At(path), fmt.Sprintf("declare %q with kind: database, or list a database service here", clip(name)),
			"service %q is not a database (kind %q)", name, kindOrDefault(svc.Kind))
	}
}

func kindOrDefault(k model.ServiceKind) model.ServiceKind {
	if k == "" {
		return model.Stateless
	}
	return k
}

func (v *validator) deployPolicy(src *Source, path string, d model.DeployPolicy, kind model.ServiceKind) {
	v.enum(src, path+".strategy", string(d.Strategy), model.Strategies, "strategy")
	if d.BatchSize < 0 {
		v.errs.add(src.At(path+".batch_size"), "use a positive number of instances", "batch_size %d is negative", d.BatchSize)
	}
	if d.Instances < 0 {
		v.errs.add(src.At(path+".instances"), "use a positive number of instances", "instances %d is negative", d.Instances)
	}
	if len(d.CanarySteps) > 0 {
		prev, rising := 0, true
		for i, w := range d.CanarySteps {
			if w <= prev || w > 100 {
				v.errs.add(src.At(fmt.Sprintf("%s.canary_steps[%d]", path, i)), "canary steps are rising traffic percentages such as [5, 25, 50, 100]", "canary step %d%% does not rise from %d%% or exceeds 100%%", w, prev)
				rising = false
				break
			}
			prev = w
		}
		if rising && prev != 100 {
			v.errs.add(src.At(path+".canary_steps"), "end the steps with 100 so the canary is fully promoted", "canary steps end at %d%%, not 100%%", prev)
		}
		if d.Strategy != "" && d.Strategy != model.Canary {
			v.errs.add(src.At(path+".canary_steps"), "remove canary_steps or use strategy: canary", "canary_steps given for strategy %q", d.Strategy)
		}
	}
	canaryOnly := func(field string) {
		if d.Strategy != "" && d.Strategy != model.Canary {
			v.errs.add(src.At(path+"."+field), "remove "+field+" or use strategy: canary", "%s given for strategy %q", field, d.Strategy)
		}
	}
	if t := d.CanaryTolerance; t != (model.CanaryTolerance{}) {
		if !(t.ErrorRate >= 0 && t.ErrorRate < 100) {
			v.errs.add(src.At(path+".canary_tolerance.error_rate"), "give percentage points above 0 and below 100, e.g. 0.5", "canary_tolerance.error_rate %g is out of range", t.ErrorRate)
		}
		if !(t.LatencyP95 >= 0 && t.LatencyP95 <= 1000) {
			v.errs.add(src.At(path+".canary_tolerance.latency_p95"), "give a percentage above 0 and at most 1000, e.g. 20", "canary_tolerance.latency_p95 %g is out of range", t.LatencyP95)
		}
		canaryOnly("canary_tolerance")
	}
	if d.BakeExtension != 0 {
		if !(d.BakeExtension >= 1 && d.BakeExtension <= 100) {
			v.errs.add(src.At(path+".bake_extension"), "give a factor from 1 (never extend) to 100, e.g. 4", "bake_extension %g is out of range", d.BakeExtension)
		}
		canaryOnly("bake_extension")
	}
	if len(d.ExpectedRPS) > 0 {
		envs := make([]string, 0, len(d.ExpectedRPS))
		for env := range d.ExpectedRPS {
			envs = append(envs, env)
		}
		slices.Sort(envs)
		for _, env := range envs {
			at := path + ".expected_rps." + env
			v.ref(src, at, env, "environment", model.KindEnvironment)
			if rps := d.ExpectedRPS[env]; !(rps > 0 && rps <= 1e9) {
				v.errs.add(src.At(at), "give requests per second above 0 and at most 1e9, e.g. 120", "expected_rps of %s %g is out of range", env, rps)
			}
		}
		canaryOnly("expected_rps")
	}
	// Blue-green for a database or queue is decided at pre-flight: only a
	// target that says it can keep two copies consistent may do it.
}

func (v *validator) environment(src *Source, e model.Environment) {
	if e.Order < 1 {
		v.errs.add(src.At("order"), "promotion order starts at 1 (the first environment a build enters)", "order %d is not positive", e.Order)
	}
	v.enum(src, "data", string(e.Data), model.DataSources, "data source")
	if e.Data == model.DataProduction && !e.Production {
		v.errs.add(src.At("data"), "use masked or synthetic data outside production", "environment %q uses production data but is not production", e.Name)
	}
	seen := map[string]bool{}
	for i, r := range e.Regions {
		path := fmt.Sprintf("regions[%d]", i)
		v.name(src, path+".name", r.Name)
		if seen[r.Name] {
			v.errs.add(src.At(path+".name"), "region names are unique within an environment", "duplicate region %q", r.Name)
		}
		seen[r.Name] = true
		v.timeZone(src, path+".time_zone", r.TimeZone)
		if r.Weight < 0 {
			v.errs.add(src.At(path+".weight"), "a share of traffic is 0 or more: leave it out for none", "region %q has weight %d, below 0", r.Name, r.Weight)
		}
		if !r.LowTraffic.IsZero() {
			v.clock(src, path+".low_traffic.start", r.LowTraffic.Start)
			v.clock(src, path+".low_traffic.end", r.LowTraffic.End)
		} else if e.Production {
			v.errs.add(src.At(path), "production waves are timed to each region's low-traffic window: add low_traffic: {start: \"02:00\", end: \"05:00\"}", "production region %q has no low-traffic window", r.Name)
		}
	}
	for i, g := range e.Gates {
		v.ref(src, fmt.Sprintf("gates[%d]", i), g, "gate", model.KindGate)
	}
	v.approvers(src, "approvers", e.Approvers)
	v.approvals(src, e)
	v.duration(src, "bake_time", e.BakeTime, time.Second)
	if e.Parallel < 0 {
		v.errs.add(src.At("parallel"), "parallel is how many steps of one wave run at once: 1 or more, or 0 (or leave it out) for the default, 10", "parallel %d is negative", e.Parallel)
	}
}

func (v *validator) checkEnvironmentOrders() {
	byOrder := map[int]string{}
	for _, e := range v.org.Environments {
		if other, ok := byOrder[e.Order]; ok {
			ent := v.entries[model.KindEnvironment][e.Name]
			if ent.src == nil {
				ent = v.entries[model.KindEnvironment][other]
			}
			if ent.src != nil {
				v.errs.add(ent.src.At("order"), "give each environment its own place in the promotion order",
					"environments %q and %q share order %d", other, e.Name, e.Order)
			}
			continue
		}
		byOrder[e.Order] = e.Name
	}
}

func (v *validator) calendarItem(src *Source, c model.CalendarItem) {
	v.enum(src, "kind", string(c.Kind), model.CalendarKinds, "calendar kind")
	switch {
	case c.Weekly != nil:
		w := c.Weekly
		if len(w.Days) == 0 {
			v.errs.add(src.At("weekly"), "list the days, e.g. days: [tue, thu]", "weekly window has no days")
		}
		for i, d := range w.Days {
			v.enum(src, fmt.Sprintf("weekly.days[%d]", i), d, weekdays, "day")
		}
		v.clock(src, "weekly.start", w.Start)
		v.clock(src, "weekly.end", w.End)
		v.timeZone(src, "weekly.time_zone", w.TimeZone)
		if !c.Start.IsZero() && !c.End.IsZero() && !c.End.After(c.Start) {
			v.errs.add(src.At("end"), "end must be after start", "calendar item %q ends before it starts", c.Name)
		}
	case c.Start.IsZero() || c.End.IsZero():
		v.errs.add(src.Pos, "give start and end, or a weekly recurrence", "calendar item %q has no time: it needs start and end, or weekly", c.Name)
	case !c.End.After(c.Start):
		v.errs.add(src.At("end"), "end must be after start", "calendar item %q ends at %s, before it starts at %s", c.Name, c.End.Format(time.RFC3339), c.Start.Format(time.RFC3339))
	}
	for i, e := range c.Environments {
		v.ref(src, fmt.Sprintf("environments[%d]", i), e, "environment", model.KindEnvironment)
	}
	for i, s := range c.Services {
		v.ref(src, fmt.Sprintf("services[%d]", i), s, "service", model.KindService)
	}
	v.ref(src, "vendor", c.Vendor, "vendor", model.KindVendor)
	if c.Kind == model.VendorEvent && c.Vendor == "" {
		v.errs.add(src.Pos, "name the vendor whose window this is", "vendor window %q has no vendor", c.Name)
	}
	v.owner(src, "owner", c.Owner)
	v.enum(src, "impact", c.Impact, impacts, "impact")
	if c.Exceptions != nil {
		if c.Kind != model.Freeze && slices.Contains(model.CalendarKinds, string(c.Kind)) {
			v.errs.add(src.At("exceptions"), "only freezes have an exception policy", "calendar item %q of kind %q has exceptions", c.Name, c.Kind)
		}
		for i, cl := range c.Exceptions.Classes {
			v.enum(src, fmt.Sprintf("exceptions.classes[%d]", i), string(cl), model.ChangeClasses, "change class")
		}
		v.approvers(src, "exceptions.approvers", c.Exceptions.Approvers)
		if t := c.Exceptions.MaxTier; t != nil && (*t < model.MinTier || *t > model.MaxTier) {
			v.errs.add(src.At("exceptions.max_tier"), "tier 0 is the most critical, 3 the least", "max_tier %d is out of range", *t)
		}
	}
}

func (v *validator) release(src *Source, r model.Release) {
	v.enum(src, "class", string(r.Class), model.ChangeClasses, "change class")
	v.owner(src, "owner", r.Owner)
	if !r.Window.Start.IsZero() && !r.Window.End.IsZero() && !r.Window.End.After(r.Window.Start) {
		v.errs.add(src.At("window.end"), "the window's end must be after its start", "release %q window ends before it starts", r.Name)
	}
	for i, e := range r.Environments {
		v.ref(src, fmt.Sprintf("environments[%d]", i), e, "environment", model.KindEnvironment)
	}
	for i, s := range r.Stakeholders {
		v.ref(src, fmt.Sprintf("stakeholders[%d]", i), s, "team or vendor", model.KindTeam, model.KindVendor)
	}
	for _, env := range slices.Sorted(maps.Keys(r.Parallel)) {
		path := "parallel." + env
		if !v.ref(src, path+KeySuffix, env, "environment", model.KindEnvironment) {
			continue
		}
		if len(r.Environments) > 0 && !slices.Contains(r.Environments, env) {
			v.errs.add(src.At(path+KeySuffix), fmt.Sprintf("add %q to the release's environments, or remove it from parallel", clip(env)),
				"release %q sets parallel for environment %q, which it does not go through", r.Name, clip(env))
		}
		if n := r.Parallel[env]; n < 1 {
			v.errs.add(src.At(path), "parallel is how many steps of one wave run at once: 1 or more (leave the environment out to keep its own limit)",
				"parallel %d for environment %q is below 1", n, clip(env))
		}
	}
	newAPIs := map[string]bool{}
	for _, it := range r.Scope {
		for _, p := range it.Provides {
			newAPIs[p.API] = true
		}
	}
	inScope := map[string]bool{}
	for i, it := range r.Scope {
		path := fmt.Sprintf("scope[%d]", i)
		if inScope[it.Service] {
			v.errs.add(src.At(path+".service"), "a release ships one version of each service", "service %q appears twice in the scope", it.Service)
		}
		inScope[it.Service] = true
		v.ref(src, path+".service", it.Service, "service", model.KindService)
		v.version(src, path+".version", it.Version)
		if d := it.Artifact.Digest; d != "" && !digestPattern.MatchString(d) {
			v.errs.add(src.At(path+".artifact.digest"), `write "sha256:" and the 64 lowercase hex digits of the artifact's SHA-256`, "invalid artifact digest %q", d)
		}
		v.manifest(src, path+".", it.Provides, it.Requires, it.Libraries, newAPIs)
		v.enum(src, path+".strategy", string(it.Strategy), model.Strategies, "strategy")
	}
	names := map[string]bool{}
	for i, m := range r.Migrations {
		path := fmt.Sprintf("migrations[%d]", i)
		v.name(src, path+".name", m.Name)
		if names[m.Name] {
			v.errs.add(src.At(path+".name"), "migration names are unique within a release", "duplicate migration %q", m.Name)
		}
		names[m.Name] = true
		for j, db := range m.Databases {
			v.database(src, fmt.Sprintf("%s.databases[%d]", path, j), db)
		}
		for j, c := range m.Consumers {
			p := fmt.Sprintf("%s.consumers[%d]", path, j)
			if v.ref(src, p, c, "service", model.KindService) && !inScope[c] {
				v.errs.add(src.At(p), "a migration orders the services the release ships; add the consumer to the scope or drop it here", "consumer %q is not in the release's scope", c)
			}
		}
		if len(m.Phases()) == 0 {
			v.errs.add(src.At(path), "describe at least one of expand, migrate, contract", "migration %q has no phases", m.Name)
		}
	}
}

// checkCycles reports each dependency cycle of the catalogue once, at the
// requirement that leaves the cycle's first service.
func (v *validator) checkCycles() {
	nodes := make([]string, 0, len(v.org.Services))
	deps := make(map[string][]string, len(v.org.Services))
	for _, s := range v.org.Services {
		nodes = append(nodes, s.Name)
		for _, r := range s.Requires {
			if p, ok := v.apis[r.API]; ok {
				deps[s.Name] = append(deps[s.Name], p)
			}
		}
		for _, db := range s.Databases {
			if v.exists(model.KindService, db) {
				deps[s.Name] = append(deps[s.Name], db)
			}
		}
	}
	for _, cyc := range graph.FindCycles(nodes, deps) {
		if len(cyc) < 2 {
			continue
		}
		from, to := cyc[0], cyc[1]
		e := v.entries[model.KindService][from]
		if e == nil || e.src == nil {
			// Report where a spec file takes part in it, if any does.
			for _, n := range cyc {
				if x := v.entries[model.KindService][n]; x != nil && x.src != nil {
					e = x
					break
				}
			}
		}
		if e == nil || e.src == nil {
			continue
		}
		v.errs.add(v.edgePos(e, to), "a service cannot depend on itself through others: remove one of these requirements or move the API",
			"dependency cycle: %s", graph.FormatCycle(cyc))
	}
}

// edgePos is where service e's dependency on provider to is written.
func (v *validator) edgePos(e *entry, to string) Pos {
	svc := e.obj.(model.Service)
	for i, r := range svc.Requires {
		if v.apis[r.API] == to {
			return e.src.At(fmt.Sprintf("requires[%d].api", i))
		}
	}
	for i, db := range svc.Databases {
		if db == to {
			return e.src.At(fmt.Sprintf("databases[%d]", i))
		}
	}
	return e.src.At("requires")
}
