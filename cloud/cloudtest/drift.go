package cloudtest

import (
	"errors"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// An image changed after its bake is reported as drift by Observe, is
// refused as a parent (a bake on it would launder the change into a child
// under a fresh digest), and is healed by a rebake (Replace), after which
// its children bake again.
func testBakeDrifted(t *testing.T, e *env) {
	if e.h.DriftImage == nil {
		t.Skip("the harness cannot change an image behind the cloud's back")
	}
	chain := e.d.Images[e.pool.Image].Chain
	if len(chain) < 2 {
		t.Fatal("cloudtest: the spec's image needs a parent")
	}
	baked := e.bake(t, e.project, e.pool.Image)
	root, child := baked[chain[0]], e.d.Images[chain[1]]
	if im, _ := findImage(e.observe(t, e.project), root.BuildID); im.Drift {
		t.Fatalf("a fresh bake of %s is reported as drift", root.Name)
	}
	e.h.DriftImage(t, e.c, e.project, root)
	if im, ok := findImage(e.observe(t, e.project), root.BuildID); !ok || !im.Drift {
		t.Fatalf("Observe does not report the changed image %s as drift: %+v", root.Name, im)
	}
	_, err := e.c.Bake(e.ctx, cloud.BakeRequest{Project: e.project, Image: child, Parent: &root, Source: e.d.Source, Replace: true})
	if !errors.Is(err, cloud.ErrDrift) {
		t.Fatalf("baking %s on the drifted %s: %v, want an error wrapping ErrDrift", child.Name, root.Name, err)
	}
	fresh, err := e.c.Bake(e.ctx, cloud.BakeRequest{Project: e.project, Image: e.d.Images[root.Name], Source: e.d.Source, Replace: true})
	if err != nil {
		t.Fatalf("rebaking the drifted %s: %v", root.Name, err)
	}
	if im, _ := findImage(e.observe(t, e.project), root.BuildID); im.Drift || fresh.Drift {
		t.Errorf("the rebake of %s is still drift: %+v", root.Name, im)
	}
	if _, err := e.c.Bake(e.ctx, cloud.BakeRequest{Project: e.project, Image: child, Parent: &fresh, Source: e.d.Source, Replace: true}); err != nil {
		t.Errorf("baking %s on the rebaked %s: %v", child.Name, root.Name, err)
	}
}
