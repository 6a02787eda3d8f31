// Package dag is a small generic directed acyclic graph: nodes keyed by a
// comparable id, each with the ids it waits for. The planner builds plans
// with it and the executor walks them.
package dag

import (
	"cmp"
	"container/heap"
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
	indeg := make(map[K]int, len(g.deps))
	users := make(map[K][]K, len(g.deps))
	for _, k := range g.order {
		for _, d := range g.deps[k] {
			if _, ok := g.deps[d]; !ok {
				return nil, fmt.Errorf("node %v depends on unknown node %v", k, d)
			}
			indeg[k]++
			users[d] = append(users[d], k)
		}
	}
	// ready is a min-heap of insertion positions, so that among ready nodes
	// the earliest inserted comes first in O(log n).
	ready := &intHeap{}
	pos := make(map[K]int, len(g.order))
	for i, k := range g.order {
		pos[k] = i
		if indeg[k] == 0 {
			*ready = append(*ready, i)
		}
	}
	heap.Init(ready)
	out := make([]K, 0, len(g.order))
	for ready.Len() > 0 {
		k := g.order[heap.Pop(ready).(int)]
		out = append(out, k)
		for _, u := range users[k] {
			indeg[u]--
			if indeg[u] == 0 {
				heap.Push(ready, pos[u])
			}
		}
	}
	if len(out) != len(g.order) {
		return nil, &CycleError[K]{Cycle: g.FindCycle()}
	}
	return out, nil
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

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// EachDep calls f for every node k waits for, in the order they were added,
// without copying or sorting: for hot loops such as the executor's walker,
// which indexes a whole plan before it runs.
func (g *Graph[K]) EachDep(k K, f func(K)) {
	for _, d := range g.deps[k] {
		f(d)
	}
}
