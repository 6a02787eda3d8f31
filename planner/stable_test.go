package planner_test

import (
	"reflect"
	"slices"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
)

// Ids are stable across runs for the same inputs, whatever order the cloud
// lists the live state in: with retained pools that tie on creation and
// last service, and keep falling between them, every order of the live
// pools gives the same plan (same steps, ids, cool list and prunes). The
// property test checks the same on random states, where such ties are rare.
func TestPlanStableAcrossLiveOrder(t *testing.T) {
	d := shop().Env("prod", plantest.Keep(2, 0)).Desired()
	pr := pool(d, "prod", "web")
	live := plantest.Deployed(d, now.Add(-3*day))
	serving := livePool(live, cloud.PoolID("prod", "web", pr.Key, 1))
	serving.Key, serving.ID = "aaaaaaaa", cloud.PoolID("prod", "web", "aaaaaaaa", 1)
	endpoint(live, "prod", "web").Backends = []cloud.Backend{{Pool: serving.ID, Weight: 100}}
	var tied []string
	for _, key := range []string{"bbbbbbbb", "cccccccc", "dddddddd", "eeeeeeee"} {
		p := plantest.PoolFor(pr, 1, now.Add(-2*day))
		p.Key, p.ID, p.LastServed = key, cloud.PoolID("prod", "web", key, 1), now.Add(-day)
		live.Pools = append(live.Pools, p)
		tied = append(tied, p.ID)
	}
	want := mustPlan(t, d, live, planner.Options{})
	// keep 2: the pool serving now and one of the four tied ones stay.
	pruned := 0
	for _, id := range tied {
		if slices.Contains(ids(want), "prune:"+id) {
			pruned++
		}
	}
	if pruned != 3 || len(step(t, want, "swap:prod/web").Cool) != 2 {
		t.Fatalf("want 3 of the tied pools pruned and 2 pools cooled:\n%s", dump(want))
	}
	n := 0
	permute(live.Pools, len(live.Pools), func() {
		n++
		got, err := planner.Make(d, &cloud.Live{Images: live.Images, Pools: slices.Clone(live.Pools), Endpoints: live.Endpoints}, planner.Options{Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("order %d of the live pools plans differently:\n%s\nwant:\n%s", n, dump(got), dump(want))
		}
	})
	if n != 720 {
		t.Fatalf("tried %d orders, want 720", n)
	}
}

// permute calls f with s in each order of its first k elements (Heap's
// algorithm), leaving s in some order of them.
func permute[T any](s []T, k int, f func()) {
	if k <= 1 {
		f()
		return
	}
	for i := range k - 1 {
		permute(s, k-1, f)
		if k%2 == 0 {
			s[i], s[k-1] = s[k-1], s[i]
		} else {
			s[0], s[k-1] = s[k-1], s[0]
		}
	}
	permute(s, k-1, f)
}

// Two live builds of an image made at the same moment: the plan names the
// same one as "the live build" in whichever order the cloud lists them
// (it named the first listed).
func TestPlanStableAcrossImageOrder(t *testing.T) {
	old := shop().Desired()
	live := plantest.Deployed(old, now.Add(-day))
	d := shop().Image("web", "base", "install web", "configure web").Desired()
	twin := plantest.ImageFor(old, "memory", "web", now.Add(-day))
	twin.BuildID = "ffffffff" + twin.BuildID[8:]
	live.Images = append(live.Images, twin)
	want := mustPlan(t, d, live, planner.Options{})
	slices.Reverse(live.Images)
	got := mustPlan(t, d, live, planner.Options{})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("the live images in reverse order plan differently:\n%s\nwant:\n%s", dump(got), dump(want))
	}
}
