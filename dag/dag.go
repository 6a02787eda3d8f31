// Package dag is a small directed acyclic graph: Graph keys nodes by a
// comparable id, each with the ids it waits for; Indexed numbers them
// 0..n-1 and holds the one topological order (Indexed.Order, over a Heap)
// that Graph.TopoSort, the planner's step order and the executor's walker
// all use, so that "ready nodes in this order" means one thing.
package dag

import (
	"cmp"
	"fmt"
	"slices"
)

// Graph maps each node to the nodes it depends on (its "after" set).
type Graph[K cmp.Ordered] struct {
	deps  map[K][]K
	order []K // insertion order, for stable output
}

// New returns an empty graph.
func New[K cmp.Ordered]() *Graph[K] { return &Graph[K]{deps: map[K][]K{}} }

// Add adds node k (if new) depending on deps. Dependencies need not be
// added as nodes first, but must be before TopoSort.
func (g *Graph[K]) Add(k K, deps ...K) {
	if _, ok := g.deps[k]; !ok {
		g.order = append(g.order, k)
		g.deps[k] = nil
	}
	for _, d := range deps {
		if !slices.Contains(g.deps[k], d) {
			g.deps[k] = append(g.deps[k], d)
		}
	}
}

// Has reports whether k is a node.
func (g *Graph[K]) Has(k K) bool { _, ok := g.deps[k]; return ok }

// Deps returns the nodes k waits for, sorted.
func (g *Graph[K]) Deps(k K) []K {
	d := slices.Clone(g.deps[k])
	slices.Sort(d)
	return d
}

// Len is the number of nodes.
func (g *Graph[K]) Len() int { return len(g.order) }

// Nodes returns the nodes in insertion order.
func (g *Graph[K]) Nodes() []K { return slices.Clone(g.order) }

// CycleError names a cycle found in the graph.
type CycleError[K cmp.Ordered] struct{ Cycle []K }

func (e *CycleError[K]) Error() string { return fmt.Sprintf("cycle: %v", e.Cycle) }

// TopoSort returns the nodes so that every node comes after its
// dependencies; among ready nodes it keeps insertion order, so the result
// is deterministic. It fails on a cycle or a dependency that is not a node.
func (g *Graph[K]) TopoSort() ([]K, error) {
	x, err := g.Index()
	if err != nil {
		return nil, err
	}
	order, ok := x.Order(nil)
	if !ok {
		return nil, &CycleError[K]{Cycle: g.FindCycle()}
	}
	out := make([]K, len(order))
	for p, i := range order {
		out[p] = g.order[i]
	}
	return out, nil
}

// Index numbers the nodes by insertion order (Nodes()[i] is node i) and
// returns the graph over those numbers. It fails on a dependency that is
// not a node.
func (g *Graph[K]) Index() (*Indexed, error) {
	idx := make(map[K]int32, len(g.order))
	for i, k := range g.order {
		idx[k] = int32(i)
	}
	edges := 0
	for _, d := range g.deps {
		edges += len(d)
	}
	depAt := make([]int32, len(g.order)+1)
	deps := make([]int32, 0, edges)
	for i, k := range g.order {
		for _, d := range g.deps[k] {
			j, ok := idx[d]
			if !ok {
				return nil, fmt.Errorf("node %v depends on unknown node %v", k, d)
			}
			deps = append(deps, j)
		}
		depAt[i+1] = int32(len(deps))
	}
	return NewIndexed(depAt, deps)
}

// FindCycle returns one cycle (first node repeated at the end), or nil.
func (g *Graph[K]) FindCycle() []K {
	const (
		white = iota
		grey
		black
	)
	color := map[K]int{}
	var stack []K
	var found []K
	var visit func(k K) bool
	visit = func(k K) bool {
		color[k] = grey
		stack = append(stack, k)
		for _, d := range g.Deps(k) {
			switch color[d] {
			case grey:
				i := slices.Index(stack, d)
				found = append(slices.Clone(stack[i:]), d)
				return true
			case white:
				if visit(d) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[k] = black
		return false
	}
	nodes := slices.Clone(g.order)
	slices.Sort(nodes)
	for _, k := range nodes {
		if color[k] == white && visit(k) {
			return found
		}
	}
	return nil
}
