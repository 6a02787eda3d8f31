package planner_test

import (
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
)

// TestDecideReadsThePlan: each decision is what the plan's steps do for
// the (environment, role): a retained pool with the key is an instant
// rollback only when the plan swaps to it at once; a pool the plan will
// not reuse (drift, past maxAge, unhealthy, short) means a build, though
// its key matches.
func TestDecideReadsThePlan(t *testing.T) {
	spec := func() *plantest.Spec {
		return plantest.NewSpec("shop").Image("web", "", "install web").
			Env("prod", plantest.MaxAge(30*day)).Role("prod", "web", "web", 2)
	}
	for _, tc := range []struct {
		name    string
		canary  bool
		edit    func(*cloud.Pool) // the retained pool with the desired key; nil: none
		verdict planner.Verdict
		instant bool
	}{
		{name: "retained, served", edit: func(*cloud.Pool) {}, verdict: planner.Reuse, instant: true},
		{name: "retained cold", edit: func(p *cloud.Pool) { p.State, p.Healthy, p.Servers = cloud.PoolCold, false, 0 }, verdict: planner.Reuse, instant: true},
		{name: "drift", edit: func(p *cloud.Pool) { p.Drift = true }, verdict: planner.Build},
		{name: "past maxAge", edit: func(p *cloud.Pool) { p.CreatedAt = now.Add(-40 * day) }, verdict: planner.Build},
		{name: "unhealthy", edit: func(p *cloud.Pool) { p.Healthy = false }, verdict: planner.Build},
		{name: "short", edit: func(p *cloud.Pool) { p.Servers = 1 }, verdict: planner.Build},
		{name: "failed", edit: func(p *cloud.Pool) { p.State, p.Healthy = cloud.PoolFailed, false }, verdict: planner.Build},
		{name: "never served, canary", canary: true, edit: func(p *cloud.Pool) { p.LastServed, p.Released = time.Time{}, time.Time{} }, verdict: planner.Reuse},
		{name: "gone", verdict: planner.Build},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := spec()
			if tc.canary {
				s = s.Env("prod", plantest.MaxAge(30*day), plantest.Canary(25, 100))
			}
			d := s.Desired()
			newer := s.Image("web", "", "install web v2").Desired()
			live := plantest.Deployed(newer, now.Add(-day))
			live.Images = append(live.Images, plantest.ImageFor(d, "memory", "web", now.Add(-10*day)))
			if tc.edit != nil {
				old := plantest.PoolFor(pool(d, "prod", "web"), 1, now.Add(-5*day))
				old.LastServed, old.Released = now.Add(-2*day), now.Add(-5*day)
				tc.edit(&old)
				live.Pools = append(live.Pools, old)
			}
			p := mustPlan(t, d, live, planner.Options{})
			got, err := planner.Decide(d, live, planner.Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 {
				t.Fatalf("decisions %+v", got)
			}
			dc := got[0]
			if dc.Env != "prod" || dc.Role != "web" || dc.Verdict != tc.verdict || dc.Instant != tc.instant {
				t.Fatalf("decision %+v, want %s instant=%v; plan:\n%s", dc, tc.verdict, tc.instant, dump(p))
			}
			kind := planner.Create
			if dc.Verdict == planner.Reuse {
				kind = planner.Swap
			}
			var decisive *planner.Step
			for i := range p.Steps {
				if p.Steps[i].Kind == kind {
					decisive = &p.Steps[i]
				}
			}
			if decisive == nil || dc.Pool != decisive.Pool || dc.Reason != decisive.Reason {
				t.Errorf("decision %+v does not match the plan's %s step:\n%s", dc, kind, dump(p))
			}
		})
	}
}

// TestDecideKeepNamesTheServingPool: with nothing to do the decision is
// Keep, on the pool that serves.
func TestDecideKeepNamesTheServingPool(t *testing.T) {
	d := shop().Desired()
	live := plantest.Deployed(d, now.Add(-day))
	got, err := planner.Decide(d, live, planner.Options{Now: now, Envs: []string{"prod"}})
	if err != nil {
		t.Fatal(err)
	}
	want := cloud.PoolID("prod", "web", pool(d, "prod", "web").Key, 1)
	if len(got) != 1 || got[0].Verdict != planner.Keep || got[0].Pool != want || got[0].Reason != "" {
		t.Fatalf("decisions %+v, want keep %s", got, want)
	}
}

// A release rejected by release analysis is held: the decision says so,
// with the hold's reason, and names the pool that keeps serving. A move
// of the endpoint alone is one swap of the serving pool: instant.
func TestDecideHeldAndMoved(t *testing.T) {
	old := shop().Desired()
	d := shop().Image("web", "base", "install web v2").Desired()
	live := plantest.Deployed(old, now.Add(-day))
	servingID := cloud.PoolID("prod", "web", pool(old, "prod", "web").Key, 1)
	rejected := plantest.PoolFor(pool(d, "prod", "web"), 1, now.Add(-time.Hour))
	rejected.LastServed, rejected.Rejected, rejected.RejectedAt = now.Add(-time.Hour), "watch 1: 5xx 30% of 200 requests > 1%", now.Add(-time.Hour)
	live.Pools = append(live.Pools, rejected)
	live.Images = append(live.Images, plantest.ImageFor(d, "memory", "web", now.Add(-day)))
	got, err := planner.Decide(d, live, planner.Options{Now: now, Envs: []string{"prod"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Verdict != planner.Held || got[0].Pool != servingID || !strings.Contains(got[0].Reason, "rejected by release analysis") {
		t.Fatalf("decisions %+v, want held, %s serving", got, servingID)
	}

	live = plantest.Deployed(old, now.Add(-day))
	endpoint(live, "prod", "web").Address = "old.prod.example:80"
	got, err = planner.Decide(old, live, planner.Options{Now: now, Envs: []string{"prod"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Verdict != planner.Reuse || got[0].Pool != servingID || !got[0].Instant {
		t.Fatalf("decisions %+v, want an instant swap of %s to the new address", got, servingID)
	}
}

// A held endpoint whose address the spec moved still moves: its serving
// pool at the new address, and nothing else (rule 7 with rule 8).
func TestHeldEndpointStillMoves(t *testing.T) {
	old := shop().Desired()
	d := shop().Image("web", "base", "install web v2").Desired()
	live := plantest.Deployed(old, now.Add(-day))
	endpoint(live, "prod", "web").Address = "old.prod.example:80"
	rejected := plantest.PoolFor(pool(d, "prod", "web"), 1, now.Add(-time.Hour))
	rejected.Rejected = "watch 1: 5xx 30% of 200 requests > 1%"
	live.Pools = append(live.Pools, rejected)
	live.Images = append(live.Images, plantest.ImageFor(d, "memory", "web", now.Add(-day)))
	p := mustPlan(t, d, live, planner.Options{Now: now, Envs: []string{"prod"}})
	wantIDs(t, p, "swap:prod/web")
	sw := step(t, p, "swap:prod/web")
	if sw.Pool != cloud.PoolID("prod", "web", pool(old, "prod", "web").Key, 1) || sw.MoveFrom != "old.prod.example:80" || !sw.Destructive {
		t.Fatalf("swap %+v: want the serving pool moved to the new address", sw)
	}
	if p.Endpoints[0].Held == "" {
		t.Errorf("the endpoint is not held: %+v", p.Endpoints[0])
	}
}
