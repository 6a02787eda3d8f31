// Package planner compares the desired state with the live state and
// returns a plan: a DAG of bake, create, swap and prune steps. It is a pure
// function: no I/O, no clock (the time comes in Options).
//
// The rules it implements are the "Plan rules" of the design notes; the
// choices the notes leave open are documented where they are made:
//
//   - Ages. Options.Now is the time ages are measured against. A zero Now
//     turns every age check off (maxAge of pools and images), so a caller
//     that forgets the clock never recreates anything by accident.
//   - Rebakes. An image past its maxAge keeps its build id (same inputs).
//     The plan bakes it again with Step.Replace set; the executor passes
//     cloud.BakeRequest.Replace and the cloud replaces its record of that
//     build id. A live image older than its live parent was baked on a
//     previous bake of the parent and is rebaked the same way, and a pool
//     created before the current bake of its image counts as out of date.
//     Together these make "rebake base" ripple down to every descendant
//     image and every pool built on them, as the design asks.
//   - Serving pools. A pool that serves now is pruned only by a step that
//     waits for the swap that takes it out of service; with no swap, every
//     backend of the endpoint (even at weight 0) is left alone.
//   - Cooling. Retained pools beyond `warm` are listed in the swap step's
//     Cool field. With no swap for the endpoint nothing is cooled: going cold
//     only saves money and is done at the next swap.
//   - Images. Unused images are pruned past Options.ImageKeep per image name
//     (DefaultImageKeep when negative; 0 keeps none), and only when the plan
//     covers every environment: with an environment filter the planner
//     cannot see what the other environments will still need. Parents of
//     images in use are never pruned; if one is gone anyway (deleted by
//     hand), its live children are baked again after it, so that a chain
//     stays ordered by bake time.
//   - Usable pools. A pool can serve, or be swapped to, when it is ready
//     (healthy, all its servers up) or cold, without drift, younger than the
//     environment's maxAge and created after the current bake of its image
//     (timestamps closer than a minute count as simultaneous: they may come
//     from two machines' clocks).
//     Anything else is replaced when it serves (rule 6) and pruned, without
//     counting toward retention, when it does not.
//   - Canary. A swap walks the environment's traffic steps only when the
//     pools serving now are ready and healthy (a sick pool is left at once),
//     and not when it returns to a pool that served before (a rollback is
//     instant); a canary cut short is finished from the weight it reached.
//   - Watching. A release's swap carries a Watch (traffic.pause per canary
//     weight, traffic.bake after the last, traffic.analysis) when it leaves
//     healthy pools to go back to; a rollback, a first deploy and the
//     replacement of a sick pool are not watched. The swap's prunes and
//     cooling run after it, so after the watch. A pool rejected by
//     analysis is never swapped to or retained (rule 8): its (env, role)
//     is held (EndpointSummary.Held, a warning, no steps) until a new key,
//     or Options.RetryRejected, which releases it as a watched release.
//   - Left the spec. Live (cloud, environment, role) triples the spec no
//     longer has (an environment or role removed, or moved to another
//     cloud) give a warning naming --destroy; with Options.Destroy, a
//     destructive swap to no backends detaches the endpoint, and the pools
//     are pruned after it. Ids of steps in the cloud an environment left get
//     an "@cloud" suffix, so they never clash with the new cloud's steps.
//
// Step ids are stable: "bake:CLOUD:IMAGE:BUILDID12", "create:POOLID",
// "swap:ENV/ROLE", "prune:POOLID", "prune-image:CLOUD:BUILDID12".
package planner

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/dag"
	"github.com/phoenix-gitops/phoenix/model"
)

// DefaultImageKeep is how many unused images per image name survive image
// pruning when Options.ImageKeep is negative: the previous build and the one
// before, enough to roll back a pool that was pruned by mistake.
const DefaultImageKeep = 2

// Options steer a plan.
type Options struct {
	// Envs limits the plan to these environments; empty means all.
	Envs []string
	// Now is the time ages are measured against; zero turns age checks off.
	Now time.Time
	// Destroy allows destroying what left the spec (rule 7); such steps are
	// marked destructive.
	Destroy bool
	// ImageKeep is how many unused images per image name survive image
	// pruning (rule 5); negative means DefaultImageKeep.
	ImageKeep int
	// Explain, when set, says what moved in the spec for an (environment,
	// role) (`config VERSION "1" → "2"`, from a spec diff), or "" when it
	// does not know. Its answer becomes the reason of the endpoint's create,
	// or is added to a rollback swap's (what it undoes), so the plan
	// carries the reasons every rendering prints and a saved plan keeps.
	// It is asked only for endpoints with a swap and must answer from what
	// the caller read before planning: the planner stays free of I/O.
	Explain func(env, role string) string
	// ExplainImage, when set, says which inputs of image name differ from
	// those of its live build liveBuildID ("step 1 changed"), or "" when
	// it does not know: the reason of the image's bake then says what
	// changed, as diff does, not only that its inputs did. Like Explain,
	// it answers from what the caller read before planning.
	ExplainImage func(name, liveBuildID string) string
	// RetryRejected releases a pool that release analysis rejected again,
	// as a release (canary and watch), instead of holding it (rule 8).
	RetryRejected bool
}

// Make returns the plan that takes live to desired. It reads both and
// changes neither; the plan may share backend slices with live, so treat
// live as read-only while the plan is in use.
func Make(desired *model.Desired, live *cloud.Live, opts Options) (*Plan, error) {
	if desired == nil {
		return nil, fmt.Errorf("no desired state")
	}
	if live == nil {
		live = &cloud.Live{}
	}
	for _, name := range desired.ImageNames() {
		if im := desired.Images[name]; im.Parent != "" && desired.Images[im.Parent] == nil {
			return nil, fmt.Errorf("image %s: unknown parent %q", name, im.Parent)
		}
	}
	scope, err := scopeEnvs(desired, opts.Envs)
	if err != nil {
		return nil, err
	}
	envRank, err := orderEnvs(desired)
	if err != nil {
		return nil, err
	}
	pools, err := poolsInScope(desired, scope)
	if err != nil {
		return nil, err
	}
	idx := indexLive(live)
	bk := newBakes(desired, idx, opts.Now)
	bk.explain = opts.ExplainImage
	for _, d := range pools {
		bk.plan(d.Cloud, d.Image)
	}

	out := &Plan{
		Project: desired.Project, Now: opts.Now, Envs: slices.Clone(scope),
		Endpoints: make([]EndpointSummary, 0, len(pools)),
	}
	steps := bk.steps()
	res := newResults()
	var buf []livePool
	for _, d := range pools {
		ep := planEndpoint(d, idx, bk, opts.Now, opts.RetryRejected, &buf)
		ep.explain(opts.Explain)
		steps = ep.appendSteps(steps)
		out.Endpoints = append(out.Endpoints, ep.summary)
		if ep.summary.Held != "" {
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s/%s is held: %s", d.Env, d.Role, ep.summary.Held))
		}
		res.add(ep)
	}
	linkAfter(steps, desired, res.swapByEnv)

	gone := planDestroy(desired, idx, pools, scope, len(opts.Envs) > 0, opts.Destroy)
	steps = append(steps, gone.steps...)
	out.Warnings = append(out.Warnings, gone.warnings...)
	for p, id := range gone.pruned {
		res.pruned[p] = id
	}
	out.Envs = mergeEnvs(out.Envs, gone.envs)

	if len(opts.Envs) == 0 {
		keep := opts.ImageKeep
		if keep < 0 {
			keep = DefaultImageKeep
		}
		steps = append(steps, planImagePrunes(desired, idx, res, keep)...)
	}

	ordered, err := orderSteps(steps, envRank)
	if err != nil {
		return nil, err
	}
	out.Steps = ordered
	return out, nil
}

// scopeEnvs returns the environments the plan covers, sorted: the filter's
// names (each must exist) or every environment of the spec.
func scopeEnvs(d *model.Desired, filter []string) ([]string, error) {
	if len(filter) == 0 {
		return d.EnvNames(), nil
	}
	var out []string
	for _, e := range filter {
		if _, ok := d.Environments[e]; !ok {
			return nil, fmt.Errorf("unknown environment %q (defined environments: %s)", e, strings.Join(d.EnvNames(), ", "))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	sort.Strings(out)
	return out, nil
}

// poolsInScope returns the desired pools of the environments in scope,
// sorted by environment then role (the model's order, checked, not
// trusted), with their cloud filled in from the environment when the
// compiler left it empty. Two pools for one (env, role) are an error.
func poolsInScope(d *model.Desired, scope []string) ([]*model.Pool, error) {
	in := make(map[string]bool, len(scope))
	for _, e := range scope {
		in[e] = true
	}
	out := make([]*model.Pool, 0, len(d.Pools))
	lastEnv, lastIn, lastImage, sorted := "", false, "", true
	for _, p := range d.Pools {
		if p.Env != lastEnv || lastEnv == "" {
			lastEnv, lastIn = p.Env, in[p.Env]
		}
		if !lastIn {
			continue
		}
		if p.Image != lastImage {
			if _, ok := d.Images[p.Image]; !ok {
				return nil, fmt.Errorf("pool %s/%s uses unknown image %q", p.Env, p.Role, p.Image)
			}
			lastImage = p.Image
		}
		if p.Cloud == "" {
			c := *p
			c.Cloud = d.Environments[p.Env].Cloud
			p = &c
		}
		if n := len(out); n > 0 && sorted {
			switch c := comparePools(out[n-1], p); {
			case c == 0:
				return nil, fmt.Errorf("two desired pools for %s/%s", p.Env, p.Role)
			case c > 0:
				sorted = false
			}
		}
		out = append(out, p)
	}
	if !sorted { // not from the compiler: sort, then look for twins
		slices.SortFunc(out, comparePools)
		for i := 1; i < len(out); i++ {
			if comparePools(out[i-1], out[i]) == 0 {
				return nil, fmt.Errorf("two desired pools for %s/%s", out[i].Env, out[i].Role)
			}
		}
	}
	return out, nil
}

func comparePools(a, b *model.Pool) int {
	if c := strings.Compare(a.Env, b.Env); c != 0 {
		return c
	}
	return strings.Compare(a.Role, b.Role)
}

// findPool returns the pool of (env, role) in pools sorted by comparePools.
func findPool(pools []*model.Pool, env, role string) *model.Pool {
	i := sort.Search(len(pools), func(i int) bool {
		p := pools[i]
		return p.Env > env || (p.Env == env && p.Role >= role)
	})
	if i < len(pools) && pools[i].Env == env && pools[i].Role == role {
		return pools[i]
	}
	return nil
}

// orderEnvs ranks every environment of the spec so that an environment
// comes after the ones in its `after`; ties go by name. It fails on a cycle
// or an unknown name. Environments outside the scope keep a rank too, which
// the ordering of steps never needs but costs nothing.
func orderEnvs(d *model.Desired) (map[string]int, error) {
	g := dag.New[string]()
	for _, name := range d.EnvNames() {
		env := d.Environments[name]
		for _, a := range env.After {
			if _, ok := d.Environments[a]; !ok {
				return nil, fmt.Errorf("environment %s: after names unknown environment %q", name, a)
			}
		}
		g.Add(name, env.After...)
	}
	order, err := g.TopoSort()
	if err != nil {
		return nil, fmt.Errorf("environments wait for each other in a cycle: %w", err)
	}
	rank := make(map[string]int, len(order))
	for i, e := range order {
		rank[e] = i
	}
	return rank, nil
}

// mergeEnvs adds extra environment names to a sorted list, keeping it
// sorted and free of duplicates.
func mergeEnvs(envs, extra []string) []string {
	for _, e := range extra {
		if !slices.Contains(envs, e) {
			envs = append(envs, e)
		}
	}
	sort.Strings(envs)
	return envs
}
