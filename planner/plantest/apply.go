// Package plantest holds helpers for tests that plan and apply: a builder of
// desired states that needs no compiler, and a reference applier that
// carries a plan out one step at a time through the cloud interface.
package plantest

import (
	"context"
	"fmt"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

// Apply carries out p sequentially, in the plan's (topological) order,
// through the clouds of the set. It is the reference semantics of a plan
// for tests: the real executor runs independent steps in parallel, but must
// reach the same end state. It stops at the first error.
func Apply(ctx context.Context, clouds cloud.Set, d *model.Desired, p *planner.Plan) error {
	a := &applier{clouds: clouds, d: d, images: map[[2]string]cloud.Image{}, observed: map[string]bool{}}
	for _, st := range p.Steps {
		if err := a.step(ctx, st); err != nil {
			return fmt.Errorf("applying step %s: %w", st.ID, err)
		}
	}
	return nil
}

type applier struct {
	clouds   cloud.Set
	d        *model.Desired
	images   map[[2]string]cloud.Image // (cloud, build id), observed or baked
	observed map[string]bool
}

func (a *applier) step(ctx context.Context, st planner.Step) error {
	c, err := a.clouds.Get(st.Cloud)
	if err != nil {
		return err
	}
	switch {
	case st.Kind == planner.Bake:
		return a.bake(ctx, c, st)
	case st.Kind == planner.Create:
		return a.create(ctx, c, st)
	case st.Kind == planner.Swap:
		return a.swap(ctx, c, st)
	case st.Kind == planner.Prune && st.Pool != "":
		return c.DeletePool(ctx, a.d.Project, st.Pool)
	case st.Kind == planner.Prune:
		if err := c.DeleteImage(ctx, a.d.Project, st.BuildID); err != nil {
			return err
		}
		delete(a.images, [2]string{st.Cloud, st.BuildID})
		return nil
	}
	return fmt.Errorf("unknown step kind %q", st.Kind)
}

// image returns the live image of a build id in a cloud: one baked by this
// apply, or else one the cloud reports (observed once per cloud).
func (a *applier) image(ctx context.Context, c cloud.Cloud, cloudName, buildID string) (*cloud.Image, error) {
	k := [2]string{cloudName, buildID}
	if im, ok := a.images[k]; ok {
		return &im, nil
	}
	if !a.observed[cloudName] {
		a.observed[cloudName] = true
		live, err := c.Observe(ctx, a.d.Project)
		if err != nil {
			return nil, err
		}
		for _, im := range live.Images {
			kk := [2]string{cloudName, im.BuildID}
			if _, ok := a.images[kk]; !ok {
				a.images[kk] = im
			}
		}
		if im, ok := a.images[k]; ok {
			return &im, nil
		}
	}
	return nil, fmt.Errorf("image %s in cloud %s: %w", buildID, cloudName, cloud.ErrNotFound)
}

func (a *applier) bake(ctx context.Context, c cloud.Cloud, st planner.Step) error {
	img := a.d.Images[st.Image]
	if img == nil {
		return fmt.Errorf("image %s is not in the spec", st.Image)
	}
	req := cloud.BakeRequest{Project: a.d.Project, Image: img, Source: a.d.Source, Replace: st.Replace}
	if img.Parent != "" {
		parent := a.d.Images[img.Parent]
		if parent == nil {
			return fmt.Errorf("image %s: parent %s is not in the spec", img.Name, img.Parent)
		}
		live, err := a.image(ctx, c, st.Cloud, parent.BuildID)
		if err != nil {
			return fmt.Errorf("finding parent of image %s: %w", img.Name, err)
		}
		req.Parent = live
	}
	got, err := c.Bake(ctx, req)
	if err != nil {
		return err
	}
	a.images[[2]string{st.Cloud, got.BuildID}] = got
	return nil
}

func (a *applier) create(ctx context.Context, c cloud.Cloud, st planner.Step) error {
	var pool *model.Pool
	for _, p := range a.d.Pools {
		if p.Env == st.Env && p.Role == st.Role {
			pool = p
		}
	}
	if pool == nil {
		return fmt.Errorf("pool %s/%s is not in the spec", st.Env, st.Role)
	}
	im, err := a.image(ctx, c, st.Cloud, st.BuildID)
	if err != nil {
		return err
	}
	_, err = c.CreatePool(ctx, cloud.CreateRequest{
		Project: a.d.Project, Pool: pool, ID: st.Pool, Generation: st.Generation, Image: *im, Commit: a.d.Commit,
	})
	return err
}

// swap walks a canary's weights (the new pool at w, the pools it replaces
// sharing 100-w in proportion to what they served) and ends with the new
// pool alone; a swap with no pool detaches the endpoint. Then it cools the
// pools the step lists.
func (a *applier) swap(ctx context.Context, c cloud.Cloud, st planner.Step) error {
	req := cloud.SwapRequest{Project: a.d.Project, Env: st.Env, Role: st.Role, Endpoint: st.Endpoint, MoveFrom: st.MoveFrom}
	if st.Pool != "" {
		for _, w := range st.Weights {
			if w >= 100 {
				break
			}
			req.Backends = CanaryBackends(st.Pool, w, st.From)
			if err := c.Swap(ctx, req); err != nil {
				return err
			}
		}
		req.Backends = []cloud.Backend{{Pool: st.Pool, Weight: 100}}
	}
	if err := c.Swap(ctx, req); err != nil {
		return err
	}
	for _, id := range st.Cool {
		if err := c.SetWarm(ctx, a.d.Project, id, false); err != nil {
			return fmt.Errorf("cooling pool %s: %w", id, err)
		}
	}
	return nil
}

// CanaryBackends returns the backends of one canary step: pool at weight w,
// and the other pools of from sharing 100-w in proportion to their weights
// (the remainder of the rounding goes to the first).
func CanaryBackends(pool string, w int, from []cloud.Backend) []cloud.Backend {
	out := []cloud.Backend{{Pool: pool, Weight: w}}
	var old []cloud.Backend
	total := 0
	for _, b := range from {
		if b.Pool != pool && b.Weight > 0 {
			old = append(old, b)
			total += b.Weight
		}
	}
	if len(old) == 0 {
		return []cloud.Backend{{Pool: pool, Weight: 100}}
	}
	rest := 100 - w
	shares := make([]int, len(old))
	given := 0
	for i, b := range old {
		shares[i] = rest * b.Weight / total
		given += shares[i]
	}
	shares[0] += rest - given
	for i, b := range old {
		if shares[i] > 0 {
			out = append(out, cloud.Backend{Pool: b.Pool, Weight: shares[i]})
		}
	}
	return out
}
