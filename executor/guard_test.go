package executor

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/planner"
)

// yesCloud stands in for a cloud that does whatever it is asked: swaps and
// deletes succeed without any check of their own and are only recorded.
// The executor's own re-checks are then the only thing between a stale
// plan and production, so a test that counts the calls here proves them.
type yesCloud struct {
	cloud.Cloud
	mu      sync.Mutex
	swaps   []cloud.SwapRequest
	deletes []string
}

func (c *yesCloud) Swap(_ context.Context, req cloud.SwapRequest) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.swaps = append(c.swaps, req)
	return nil
}

func (c *yesCloud) DeletePool(_ context.Context, _, poolID string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.deletes = append(c.deletes, poolID)
	return nil
}

// calls returns how many swaps and deletes reached the cloud.
func (c *yesCloud) calls() (swaps, deletes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.swaps), len(c.deletes)
}

// applyTo runs plan p against the stand-in yes in place of the memory
// cloud, observing the memory cloud's live state.
func (f *fixture) applyTo(t *testing.T, yes *yesCloud, p *planner.Plan) *Report {
	t.Helper()
	e := f.executor(nil)
	e.Clouds = cloud.Set{"memory": yes}
	rep, err := e.Apply(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// sickPool deploys both environments, creates staging's second pool and
// kills one of its servers: a pool the plan may have seen healthy that is
// unhealthy now.
func sickPool(t *testing.T, f *fixture) string {
	t.Helper()
	f.apply(t, f.firstDeploy())
	next := f.poolID("staging", 2)
	if rep := f.apply(t, &planner.Plan{Project: project, Steps: []planner.Step{
		{ID: "create:" + next, Kind: planner.Create, Cloud: "memory", Env: "staging", Role: "web", Pool: next, Key: f.pool("staging").Key, Generation: 2},
	}}); !rep.OK() {
		t.Fatal(rep.Details())
	}
	if err := f.mem.KillServers(project, next, 1); err != nil {
		t.Fatal(err)
	}
	return next
}

// TestNoSwapReachesTheCloudForAPoolUnhealthyNow: the executor itself
// refuses to send traffic to a pool that is unhealthy at the moment of the
// swap, in one step (blue-green) and at the first weight of a canary, even
// when the cloud would accept it.
func TestNoSwapReachesTheCloudForAPoolUnhealthyNow(t *testing.T) {
	for name, weights := range map[string][]int{"blue-green": nil, "canary": {10, 50, 100}} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			next := sickPool(t, f)
			yes := &yesCloud{Cloud: f.mem}
			rep := f.applyTo(t, yes, &planner.Plan{Project: project, Steps: []planner.Step{
				{ID: "swap:staging/web", Kind: planner.Swap, Cloud: "memory", Env: "staging", Role: "web", Pool: next, Weights: weights},
			}})
			if o := rep.Result.Outcomes["swap:staging/web"]; o.Status != Failed || !errors.Is(o.Err, cloud.ErrNotReady) {
				t.Fatalf("swap onto a pool with a dead server: %v %v, want failed with ErrNotReady", o.Status, o.Err)
			}
			if n, _ := yes.calls(); n != 0 {
				t.Fatalf("%d swap calls reached the cloud for an unhealthy pool: %+v", n, yes.swaps)
			}
		})
	}
}

// TestNoDeleteReachesTheCloudForAPoolServingNow: a prune re-checks the
// live endpoints at the moment of deletion, whether the pool carries all
// of the traffic or only a canary's share of it (a concurrent apply may
// have started one since the plan), and the cloud is never asked.
func TestNoDeleteReachesTheCloudForAPoolServingNow(t *testing.T) {
	for name, weight := range map[string]int{"all traffic": 100, "a canary share": 10} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.apply(t, f.firstDeploy())
			old, next := f.poolID("staging", 1), f.poolID("staging", 2)
			if rep := f.apply(t, &planner.Plan{Project: project, Steps: []planner.Step{
				{ID: "create:" + next, Kind: planner.Create, Cloud: "memory", Env: "staging", Role: "web", Pool: next, Key: f.pool("staging").Key, Generation: 2},
			}}); !rep.OK() {
				t.Fatal(rep.Details())
			}
			backends := []cloud.Backend{{Pool: old, Weight: 100}}
			if weight < 100 {
				backends = []cloud.Backend{{Pool: next, Weight: 100 - weight}, {Pool: old, Weight: weight}}
			}
			if err := f.mem.Swap(context.Background(), cloud.SwapRequest{Project: project, Env: "staging", Role: "web", Backends: backends}); err != nil {
				t.Fatal(err)
			}
			yes := &yesCloud{Cloud: f.mem}
			rep := f.applyTo(t, yes, &planner.Plan{Project: project, Steps: []planner.Step{
				{ID: "prune:" + old, Kind: planner.Prune, Cloud: "memory", Env: "staging", Role: "web", Pool: old},
			}})
			if o := rep.Result.Outcomes["prune:"+old]; o.Status != Failed || !errors.Is(o.Err, cloud.ErrServing) {
				t.Fatalf("prune of a pool with %d%% of the traffic: %v %v, want failed with ErrServing", weight, o.Status, o.Err)
			}
			if _, n := yes.calls(); n != 0 {
				t.Fatalf("%d deletes reached the cloud for a serving pool: %v", n, yes.deletes)
			}
		})
	}
}
