package history

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
)

func TestMarkLive(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	specs := make([]*model.Desired, 4)
	for v := range specs {
		specs[v] = plantest.NewSpec("shop").Image("web", "", "install web").Env("prod").
			Role("prod", "web", "web", 1, fmt.Sprintf("VERSION=%d", v)).Desired()
	}
	key := func(v int) string { return specs[v].Pools[0].Key }
	h := &History{Env: "prod"}
	for v := 3; v >= 0; v-- {
		h.Changes = append(h.Changes, Change{Commit: fmt.Sprintf("c%d", v), Roles: []Role{{Role: "web", Key: key(v), Changed: true}}})
	}
	pool := func(v, gen int, edit func(*cloud.Pool)) cloud.Pool {
		p := plantest.PoolFor(specs[v].Pools[0], gen, now.Add(-time.Duration(10-v)*24*time.Hour))
		p.Commit, p.LastServed, p.Released = "c1", p.CreatedAt.Add(time.Hour), p.CreatedAt.Add(time.Minute)
		edit(&p)
		return p
	}
	unchanged := func(*cloud.Pool) {}
	live := plantest.Deployed(specs[3], now.Add(-20*24*time.Hour))
	live.Pools = append(live.Pools,
		pool(2, 1, func(p *cloud.Pool) { p.State, p.Healthy, p.Servers = cloud.PoolCold, false, 0 }),
		pool(1, 1, func(p *cloud.Pool) { p.State, p.Healthy = cloud.PoolFailed, false }),
		pool(1, 2, unchanged),
		pool(0, 1, func(p *cloud.Pool) { p.Drift = true }),
	)
	live.Pools[0].Commit = "c1"
	markLive(h, []*model.Desired{specs[3], specs[2], specs[1], specs[0]}, live, planner.Options{ImageKeep: -1}, now)
	want := []string{
		"current serving " + cloud.PoolID("prod", "web", key(3), 1),
		"swap retained (cold) " + cloud.PoolID("prod", "web", key(2), 1),
		"swap retained (warm) " + cloud.PoolID("prod", "web", key(1), 2),
		"rebuild retained (warm) " + cloud.PoolID("prod", "web", key(0), 1),
	}
	for i, c := range h.Changes {
		if got := c.Back + " " + c.Roles[0].State + " " + c.Roles[0].Pool; got != want[i] {
			t.Errorf("%s: %q, want %q", c.Commit, got, want[i])
		}
	}
	if h.Changes[0].Roles[0].MadeAt != "c1" || h.Changes[2].Roles[0].MadeAt != "" {
		t.Errorf("made-at: %+v", h.Changes)
	}
	if p := h.Changes[3].Roles[0].Plan; !strings.Contains(p, "drift") {
		t.Errorf("the rebuild of a drifted pool says why: %q", p)
	}
}

// A commit whose pool release analysis rejected is held, as the planner
// decides: going back to it changes nothing, and the role shows the
// rejected pool and why.
func TestMarkLiveHeld(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	specs := make([]*model.Desired, 2)
	for v := range specs {
		specs[v] = plantest.NewSpec("shop").Image("web", "", "install web").Env("prod").
			Role("prod", "web", "web", 1, fmt.Sprintf("VERSION=%d", v)).Desired()
	}
	h := &History{Env: "prod", Changes: []Change{{Commit: "c1", Roles: []Role{{Role: "web", Key: specs[1].Pools[0].Key, Changed: true}}}}}
	live := plantest.Deployed(specs[0], now.Add(-48*time.Hour))
	bad := plantest.PoolFor(specs[1].Pools[0], 1, now.Add(-time.Hour))
	bad.Rejected, bad.RejectedAt = "watch 1: 5xx 30% of 200 requests > 1%", now.Add(-time.Hour)
	live.Pools = append(live.Pools, bad)
	markLive(h, []*model.Desired{specs[1]}, live, planner.Options{ImageKeep: -1}, now)
	r := h.Changes[0].Roles[0]
	if h.Changes[0].Back != "held" || r.State != "rejected" || r.Pool != bad.ID || !strings.Contains(r.Plan, "rejected by release analysis") {
		t.Fatalf("back %q, role %+v: want held, the rejected pool and why", h.Changes[0].Back, r)
	}
}
