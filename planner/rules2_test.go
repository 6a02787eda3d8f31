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

func TestAfterOrdersSwapsAcrossEnvironmentsTransitively(t *testing.T) {
	// qa has no change; prod waits for qa which waits for staging.
	spec := shop().Env("qa", plantest.After("staging")).Env("prod", plantest.After("qa")).
		Role("qa", "web", "web", 1).Role("staging", "api", "web", 1, "MODE=api")
	d0 := spec.Desired()
	live := plantest.Deployed(d0, now.Add(-day))
	live.Pools = slices.DeleteFunc(live.Pools, func(p cloud.Pool) bool { return p.Env != "qa" })
	live.Endpoints = slices.DeleteFunc(live.Endpoints, func(e cloud.Endpoint) bool { return e.Env != "qa" })
	p := mustPlan(t, d0, live, planner.Options{})
	pr := pool(d0, "prod", "web")
	wantAfter(t, p, "swap:prod/web", "create:"+cloud.PoolID("prod", "web", pr.Key, 1), "swap:staging/api", "swap:staging/web")
	if slices.Contains(ids(p), "swap:qa/web") {
		t.Fatalf("qa has no change:\n%s", dump(p))
	}
	// Swaps come in `after` order even though "prod" < "qa" < "staging".
	order := ids(p)
	if slices.Index(order, "swap:staging/web") > slices.Index(order, "swap:prod/web") {
		t.Errorf("order %v", order)
	}
}

func TestAfterCycleAndUnknownEnvironmentAreErrors(t *testing.T) {
	d := shop().Env("staging", plantest.After("prod")).Desired()
	if _, err := planner.Make(d, &cloud.Live{}, planner.Options{Now: now}); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("want a cycle error, got %v", err)
	}
	d = shop().Desired()
	_, err := planner.Make(d, &cloud.Live{}, planner.Options{Now: now, Envs: []string{"prdo"}})
	if err == nil || !strings.Contains(err.Error(), `unknown environment "prdo"`) {
		t.Errorf("want an unknown environment error, got %v", err)
	}
}

func TestCanarySwapWalksWeights(t *testing.T) {
	old := shop().Env("prod", plantest.Canary(10, 50, 100)).Desired()
	d := shop().Env("prod", plantest.Canary(10, 50, 100)).Image("web", "base", "v2").Desired()
	live := plantest.Deployed(old, now.Add(-day))
	p := mustPlan(t, d, live, planner.Options{})
	sw := step(t, p, "swap:prod/web")
	if !slices.Equal(sw.Weights, []int{10, 50, 100}) || len(sw.From) != 1 {
		t.Errorf("canary swap %+v", sw)
	}
	if w := step(t, p, "swap:staging/web").Weights; len(w) != 0 {
		t.Errorf("blue-green swap has weights %v", w)
	}
	// First deploy: nothing to share traffic with, one step.
	p = mustPlan(t, d, &cloud.Live{}, planner.Options{})
	if w := step(t, p, "swap:prod/web").Weights; len(w) != 0 {
		t.Errorf("first deploy canary weights %v", w)
	}
	// A canary cut short (a crash at 10%) is finished from where it stopped.
	newPool := plantest.PoolFor(pool(d, "prod", "web"), 1, now)
	live.Pools = append(live.Pools, newPool)
	live.Images = append(live.Images, plantest.ImageFor(d, "memory", "web", now.Add(-day)))
	ep := endpoint(live, "prod", "web")
	oldID := ep.Backends[0].Pool
	ep.Backends = []cloud.Backend{{Pool: oldID, Weight: 90}, {Pool: newPool.ID, Weight: 10}}
	p = mustPlan(t, d, live, planner.Options{Envs: []string{"prod"}})
	wantIDs(t, p, "swap:prod/web")
	sw = step(t, p, "swap:prod/web")
	if sw.Pool != newPool.ID || !slices.Equal(sw.Weights, []int{50, 100}) || sw.Rollback {
		t.Errorf("finishing swap %+v", sw)
	}
	if !strings.HasPrefix(sw.Reason, "finish canary: ") {
		t.Errorf("reason %q", sw.Reason)
	}
}

// A canary interrupted at its first weight sent traffic back to the old
// pool; the new pool, ready and with the desired key, carried part of the
// traffic but never all of it. It is no rollback target: the re-plan
// reuses it but walks the canary again from its first weight. A pool that
// never served at all (its first swap failed) is put in service the same way.
func TestInterruptedCanaryResumesAsACanary(t *testing.T) {
	old := shop().Env("prod", plantest.Canary(25, 50, 100)).Desired()
	d := shop().Env("prod", plantest.Canary(25, 50, 100)).Image("web", "base", "v2").Desired()
	for _, tc := range []struct {
		name       string
		lastServed time.Time
		reason     string
	}{
		{"interrupted", now.Add(-time.Hour), "resuming an interrupted canary: pool "},
		{"never served", time.Time{}, "put pool "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			live := plantest.Deployed(old, now.Add(-day))
			newPool := plantest.PoolFor(pool(d, "prod", "web"), 1, now.Add(-2*time.Hour))
			newPool.LastServed = tc.lastServed
			live.Pools = append(live.Pools, newPool)
			live.Images = append(live.Images, plantest.ImageFor(d, "memory", "web", now.Add(-day)))
			p := mustPlan(t, d, live, planner.Options{Now: now, Envs: []string{"prod"}})
			wantIDs(t, p, "swap:prod/web")
			sw := step(t, p, "swap:prod/web")
			if sw.Pool != newPool.ID || sw.Rollback || p.Endpoints[0].Rollback || !slices.Equal(sw.Weights, []int{25, 50, 100}) {
				t.Errorf("swap %+v, summary %+v: want a canary 25 → 50 → 100 onto %s, not a rollback", sw, p.Endpoints[0], newPool.ID)
			}
			if !strings.HasPrefix(sw.Reason, tc.reason) {
				t.Errorf("reason %q, want it to start %q", sw.Reason, tc.reason)
			}
			// Once it completed a release, the same pool is a rollback target.
			lp := livePool(live, newPool.ID)
			lp.LastServed, lp.Released = now.Add(-time.Hour), now.Add(-time.Hour)
			p = mustPlan(t, d, live, planner.Options{Now: now, Envs: []string{"prod"}})
			if sw := step(t, p, "swap:prod/web"); !sw.Rollback || len(sw.Weights) != 0 {
				t.Errorf("swap to a released pool %+v: want an instant rollback", sw)
			}
		})
	}
}

func TestNoSwapMeansEveryBackendIsProtected(t *testing.T) {
	d := shop().Env("prod", plantest.Keep(0, 0)).Desired()
	pr := pool(d, "prod", "web")
	live := plantest.Deployed(d, now.Add(-day))
	gen1 := cloud.PoolID("prod", "web", pr.Key, 1)
	other := plantest.PoolFor(pr, 1, now.Add(-day))
	other.Key, other.ID = "0123456789", cloud.PoolID("prod", "web", "0123456789", 1)
	live.Pools = append(live.Pools, other)
	// A zero-weight backend is still registered: leave it alone.
	endpoint(live, "prod", "web").Backends = []cloud.Backend{{Pool: gen1, Weight: 100}, {Pool: other.ID, Weight: 0}}
	p := mustPlan(t, d, live, planner.Options{})
	if !p.Empty() {
		t.Fatalf("want no steps:\n%s", dump(p))
	}
	// Keep 0: once it is no backend at all, it is pruned.
	endpoint(live, "prod", "web").Backends = []cloud.Backend{{Pool: gen1, Weight: 100}}
	p = mustPlan(t, d, live, planner.Options{})
	wantIDs(t, p, "prune:"+other.ID)
	wantAfter(t, p, "prune:"+other.ID)
	wantReason(t, p, "prune:"+other.ID, "past retention (keep 0)")
}

func TestGenerationSkipsTakenIDs(t *testing.T) {
	d := shop().Desired()
	pr := pool(d, "prod", "web")
	live := plantest.Deployed(d, now.Add(-day))
	livePool(live, cloud.PoolID("prod", "web", pr.Key, 1)).Drift = true
	// Another key with the same first 8 hex digits holds generation 2.
	clash := plantest.PoolFor(pr, 2, now.Add(-day))
	clash.Key = pr.Key[:8] + "ffff"
	live.Pools = append(live.Pools, clash)
	p := mustPlan(t, d, live, planner.Options{Envs: []string{"prod"}})
	gen3 := cloud.PoolID("prod", "web", pr.Key, 3)
	if s := step(t, p, "create:"+gen3); s.Generation != 3 {
		t.Errorf("create %+v", s)
	}
}

func TestLeftTheSpecNeedsDestroy(t *testing.T) {
	full := shop().Env("pr-42").Role("pr-42", "web", "web", 1).Role("prod", "api", "web", 1, "MODE=api").Desired()
	live := plantest.Deployed(full, now.Add(-day))
	d := shop().Desired() // pr-42 is gone, so is prod/api

	p := mustPlan(t, d, live, planner.Options{})
	if !p.Empty() {
		t.Fatalf("without --destroy nothing is destroyed:\n%s", dump(p))
	}
	want := []string{
		"role api left environment prod: 1 pool (1 endpoint serving traffic) would be destroyed; plan with --destroy to destroy them",
		"environment pr-42 left the spec: 1 pool (1 endpoint serving traffic) would be destroyed; plan with --destroy to destroy them",
	}
	slices.Sort(want)
	got := slices.Clone(p.Warnings)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("warnings:\n%s", strings.Join(p.Warnings, "\n"))
	}

	p = mustPlan(t, d, live, planner.Options{Destroy: true})
	prID := cloud.PoolID("pr-42", "web", pool(full, "pr-42", "web").Key, 1)
	apiID := cloud.PoolID("prod", "api", pool(full, "prod", "api").Key, 1)
	wantIDs(t, p, "swap:pr-42/web", "prune:"+prID, "swap:prod/api", "prune:"+apiID)
	for _, s := range p.Steps {
		if !s.Destructive {
			t.Errorf("%s is not marked destructive", s.ID)
		}
	}
	sw := step(t, p, "swap:pr-42/web")
	if sw.Pool != "" || len(sw.From) != 1 || sw.From[0].Pool != prID {
		t.Errorf("detach swap %+v", sw)
	}
	wantAfter(t, p, "prune:"+prID, "swap:pr-42/web")
	wantReason(t, p, "prune:"+prID, "environment pr-42 left the spec")
	if !slices.Contains(p.Envs, "pr-42") {
		t.Errorf("envs %v must include pr-42, which has steps", p.Envs)
	}
	// With an environment filter, only that environment is looked at.
	p = mustPlan(t, d, live, planner.Options{Destroy: true, Envs: []string{"staging"}})
	if !p.Empty() {
		t.Errorf("staging has nothing to destroy:\n%s", dump(p))
	}
}

func TestUnusedImagesArePrunedPastRetention(t *testing.T) {
	d := shop().Desired()
	live := plantest.Deployed(d, now.Add(-day))
	// Five old builds of web, each on the live base; the oldest is still used
	// by a retained pool of another key.
	var old []string
	for i := range 5 {
		s := shop().Image("web", "base", "install web", "v"+string(rune('0'+i))).Desired()
		im := plantest.ImageFor(s, "memory", "web", now.Add(-(time.Duration(10-i))*day))
		live.Images = append(live.Images, im)
		old = append(old, im.BuildID)
	}
	retained := plantest.PoolFor(pool(d, "prod", "web"), 1, now.Add(-day))
	retained.Key, retained.ID, retained.BuildID = "77777777aa", "prod.web.77777777.1", old[0]
	live.Pools = append(live.Pools, retained)
	// An unused root image of a name that left the spec.
	live.Images = append(live.Images, cloud.Image{Cloud: "memory", Name: "legacy", BuildID: "legacy0000000000", CreatedAt: now.Add(-90 * day)})

	p := mustPlan(t, d, live, planner.Options{ImageKeep: 2})
	// Used: old[0] (retained pool), desired ones. Unused: old[1..4], keep newest 2 (old[4], old[3]).
	wantIDs(t, p, "prune-image:memory:"+b12(old[1]), "prune-image:memory:"+b12(old[2]))
	p = mustPlan(t, d, live, planner.Options{ImageKeep: 0})
	wantIDs(t, p, "prune-image:memory:"+b12(old[1]), "prune-image:memory:"+b12(old[2]),
		"prune-image:memory:"+b12(old[3]), "prune-image:memory:"+b12(old[4]), "prune-image:memory:legacy000000")
	// Never with an environment filter.
	if p := mustPlan(t, d, live, planner.Options{ImageKeep: 0, Envs: []string{"prod"}}); !p.Empty() {
		t.Errorf("image prunes with a filter:\n%s", dump(p))
	}
	// Once the retained pool goes, its image goes after it.
	live2 := plantest.Deployed(d, now.Add(-day))
	live2.Images = append(live2.Images, plantest.ImageFor(shop().Image("web", "base", "v0").Desired(), "memory", "web", now.Add(-9*day)))
	retained.BuildID = live2.Images[len(live2.Images)-1].BuildID
	retained.State = cloud.PoolFailed
	live2.Pools = append(live2.Pools, retained)
	p = mustPlan(t, d, live2, planner.Options{ImageKeep: 0})
	wantAfter(t, p, "prune-image:memory:"+b12(retained.BuildID), "prune:"+retained.ID)
}

func TestImagePruneKeepsAncestorsAndOrdersChildFirst(t *testing.T) {
	d := shop().Desired()
	live := plantest.Deployed(d, now.Add(-day))
	// An old chain oldbase <- oldweb, both unused: child pruned before parent.
	live.Images = append(live.Images,
		cloud.Image{Cloud: "memory", Name: "oldbase", BuildID: "ob0000000000000", CreatedAt: now.Add(-50 * day)},
		cloud.Image{Cloud: "memory", Name: "oldweb", BuildID: "ow0000000000000", ParentBuildID: "ob0000000000000", CreatedAt: now.Add(-40 * day)},
		// An ancestor of a retained pool's image is kept even if unused itself.
		cloud.Image{Cloud: "memory", Name: "keepbase", BuildID: "kb0000000000000", CreatedAt: now.Add(-50 * day)},
		cloud.Image{Cloud: "memory", Name: "keepweb", BuildID: "kw0000000000000", ParentBuildID: "kb0000000000000", CreatedAt: now.Add(-40 * day)},
	)
	retained := plantest.PoolFor(pool(d, "prod", "web"), 1, now.Add(-day))
	retained.Key, retained.ID, retained.BuildID, retained.Image = "77777777aa", "prod.web.77777777.1", "kw0000000000000", "keepweb"
	live.Pools = append(live.Pools, retained)
	p := mustPlan(t, d, live, planner.Options{ImageKeep: 0})
	wantIDs(t, p, "prune-image:memory:ob0000000000", "prune-image:memory:ow0000000000")
	wantAfter(t, p, "prune-image:memory:ob0000000000", "prune-image:memory:ow0000000000")
}

func TestZeroNowTurnsAgeChecksOff(t *testing.T) {
	d := shop().Env("prod", plantest.MaxAge(day)).ImageMaxAge("base", day).Desired()
	live := plantest.Deployed(d, now.Add(-300*day))
	p, err := planner.Make(d, live, planner.Options{})
	if err != nil || !p.Empty() {
		t.Fatalf("zero Now: err %v\n%s", err, dump(p))
	}
}

func TestPlansAreDeterministic(t *testing.T) {
	d := shop().Env("qa", plantest.After("staging")).Role("qa", "web", "web", 3).Role("qa", "api", "base", 1).Desired()
	a := mustPlan(t, d, &cloud.Live{}, planner.Options{})
	for range 20 {
		b := mustPlan(t, d, &cloud.Live{}, planner.Options{})
		if !slices.Equal(ids(a), ids(b)) {
			t.Fatalf("order changed:\n%v\n%v", ids(a), ids(b))
		}
	}
}

func TestServingColdPoolIsStarted(t *testing.T) {
	d := shop().Desired()
	live := plantest.Deployed(d, now.Add(-day))
	pr := pool(d, "prod", "web")
	p1 := livePool(live, cloud.PoolID("prod", "web", pr.Key, 1))
	p1.State, p1.Healthy, p1.Servers = cloud.PoolCold, false, 0
	p := mustPlan(t, d, live, planner.Options{})
	wantIDs(t, p, "swap:prod/web")
	wantReason(t, p, "swap:prod/web", "serving pool "+cloud.ShortPool("web", pr.Key, 1)+" is cold: start it")
}

func TestEnvironmentMovedToAnotherCloud(t *testing.T) {
	old := shop().Desired()
	live := plantest.Deployed(old, now.Add(-day))
	d := shop().Env("prod", plantest.After("staging"), plantest.Cloud("other")).Desired()
	pr := pool(d, "prod", "web")
	oldID := cloud.PoolID("prod", "web", pool(old, "prod", "web").Key, 1)

	p := mustPlan(t, d, live, planner.Options{Destroy: true})
	// The new cloud bakes its own images; the old cloud is detached and
	// pruned with ids that say which cloud they are in.
	wantIDs(t, p,
		"bake:other:base:"+b12(d.Images["base"].BuildID), "bake:other:web:"+b12(d.Images["web"].BuildID),
		"create:"+cloud.PoolID("prod", "web", pr.Key, 1), "swap:prod/web",
		"swap:prod/web@memory", "prune:"+oldID+"@memory")
	wantReason(t, p, "prune:"+oldID+"@memory", "prod/web moved from cloud memory to other")
	if s := step(t, p, "swap:prod/web@memory"); s.Cloud != "memory" || s.Pool != "" || !s.Destructive {
		t.Errorf("detach %+v", s)
	}
	if s := step(t, p, "swap:prod/web"); s.Cloud != "other" || len(s.From) != 0 {
		t.Errorf("swap %+v", s)
	}
	// Without --destroy the old cloud's pool stays, with a warning.
	p = mustPlan(t, d, live, planner.Options{})
	if len(p.Warnings) != 1 || !strings.Contains(p.Warnings[0], "moved from cloud memory to other") {
		t.Errorf("warnings %v", p.Warnings)
	}
}

func TestTimestampsWithinClockSkewKeepTheirOrder(t *testing.T) {
	// Stamped by two machines: the pool looks 30s older than its image and
	// the image 30s older than its parent. Within a minute, that is skew.
	d := shop().Desired()
	live := plantest.Deployed(d, now.Add(-day))
	for i := range live.Images {
		if live.Images[i].Name == "base" {
			live.Images[i].CreatedAt = now.Add(-day + 30*time.Second)
		}
	}
	for i := range live.Pools {
		live.Pools[i].CreatedAt = now.Add(-day - 30*time.Second)
	}
	if p := mustPlan(t, d, live, planner.Options{}); !p.Empty() {
		t.Fatalf("want no change:\n%s", dump(p))
	}
	// Two minutes is not skew: the pool predates its image's current bake.
	for i := range live.Pools {
		live.Pools[i].CreatedAt = now.Add(-day - 2*time.Minute)
	}
	p := mustPlan(t, d, live, planner.Options{})
	pr := pool(d, "prod", "web")
	wantReason(t, p, "create:"+cloud.PoolID("prod", "web", pr.Key, 2), "serving pool built before image web was rebaked")
}

func TestDesiredPoolsInAnyOrderAndTwinsRejected(t *testing.T) {
	d := shop().Role("staging", "api", "web", 1).Desired()
	want := ids(mustPlan(t, d, &cloud.Live{}, planner.Options{}))
	slices.Reverse(d.Pools)
	if got := ids(mustPlan(t, d, &cloud.Live{}, planner.Options{})); !slices.Equal(got, want) {
		t.Errorf("order depends on the order of desired pools:\n%v\n%v", got, want)
	}
	d.Pools = append(d.Pools, d.Pools[0])
	if _, err := planner.Make(d, &cloud.Live{}, planner.Options{Now: now}); err == nil || !strings.Contains(err.Error(), "two desired pools") {
		t.Errorf("twins: %v", err)
	}
}

func TestLeftTheSpecInTwoClouds(t *testing.T) {
	full := shop().Env("old").Role("old", "web", "web", 1).Desired()
	live := plantest.Deployed(full, now.Add(-day))
	// The same (env, role) also left behind in a second cloud.
	for _, p := range slices.Clone(live.Pools) {
		if p.Env == "old" {
			p.Cloud = "other"
			live.Pools = append(live.Pools, p)
		}
	}
	d := shop().Desired()
	p := mustPlan(t, d, live, planner.Options{Destroy: true})
	id := cloud.PoolID("old", "web", pool(full, "old", "web").Key, 1)
	wantIDs(t, p, "swap:old/web@memory", "prune:"+id+"@memory", "prune:"+id+"@other")
	if len(p.Warnings) != 0 {
		t.Errorf("warnings %v", p.Warnings)
	}
}
