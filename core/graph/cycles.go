package graph

import (
	"slices"
	"strings"
)

// Cycles returns dependency cycles, each a path that returns to its start
// ([a b c a]): for every strongly connected component of two or more
// services, the shortest cycle through its smallest name (ties broken by
// taking smaller names first), and every service that depends on itself
// as [a a]. Cycles are sorted by their first name, then length.
func (g *Graph) Cycles() [][]string {
	var out [][]string
	for _, c := range cycles(g.succ) {
		out = append(out, g.namesOf(c))
	}
	return out
}

// FindCycles is Cycles over a bare dependency map, for callers that have
// names but no graph (spec validation). deps maps a name to what it
// depends on; names appearing only in deps are nodes too.
func FindCycles(nodes []string, deps map[string][]string) [][]string {
	names := slices.Clone(nodes)
	for k, vs := range deps {
		names = append(names, k)
		names = append(names, vs...)
	}
	slices.Sort(names)
	names = slices.Compact(names)
	pos := make(map[string]int, len(names))
	for i, n := range names {
		pos[n] = i
	}
	succ := make([][]int, len(names))
	for k, vs := range deps {
		p := pos[k]
		for _, v := range vs {
			succ[p] = append(succ[p], pos[v])
		}
	}
	for p := range succ {
		slices.Sort(succ[p])
		succ[p] = slices.Compact(succ[p])
	}
	var out [][]string
	for _, c := range cycles(succ) {
		path := make([]string, len(c))
		for i, p := range c {
			path[i] = names[p]
		}
		out = append(out, path)
	}
	return out
}

// FormatCycle writes a cycle as "a -> b -> c -> a".
func FormatCycle(path []string) string { return strings.Join(path, " -> ") }

// cycles finds the cycles of a graph whose node order is name order and
// whose successor lists are sorted and free of duplicates.
func cycles(succ [][]int) [][]int {
	var out [][]int
	comp := sccs(succ)
	members := map[int][]int{}
	for p, c := range comp {
		members[c] = append(members[c], p) // ascending p: members come out sorted
	}
	for p, ss := range succ {
		if _, ok := slices.BinarySearch(ss, p); ok {
			out = append(out, []int{p, p})
		}
	}
	for _, ms := range members {
		if len(ms) < 2 {
			continue
		}
		out = append(out, shortestCycle(succ, comp, ms[0]))
	}
	slices.SortFunc(out, func(a, b []int) int {
		if a[0] != b[0] {
			return a[0] - b[0]
		}
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return slices.Compare(a, b)
	})
	return out
}

// shortestCycle walks breadth-first from start inside its component,
// successors in name order, until an edge leads back to start. Self-loops
// are reported separately, so the walk ignores them.
func shortestCycle(succ [][]int, comp []int, start int) []int {
	parent := map[int]int{start: -1}
	queue := []int{start}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, q := range succ[p] {
			if comp[q] != comp[start] || q == p {
				continue
			}
			if q == start {
				var rev []int
				for x := p; x != -1; x = parent[x] {
					rev = append(rev, x)
				}
				slices.Reverse(rev)
				return append(rev, start)
			}
			if _, seen := parent[q]; !seen {
				parent[q] = p
				queue = append(queue, q)
			}
		}
	}
	return []int{start, start} // unreachable for a real component
}

// sccs labels each node with its strongly connected component (Tarjan's
// algorithm, iterative so deep graphs cannot exhaust the stack).
func sccs(succ [][]int) []int {
	n := len(succ)
	const unvisited = -1
	index := make([]int, n)
	low := make([]int, n)
	comp := make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i], comp[i] = unvisited, unvisited
	}
	var stack []int
	type frame struct{ node, next int }
	var call []frame
	counter, ncomp := 0, 0
	for root := 0; root < n; root++ {
		if index[root] != unvisited {
			continue
		}
		call = append(call, frame{root, 0})
		index[root], low[root] = counter, counter
		counter++
		stack = append(stack, root)
		onStack[root] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			p := f.node
			if f.next < len(succ[p]) {
				q := succ[p][f.next]
				f.next++
				switch {
				case index[q] == unvisited:
					index[q], low[q] = counter, counter
					counter++
					stack = append(stack, q)
					onStack[q] = true
					call = append(call, frame{q, 0})
				case onStack[q]:
					low[p] = min(low[p], index[q])
				}
				continue
			}
			call = call[:len(call)-1]
			if len(call) > 0 {
				parent := call[len(call)-1].node
				low[parent] = min(low[parent], low[p])
			}
			if low[p] == index[p] {
				for {
					q := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					onStack[q] = false
					comp[q] = ncomp
					if q == p {
						break
					}
				}
				ncomp++
			}
		}
	}
	return comp
}
