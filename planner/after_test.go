package planner_test

import (
	"slices"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
)

// chain is a <- b <- c, each with roles web and api on image web.
func chain() *plantest.Spec {
	s := plantest.NewSpec("chain").Image("base", "", "os").Image("web", "base", "app")
	s.Env("a").Env("b", plantest.After("a")).Env("c", plantest.After("b"))
	for _, e := range []string{"a", "b", "c"} {
		s.Role(e, "web", "web", 1).Role(e, "api", "web", 1, "MODE=api")
	}
	return s
}

func createID(p *planner.Plan, env, role string) string {
	for _, s := range p.Steps {
		if s.Kind == planner.Create && s.Env == env && s.Role == role {
			return s.ID
		}
	}
	return "no create for " + env + "/" + role
}

func TestAfterPassesThroughAnEnvironmentWithoutSwaps(t *testing.T) {
	d := chain().Desired()
	// a and c lose their pools; b keeps serving what the spec asks.
	live := onlyEnv(plantest.Deployed(d, now.Add(-day)), "b")
	p := mustPlan(t, d, live, planner.Options{})
	for _, role := range []string{"api", "web"} {
		wantAfter(t, p, "swap:c/"+role, createID(p, "c", role), "swap:a/api", "swap:a/web")
		wantAfter(t, p, "swap:a/"+role, createID(p, "a", role))
	}
}

func TestAfterChainWithSwapsEverywhereListsOnlyDirectEdges(t *testing.T) {
	p := mustPlan(t, chain().Desired(), &cloud.Live{}, planner.Options{})
	for _, role := range []string{"api", "web"} {
		wantAfter(t, p, "swap:a/"+role, createID(p, "a", role))
		wantAfter(t, p, "swap:b/"+role, createID(p, "b", role), "swap:a/api", "swap:a/web")
		wantAfter(t, p, "swap:c/"+role, createID(p, "c", role), "swap:b/api", "swap:b/web")
	}
}

func TestAfterDropsAnEnvironmentAnotherListedOneAlreadyWaitsFor(t *testing.T) {
	// c after [a, b] and b after a: c's swaps wait for b's, which wait for
	// a's. Without b's swaps, c waits for a's directly (once).
	d := chain().Env("c", plantest.After("a", "b")).Desired()
	p := mustPlan(t, d, &cloud.Live{}, planner.Options{})
	wantAfter(t, p, "swap:c/web", createID(p, "c", "web"), "swap:b/api", "swap:b/web")

	live := onlyEnv(plantest.Deployed(d, now.Add(-day)), "b")
	p = mustPlan(t, d, live, planner.Options{})
	wantAfter(t, p, "swap:c/web", createID(p, "c", "web"), "swap:a/api", "swap:a/web")
}

// onlyEnv keeps the pools and endpoints of one environment in live.
func onlyEnv(live *cloud.Live, env string) *cloud.Live {
	live.Pools = slices.DeleteFunc(live.Pools, func(p cloud.Pool) bool { return p.Env != env })
	live.Endpoints = slices.DeleteFunc(live.Endpoints, func(e cloud.Endpoint) bool { return e.Env != env })
	return live
}
