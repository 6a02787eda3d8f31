package planner

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/phoenix-gitops/phoenix/dag"
)

// orderSteps returns the steps in a deterministic topological order. They
// are first sorted for reading — bakes, then each endpoint's create, swap
// and prunes (environments in `after` order, then by name; roles by name),
// then image prunes — and the topological sort keeps that order wherever
// the dependencies allow (among ready steps, the first in reading order goes
// first, as dag.TopoSort does). It works on positions rather than through
// dag.Graph because `after` can give every swap of an environment hundreds
// of dependencies, and Graph.Add deduplicates them pairwise. It fails on a
// duplicate id, a dependency on an unknown step, or a cycle: each would be a
// bug in the planner.
func orderSteps(steps []Step, envRank map[string]int) ([]Step, error) {
	n := len(steps)
	for i := range steps {
		a := steps[i].After
		slices.Sort(a)
		steps[i].After = slices.Compact(a)
		if steps[i].After == nil {
			steps[i].After = []string{}
		}
	}
	// Sort positions, not the (large) steps, with each step's environment
	// rank looked up once.
	rank := make([]int, n)
	for i := range steps {
		r, ok := envRank[steps[i].Env]
		if !ok {
			r = len(envRank) // environments that left the spec go last
		}
		rank[i] = r
	}
	byReading := make([]int, n)
	for i := range byReading {
		byReading[i] = i
	}
	slices.SortStableFunc(byReading, func(a, b int) int { return compareSteps(&steps[a], &steps[b], rank[a], rank[b]) })
	// Renumber steps by reading position: step k is steps[byReading[k]].
	at := make(map[string]int, n)
	for k, i := range byReading {
		if _, dup := at[steps[i].ID]; dup {
			return nil, fmt.Errorf("two steps with id %s", steps[i].ID)
		}
		at[steps[i].ID] = k
	}
	// Users of each step, as one flat array (CSR), and in-degrees; each
	// dependency is looked up once.
	edges := 0
	for i := range steps {
		edges += len(steps[i].After)
	}
	deps := make([]int32, 0, edges)
	indeg := make([]int, n)
	start := make([]int, n+1)
	// The swaps of an environment share their `after` dependencies, in the
	// same order: reuse the previous swap's lookups where the ids match.
	var prevAfter []string
	var prevDeps []int32
	for k, i := range byReading {
		mine := len(deps)
		for x, d := range steps[i].After {
			var j int32
			if x < len(prevAfter) && prevAfter[x] == d {
				j = prevDeps[x]
			} else {
				jj, ok := at[d]
				if !ok {
					return nil, fmt.Errorf("step %s waits for unknown step %s", steps[i].ID, d)
				}
				j = int32(jj)
			}
			deps = append(deps, j)
			indeg[k]++
			start[j+1]++
		}
		if steps[i].Kind == Swap {
			prevAfter, prevDeps = steps[i].After, deps[mine:]
		}
	}
	for j := range n {
		start[j+1] += start[j]
	}
	users := make([]int32, edges)
	fill := slices.Clone(start[:n])
	e := 0
	for k := range byReading {
		for range indeg[k] {
			j := deps[e]
			e++
			users[fill[j]] = int32(k)
			fill[j]++
		}
	}
	ready := &minHeap{}
	for k := range n {
		if indeg[k] == 0 {
			ready.push(k)
		}
	}
	out := make([]Step, 0, n)
	for ready.len() > 0 {
		k := ready.pop()
		out = append(out, steps[byReading[k]])
		for _, u := range users[start[k]:start[k+1]] {
			if indeg[u]--; indeg[u] == 0 {
				ready.push(int(u))
			}
		}
	}
	if len(out) != n {
		g := dag.New[string]()
		for _, st := range steps {
			g.Add(st.ID, st.After...)
		}
		return nil, fmt.Errorf("steps wait for each other in a cycle: %v", g.FindCycle())
	}
	return out, nil
}

// minHeap is a binary min-heap of ints (reading positions).
type minHeap struct{ a []int }

func (h *minHeap) len() int { return len(h.a) }

func (h *minHeap) push(x int) {
	h.a = append(h.a, x)
	for i := len(h.a) - 1; i > 0; {
		p := (i - 1) / 2
		if h.a[p] <= h.a[i] {
			break
		}
		h.a[p], h.a[i] = h.a[i], h.a[p]
		i = p
	}
}

func (h *minHeap) pop() int {
	top := h.a[0]
	last := len(h.a) - 1
	h.a[0] = h.a[last]
	h.a = h.a[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < last && h.a[l] < h.a[m] {
			m = l
		}
		if r < last && h.a[r] < h.a[m] {
			m = r
		}
		if m == i {
			break
		}
		h.a[i], h.a[m] = h.a[m], h.a[i]
		i = m
	}
	return top
}

// group is the section of the plan a step reads in.
func group(s *Step) int {
	switch {
	case s.Kind == Bake:
		return 0
	case s.Kind == Prune && s.Pool == "":
		return 2 // image prunes
	}
	return 1
}

func kindRank(k Kind) int {
	switch k {
	case Create:
		return 0
	case Swap:
		return 1
	}
	return 2
}

// compareSteps orders steps for reading (see orderSteps); ra and rb are
// the ranks of their environments.
func compareSteps(a, b *Step, ra, rb int) int {
	ga, gb := group(a), group(b)
	if ga != gb {
		return cmp.Compare(ga, gb)
	}
	if ga == 1 {
		return cmp.Or(
			cmp.Compare(ra, rb),
			strings.Compare(a.Env, b.Env),
			strings.Compare(a.Role, b.Role),
			cmp.Compare(kindRank(a.Kind), kindRank(b.Kind)),
			strings.Compare(a.ID, b.ID),
		)
	}
	return cmp.Or(
		strings.Compare(a.Cloud, b.Cloud),
		strings.Compare(a.Image, b.Image),
		strings.Compare(a.ID, b.ID),
	)
}
