package gates

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/warroom/warroom/core/model"
)

// ErrUnknown is returned by Required for a release or environment the
// organisation does not declare.
var ErrUnknown = errors.New("unknown")

// Scope is what a release must pass to enter an environment (or, with no
// environment, every environment it goes through).
type Scope struct {
	Release      string
	Environments []string     // the environments whose gates are included, in promotion order
	Services     []string     // the release's scope, by name
	Gates        []model.Gate // the required gates, in the order environments name them, each once
	// RequiredBy maps a gate to the environments (of Environments) that
	// require it.
	RequiredBy map[string][]string
}

// Required returns the services and gates of a release for env, or for
// every environment the release goes through when env is "". A gate an
// environment names but the organisation does not declare is an error
// (validation refuses it, so only a hand-edited database has one).
func Required(ix *model.Index, release, env string) (Scope, error) {
	rel := ix.Releases[release]
	if rel == nil {
		return Scope{}, fmt.Errorf("release %q: %w release", release, ErrUnknown)
	}
	sc := Scope{Release: release, RequiredBy: map[string][]string{}}
	route := releaseRoute(ix, rel)
	switch {
	case env == "":
		sc.Environments = route
	case ix.Environments[env] == nil:
		return Scope{}, fmt.Errorf("environment %q: %w environment", env, ErrUnknown)
	case !slices.Contains(route, env):
		return Scope{}, fmt.Errorf("release %s does not go through environment %s (it goes through %s)", release, env, strings.Join(route, ", "))
	default:
		sc.Environments = []string{env}
	}
	for _, item := range rel.Scope {
		if !slices.Contains(sc.Services, item.Service) {
			sc.Services = append(sc.Services, item.Service)
		}
	}
	for _, e := range sc.Environments {
		for _, name := range ix.Environments[e].Gates {
			g := ix.Gates[name]
			if g == nil {
				return Scope{}, fmt.Errorf("environment %s requires gate %q, which is not declared: %w gate", e, name, ErrUnknown)
			}
			if _, seen := sc.RequiredBy[name]; !seen {
				sc.Gates = append(sc.Gates, *g)
			}
			sc.RequiredBy[name] = append(sc.RequiredBy[name], e)
		}
	}
	return sc, nil
}

// releaseRoute is the environments a release goes through, in promotion
// order: its own list, or every environment.
func releaseRoute(ix *model.Index, rel *model.Release) []string {
	envs := slices.Clone(ix.Org.Environments)
	slices.SortStableFunc(envs, func(a, b model.Environment) int {
		if a.Order != b.Order {
			return a.Order - b.Order
		}
		return strings.Compare(a.Name, b.Name)
	})
	var out []string
	for _, e := range envs {
		if len(rel.Environments) == 0 || slices.Contains(rel.Environments, e.Name) {
			out = append(out, e.Name)
		}
	}
	return out
}

// Request returns the evaluation request for the scope as of now.
func (sc Scope) Request(env string, now time.Time) Request {
	return Request{Release: sc.Release, Services: sc.Services, Gates: sc.Gates, Env: env, Now: now}
}

// Only narrows the scope to the services named (the steps of one wave),
// keeping the scope's order; a name not in the scope is ignored.
func (sc Scope) Only(services []string) Scope {
	var keep []string
	for _, s := range sc.Services {
		if slices.Contains(services, s) {
			keep = append(keep, s)
		}
	}
	sc.Services = keep
	return sc
}
