package graph

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/warroom/warroom/core/model"
)

// Phase is when an incompatibility bites.
type Phase string

const (
	// PhaseDuring: between waves, while an in-scope consumer still runs
	// its old build against a provider already upgraded.
	PhaseDuring Phase = "during"
	// PhaseAfter: once the whole release has shipped.
	PhaseAfter Phase = "after"
)

// Incompatibility kinds.
const (
	// KindRelease: the break involves a service the release ships.
	KindRelease = "release"
	// KindExisting: the catalogue is already broken there, outside the
	// scope; the release neither causes nor fixes it.
	KindExisting = "existing"
)

// Reasons an incompatibility arises.
const (
	ReasonRange   = "range"   // the consumer's range rejects the provided version
	ReasonMissing = "missing" // no service provides the API
	ReasonInvalid = "invalid" // the range or the provided version does not parse
)

// Incompatibility is one requirement that breaks.
type Incompatibility struct {
	Consumer        string `json:"consumer"`
	ConsumerVersion string `json:"consumer_version"`
	Provider        string `json:"provider,omitempty"` // empty when no service provides the API
	ProviderVersion string `json:"provider_version,omitempty"`
	API             string `json:"api"`
	Range           string `json:"range"`
	Version         string `json:"version,omitempty"` // the API version provided
	Phase           Phase  `json:"phase"`
	Kind            string `json:"kind"`   // KindRelease or KindExisting
	Reason          string `json:"reason"` // ReasonRange, ReasonMissing or ReasonInvalid
	Optional        bool   `json:"optional,omitempty"`
	Message         string `json:"message"`
}

// Compatibility checks every API requirement of the world rel leaves
// behind; see (*Graph).Compatibility.
func Compatibility(ix *model.Index, rel *model.Release) []Incompatibility {
	return ForRelease(ix, rel).Compatibility()
}

// Compatibility returns every API requirement that breaks.
//
// After the release, each consumer's effective range must accept the API
// version its effective provider offers. Breaks involving a service in
// scope (as consumer, as provider, or as the former provider of an API it
// no longer offers) are of kind "release"; breaks wholly outside the scope
// are of kind "existing".
//
// During the rollout waves deploy providers before consumers, so an
// in-scope consumer keeps its old requirements against the new provider
// until its own wave. Where its old range differs from its new one and
// rejects the new provider's version — or its old build needs an API the
// new provider dropped — the break is reported with phase "during".
//
// A missing provider counts only for a non-optional requirement; a range
// mismatch counts either way, flagged Optional.
func (g *Graph) Compatibility() []Incompatibility {
	var out []Incompatibility
	for p, c := range g.cur {
		for _, r := range c.Requires {
			if inc, ok := g.check(p, c, r, PhaseAfter); ok {
				out = append(out, inc)
			}
		}
	}
	for _, p := range g.inScopeNo {
		old, cur := g.old[p], g.cur[p]
		for _, r := range old.Requires {
			// Where the new build still needs the API at the same range,
			// the after check has said everything there is to say.
			if i := slices.IndexFunc(cur.Requires, func(n model.APIRequirement) bool { return n.API == r.API }); i >= 0 {
				if cur.Requires[i].Range == r.Range {
					continue
				}
				if _, provided := g.prov[r.API]; !provided {
					continue // reported as missing after the release
				}
			}
			q, ok := g.prov[r.API]
			if ok && (q.node == p || g.item[q.node] == nil) {
				continue // its own API, or a provider the release leaves alone
			}
			if !ok {
				o, had := g.oldProv[r.API]
				if !had || g.item[o.node] == nil {
					continue // broken before the release, reported after
				}
			}
			if inc, bad := g.check(p, old, r, PhaseDuring); bad {
				out = append(out, inc)
			}
		}
	}
	rank := func(i Incompatibility) int {
		if i.Kind == KindRelease {
			return 0
		}
		return 1
	}
	phase := func(i Incompatibility) int {
		if i.Phase == PhaseDuring {
			return 0
		}
		return 1
	}
	slices.SortFunc(out, func(a, b Incompatibility) int {
		return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a.Consumer, b.Consumer),
			cmp.Compare(a.API, b.API), cmp.Compare(phase(a), phase(b)))
	})
	return out
}

// check tests one requirement r of consumer c (node p, at the build given)
// against the provider after the release.
func (g *Graph) check(p int, c *model.Service, r model.APIRequirement, phase Phase) (Incompatibility, bool) {
	inc := Incompatibility{Consumer: c.Name, ConsumerVersion: c.Version, API: r.API, Range: r.Range,
		Phase: phase, Kind: KindExisting, Optional: r.Optional}
	who := fmt.Sprintf("%s %s", c.Name, c.Version)
	if phase == PhaseDuring {
		who = fmt.Sprintf("during the rollout, %s (until its own wave)", who)
	}
	if g.item[p] != nil {
		inc.Kind = KindRelease
	}
	q, ok := g.prov[r.API]
	if !ok {
		if r.Optional {
			return inc, false
		}
		inc.Reason = ReasonMissing
		if o, had := g.oldProv[r.API]; had && g.item[o.node] != nil {
			prov := g.cur[o.node]
			inc.Kind, inc.Provider, inc.ProviderVersion = KindRelease, prov.Name, prov.Version
			inc.Message = fmt.Sprintf("%s requires %s %s but %s %s no longer provides it", who, r.API, r.Range, prov.Name, prov.Version)
		} else {
			inc.Message = fmt.Sprintf("%s requires %s %s but no service provides it", who, r.API, r.Range)
		}
		return inc, true
	}
	prov := g.cur[q.node]
	inc.Provider, inc.ProviderVersion, inc.Version = prov.Name, prov.Version, q.version
	if g.item[q.node] != nil {
		inc.Kind = KindRelease
	}
	sat, err := g.sv.satisfies(r.Range, q.version)
	switch {
	case err != nil:
		inc.Reason = ReasonInvalid
		inc.Message = fmt.Sprintf("%s requires %s %s from %s %s, which provides %s: %v", who, r.API, r.Range, prov.Name, prov.Version, q.version, err)
	case !sat:
		inc.Reason = ReasonRange
		inc.Message = fmt.Sprintf("%s requires %s %s but %s %s provides %s", who, r.API, r.Range, prov.Name, prov.Version, q.version)
	default:
		return inc, false
	}
	if r.Optional {
		inc.Message += " (optional: degrades without it)"
	}
	return inc, true
}
