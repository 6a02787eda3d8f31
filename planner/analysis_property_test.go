package planner_test

import (
	"context"
	"flag"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/executor"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

// withChecks runs the rapid checks of a test n times unless -rapid.checks
// says otherwise.
func withChecks(n string) func() {
	f := flag.Lookup("rapid.checks")
	if f == nil || f.Value.String() != f.DefValue {
		return func() {}
	}
	_ = f.Value.Set(n)
	return func() { _ = f.Value.Set(f.DefValue) }
}

// rejectSome marks some of live's pools rejected by release analysis.
func rejectSome(t *rapid.T, live *cloud.Live) {
	for i := range live.Pools {
		if rapid.IntRange(0, 2).Draw(t, "rejected") == 0 {
			live.Pools[i].Rejected = "bake: 5xx 12.0% of 50 requests > 1%"
			live.Pools[i].RejectedAt = now.Add(-time.Hour)
		}
	}
}

// TestRejectedPoolsAreNeverSwappedToProperty: on random specs and live
// states with some pools rejected, a plain plan never swaps to a rejected
// pool (unless it has all the traffic already, its way back having
// failed), never creates or swaps for an (environment, role) it says is
// held, and never prunes the pool that holds it; with RetryRejected, a
// swap to a rejected pool is a release, never an instant rollback. Applied
// and planned again, the plan is empty.
func TestRejectedPoolsAreNeverSwappedToProperty(t *testing.T) {
	defer withChecks("500")()
	rapid.Check(t, func(t *rapid.T) {
		d := genSpec(t)
		live := genLive(t, d)
		rejectSome(t, live)
		opts := planner.Options{Now: now, ImageKeep: -1, RetryRejected: rapid.Bool().Draw(t, "retry")}
		p, err := planner.Make(d, live, opts)
		if err != nil {
			t.Fatalf("Make: %v", err)
		}
		checkPlan(t, d, live, p)
		before := map[string]cloud.Pool{}
		for _, x := range live.Pools {
			before[x.Cloud+"/"+x.ID] = x
		}
		sole := map[string]bool{}
		for _, e := range live.Endpoints {
			if id := cloud.SoleBackend(e.Backends); id != "" {
				sole[e.Cloud+"/"+id] = true
			}
		}
		held := map[[3]string]bool{}
		for _, e := range p.Endpoints {
			if e.Held != "" {
				held[[3]string{e.Cloud, e.Env, e.Role}] = true
			}
		}
		for _, s := range p.Steps {
			x, existed := before[s.Cloud+"/"+s.Pool]
			rejected := existed && x.Rejected != ""
			switch {
			case held[[3]string{s.Cloud, s.Env, s.Role}] && s.Kind == planner.Swap && s.MoveFrom != "" && len(s.Weights) == 0 &&
				slices.ContainsFunc(s.From, func(b cloud.Backend) bool { return b.Pool == s.Pool }):
				// A held endpoint still moves to the spec's new address, on
				// the pool that serves it (rule 7): no release.
			case held[[3]string{s.Cloud, s.Env, s.Role}] && (s.Kind == planner.Swap || s.Kind == planner.Create):
				t.Fatalf("%s/%s is held but the plan has %s\n%s", s.Env, s.Role, s.ID, dump(p))
			case s.Kind == planner.Swap && rejected && !opts.RetryRejected && !sole[s.Cloud+"/"+s.Pool]:
				t.Fatalf("%s swaps to rejected pool %s without RetryRejected\n%s", s.ID, s.Pool, dump(p))
			case s.Kind == planner.Swap && rejected && s.Rollback:
				t.Fatalf("%s swaps to rejected pool %s as an instant rollback", s.ID, s.Pool)
			}
		}
		checkHeldKept(t, d, live, p, held)
		after := applyOnMemory(t, d, live, p)
		if p2, err := planner.Make(d, after, opts); err != nil || !p2.Empty() {
			t.Fatalf("planning again after apply: %v\n%s\nfirst plan:\n%s", err, dump(p2), dump(p))
		}
	})
}

// checkHeldKept asserts that a held (environment, role) keeps a rejected
// pool of the spec's key: what holds it is not pruned.
func checkHeldKept(t *rapid.T, d *model.Desired, live *cloud.Live, p *planner.Plan, held map[[3]string]bool) {
	pruned := map[string]bool{}
	for _, s := range p.Steps {
		if s.Kind == planner.Prune {
			pruned[s.Cloud+"/"+s.Pool] = true
		}
	}
	for h := range held {
		kept := false
		for _, x := range live.Pools {
			if x.Cloud == h[0] && x.Env == h[1] && x.Role == h[2] && x.Rejected != "" &&
				x.Key == keyOf(d, x.Env, x.Role) && !pruned[x.Cloud+"/"+x.ID] {
				kept = true
			}
		}
		if !kept {
			t.Fatalf("%s/%s is held but every rejected pool of its key is pruned\n%s", h[1], h[2], dump(p))
		}
	}
}

func keyOf(d *model.Desired, env, role string) string {
	for _, p := range d.Pools {
		if p.Env == env && p.Role == role {
			return p.Key
		}
	}
	return ""
}

// TestAFailedWatchLeavesAllTrafficOnThePreviousPoolProperty: random specs
// whose releases are watched (canary pauses, bake windows, an analysis)
// are applied by the executor to the memory cloud while every pool's
// scripted figures fail or stay inconclusive. Every watched swap then
// fails, and after it: all traffic is on the pools it left (weights
// summing to 100, none on the new pool), those pools are still there and
// warm (nothing the way back needs was pruned or cooled), and the new pool
// is rejected, so that the next plain plan holds it.
func TestAFailedWatchLeavesAllTrafficOnThePreviousPoolProperty(t *testing.T) {
	defer withChecks("200")()
	checked := 0
	rapid.Check(t, func(t *rapid.T) {
		d := genSpec(t)
		for _, name := range d.EnvNames() {
			e := d.Environments[name]
			e.Traffic.Bake = time.Duration(rapid.IntRange(0, 1).Draw(t, "bake")) * time.Millisecond
			if e.Traffic.Strategy == "canary" {
				e.Traffic.Pause = time.Millisecond
			}
			e.Traffic.Analysis = &model.Analysis{MaxErrorRate: 1, MinRequests: 20}
		}
		for _, p := range d.Pools {
			p.Traffic = d.Environments[p.Env].Traffic.Clone()
		}
		live := genLive(t, d)
		p, err := planner.Make(d, live, planner.Options{Now: now, ImageKeep: -1})
		if err != nil {
			t.Fatalf("Make: %v", err)
		}
		inconclusive := rapid.Bool().Draw(t, "inconclusive")
		clouds, mems := seedClouds(d, live)
		for _, mem := range mems {
			mem.ScriptTraffic(func(pl cloud.Pool, since, _ time.Time) cloud.TrafficFigures {
				if inconclusive {
					return cloud.TrafficFigures{Since: since, Requests: 3}
				}
				return cloud.TrafficFigures{Since: since, Requests: 100, Failures: 30}
			})
		}
		ex := &executor.Executor{Clouds: clouds, Desired: d, Live: live,
			Retry: executor.Retry{Attempts: 2, Base: time.Millisecond, Max: time.Millisecond}}
		rep, err := ex.Apply(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		after, err := clouds.Observe(context.Background(), d.Project)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Steps {
			if s.Kind != planner.Swap || s.Watch == nil {
				continue
			}
			o := rep.Result.Outcomes[s.ID]
			if o.Status == executor.Skipped || o.Status == executor.NotStarted {
				continue
			}
			if o.Status != executor.Failed || !strings.Contains(o.Err.Error(), "rejected by release analysis") {
				t.Fatalf("%s under failing figures: %v %v\n%s", s.ID, o.Status, o.Err, dump(p))
			}
			checkWayBack(t, s, after)
			checked++
		}
	})
	if checked == 0 {
		t.Fatal("no watched swap failed in any case: the property was never exercised")
	}
	t.Logf("%d failed watches checked", checked)
}

// checkWayBack asserts the state after a watched swap s failed.
func checkWayBack(t *rapid.T, s planner.Step, after *cloud.Live) {
	prev := map[string]bool{}
	for _, b := range s.From {
		if b.Pool != s.Pool && b.Weight > 0 {
			prev[b.Pool] = true
		}
	}
	sum := 0
	for _, e := range after.Endpoints {
		if e.Cloud != s.Cloud || e.Env != s.Env || e.Role != s.Role {
			continue
		}
		for _, b := range e.Backends {
			if b.Weight > 0 && !prev[b.Pool] {
				t.Fatalf("after a failed watch %s/%s routes %d%% to %s, not a pool it left (%v)", s.Env, s.Role, b.Weight, b.Pool, s.From)
			}
			sum += b.Weight
		}
	}
	if sum != 100 {
		t.Fatalf("after a failed watch %s/%s routes %d%% in all", s.Env, s.Role, sum)
	}
	for _, x := range after.Pools {
		if x.Cloud != s.Cloud {
			continue
		}
		if prev[x.ID] && x.State != cloud.PoolReady {
			t.Fatalf("previous pool %s is %s after a failed watch: the way back needs it warm", x.ID, x.State)
		}
		delete(prev, x.ID)
		if x.ID == s.Pool && x.Rejected == "" {
			t.Fatalf("pool %s failed its watch but is not rejected", x.ID)
		}
	}
	if len(prev) > 0 {
		t.Fatalf("previous pools %v were pruned before the watch passed", prev)
	}
}
