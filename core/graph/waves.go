package graph

import (
	"fmt"
	"slices"

	"github.com/warroom/warroom/core/model"
)

// Wave is a set of plan items that may deploy together: everything they
// need is in earlier waves.
type Wave struct {
	Index      int             `json:"index"` // 1-based
	Services   []string        `json:"services"`
	Migrations []MigrationStep `json:"migrations"`
}

// MigrationStep is one phase of one of the release's migrations.
type MigrationStep struct {
	Migration string               `json:"migration"`
	Phase     model.MigrationPhase `json:"phase"`
	Databases []string             `json:"databases"`
	Step      *model.MigrationStep `json:"step,omitempty"` // what the phase runs
}

// Label names the step in cycle paths: "migration:<name>/<phase>".
func (m MigrationStep) Label() string {
	return fmt.Sprintf("migration:%s/%s", m.Migration, m.Phase)
}

// CycleError reports plan items that wait on each other, so no wave order
// exists.
type CycleError struct {
	// Path returns to its start, each item waiting for the next; services
	// by name, migration phases as MigrationStep.Label.
	Path []string
}

func (e *CycleError) Error() string {
	return "dependency cycle among release items: " + FormatCycle(e.Path)
}

// Waves orders rel's services and migration phases into waves; see
// (*Graph).Waves.
func Waves(ix *model.Index, rel *model.Release) ([]Wave, error) {
	return ForRelease(ix, rel).Waves()
}

// Waves orders the release's items — the services in scope and the phases
// of its migrations — into deployment waves. An item waits for:
//   - every in-scope service it depends on, in the graph after the release;
//   - for a migration phase, the previous phase (expand, migrate, contract)
//     and, for its first phase, every migrated database that is in scope;
//   - for a consumer of a migration (Migration.Consumers, or else every
//     in-scope service using one of its databases), the expand phase;
//   - for a contract phase, every consumer of its migration.
//
// Each item lands in the earliest wave its predecessors allow (longest-path
// layering). Services within a wave are sorted by name, migration steps in
// release order. Items that wait on each other yield a *CycleError, and no
// waves. Scope items naming unknown services are left out. Linear in the
// size of the scope and its edges.
func (g *Graph) Waves() ([]Wave, error) {
	if g.rel == nil {
		return []Wave{}, nil
	}
	// Items: the in-scope services by name, then the migration phases.
	itemOf := make(map[int]int, len(g.inScopeNo))
	for i, p := range g.inScopeNo {
		itemOf[p] = i
	}
	var steps []MigrationStep
	type mig struct{ first, expand, contract int }
	migs := make([]mig, len(g.rel.Migrations))
	ns := len(g.inScopeNo)
	for k, m := range g.rel.Migrations {
		mi := mig{-1, -1, -1}
		for _, ph := range m.Phases() {
			it := ns + len(steps)
			steps = append(steps, MigrationStep{Migration: m.Name, Phase: ph, Databases: slices.Clone(m.Databases), Step: phaseStep(m, ph)})
			if mi.first < 0 {
				mi.first = it
			}
			switch ph {
			case model.PhaseExpand:
				mi.expand = it
			case model.PhaseContract:
				mi.contract = it
			}
		}
		migs[k] = mi
	}
	n := ns + len(steps)
	out := make([][]int, n)
	indeg := make([]int, n)
	edge := func(a, b int) {
		out[a] = append(out[a], b)
		indeg[b]++
	}
	for i, p := range g.inScopeNo {
		for _, q := range g.succ[p] {
			if j, ok := itemOf[q]; ok && j != i {
				edge(j, i) // provider first
			} else if ok {
				edge(i, i) // depends on itself: a cycle of one
			}
		}
	}
	var users map[string][]int // database -> in-scope services using it
	for k, m := range g.rel.Migrations {
		mi := migs[k]
		if mi.first < 0 {
			continue
		}
		for i := mi.first + 1; i < n && i < mi.first+len(m.Phases()); i++ {
			edge(i-1, i)
		}
		isDB := map[string]bool{}
		for _, db := range m.Databases {
			isDB[db] = true
			if p, ok := g.pos[db]; ok {
				if j, ok := itemOf[p]; ok {
					edge(j, mi.first)
				}
			}
		}
		var consumers []int
		if len(m.Consumers) > 0 {
			for _, c := range m.Consumers {
				if p, ok := g.pos[c]; ok {
					if j, ok := itemOf[p]; ok && !isDB[c] {
						consumers = append(consumers, j)
					}
				}
			}
		} else {
			if users == nil {
				users = map[string][]int{}
				for i, p := range g.inScopeNo {
					for _, db := range g.cur[p].Databases {
						users[db] = append(users[db], i)
					}
				}
			}
			for _, db := range m.Databases {
				for _, j := range users[db] {
					if !isDB[g.names[g.inScopeNo[j]]] {
						consumers = append(consumers, j)
					}
				}
			}
			slices.Sort(consumers)
			consumers = slices.Compact(consumers)
		}
		for _, j := range consumers {
			if mi.expand >= 0 {
				edge(mi.expand, j)
			}
			if mi.contract >= 0 {
				edge(j, mi.contract)
			}
		}
	}

	// Kahn's algorithm, each item one wave after its latest predecessor.
	level := make([]int, n)
	queue := make([]int, 0, n)
	for i := range n {
		if indeg[i] == 0 {
			queue = append(queue, i)
		}
	}
	for h := 0; h < len(queue); h++ {
		a := queue[h]
		for _, b := range out[a] {
			level[b] = max(level[b], level[a]+1)
			if indeg[b]--; indeg[b] == 0 {
				queue = append(queue, b)
			}
		}
	}
	label := func(i int) string {
		if i < ns {
			return g.names[g.inScopeNo[i]]
		}
		return steps[i-ns].Label()
	}
	if len(queue) < n {
		// Every item left has a predecessor left: the cycles are there.
		left := make([]int, 0, n-len(queue))
		local := make(map[int]int, n-len(queue))
		for i := range n {
			if indeg[i] > 0 {
				local[i] = len(left)
				left = append(left, i)
			}
		}
		// Read the cycle as Cycles does, "a -> b" for "a waits for b".
		succ := make([][]int, len(left))
		for li, i := range left {
			for _, b := range out[i] {
				if lb, ok := local[b]; ok {
					succ[lb] = append(succ[lb], li)
				}
			}
		}
		for li := range succ {
			slices.Sort(succ[li])
			succ[li] = slices.Compact(succ[li])
		}
		cs := cycles(succ)
		path := make([]string, len(cs[0]))
		for k, li := range cs[0] {
			path[k] = label(left[li])
		}
		return nil, &CycleError{Path: path}
	}
	depth := 0
	for _, l := range level {
		depth = max(depth, l+1)
	}
	waves := make([]Wave, depth)
	for i := range waves {
		waves[i] = Wave{Index: i + 1, Services: []string{}, Migrations: []MigrationStep{}}
	}
	for i := range n { // item order: services by name, then steps in release order
		w := &waves[level[i]]
		if i < ns {
			w.Services = append(w.Services, label(i))
		} else {
			w.Migrations = append(w.Migrations, steps[i-ns])
		}
	}
	return waves, nil
}

func phaseStep(m model.Migration, ph model.MigrationPhase) *model.MigrationStep {
	switch ph {
	case model.PhaseExpand:
		return m.Expand
	case model.PhaseMigrate:
		return m.Migrate
	case model.PhaseContract:
		return m.Contract
	}
	return nil
}
