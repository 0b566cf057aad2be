package main

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/warroom/warroom/plugins/sdk"
)

// versionStatusLocked reports each version's running instances, the
// ready ones and the weight the proxy gives it now, heaviest first.
func (g *group) versionStatusLocked() []sdk.VersionStatus {
	byVersion := map[string]*sdk.VersionStatus{}
	get := func(v string) *sdk.VersionStatus {
		if byVersion[v] == nil {
			byVersion[v] = &sdk.VersionStatus{Version: v, Colour: g.colours[v]}
		}
		return byVersion[v]
	}
	for _, in := range g.instances {
		if !in.running() {
			continue
		}
		vs := get(in.version)
		vs.Instances++
		if in.ready.Load() {
			vs.Ready++
		}
	}
	for v, p := range g.effectivePercentsLocked() {
		get(v).Weight = p
	}
	if !g.byInstances {
		// A version given traffic that has no ready instance is shown:
		// its share goes elsewhere, and the status says so.
		for v, p := range g.weights {
			if p > 0 {
				get(v)
			}
		}
	}
	out := make([]sdk.VersionStatus, 0, len(byVersion))
	for _, vs := range byVersion {
		out = append(out, *vs)
	}
	slices.SortFunc(out, func(a, b sdk.VersionStatus) int {
		return cmp.Or(b.Weight-a.Weight, cmp.Compare(a.Version, b.Version))
	})
	return out
}

// status is the truth about one target: what runs, what is ready, where
// the proxy sends traffic, and what went wrong.
func (g *group) status() sdk.ServiceStatus {
	g.mu.Lock()
	defer g.mu.Unlock()
	versions := g.versionStatusLocked()
	var problems []string
	running, ready, sum := 0, 0, 0
	for _, v := range versions {
		running += v.Instances
		ready += v.Ready
		sum += v.Weight
		if v.Ready < v.Instances {
			problems = append(problems, fmt.Sprintf("%s: %d of %d instances ready", v.Version, v.Ready, v.Instances))
		}
		if !g.byInstances && g.weights[v.Version] > 0 && v.Ready == 0 {
			problems = append(problems, fmt.Sprintf("%s is given %d%% of the traffic but has no ready instance: its share goes to the others",
				v.Version, g.weights[v.Version]))
		}
	}
	for _, in := range g.instances {
		if in.exited() && !in.stopping.Load() {
			problems = append(problems, fmt.Sprintf("%s instance %d (pid %d) %s at %s",
				in.version, in.index, in.pid, in.exitDesc, in.exitedAt.UTC().Format(time.TimeOnly)))
		}
	}
	switch {
	case running == 0:
		problems = append(problems, "no instance runs")
	case sum == 0:
		problems = append(problems, "no traffic can be routed ("+g.describeWeightsLocked()+")")
	}
	msg := "proxy " + g.url
	if len(versions) > 0 {
		parts := make([]string, 0, len(versions))
		for _, v := range versions {
			p := fmt.Sprintf("%s %d/%d ready %d%%", v.Version, v.Ready, v.Instances, v.Weight)
			if v.Colour != "" {
				p += " " + v.Colour
			}
			parts = append(parts, p)
		}
		msg += "; " + strings.Join(parts, ", ")
	}
	if g.strategy != "" {
		msg += "; last deployed " + g.strategy
	}
	if len(problems) > 0 {
		msg += "; " + strings.Join(problems, "; ")
	}
	// Notes are history (a start that failed, an eviction): said, but
	// what runs now decides health.
	if len(g.notes) > 0 {
		msg += "; since the last change: " + strings.Join(g.notes, "; ")
	}
	return sdk.ServiceStatus{
		Target:   g.target,
		Versions: versions,
		Healthy:  len(problems) == 0,
		Message:  msg,
	}
}

func matches(want, t sdk.Target) bool {
	return (want.Service == "" || want.Service == t.Service) &&
		(want.Environment == "" || want.Environment == t.Environment) &&
		(want.Region == "" || want.Region == t.Region)
}

// status reports every target want selects: the fleet's groups, and the
// targets the journal knows that run nothing in this fleet (after a
// restart of the plugin, all of them).
func (f *fleet) status(want sdk.Target, last map[sdk.Target]entry, startedAt time.Time) []sdk.ServiceStatus {
	f.mu.Lock()
	groups := make([]*group, 0, len(f.groups))
	for t, g := range f.groups {
		if matches(want, t) {
			groups = append(groups, g)
		}
	}
	f.mu.Unlock()
	var out []sdk.ServiceStatus
	seen := map[sdk.Target]bool{}
	for _, g := range groups {
		out = append(out, g.status())
		seen[g.target] = true
	}
	for t, e := range last {
		if seen[t] || !matches(want, t) {
			continue
		}
		what := fmt.Sprintf("%s to %s", e.Op, orNothing(e.Version))
		if e.State == keyFailed {
			what += " (failed)"
		}
		out = append(out, sdk.ServiceStatus{
			Target:   t,
			Versions: []sdk.VersionStatus{},
			Healthy:  false,
			Message: fmt.Sprintf("nothing runs: this fleet started empty at %s (a new supervisor) and has not deployed it since; "+
				"the journal's last change, not running now, was a %s at %s",
				startedAt.UTC().Format(time.RFC3339), what, e.At.UTC().Format(time.RFC3339)),
		})
	}
	slices.SortFunc(out, func(a, b sdk.ServiceStatus) int {
		return cmp.Or(cmp.Compare(a.Target.Service, b.Target.Service),
			cmp.Compare(a.Target.Environment, b.Target.Environment), cmp.Compare(a.Target.Region, b.Target.Region))
	})
	return out
}
