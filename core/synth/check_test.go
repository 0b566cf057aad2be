package synth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Masterminds/semver/v3"
	"gopkg.in/yaml.v3"

	"github.com/warroom/warroom/core/model"
)

// This file is an independent reading of the spec format, used to check
// generated organisations and the demo without going through core/spec:
// plain yaml.v3 into the model types, with unknown keys rejected, and the
// reference, version and graph rules checked by hand.

// specFile is one YAML document of a spec file.
type specFile struct {
	Version      int                  `yaml:"version"`
	Teams        []model.Team         `yaml:"teams"`
	Vendors      []model.Vendor       `yaml:"vendors"`
	Libraries    []model.Library      `yaml:"libraries"`
	Services     []model.Service      `yaml:"services"`
	Gates        []model.Gate         `yaml:"gates"`
	Environments []model.Environment  `yaml:"environments"`
	Calendar     []model.CalendarItem `yaml:"calendar"`
	Releases     []model.Release      `yaml:"releases"`
	People       []model.Person       `yaml:"people"`
	// The policy is core/spec's to validate; these checks do not read it.
	Policy yaml.Node `yaml:"policy"`
}

// durationKeys are the keys whose values are durations. model.Duration has
// no YAML decoding of its own, so durations are rewritten to nanoseconds
// before decoding. "window" is a duration only as a scalar (an SLO's),
// not as a mapping (a release's).
var durationKeys = map[string]bool{"latency_p50": true, "latency_p99": true, "bake_time": true, "timeout": true, "window": true}

func rewriteDurations(n *yaml.Node) error {
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if durationKeys[k.Value] && v.Kind == yaml.ScalarNode {
				d, err := model.ParseDuration(v.Value)
				if err != nil {
					return fmt.Errorf("line %d: %w", v.Line, err)
				}
				v.Tag, v.Value, v.Style = "!!int", strconv.FormatInt(int64(d), 10), 0
			}
		}
	}
	for _, c := range n.Content {
		if err := rewriteDurations(c); err != nil {
			return err
		}
	}
	return nil
}

// decodeFiles reads spec files (name -> content) into one organisation.
func decodeFiles(files map[string][]byte) (*model.Org, error) {
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	org := &model.Org{}
	for _, name := range names {
		dec := yaml.NewDecoder(bytes.NewReader(files[name]))
		for {
			var node yaml.Node
			err := dec.Decode(&node)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if err := rewriteDurations(&node); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			b, err := yaml.Marshal(&node)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			var f specFile
			strict := yaml.NewDecoder(bytes.NewReader(b))
			strict.KnownFields(true)
			if err := strict.Decode(&f); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			if f.Version != 0 && f.Version != 1 {
				return nil, fmt.Errorf("%s: version %d", name, f.Version)
			}
			org.Teams = append(org.Teams, f.Teams...)
			org.Vendors = append(org.Vendors, f.Vendors...)
			org.Libraries = append(org.Libraries, f.Libraries...)
			org.Services = append(org.Services, f.Services...)
			org.Gates = append(org.Gates, f.Gates...)
			org.Environments = append(org.Environments, f.Environments...)
			org.Calendar = append(org.Calendar, f.Calendar...)
			org.Releases = append(org.Releases, f.Releases...)
		}
	}
	org.Sort()
	return org, nil
}

// readDir reads every .yaml file below dir.
func readDir(t testing.TB, dir string) map[string][]byte {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() && p != dir {
			// A folder of evidence (its index is evidence.yaml) is not
			// spec files, as for warroom's own loading (core/spec).
			if _, serr := os.Stat(filepath.Join(p, "evidence.yaml")); serr == nil {
				return filepath.SkipDir
			}
		}
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		b, err := os.ReadFile(p)
		files[p] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

var (
	namePattern   = regexp.MustCompile(`^[a-z][a-z0-9]*(-[a-z0-9]+)*$`)
	digestPattern = regexp.MustCompile(`^sha256:[0-9a-f]{64}$`)
)

// problems lists every rule of the spec format the organisation breaks,
// and every reason its releases could not ship as planned (a requirement
// broken after the release, a window outside maintenance or inside a
// freeze or a high-impact event, an unresolvable library conflict).
func problems(org *model.Org) []string {
	var out []string
	bad := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	ix := model.NewIndex(org)

	seen := map[string]bool{}
	for _, o := range org.Objects() {
		key := string(o.ObjectKind()) + "/" + o.ObjectName()
		if seen[key] {
			bad("duplicate %s", key)
		}
		seen[key] = true
		if !namePattern.MatchString(o.ObjectName()) {
			bad("invalid name %s", key)
		}
	}
	isOwner := func(n string) bool { return ix.Teams[n] != nil || ix.Vendors[n] != nil }
	version := func(what, v string) *semver.Version {
		sv, err := semver.StrictNewVersion(v)
		if err != nil {
			bad("%s: invalid version %q", what, v)
		}
		return sv
	}
	constraint := func(what, r string) *semver.Constraints {
		c, err := semver.NewConstraint(r)
		if err != nil {
			bad("%s: invalid range %q", what, r)
		}
		return c
	}

	libVersions := map[string][]string{}
	for _, l := range org.Libraries {
		if !isOwner(l.Owner) {
			bad("library %s: unknown owner %q", l.Name, l.Owner)
		}
		if len(l.Versions) < 2 {
			bad("library %s: fewer than two versions", l.Name)
		}
		for _, v := range l.Versions {
			version("library "+l.Name, v)
		}
		libVersions[l.Name] = l.Versions
	}

	apis := map[string]string{}
	apiVersion := map[string]string{}
	for _, s := range org.Services {
		for _, p := range s.Provides {
			if other, ok := apis[p.API]; ok {
				bad("API %s provided by %s and %s", p.API, other, s.Name)
			}
			apis[p.API], apiVersion[p.API] = s.Name, p.Version
		}
	}
	checkLibs := func(what string, ls []model.LibraryUse) {
		for _, l := range ls {
			vs, ok := libVersions[l.Name]
			if !ok {
				bad("%s: unknown library %s", what, l.Name)
				continue
			}
			if !slices.Contains(vs, l.Version) {
				bad("%s: %s %s is not a released version", what, l.Name, l.Version)
			}
			v, c := version(what, l.Version), constraint(what, l.LibraryRange())
			if v != nil && c != nil && !c.Check(v) {
				bad("%s: bundles %s %s outside its own range %s", what, l.Name, l.Version, l.LibraryRange())
			}
		}
	}
	// satisfied checks requirements against the given API versions.
	satisfied := func(what string, reqs []model.APIRequirement, versions map[string]string) {
		for _, r := range reqs {
			pv, ok := versions[r.API]
			if !ok {
				if !r.Optional {
					bad("%s: no service provides %s", what, r.API)
				}
				continue
			}
			c := constraint(what, r.Range)
			v := version(what, pv)
			if c != nil && v != nil && !c.Check(v) {
				bad("%s: requires %s %s, provider offers %s", what, r.API, r.Range, pv)
			}
		}
	}
	for _, s := range org.Services {
		what := "service " + s.Name
		if !isOwner(s.Owner) {
			bad("%s: unknown owner %q", what, s.Owner)
		}
		if s.Tier < model.MinTier || s.Tier > model.MaxTier {
			bad("%s: tier %d", what, s.Tier)
		}
		if s.Kind != "" && !slices.Contains(model.ServiceKinds, string(s.Kind)) {
			bad("%s: kind %q", what, s.Kind)
		}
		version(what, s.Version)
		for _, p := range s.Provides {
			version(what, p.Version)
		}
		satisfied(what, s.Requires, apiVersion)
		checkLibs(what, s.Libraries)
		for _, db := range s.Databases {
			if d := ix.Services[db]; d == nil || d.Kind != model.Database {
				bad("%s: %s is not a database service", what, db)
			}
		}
		if st := s.Deploy.Strategy; st != "" && !slices.Contains(model.Strategies, string(st)) {
			bad("%s: strategy %q", what, st)
		}
		if steps := s.Deploy.CanarySteps; len(steps) > 0 && steps[len(steps)-1] != 100 {
			bad("%s: canary steps do not end at 100", what)
		}
		if s.Deploy.Strategy == model.BlueGreen && (s.Kind == model.Database || s.Kind == model.Queue) {
			bad("%s: blue-green for a %s", what, s.Kind)
		}
		for _, f := range s.Toggles {
			for env := range f.PerEnv {
				if ix.Environments[env] == nil {
					bad("%s: toggle %s names unknown environment %s", what, f.Name, env)
				}
			}
		}
	}
	if cyc := findCycle(org, apis); cyc != nil {
		bad("dependency cycle: %s", strings.Join(cyc, " -> "))
	}

	for _, g := range org.Gates {
		if !slices.Contains(model.GateKinds, string(g.Kind)) {
			bad("gate %s: kind %q", g.Name, g.Kind)
		}
		for _, o := range g.Owners {
			if !isOwner(o) {
				bad("gate %s: unknown owner %s", g.Name, o)
			}
		}
	}
	orders := map[int]string{}
	for _, e := range org.Environments {
		if other, ok := orders[e.Order]; ok {
			bad("environments %s and %s share order %d", other, e.Name, e.Order)
		}
		orders[e.Order] = e.Name
		for _, g := range e.Gates {
			if ix.Gates[g] == nil {
				bad("environment %s: unknown gate %s", e.Name, g)
			}
		}
		for _, r := range e.Regions {
			if _, err := time.LoadLocation(r.TimeZone); err != nil {
				bad("environment %s: time zone %q", e.Name, r.TimeZone)
			}
			if e.Production && r.LowTraffic.IsZero() {
				bad("environment %s: region %s has no low-traffic window", e.Name, r.Name)
			}
		}
	}
	for _, c := range org.Calendar {
		what := "calendar " + c.Name
		if !slices.Contains(model.CalendarKinds, string(c.Kind)) {
			bad("%s: kind %q", what, c.Kind)
		}
		if c.Weekly == nil && (c.Start.IsZero() || !c.End.After(c.Start)) {
			bad("%s: needs start before end, or weekly", what)
		}
		for _, e := range c.Environments {
			if ix.Environments[e] == nil {
				bad("%s: unknown environment %s", what, e)
			}
		}
		for _, s := range c.Services {
			if ix.Services[s] == nil {
				bad("%s: unknown service %s", what, s)
			}
		}
		if c.Vendor != "" && ix.Vendors[c.Vendor] == nil {
			bad("%s: unknown vendor %s", what, c.Vendor)
		}
		if c.Owner != "" && !isOwner(c.Owner) {
			bad("%s: unknown owner %s", what, c.Owner)
		}
	}

	for i := range org.Releases {
		out = append(out, releaseProblems(org, ix, &org.Releases[i], apis, libVersions)...)
	}
	return out
}

func releaseProblems(org *model.Org, ix *model.Index, r *model.Release, apis map[string]string, libVersions map[string][]string) []string {
	var out []string
	bad := func(format string, args ...any) {
		out = append(out, fmt.Sprintf("release %s: ", r.Name)+fmt.Sprintf(format, args...))
	}
	if !isOwnerOf(ix, r.Owner) {
		bad("unknown owner %q", r.Owner)
	}
	for _, e := range r.Environments {
		if ix.Environments[e] == nil {
			bad("unknown environment %s", e)
		}
	}
	if len(r.Scope) == 0 {
		bad("empty scope")
	}
	// The catalogue as it will run after the release.
	effective := map[string]model.Service{}
	for _, s := range org.Services {
		effective[s.Name] = s
	}
	for _, it := range r.Scope {
		s, ok := effective[it.Service]
		if !ok {
			bad("unknown service %s in scope", it.Service)
			continue
		}
		if _, err := semver.StrictNewVersion(it.Version); err != nil {
			bad("%s: invalid version %q", it.Service, it.Version)
		} else if old, err := semver.StrictNewVersion(s.Version); err == nil && !semver.MustParse(it.Version).GreaterThan(old) {
			bad("%s: %s is not newer than %s", it.Service, it.Version, s.Version)
		}
		if !digestPattern.MatchString(it.Artifact.Digest) {
			bad("%s: artifact digest %q", it.Service, it.Artifact.Digest)
		}
		effective[it.Service] = it.Effective(s)
	}
	after := map[string]string{}
	for _, s := range effective {
		for _, p := range s.Provides {
			after[p.API] = p.Version
		}
	}
	for _, s := range effective {
		for _, req := range s.Requires {
			pv, ok := after[req.API]
			if !ok {
				if !req.Optional {
					bad("%s: nothing provides %s after the release", s.Name, req.API)
				}
				continue
			}
			c, err := semver.NewConstraint(req.Range)
			if err != nil {
				bad("%s: invalid range %q", s.Name, req.Range)
				continue
			}
			if !c.Check(semver.MustParse(pv)) {
				bad("%s: requires %s %s but gets %s after the release", s.Name, req.API, req.Range, pv)
			}
		}
	}
	// Library conflicts among the builds in scope must be resolvable by a
	// released version.
	uses := map[string][]model.LibraryUse{}
	for _, it := range r.Scope {
		for _, l := range effective[it.Service].Libraries {
			uses[l.Name] = append(uses[l.Name], l)
		}
	}
	for lib, us := range uses {
		ok := false
		for _, v := range libVersions[lib] {
			all := true
			for _, u := range us {
				c, err := semver.NewConstraint(u.LibraryRange())
				all = all && err == nil && c.Check(semver.MustParse(v))
			}
			ok = ok || all
		}
		if !ok {
			bad("no released version of %s satisfies every build in scope", lib)
		}
	}
	inScope := map[string]bool{}
	for _, it := range r.Scope {
		inScope[it.Service] = true
	}
	for _, m := range r.Migrations {
		for _, db := range m.Databases {
			if d := ix.Services[db]; d == nil || d.Kind != model.Database {
				bad("migration %s: %s is not a database", m.Name, db)
			}
		}
		for _, c := range m.Consumers {
			if !inScope[c] {
				bad("migration %s: consumer %s not in scope", m.Name, c)
			}
		}
		if len(m.Phases()) == 0 {
			bad("migration %s: no phases", m.Name)
		}
	}
	// The calendar: inside a production maintenance window, outside any
	// freeze and any high-impact event.
	w := r.Window
	if !w.End.After(w.Start) {
		bad("window ends before it starts")
	}
	inMaintenance := false
	for _, c := range org.Calendar {
		switch {
		case c.Kind == model.Maintenance && c.Weekly != nil:
			inMaintenance = inMaintenance || weeklyContains(c, w)
		case c.Kind == model.Maintenance:
			inMaintenance = inMaintenance || (model.Window{Start: c.Start, End: c.End}).Contains(w)
		case c.Kind == model.Freeze && c.Weekly == nil:
			if (model.Window{Start: c.Start, End: c.End}).Overlaps(w) && !r.IsEmergency() {
				bad("window overlaps freeze %s", c.Name)
			}
		case c.Impact == "high" && c.Weekly == nil:
			if (model.Window{Start: c.Start, End: c.End}).Overlaps(w) {
				bad("window overlaps high-impact %s event %s", c.Kind, c.Name)
			}
		}
	}
	if !inMaintenance {
		bad("window %s..%s is in no maintenance window", w.Start.Format(time.RFC3339), w.End.Format(time.RFC3339))
	}
	return out
}

func isOwnerOf(ix *model.Index, n string) bool { return ix.Teams[n] != nil || ix.Vendors[n] != nil }

// weeklyContains reports whether one occurrence of a weekly window holds w.
func weeklyContains(c model.CalendarItem, w model.Window) bool {
	loc, err := time.LoadLocation(c.Weekly.TimeZone)
	if err != nil {
		return false
	}
	start, err1 := model.ParseClock(c.Weekly.Start)
	end, err2 := model.ParseClock(c.Weekly.End)
	if err1 != nil || err2 != nil {
		return false
	}
	length := end - start
	if length <= 0 {
		length += 24 * 60
	}
	ws := w.Start.In(loc)
	for back := 0; back <= 1; back++ {
		day := time.Date(ws.Year(), ws.Month(), ws.Day()-back, 0, 0, 0, 0, loc)
		if !slices.Contains(c.Weekly.Days, strings.ToLower(day.Weekday().String()[:3])) {
			continue
		}
		from := day.Add(time.Duration(start) * time.Minute)
		occ := model.Window{Start: from, End: from.Add(time.Duration(length) * time.Minute)}
		if occ.Contains(w) {
			return true
		}
	}
	return false
}

// findCycle returns a dependency cycle of the catalogue (requirements and
// databases), or nil.
func findCycle(org *model.Org, apis map[string]string) []string {
	deps := map[string][]string{}
	for _, s := range org.Services {
		for _, r := range s.Requires {
			if p, ok := apis[r.API]; ok {
				deps[s.Name] = append(deps[s.Name], p)
			}
		}
		deps[s.Name] = append(deps[s.Name], s.Databases...)
	}
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	var path []string
	var visit func(n string) []string
	visit = func(n string) []string {
		state[n] = onPath
		path = append(path, n)
		for _, d := range deps[n] {
			switch state[d] {
			case onPath:
				i := slices.Index(path, d)
				return append(slices.Clone(path[i:]), d)
			case unseen:
				if c := visit(d); c != nil {
					return c
				}
			}
		}
		path = path[:len(path)-1]
		state[n] = done
		return nil
	}
	for _, s := range org.Services {
		if state[s.Name] == unseen {
			if c := visit(s.Name); c != nil {
				return c
			}
		}
	}
	return nil
}
