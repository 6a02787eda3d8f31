package planner_test

import (
	"slices"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
)

// A drifted image (its contents changed after its bake) is repaired like a
// drifted pool, by replacement: it is rebaked, and so is every descendant
// (a bake on it would launder the change into a child), and the pools
// built from them are replaced.
func TestDriftedImageIsRebakedWithItsDescendants(t *testing.T) {
	d := shop().Desired()
	live := plantest.Deployed(d, now.Add(-day))
	for i := range live.Images {
		live.Images[i].Drift = live.Images[i].Name == "base"
	}
	p := mustPlan(t, d, live, planner.Options{})
	base, web := d.Images["base"], d.Images["web"]
	bakeBase := "bake:memory:base:" + b12(base.BuildID)
	bakeWeb := "bake:memory:web:" + b12(web.BuildID)
	wantReason(t, p, bakeBase, "image base: drift: image tree does not match its digest")
	wantReason(t, p, bakeWeb, "image web: parent base is rebaked")
	if !step(t, p, bakeBase).Replace || !step(t, p, bakeWeb).Replace {
		t.Errorf("the rebake of a drifted image must be marked Replace:\n%s", dump(p))
	}
	wantAfter(t, p, bakeWeb, bakeBase)
	pr := pool(d, "prod", "web")
	gen2 := cloud.PoolID("prod", "web", pr.Key, 2)
	wantReason(t, p, "create:"+gen2, "image web is rebaked")
	wantAfter(t, p, "create:"+gen2, bakeWeb)
}

// A drifted leaf is rebaked alone: its parent is fine.
func TestDriftedLeafImageLeavesItsParent(t *testing.T) {
	d := shop().Desired()
	live := plantest.Deployed(d, now.Add(-day))
	for i := range live.Images {
		live.Images[i].Drift = live.Images[i].Name == "web"
	}
	p := mustPlan(t, d, live, planner.Options{})
	bakeWeb := "bake:memory:web:" + b12(d.Images["web"].BuildID)
	wantReason(t, p, bakeWeb, "image web: drift: image tree does not match its digest")
	if slices.Contains(ids(p), "bake:memory:base:"+b12(d.Images["base"].BuildID)) {
		t.Errorf("base is not drifted, must not be baked:\n%s", dump(p))
	}
}
