package planner_test

import (
	"strings"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
)

// TestAServingPoolWithAllItsServersButFailingHealthIsReplaced: every
// server runs but the health check fails; the pool is not short, only
// unhealthy, and that alone makes it drift to replace.
func TestAServingPoolWithAllItsServersButFailingHealthIsReplaced(t *testing.T) {
	d := shop().Desired()
	pr := pool(d, "prod", "web")
	gen1, gen2 := cloud.PoolID("prod", "web", pr.Key, 1), cloud.PoolID("prod", "web", pr.Key, 2)
	live := plantest.Deployed(d, now.Add(-day))
	livePool(live, gen1).Healthy = false // Servers stays at Count
	p := mustPlan(t, d, live, planner.Options{Envs: []string{"prod"}})
	wantIDs(t, p, "create:"+gen2, "swap:prod/web", "prune:"+gen1)
	wantReason(t, p, "create:"+gen2, "serving pool unhealthy: 2/2 servers")
}

// TestAnUnhealthyRetainedPoolIsNoRollbackTarget: a retained pool of the
// spec's key whose servers all run but fail their health check is not
// swapped to (rule 2 wants a healthy one): a new generation is made and
// the sick pool is pruned.
func TestAnUnhealthyRetainedPoolIsNoRollbackTarget(t *testing.T) {
	d := shop().Desired() // the spec reverted to this
	newer := shop().Image("web", "base", "install web v2").Desired()
	live := plantest.Deployed(newer, now.Add(-20*day))
	old := plantest.PoolFor(pool(d, "prod", "web"), 1, now.Add(-10*day))
	old.LastServed = now.Add(-2 * day)
	old.Healthy = false // every server runs; none passes its health check
	live.Pools = append(live.Pools, old)
	live.Images = append(live.Images, plantest.ImageFor(d, "memory", "web", now.Add(-15*day)))
	p := mustPlan(t, d, live, planner.Options{Envs: []string{"prod"}})
	sw := step(t, p, "swap:prod/web")
	if sw.Pool == old.ID || sw.Rollback {
		t.Fatalf("swap %+v: want no rollback onto the unhealthy pool %s\n%s", sw, old.ID, dump(p))
	}
	gen2 := cloud.PoolID("prod", "web", pool(d, "prod", "web").Key, 2)
	if sw.Pool != gen2 || !strings.Contains(dump(p), "create:"+gen2) {
		t.Fatalf("want a new generation %s created and swapped to:\n%s", gen2, dump(p))
	}
	step(t, p, "prune:"+old.ID) // a sick pool that serves nothing goes at once
}
