package graph

import (
	"cmp"
	"slices"
	"sort"

	"github.com/warroom/warroom/core/model"
)

// EdgeKind says why a consumer depends on a provider.
type EdgeKind string

const (
	// EdgeAPI: the consumer requires an API the provider provides.
	EdgeAPI EdgeKind = "api"
	// EdgeDatabase: the consumer lists the provider in its databases.
	EdgeDatabase EdgeKind = "database"
)

// Node is a service of the graph.
type Node struct {
	Name    string            `json:"name"`
	Owner   string            `json:"owner,omitempty"`
	Tier    model.Tier        `json:"tier"`
	Kind    model.ServiceKind `json:"kind,omitempty"`
	Version string            `json:"version"` // running now, or after the release when in scope
	InScope bool              `json:"in_scope"`
	// FromVersion and ToVersion are set for services the release ships.
	FromVersion string `json:"from_version,omitempty"`
	ToVersion   string `json:"to_version,omitempty"`
}

// Edge is one dependency, from consumer to provider.
type Edge struct {
	From  string   `json:"from"` // consumer
	To    string   `json:"to"`   // provider
	Kind  EdgeKind `json:"kind"`
	API   string   `json:"api,omitempty"`
	Range string   `json:"range,omitempty"`
	// ProviderVersion is what Range is checked against: the version of
	// the API the provider offers (the database service's version for
	// database edges).
	ProviderVersion string `json:"provider_version,omitempty"`
	Satisfied       bool   `json:"satisfied"`
	Optional        bool   `json:"optional,omitempty"`
}

// Unresolved is a dependency with nothing at the other end: an API no
// service provides, or a database that is not in the catalogue.
type Unresolved struct {
	Consumer string   `json:"consumer"`
	Kind     EdgeKind `json:"kind"`
	API      string   `json:"api,omitempty"`
	Range    string   `json:"range,omitempty"`
	Database string   `json:"database,omitempty"`
	Optional bool     `json:"optional,omitempty"`
}

// Graph is the dependency graph over a catalogue. Node i is the i-th
// service by name, so index order is name order throughout.
type Graph struct {
	org *model.Org
	rel *model.Release // nil: the catalogue as it runs

	names []string
	pos   map[string]int
	cur   []*model.Service   // as it runs after the release
	old   []*model.Service   // as it runs now
	item  []*model.ScopeItem // nil when not in scope

	edges     []Edge
	succ      [][]int
	pred      [][]int
	prov      map[string]provision // api -> provider after the release
	oldProv   map[string]provision // api -> provider now
	unres     []Unresolved
	unknown   []string // scope items naming no catalogue service
	inScopeNo []int    // in-scope nodes, by name

	sv *semverCache
}

type provision struct {
	node    int
	version string
}

// New builds the graph of the catalogue at its running versions.
func New(org *model.Org) *Graph {
	return build(org, nil)
}

// ForRelease builds the graph of the world after rel ships: every service
// in scope replaced by its ScopeItem.Effective. A nil release gives New.
func ForRelease(ix *model.Index, rel *model.Release) *Graph {
	return build(ix.Org, rel)
}

func build(org *model.Org, rel *model.Release) *Graph {
	g := &Graph{org: org, rel: rel, sv: newSemverCache()}
	svcs := org.Services
	order := make([]int, len(svcs))
	for i := range order {
		order[i] = i
	}
	// Stable so that, as in model.NewIndex, the later of two services with
	// one name wins.
	sort.SliceStable(order, func(a, b int) bool { return svcs[order[a]].Name < svcs[order[b]].Name })
	g.pos = make(map[string]int, len(svcs))
	for _, i := range order {
		s := &svcs[i]
		if p, ok := g.pos[s.Name]; ok {
			g.old[p], g.cur[p] = s, s
			continue
		}
		g.pos[s.Name] = len(g.names)
		g.names = append(g.names, s.Name)
		g.old = append(g.old, s)
		g.cur = append(g.cur, s)
	}
	n := len(g.names)
	g.item = make([]*model.ScopeItem, n)
	if rel != nil {
		for k := range rel.Scope {
			it := &rel.Scope[k]
			p, ok := g.pos[it.Service]
			if !ok {
				g.unknown = append(g.unknown, it.Service)
				continue
			}
			if g.item[p] != nil { // Release.InScope: the first item wins
				continue
			}
			eff := it.Effective(*g.old[p])
			g.cur[p], g.item[p] = &eff, it
		}
		for p := range g.item {
			if g.item[p] != nil {
				g.inScopeNo = append(g.inScopeNo, p)
			}
		}
	}
	g.prov = providers(g.cur)
	if rel == nil {
		g.oldProv = g.prov
	} else {
		g.oldProv = providers(g.old)
	}

	g.succ = make([][]int, n)
	g.pred = make([][]int, n)
	m := 0
	for _, s := range g.cur {
		m += len(s.Requires) + len(s.Databases)
	}
	g.edges = make([]Edge, 0, m)
	var tos []int
	for p := 0; p < n; p++ {
		s := g.cur[p]
		start := len(g.edges)
		for _, r := range s.Requires {
			q, ok := g.prov[r.API]
			if !ok {
				g.unres = append(g.unres, Unresolved{Consumer: s.Name, Kind: EdgeAPI, API: r.API, Range: r.Range, Optional: r.Optional})
				continue
			}
			sat, _ := g.sv.satisfies(r.Range, q.version)
			g.edges = append(g.edges, Edge{From: s.Name, To: g.names[q.node], Kind: EdgeAPI, API: r.API,
				Range: r.Range, ProviderVersion: q.version, Satisfied: sat, Optional: r.Optional})
		}
		for _, db := range s.Databases {
			q, ok := g.pos[db]
			if !ok {
				g.unres = append(g.unres, Unresolved{Consumer: s.Name, Kind: EdgeDatabase, Database: db})
				continue
			}
			g.edges = append(g.edges, Edge{From: s.Name, To: db, Kind: EdgeDatabase,
				ProviderVersion: g.cur[q].Version, Satisfied: true})
		}
		own := g.edges[start:]
		slices.SortFunc(own, func(a, b Edge) int {
			return cmp.Or(cmp.Compare(g.pos[a.To], g.pos[b.To]), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.API, b.API))
		})
		tos = tos[:0]
		for _, e := range own {
			q := g.pos[e.To]
			if len(tos) == 0 || tos[len(tos)-1] != q {
				tos = append(tos, q)
			}
		}
		if len(tos) > 0 {
			g.succ[p] = slices.Clone(tos)
			// p grows monotonically, so every pred list comes out sorted.
			for _, q := range tos {
				g.pred[q] = append(g.pred[q], p)
			}
		}
	}
	return g
}

// providers maps each API to the service providing it. Should two services
// provide one API (validation forbids it) the first by name wins, so the
// answer is at least deterministic.
func providers(svcs []*model.Service) map[string]provision {
	m := make(map[string]provision, len(svcs))
	for p, s := range svcs {
		for _, pr := range s.Provides {
			if _, ok := m[pr.API]; !ok {
				m[pr.API] = provision{node: p, version: pr.Version}
			}
		}
	}
	return m
}

// Release is the release the graph was built for, nil for New.
func (g *Graph) Release() *model.Release { return g.rel }

// Has reports whether the catalogue has a service of that name.
func (g *Graph) Has(name string) bool { _, ok := g.pos[name]; return ok }

// Service returns a service as it runs in the graph's world (after the
// release when it is in scope).
func (g *Graph) Service(name string) (model.Service, bool) {
	p, ok := g.pos[name]
	if !ok {
		return model.Service{}, false
	}
	return *g.cur[p], true
}

// InScope lists the services the release ships that are in the catalogue,
// by name.
func (g *Graph) InScope() []string {
	out := make([]string, len(g.inScopeNo))
	for i, p := range g.inScopeNo {
		out[i] = g.names[p]
	}
	return out
}

// UnknownServices lists scope items naming a service the catalogue lacks,
// in scope order.
func (g *Graph) UnknownServices() []string { return slices.Clone(g.unknown) }

// Nodes lists every service, by name.
func (g *Graph) Nodes() []Node {
	out := make([]Node, len(g.names))
	for p, s := range g.cur {
		n := Node{Name: s.Name, Owner: s.Owner, Tier: s.Tier, Kind: s.Kind, Version: s.Version}
		if g.item[p] != nil {
			n.InScope, n.FromVersion, n.ToVersion = true, g.old[p].Version, s.Version
		}
		out[p] = n
	}
	return out
}

// Edges lists every dependency, by consumer, then provider, kind and API.
func (g *Graph) Edges() []Edge { return slices.Clone(g.edges) }

// Unresolved lists the dependencies nothing satisfies, by consumer.
func (g *Graph) Unresolved() []Unresolved { return slices.Clone(g.unres) }

// Dependencies lists the direct providers of a service, by name.
func (g *Graph) Dependencies(name string) []string {
	p, ok := g.pos[name]
	if !ok {
		return nil
	}
	return g.namesOf(g.succ[p])
}

// Dependents lists the direct consumers of a service, by name.
func (g *Graph) Dependents(name string) []string {
	p, ok := g.pos[name]
	if !ok {
		return nil
	}
	return g.namesOf(g.pred[p])
}

func (g *Graph) namesOf(ps []int) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = g.names[p]
	}
	return out
}

// Upstream lists every service the named ones depend on, directly or
// transitively, by name. The named services appear only when they depend
// on themselves through a cycle; unknown names are ignored.
func (g *Graph) Upstream(names ...string) []string {
	seen := make([]bool, len(g.names))
	var stack []int
	for _, n := range names {
		if p, ok := g.pos[n]; ok {
			stack = append(stack, p)
		}
	}
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, q := range g.succ[p] {
			if !seen[q] {
				seen[q] = true
				stack = append(stack, q)
			}
		}
	}
	var out []string
	for p, ok := range seen {
		if ok {
			out = append(out, g.names[p])
		}
	}
	return out
}

// Dependent is a service that would feel a failure of the one asked about.
type Dependent struct {
	Name  string     `json:"name"`
	Owner string     `json:"owner,omitempty"`
	Tier  model.Tier `json:"tier"`
	Depth int        `json:"depth"` // 1: a direct consumer
	// Via is the service through which the failure reaches this one (the
	// service asked about for direct consumers).
	Via string `json:"via"`
}

// BlastRadius lists the transitive dependents of a service — its consumers,
// their consumers and so on — each at its shortest distance, sorted by
// depth, then tier (most critical first), then name. Unknown service: nil.
func (g *Graph) BlastRadius(service string) []Dependent {
	src, ok := g.pos[service]
	if !ok {
		return nil
	}
	depth := make([]int, len(g.names))
	depth[src] = -1
	queue := []int{src}
	var out []Dependent
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		d := max(depth[p], 0) + 1
		for _, q := range g.pred[p] {
			if depth[q] != 0 {
				continue
			}
			depth[q] = d
			queue = append(queue, q)
			s := g.cur[q]
			out = append(out, Dependent{Name: s.Name, Owner: s.Owner, Tier: s.Tier, Depth: d, Via: g.names[p]})
		}
	}
	slices.SortFunc(out, func(a, b Dependent) int {
		return cmp.Or(cmp.Compare(a.Depth, b.Depth), cmp.Compare(a.Tier, b.Tier), cmp.Compare(a.Name, b.Name))
	})
	return out
}

// Summary counts dependents.
type Summary struct {
	Total  int                `json:"total"`
	Direct int                `json:"direct"`
	ByTier map[model.Tier]int `json:"by_tier"`
	// MostCritical is the lowest tier among the dependents; meaningful
	// only when Total > 0.
	MostCritical model.Tier `json:"most_critical"`
	MaxDepth     int        `json:"max_depth"`
}

// Summarize counts a blast radius by tier.
func Summarize(deps []Dependent) Summary {
	s := Summary{ByTier: map[model.Tier]int{}, MostCritical: model.MaxTier}
	for _, d := range deps {
		s.Total++
		if d.Depth == 1 {
			s.Direct++
		}
		s.ByTier[d.Tier]++
		s.MostCritical = min(s.MostCritical, d.Tier)
		s.MaxDepth = max(s.MaxDepth, d.Depth)
	}
	return s
}

// Count returns how many dependents have the given tier.
func (s Summary) Count(t model.Tier) int { return s.ByTier[t] }

// AtMost returns how many dependents are at tier t or more critical.
func (s Summary) AtMost(t model.Tier) int {
	n := 0
	for tier, c := range s.ByTier {
		if tier <= t {
			n += c
		}
	}
	return n
}
