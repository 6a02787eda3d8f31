package planner

import (
	"fmt"
	"slices"
	"sort"

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
	sort.SliceStable(steps, func(a, b int) bool { return readsBefore(&steps[a], &steps[b], envRank) })
	g := dag.New[string]()
	at := make(map[string]int, len(steps))
	for i := range steps {
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

func readsBefore(a, b *Step, envRank map[string]int) bool {
	if ga, gb := group(a), group(b); ga != gb {
		return ga < gb
	}
	if group(a) == 1 {
		ra, oka := envRank[a.Env]
		rb, okb := envRank[b.Env]
		if oka != okb {
			return oka // environments of the spec before those that left it
		}
		if ra != rb {
			return ra < rb
		}
		if a.Env != b.Env {
			return a.Env < b.Env
		}
		if a.Role != b.Role {
			return a.Role < b.Role
		}
		if ka, kb := kindRank(a.Kind), kindRank(b.Kind); ka != kb {
			return ka < kb
		}
		return a.ID < b.ID
	}
	if a.Cloud != b.Cloud {
		return a.Cloud < b.Cloud
	}
	if a.Image != b.Image {
		return a.Image < b.Image
	}
	return a.ID < b.ID
}
