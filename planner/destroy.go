package planner

import (
	"fmt"
	"slices"
	"sort"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// results collects what the endpoint plans decided that later rules need:
// the pools pruned (with their step ids, for image prunes to wait on) and
// the swaps of each environment (for `after`).
type results struct {
	pruned    map[*cloud.Pool]string
	swapByEnv map[string][]string
}

func newResults() *results {
	return &results{pruned: map[*cloud.Pool]string{}, swapByEnv: map[string][]string{}}
}

func (r *results) add(e *endpointPlan) {
	for i, p := range e.pruned {
		r.pruned[p] = e.prunes[i].ID
	}
	if e.swap != nil {
		r.swapByEnv[e.swap.Env] = append(r.swapByEnv[e.swap.Env], e.swap.ID)
	}
}

// destroyPlan is rule 7's outcome: destructive steps when allowed, else
// warnings that say what would go.
type destroyPlan struct {
	steps    []Step
	warnings []string
	pruned   map[*cloud.Pool]string
	envs     []string // environments that have destructive steps
}

// planDestroy applies rule 7 to every live (cloud, env, role) the spec no
// longer has: an environment that left, a role that left an environment, or
// an environment that moved to another cloud. With a filter, only the
// environments in scope are looked at. With destroy, a still-serving
// endpoint is first detached (a swap to no backends) and its pools are
// pruned after it; every such step is destructive. Without destroy, one
// warning per reason says what would be destroyed and which flag does it.
func planDestroy(d *model.Desired, idx *index, pools []*model.Pool, scope []string, filtered, destroy bool) *destroyPlan {
	inScope := make(map[string]bool, len(scope))
	for _, e := range scope {
		inScope[e] = true
	}
	out := &destroyPlan{pruned: map[*cloud.Pool]string{}}
	type tally struct{ pools, endpoints int }
	tallies := map[string]*tally{}
	var whys []string
	var slots []*slotLive
	for _, s := range idx.slotList {
		if s.claimed || (filtered && !inScope[s.env]) {
			continue
		}
		slots = append(slots, s)
	}
	sort.Slice(slots, func(a, b int) bool {
		x, y := slots[a], slots[b]
		if x.env != y.env {
			return x.env < y.env
		}
		if x.role != y.role {
			return x.role < y.role
		}
		return x.cloud < y.cloud
	})
	for i, s := range slots {
		serving := backends(s.endpoint)
		if len(s.pools) == 0 && len(serving) == 0 {
			continue // an empty endpoint: nothing to destroy through the interface
		}
		suffix := ""
		var why string
		switch moved := findPool(pools, s.env, s.role); {
		case d.Environments[s.env] == nil:
			why = fmt.Sprintf("environment %s left the spec", s.env)
		case moved != nil:
			why = fmt.Sprintf("%s/%s moved from cloud %s to %s", s.env, s.role, s.cloud, moved.Cloud)
			suffix = "@" + s.cloud
		default:
			why = fmt.Sprintf("role %s left environment %s", s.role, s.env)
		}
		// Ids name the cloud when the (env, role) lives in more than one.
		if (i > 0 && sameSlot(slots[i-1], s)) || (i+1 < len(slots) && sameSlot(slots[i+1], s)) {
			suffix = "@" + s.cloud
		}
		if !destroy {
			t := tallies[why]
			if t == nil {
				t = &tally{}
				tallies[why] = t
				whys = append(whys, why)
			}
			t.pools += len(s.pools)
			if len(serving) > 0 {
				t.endpoints++
			}
			continue
		}
		if n := len(out.envs); n == 0 || out.envs[n-1] != s.env { // slots are sorted by env
			out.envs = append(out.envs, s.env)
		}
		swapID := ""
		if len(serving) > 0 {
			ep := s.endpoint
			swapID = "swap:" + s.env + "/" + s.role + suffix
			out.steps = append(out.steps, Step{
				ID: swapID, Kind: Swap, Cloud: s.cloud, Env: s.env, Role: s.role,
				Endpoint: ep.Address, From: slices.Clone(serving), Destructive: true,
				Reason: why + ": detach the endpoint",
			})
		}
		sorted := slices.Clone(s.pools)
		sort.Slice(sorted, func(a, b int) bool { return sorted[a].ID < sorted[b].ID })
		for _, p := range sorted {
			st := pruneStep(p, nil, why)
			st.ID += suffix
			st.Destructive = true
			if swapID != "" {
				st.After = []string{swapID}
			}
			out.steps = append(out.steps, st)
			out.pruned[p] = st.ID
		}
	}
	for _, why := range whys {
		t := tallies[why]
		what := plural(t.pools, "pool")
		if t.endpoints > 0 {
			what += fmt.Sprintf(" (%s serving traffic)", plural(t.endpoints, "endpoint"))
		}
		out.warnings = append(out.warnings, fmt.Sprintf("%s: %s would be destroyed; plan with --destroy to destroy them", why, what))
	}
	return out
}

func sameSlot(a, b *slotLive) bool { return a.env == b.env && a.role == b.role }

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}
