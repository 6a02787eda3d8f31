package planner_test

import (
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
)

var strictAnalysis = &model.Analysis{MaxErrorRate: 1, MaxLatency: 300 * time.Millisecond, MinRequests: 20}

// watchedShop is shop with prod released as a watched canary: 25% and 50%
// each watched 30s, then a 5m bake; version v of the web role's config.
func watchedShop(v string) *model.Desired {
	return plantest.NewSpec("shop").
		Image("base", "", "apt-get upgrade").
		Image("web", "base", "install web").
		Env("prod", plantest.Canary(25, 50, 100), plantest.Watched(30*time.Second, 5*time.Minute, strictAnalysis)).
		Role("prod", "web", "web", 2, "V="+v).
		Desired()
}

// rejectedRelease is prod serving v1, with the pool of v2 rejected by
// release analysis after its bake put all traffic on it for a while.
func rejectedRelease(t *testing.T) (*model.Desired, *cloud.Live, string) {
	t.Helper()
	v1, v2 := watchedShop("1"), watchedShop("2")
	live := plantest.Deployed(v1, now.Add(-2*day))
	bad := plantest.PoolFor(pool(v2, "prod", "web"), 1, now.Add(-time.Hour))
	bad.LastServed, bad.Released = now.Add(-50*time.Minute), now.Add(-55*time.Minute)
	bad.Rejected, bad.RejectedAt = "bake: 5xx 33.8% of 212 requests > 1%", now.Add(-50*time.Minute)
	live.Pools = append(live.Pools, bad) // the same image: only the config differs
	return v2, live, bad.ID
}

func TestARejectedReleaseIsHeldWithItsReason(t *testing.T) {
	d, live, bad := rejectedRelease(t)
	p := mustPlan(t, d, live, planner.Options{})
	if !p.Empty() {
		t.Fatalf("a plain plan after a rejection changes something:\n%s", dump(p))
	}
	held := p.Endpoints[0].Held
	for _, want := range []string{"web@", "rejected by release analysis at 2026-11-20 11:10 UTC", "5xx 33.8% of 212 requests > 1%", "--retry-rejected", "commit c0ffee0"} {
		if !strings.Contains(held, want) {
			t.Errorf("held %q does not say %q", held, want)
		}
	}
	if len(p.Warnings) != 1 || !strings.HasPrefix(p.Warnings[0], "prod/web is held: ") {
		t.Errorf("warnings %q, want prod/web held", p.Warnings)
	}
	if pr := "prune:" + bad; strings.Contains(dump(p), pr) {
		t.Errorf("the held pool is pruned: %s", pr)
	}
}

func TestRetryRejectedReleasesThePoolAgainAsARelease(t *testing.T) {
	d, live, bad := rejectedRelease(t)
	p := mustPlan(t, d, live, planner.Options{RetryRejected: true})
	sw := step(t, p, "swap:prod/web")
	if sw.Pool != bad || sw.Rollback || len(sw.Weights) != 3 || sw.Watch == nil {
		t.Fatalf("retry swap %+v, want a watched canary to %s, not a rollback", sw, bad)
	}
	if !strings.Contains(sw.Reason, "retry rejected pool") {
		t.Errorf("reason %q does not say it retries a rejected pool", sw.Reason)
	}
}

func TestANewCommitReleasesNormallyAndPrunesTheRejectedPool(t *testing.T) {
	_, live, bad := rejectedRelease(t)
	v3 := watchedShop("3")
	p := mustPlan(t, v3, live, planner.Options{})
	sw := step(t, p, "swap:prod/web")
	if sw.Pool == bad || sw.Watch == nil || p.Endpoints[0].Held != "" {
		t.Fatalf("swap %+v held %q, want a new watched release", sw, p.Endpoints[0].Held)
	}
	pr := step(t, p, "prune:"+bad)
	if !strings.HasPrefix(pr.Reason, "rejected by release analysis") {
		t.Errorf("the rejected pool is pruned for %q", pr.Reason)
	}
}

func TestThePlanSaysWhatWillBeWatched(t *testing.T) {
	v1, v2 := watchedShop("1"), watchedShop("2")
	p := mustPlan(t, v2, plantest.Deployed(v1, now.Add(-day)), planner.Options{})
	sw := step(t, p, "swap:prod/web")
	want := "watched: canary 25% → 50% → 100%, each watched 30s (5xx < 1%, p99 < 300ms, ≥ 20 requests), then a 5m bake; " +
		"the previous pool stays warm, and prunes and cooling wait, until the bake passes"
	if !strings.HasSuffix(sw.Reason, want) {
		t.Errorf("swap reason %q\nwant it to end %q", sw.Reason, want)
	}
	if sw.Watch == nil || sw.Watch.Pause != 30*time.Second || sw.Watch.Bake != 5*time.Minute || sw.Watch.Analysis.MinRequests != 20 {
		t.Errorf("watch %+v", sw.Watch)
	}
	// A first deploy has nothing to go back to; a rollback is the way back.
	if first := mustPlan(t, v2, nil, planner.Options{}); step(t, first, "swap:prod/web").Watch != nil {
		t.Error("a first deploy is watched")
	}
	live := plantest.Deployed(v1, now.Add(-day))
	old := plantest.PoolFor(pool(v2, "prod", "web"), 1, now.Add(-12*time.Hour))
	old.LastServed, old.Released = now.Add(-2*time.Hour), now.Add(-11*time.Hour)
	live.Pools = append(live.Pools, old)
	rb := step(t, mustPlan(t, v2, live, planner.Options{}), "swap:prod/web")
	if !rb.Rollback || rb.Watch != nil {
		t.Errorf("rollback swap %+v, want a rollback with no watch", rb)
	}
}

func TestABlueGreenBakeKeepsPrunesAndCoolingAfterTheWatch(t *testing.T) {
	spec := func(v string) *model.Desired {
		return plantest.NewSpec("shop").Image("web", "", "install").
			Env("prod", plantest.Keep(0, 0), plantest.Watched(0, 2*time.Minute, nil)).
			Role("prod", "web", "web", 1, "V="+v).Desired()
	}
	p := mustPlan(t, spec("2"), plantest.Deployed(spec("1"), now.Add(-day)), planner.Options{})
	sw := step(t, p, "swap:prod/web")
	if sw.Watch == nil || !strings.Contains(sw.Reason, "watched: a 2m bake (health only)") {
		t.Fatalf("swap %q watch %+v", sw.Reason, sw.Watch)
	}
	old := cloud.PoolID("prod", "web", pool(spec("1"), "prod", "web").Key, 1)
	wantAfter(t, p, "prune:"+old, "swap:prod/web")
	wantReason(t, p, "prune:"+old, "past retention (keep 0); after the 2m bake watch of swap:prod/web")
}
