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
// first, as dag.TopoSort does: both are dag.Indexed.Order). It numbers
// steps itself rather than through dag.Graph because `after` can give
// every swap of an environment hundreds of dependencies, and Graph.Add
// deduplicates them pairwise. It fails on a
// duplicate id, a dependency on an unknown step, or a cycle: each would be a
// bug in the planner.
func orderSteps(steps []Step, envRank map[string]int) ([]Step, error) {
	for i := range steps {
		a := steps[i].After
		slices.Sort(a)
		steps[i].After = slices.Compact(a)
		if steps[i].After == nil {
			steps[i].After = []string{}
		}
	}
	byReading := readingOrder(steps, envRank)
	g, err := indexSteps(steps, byReading)
	if err != nil {
		return nil, err
	}
	order, ok := g.Order(nil) // reading position breaks ties
	if !ok {
		return nil, fmt.Errorf("steps wait for each other in a cycle: %v", stepCycle(steps))
	}
	out := make([]Step, len(steps))
	for p, k := range order {
		out[p] = steps[byReading[k]]
	}
	return out, nil
}

// readingOrder returns the positions of steps sorted for reading. It sorts
// positions, not the (large) steps, with each step's environment rank
// looked up once.
func readingOrder(steps []Step, envRank map[string]int) []int {
	n := len(steps)
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
	return byReading
}

// indexSteps numbers steps by reading position (step k is
// steps[byReading[k]]) and returns the graph of their dependencies, each
// looked up once.
func indexSteps(steps []Step, byReading []int) (*dag.Indexed, error) {
	n := len(steps)
	at := make(map[string]int32, n)
	for k, i := range byReading {
		if _, dup := at[steps[i].ID]; dup {
			return nil, fmt.Errorf("two steps with id %s", steps[i].ID)
		}
		at[steps[i].ID] = int32(k)
	}
	edges := 0
	for i := range steps {
		edges += len(steps[i].After)
	}
	deps := make([]int32, 0, edges)
	depAt := make([]int32, n+1)
	// The swaps of an environment share their `after` dependencies, in the
	// same order: reuse the previous swap's lookups where the ids match.
	var prevAfter []string
	var prevDeps []int32
	for k, i := range byReading {
		mine := len(deps)
		for x, d := range steps[i].After {
			if x < len(prevAfter) && prevAfter[x] == d {
				deps = append(deps, prevDeps[x])
				continue
			}
			j, ok := at[d]
			if !ok {
				return nil, fmt.Errorf("step %s waits for unknown step %s", steps[i].ID, d)
			}
			deps = append(deps, j)
		}
		depAt[k+1] = int32(len(deps))
		if steps[i].Kind == Swap {
			prevAfter, prevDeps = steps[i].After, deps[mine:]
		}
	}
	return dag.NewIndexed(depAt, deps)
}

// stepCycle names one cycle among steps, for the error of a planner bug.
func stepCycle(steps []Step) []string {
	g := dag.New[string]()
	for _, st := range steps {
		g.Add(st.ID, st.After...)
	}
	return g.FindCycle()
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
