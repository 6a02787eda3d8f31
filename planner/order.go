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
// then image prunes — and the DAG's topological sort keeps that order
// wherever the dependencies allow. It fails on a duplicate id, a dependency
// on an unknown step, or a cycle: each would be a bug in the planner.
func orderSteps(steps []Step, envRank map[string]int) ([]Step, error) {
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
	rank := make([]int, len(steps))
	for i := range steps {
		r, ok := envRank[steps[i].Env]
		if !ok {
			r = len(envRank) // environments that left the spec go last
		}
		rank[i] = r
	}
	pos := make([]int, len(steps))
	for i := range pos {
		pos[i] = i
	}
	slices.SortStableFunc(pos, func(a, b int) int { return compareSteps(&steps[a], &steps[b], rank[a], rank[b]) })
	g := dag.New[string]()
	at := make(map[string]int, len(steps))
	for _, i := range pos {
		if _, dup := at[steps[i].ID]; dup {
			return nil, fmt.Errorf("planning: two steps with id %s", steps[i].ID)
		}
		at[steps[i].ID] = i
		g.Add(steps[i].ID, steps[i].After...)
	}
	ids, err := g.TopoSort()
	if err != nil {
		return nil, fmt.Errorf("planning: %w", err)
	}
	out := make([]Step, len(ids))
	for i, id := range ids {
		out[i] = steps[at[id]]
	}
	return out, nil
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
