package planner_test

import (
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
)

// TestExplainPutsTheSpecChangeInTheSteps: Options.Explain's answer is the
// reason of a create (its swap then names only the canary steps), is
// added to a rollback swap's reason, and leaves steps alone when empty;
// it is not asked where nothing changes.
func TestExplainPutsTheSpecChangeInTheSteps(t *testing.T) {
	const moved = `config VERSION "1" → "2"`
	asked := map[string]int{}
	explain := func(env, role string) string {
		asked[env+"/"+role]++
		if env == "prod" {
			return moved
		}
		return ""
	}

	// A change in both environments: prod is explained, staging is not.
	d := shop().Env("prod", plantest.After("staging"), plantest.Canary(25, 100)).Image("web", "base", "install web v2").Desired()
	live := plantest.Deployed(shop().Desired(), now.Add(-day))
	p := mustPlan(t, d, live, planner.Options{Explain: explain})
	prID := cloud.PoolID("prod", "web", pool(d, "prod", "web").Key, 1)
	stID := cloud.PoolID("staging", "web", pool(d, "staging", "web").Key, 1)
	wantReason(t, p, "create:"+prID, moved)
	wantReason(t, p, "swap:prod/web", "canary 25% → 100%")
	plain := mustPlan(t, d, live, planner.Options{})
	wantReason(t, p, "create:"+stID, step(t, plain, "create:"+stID).Reason)
	wantReason(t, p, "swap:staging/web", step(t, plain, "swap:staging/web").Reason)

	// A revert to the retained pools: the rollback says what it undoes.
	back := shop().Desired()
	live = plantest.Deployed(d, now.Add(-5*day))
	for _, dp := range back.Pools {
		old := plantest.PoolFor(dp, 1, now.Add(-3*day))
		old.LastServed, old.Released = now.Add(-2*day), now.Add(-3*day)
		live.Pools = append(live.Pools, old)
	}
	live.Images = append(live.Images, plantest.ImageFor(back, "memory", "web", now.Add(-4*day)))
	p = mustPlan(t, back, live, planner.Options{Explain: explain})
	plain = mustPlan(t, back, live, planner.Options{})
	if sw := step(t, plain, "swap:prod/web"); sw.Rollback {
		wantReason(t, p, "swap:prod/web", sw.Reason+"; "+moved)
	} else {
		t.Fatalf("the revert is no rollback:\n%s", dump(plain))
	}

	// Nothing to do: nothing to explain.
	clear(asked)
	mustPlan(t, back, plantest.Deployed(back, now.Add(-day)), planner.Options{Explain: explain})
	if len(asked) != 0 {
		t.Errorf("Explain asked for %v with no change", asked)
	}
}

// An explained release that also moves its endpoint still says the move:
// the reason a person reviews must not hide that an address stops serving.
func TestExplainKeepsTheMove(t *testing.T) {
	d := shop().Image("web", "base", "install web v2").Desired()
	live := plantest.Deployed(shop().Desired(), now.Add(-day))
	endpoint(live, "prod", "web").Address = "old.prod.example:80"
	p := mustPlan(t, d, live, planner.Options{Explain: func(env, role string) string { return `config VERSION "1" → "2"` }})
	wantReason(t, p, "swap:prod/web", "endpoint old.prod.example:80 → "+pool(d, "prod", "web").Endpoint)
	if sw := step(t, p, "swap:prod/web"); sw.MoveFrom != "old.prod.example:80" || !sw.Destructive {
		t.Errorf("swap %+v: want a destructive move", sw)
	}
}
