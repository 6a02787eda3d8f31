package planner_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
)

func TestFirstDeployBakesParentFirstCreatesAndSwaps(t *testing.T) {
	d := shop().Desired()
	p := mustPlan(t, d, &cloud.Live{}, planner.Options{})
	base, web := d.Images["base"], d.Images["web"]
	bakeBase := "bake:memory:base:" + b12(base.BuildID)
	bakeWeb := "bake:memory:web:" + b12(web.BuildID)
	st, pr := pool(d, "staging", "web"), pool(d, "prod", "web")
	stID, prID := cloud.PoolID("staging", "web", st.Key, 1), cloud.PoolID("prod", "web", pr.Key, 1)
	wantIDs(t, p, bakeBase, bakeWeb, "create:"+stID, "create:"+prID, "swap:staging/web", "swap:prod/web")
	// One bake per (cloud, build id), however many pools use it.
	wantAfter(t, p, bakeBase)
	wantAfter(t, p, bakeWeb, bakeBase)
	wantAfter(t, p, "create:"+stID, bakeWeb)
	wantAfter(t, p, "create:"+prID, bakeWeb)
	wantAfter(t, p, "swap:staging/web", "create:"+stID)
	wantAfter(t, p, "swap:prod/web", "create:"+prID, "swap:staging/web")
	wantReason(t, p, bakeBase, "image base: not baked yet")
	wantReason(t, p, "create:"+prID, "first deploy")
	wantReason(t, p, "swap:prod/web", "put new pool "+cloud.ShortPool("web", pr.Key, 1)+" in service")
	s := step(t, p, "create:"+prID)
	if s.Generation != 1 || s.Pool != prID || s.Key != pr.Key || s.BuildID != web.BuildID || s.Image != "web" || s.Env != "prod" || s.Cloud != "memory" {
		t.Errorf("create step fields: %+v", s)
	}
	sw := step(t, p, "swap:prod/web")
	if sw.Pool != prID || sw.Endpoint != pr.Endpoint || len(sw.From) != 0 || sw.Rollback {
		t.Errorf("swap step fields: %+v", sw)
	}
	if got := p.Summary(); got != (planner.Summary{Bake: 2, Create: 2, Swap: 2}) {
		t.Errorf("summary %+v", got)
	}
	if !slices.Equal(p.Envs, []string{"prod", "staging"}) || len(p.Endpoints) != 2 || p.Project != "shop" || !p.Now.Equal(now) {
		t.Errorf("plan header: envs %v endpoints %v", p.Envs, p.Endpoints)
	}
	// Bakes first, then staging before prod (after), each create before its swap.
	if got := ids(p); got[0] != bakeBase || got[1] != bakeWeb || !strings.HasPrefix(got[2], "create:staging") {
		t.Errorf("order %v", got)
	}
}

func TestNoChangeIsAnEmptyPlan(t *testing.T) {
	d := shop().Desired()
	live := plantest.Deployed(d, now.Add(-day))
	p := mustPlan(t, d, live, planner.Options{})
	if !p.Empty() {
		t.Fatalf("want empty plan, got\n%s", dump(p))
	}
	if len(p.Endpoints) != 2 || p.Endpoints[0].Env != "prod" || len(p.Endpoints[0].Serving) != 1 || p.Endpoints[0].Address == "" {
		t.Errorf("endpoints %+v", p.Endpoints)
	}
}

func TestSpecChangeBakesOnlyTheChangedLayer(t *testing.T) {
	old := shop().Desired()
	live := plantest.Deployed(old, now.Add(-day))
	d := shop().Image("web", "base", "install web", "configure web").Desired()
	p := mustPlan(t, d, live, planner.Options{})
	web := d.Images["web"]
	bakeWeb := "bake:memory:web:" + b12(web.BuildID)
	pr := pool(d, "prod", "web")
	prID := cloud.PoolID("prod", "web", pr.Key, 1)
	oldPr := pool(old, "prod", "web")
	if !slices.Contains(ids(p), bakeWeb) || slices.ContainsFunc(ids(p), func(s string) bool { return strings.HasPrefix(s, "bake:memory:base") }) {
		t.Fatalf("want a bake of web only:\n%s", dump(p))
	}
	wantReason(t, p, bakeWeb, "image web: inputs changed (live build "+old.Images["web"].BuildID[:8]+")")
	wantReason(t, p, "create:"+prID, "no pool matches the spec (serving "+cloud.ShortPool("web", oldPr.Key, 1)+")")
	sw := step(t, p, "swap:prod/web")
	if len(sw.From) != 1 || sw.From[0].Pool != cloud.PoolID("prod", "web", oldPr.Key, 1) {
		t.Errorf("swap From %+v", sw.From)
	}
	// The old pool is retained (keep 2), warm (warm 1): no prune, nothing cooled.
	if p.Summary().Prune != 0 || len(sw.Cool) != 0 {
		t.Errorf("want old pools retained warm:\n%s cool=%v", dump(p), sw.Cool)
	}
}

func TestRollbackIsASwapToTheRetainedPool(t *testing.T) {
	for _, tc := range []struct {
		state cloud.PoolState
		word  string
	}{{cloud.PoolReady, "warm"}, {cloud.PoolCold, "cold"}} {
		t.Run(tc.word, func(t *testing.T) {
			d := shop().Desired() // the spec reverted to this
			newer := shop().Image("web", "base", "install web v2").Desired()
			live := plantest.Deployed(newer, now.Add(-20*day))
			// What the older spec made, two generations, both retained.
			for gen := 1; gen <= 2; gen++ {
				old := plantest.PoolFor(pool(d, "prod", "web"), gen, now.Add(-10*day))
				old.LastServed = now.Add(-2 * day)
				old.Released = now.Add(-3 * day)
				if tc.state == cloud.PoolCold {
					old.State, old.Healthy, old.Servers = cloud.PoolCold, false, 0
				}
				live.Pools = append(live.Pools, old)
			}
			live.Images = append(live.Images, plantest.ImageFor(d, "memory", "web", now.Add(-15*day)))
			p := mustPlan(t, d, live, planner.Options{Envs: []string{"prod"}})
			wantIDs(t, p, "swap:prod/web")
			pr := pool(d, "prod", "web")
			sw := step(t, p, "swap:prod/web")
			if !sw.Rollback || sw.Pool != cloud.PoolID("prod", "web", pr.Key, 2) || sw.Generation != 2 {
				t.Errorf("swap %+v", sw)
			}
			wantReason(t, p, "swap:prod/web", "rollback: retained pool "+cloud.ShortPool("web", pr.Key, 2)+" matches the spec ("+tc.word+")")
			if !p.Endpoints[0].Rollback || !slices.Equal(p.Envs, []string{"prod"}) {
				t.Errorf("summary %+v envs %v", p.Endpoints, p.Envs)
			}
		})
	}
}

func TestServingPoolReplacedByANewGeneration(t *testing.T) {
	d := shop().Env("prod", plantest.After("staging"), plantest.MaxAge(7*day)).Desired()
	pr := pool(d, "prod", "web")
	gen1 := cloud.PoolID("prod", "web", pr.Key, 1)
	for _, tc := range []struct {
		name   string
		edit   func(*cloud.Pool)
		reason string
	}{
		{"too old", func(p *cloud.Pool) { p.CreatedAt = now.Add(-8 * day) }, "serving pool older than maxAge 7d"},
		{"unhealthy", func(p *cloud.Pool) { p.Healthy, p.Servers = false, 1 }, "serving pool unhealthy: 1/2 servers"},
		{"short", func(p *cloud.Pool) { p.Servers = 1 }, "serving pool short: 1/2 servers"},
		{"drift", func(p *cloud.Pool) { p.Drift = true }, "drift: servers do not match their image"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			live := plantest.Deployed(d, now.Add(-day))
			tc.edit(livePool(live, gen1))
			p := mustPlan(t, d, live, planner.Options{})
			gen2 := cloud.PoolID("prod", "web", pr.Key, 2)
			// The unfit pool goes after the swap; no bake (the image is fine).
			wantIDs(t, p, "create:"+gen2, "swap:prod/web", "prune:"+gen1)
			wantReason(t, p, "create:"+gen2, tc.reason)
			wantAfter(t, p, "prune:"+gen1, "swap:prod/web")
			if s := step(t, p, "create:"+gen2); s.Generation != 2 || s.Key != pr.Key {
				t.Errorf("create %+v", s)
			}
		})
	}
}

func TestImagePastMaxAgeRebakesItsDescendantsAndPools(t *testing.T) {
	d := shop().ImageMaxAge("base", 30*day).Desired()
	live := plantest.Deployed(d, now.Add(-31*day))
	for i := range live.Pools { // pools younger than the images
		live.Pools[i].CreatedAt = now.Add(-day)
	}
	p := mustPlan(t, d, live, planner.Options{})
	base, web := d.Images["base"], d.Images["web"]
	bakeBase := "bake:memory:base:" + b12(base.BuildID)
	bakeWeb := "bake:memory:web:" + b12(web.BuildID)
	wantReason(t, p, bakeBase, "image base: older than maxAge 30d")
	wantReason(t, p, bakeWeb, "image web: parent base is rebaked")
	if !step(t, p, bakeBase).Replace || !step(t, p, bakeWeb).Replace {
		t.Errorf("a rebake of an existing build id must be marked Replace")
	}
	pr := pool(d, "prod", "web")
	gen2 := cloud.PoolID("prod", "web", pr.Key, 2)
	wantReason(t, p, "create:"+gen2, "image web is rebaked")
	wantAfter(t, p, "create:"+gen2, bakeWeb)
	// The old generation was built on the old bake: it cannot be a rollback.
	wantReason(t, p, "prune:"+cloud.PoolID("prod", "web", pr.Key, 1), "image web is rebaked")

	// After the rebake: a child baked before its parent's new bake is rebaked too.
	live2 := plantest.Deployed(d, now.Add(-day))
	for i := range live2.Images {
		if live2.Images[i].Name == "base" {
			live2.Images[i].CreatedAt = now.Add(-day / 2)
		}
	}
	for i := range live2.Pools {
		live2.Pools[i].CreatedAt = now
	}
	p2 := mustPlan(t, d, live2, planner.Options{})
	wantReason(t, p2, bakeWeb, "image web: parent base was rebaked after it")
	if slices.Contains(ids(p2), bakeBase) {
		t.Errorf("base is current, must not be baked:\n%s", dump(p2))
	}
}

func TestMissingParentIsRebakedWithItsChildren(t *testing.T) {
	// A parent a live image was baked on is gone (deleted by hand): baking it
	// again makes the child older than its parent, so the child is rebaked
	// in the same plan rather than in the next one.
	d := shop().Desired()
	live := plantest.Deployed(d, now.Add(-day))
	live.Images = slices.DeleteFunc(live.Images, func(im cloud.Image) bool { return im.Name == "base" })
	p := mustPlan(t, d, live, planner.Options{})
	bakeBase := "bake:memory:base:" + b12(d.Images["base"].BuildID)
	bakeWeb := "bake:memory:web:" + b12(d.Images["web"].BuildID)
	wantReason(t, p, bakeWeb, "image web: parent base is missing")
	wantAfter(t, p, bakeWeb, bakeBase)
	if step(t, p, bakeBase).Replace || !step(t, p, bakeWeb).Replace {
		t.Errorf("only web exists and is replaced")
	}
}

func TestRetentionPrunesFailedFirstThenOldestServed(t *testing.T) {
	d := shop().Env("prod", plantest.Keep(2, 1)).Desired()
	pr := pool(d, "prod", "web")
	live := plantest.Deployed(d, now.Add(-30*day))
	live.Pools = slices.DeleteFunc(live.Pools, func(p cloud.Pool) bool { return p.Env == "prod" })
	*endpoint(live, "prod", "web") = cloud.Endpoint{Cloud: "memory", Env: "prod", Role: "web", Address: pr.Endpoint,
		Backends: []cloud.Backend{{Pool: "prod.web.aaaaaaaa.1", Weight: 100}}}
	mk := func(key string, served int, state cloud.PoolState) string {
		p := plantest.PoolFor(pr, 1, now.Add(-20*day))
		p.Key, p.ID, p.State = key, cloud.PoolID("prod", "web", key, 1), state
		if served > 0 {
			p.LastServed = now.Add(-time.Duration(served) * day)
		}
		if state == cloud.PoolFailed {
			p.Healthy, p.Servers, p.Reason = false, 0, "smoke /health: 500"
		}
		live.Pools = append(live.Pools, p)
		return p.ID
	}
	serving := mk("aaaaaaaa", 1, cloud.PoolReady)
	r1 := mk("bbbbbbbb", 2, cloud.PoolReady)
	r2 := mk("cccccccc", 3, cloud.PoolCold)
	r3 := mk("dddddddd", 4, cloud.PoolReady)
	failed := mk("eeeeeeee", 0, cloud.PoolFailed)
	creating := mk("ffffffff", 0, cloud.PoolCreating)
	p := mustPlan(t, d, live, planner.Options{Envs: []string{"prod"}})
	gen1 := cloud.PoolID("prod", "web", pr.Key, 1)
	// After the swap, the old serving pool is the newest served: kept warm.
	// r1 is kept but goes cold; r2 (already cold), r3 are past retention.
	wantIDs(t, p, "create:"+gen1, "swap:prod/web", "prune:"+r2, "prune:"+r3, "prune:"+failed, "prune:"+creating)
	sw := step(t, p, "swap:prod/web")
	if !slices.Equal(sw.Cool, []string{r1}) {
		t.Errorf("cool %v, want [%s]", sw.Cool, r1)
	}
	for _, id := range []string{r2, r3} {
		wantAfter(t, p, "prune:"+id, "swap:prod/web")
	}
	// Failed and half-made pools serve nothing and are no rollback: they
	// go at once, so a release whose swap keeps failing does not pile
	// them up.
	for _, id := range []string{failed, creating} {
		wantAfter(t, p, "prune:"+id)
	}
	wantReason(t, p, "prune:"+r3, "past retention (keep 2)")
	wantReason(t, p, "prune:"+failed, "failed: smoke /health: 500")
	wantReason(t, p, "prune:"+creating, "half-made: still creating when an apply stopped")
	if slices.Contains(ids(p), "prune:"+serving) || slices.Contains(ids(p), "prune:"+gen1) {
		t.Errorf("serving or new pool pruned")
	}
}
