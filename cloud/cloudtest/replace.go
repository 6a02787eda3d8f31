package cloudtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// Baking with Replace bakes an existing build id again (the planner asks
// for it when an image is past its maxAge or older than its parent's new
// bake: security updates). Afterwards the cloud holds exactly one image per
// build id, created no earlier than the first bake, with its parent
// unchanged; a pool made from the first bake still runs, ready and healthy
// (a rebake never pulls an image from under running servers), and a new
// pool can be made from the rebaked image.
func testBakeReplace(t *testing.T, e *env) {
	old := e.create(t, e.project, "", 1)
	e.eventually(t, e.project, readyHealthy(old.ID, e.pool.Count))
	chain := e.d.Images[e.pool.Image].Chain
	before := map[string]cloud.Image{}
	for _, im := range e.observe(t, e.project).Images {
		before[im.BuildID] = im
	}
	if e.h.Advance != nil {
		e.advance(t, 2*time.Second)
	}

	rebaked := map[string]cloud.Image{}
	var parent *cloud.Image
	for _, n := range chain {
		spec := e.d.Images[n]
		got, err := e.c.Bake(e.ctx, cloud.BakeRequest{Project: e.project, Image: spec, Parent: parent, Source: e.d.Source, Replace: true})
		if err != nil {
			t.Fatalf("baking %s again with Replace: %v", n, err)
		}
		if got.BuildID != spec.BuildID {
			t.Fatalf("rebake of %s returned build id %q, want %q", n, got.BuildID, spec.BuildID)
		}
		if got.CreatedAt.Before(before[spec.BuildID].CreatedAt) {
			t.Errorf("rebake of %s returned creation time %v, before the first bake's %v", n, got.CreatedAt, before[spec.BuildID].CreatedAt)
		}
		rebaked[n] = got
		parent = &got
	}

	l := e.observe(t, e.project)
	if len(l.Images) != len(chain) {
		t.Fatalf("after rebaking the chain %v: %d images, want one per build id (%d)\n%s", chain, len(l.Images), len(chain), dump(l))
	}
	parentID := ""
	for _, n := range chain {
		spec := e.d.Images[n]
		records := 0
		for _, im := range l.Images {
			if im.BuildID == spec.BuildID {
				records++
			}
		}
		if records != 1 {
			t.Errorf("image %s %s: %d records after the rebake, want exactly 1\n%s", n, short(spec.BuildID), records, dump(l))
			continue
		}
		im, _ := findImage(l, spec.BuildID)
		first := before[spec.BuildID].CreatedAt
		switch {
		case im.CreatedAt.Before(first):
			t.Errorf("image %s: observed creation time %v after the rebake, before the first bake's %v", n, im.CreatedAt, first)
		case e.h.Advance != nil && !im.CreatedAt.After(first):
			t.Errorf("image %s: observed creation time %v after the rebake, not later than the first bake's %v (the clock moved on)", n, im.CreatedAt, first)
		}
		if d := im.CreatedAt.Sub(rebaked[n].CreatedAt); d > time.Second || d < -time.Second {
			t.Errorf("image %s: observed creation time %v, Bake said %v", n, im.CreatedAt, rebaked[n].CreatedAt)
		}
		if im.ParentBuildID != parentID {
			t.Errorf("image %s: parent build id %q after the rebake, want %q", n, im.ParentBuildID, parentID)
		}
		parentID = spec.BuildID
	}

	e.eventually(t, e.project, readyHealthy(old.ID, e.pool.Count))
	mp := e.variant("rebaked")
	id := cloud.PoolID(mp.Env, mp.Role, mp.Key, 1)
	if _, err := e.c.CreatePool(e.ctx, e.createRequest(e.project, mp, id, 1, rebaked[mp.Image])); err != nil {
		t.Fatalf("creating pool %s from the rebaked image: %v", id, err)
	}
	e.eventually(t, e.project, func(l *cloud.Live) error {
		if err := readyHealthy(old.ID, e.pool.Count)(l); err != nil {
			return err
		}
		return readyHealthy(id, mp.Count)(l)
	})
}

// readyHealthy accepts a live state in which pool id is ready, healthy,
// with count servers and no drift.
func readyHealthy(id string, count int) func(*cloud.Live) error {
	return func(l *cloud.Live) error {
		p, ok := findPool(l, id)
		switch {
		case !ok:
			return fmt.Errorf("pool %s not observed", id)
		case p.State != cloud.PoolReady || !p.Healthy || p.Drift || p.Servers != count:
			return fmt.Errorf("pool %s: state %s healthy %v drift %v servers %d/%d, want ready, healthy, no drift, %d/%d (%s)",
				id, p.State, p.Healthy, p.Drift, p.Servers, p.Count, count, count, p.Reason)
		}
		return nil
	}
}
