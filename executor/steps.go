package executor

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

// retry runs op with the executor's backoff, logging each retry.
func (r *run) retry(ctx context.Context, s *planner.Step, what string, op func() error) error {
	return r.exec.Retry.do(ctx, func(n int, wait time.Duration, err error) {
		r.logf(s, "%s: transient error (attempt %d), retrying in %s: %v", what, n, wait.Round(time.Millisecond), err)
	}, op)
}

// bake builds one image on top of its parent's live image.
func (r *run) bake(ctx context.Context, c cloud.Cloud, s *planner.Step) error {
	im, ok := r.exec.Desired.Images[s.Image]
	if !ok {
		return fmt.Errorf("baking %s: image is not in the spec", s.Image)
	}
	if s.BuildID != "" && im.BuildID != s.BuildID {
		return fmt.Errorf("baking %s: the plan's build id %s is not the spec's %s (the plan is stale)", s.Image, short(s.BuildID, 7), short(im.BuildID, 7))
	}
	req := cloud.BakeRequest{Project: r.plan.Project, Image: im, Source: r.exec.Desired.Source, Replace: s.Replace}
	if im.Parent != "" {
		parent, ok := r.exec.Desired.Images[im.Parent]
		if !ok {
			return fmt.Errorf("baking %s: parent image %s is not in the spec", s.Image, im.Parent)
		}
		live, err := r.image(ctx, s.Cloud, c, parent.BuildID)
		if err != nil {
			return fmt.Errorf("baking %s: parent %s: %w", s.Image, im.Parent, err)
		}
		req.Parent = &live
	}
	log := &lineWriter{hooks: r.hooks, step: s}
	req.Log = log
	var got cloud.Image
	err := r.retry(ctx, s, "bake", func() (err error) {
		got, err = c.Bake(ctx, req)
		return err
	})
	log.Flush()
	if err != nil {
		return r.atStep(s.Image, fmt.Errorf("baking %s: %w", s.Image, err))
	}
	if got.Cloud == "" {
		got.Cloud = c.Name()
	}
	r.mu.Lock()
	r.images[imageKey(s.Cloud, got.BuildID)] = got
	r.mu.Unlock()
	return nil
}

// image returns the live image with buildID in cloud c (cloudName in the
// apply's set): one baked by this apply, one observed before the plan, or
// (after a concurrent apply baked it) one observed now.
func (r *run) image(ctx context.Context, cloudName string, c cloud.Cloud, buildID string) (cloud.Image, error) {
	key := imageKey(cloudName, buildID)
	r.mu.Lock()
	im, ok := r.images[key]
	r.mu.Unlock()
	if ok {
		return im, nil
	}
	live, err := r.observe(ctx, c)
	if err != nil {
		return cloud.Image{}, err
	}
	for _, im := range live.Images {
		if im.BuildID == buildID {
			r.mu.Lock()
			r.images[key] = im
			r.mu.Unlock()
			return im, nil
		}
	}
	return cloud.Image{}, fmt.Errorf("image %s: %w in the %s cloud", short(buildID, 7), cloud.ErrNotFound, c.Name())
}

// observe reads one cloud's live state as of now or later (shared with
// the steps that ask at the same moment).
func (r *run) observe(ctx context.Context, c cloud.Cloud) (*cloud.Live, error) {
	o, ok := r.observers[c.Name()]
	if !ok {
		return nil, fmt.Errorf("observing the %s cloud: not in the apply's set", c.Name())
	}
	live, err := o.get(ctx)
	if err != nil {
		return nil, fmt.Errorf("observing the %s cloud: %w", c.Name(), err)
	}
	return live, nil
}

// observeEnv reads the live state of one environment in cloud c as of now
// or later, for the re-check a swap, a canary hold or a prune makes before
// it acts: a cloud that can read an environment alone (cloud.EnvObserver)
// does, so that the reads of a release do not grow with the number of
// endpoints of the project; any other is observed whole.
func (r *run) observeEnv(ctx context.Context, c cloud.Cloud, env string) (*cloud.Live, error) {
	eo, ok := c.(cloud.EnvObserver)
	if !ok || env == "" {
		return r.observe(ctx, c)
	}
	key := c.Name() + "\x00" + env
	r.envMu.Lock()
	o := r.envObservers[key]
	if o == nil {
		o = &freshObserver{ctx: r.stepCtx, fetch: func(ctx context.Context) (*cloud.Live, error) {
			var live *cloud.Live
			err := r.exec.Retry.do(ctx, nil, func() (err error) {
				live, err = eo.ObserveEnv(ctx, r.plan.Project, env)
				return err
			})
			return live, err
		}}
		r.envObservers[key] = o
	}
	r.envMu.Unlock()
	live, err := o.get(ctx)
	if err != nil {
		return nil, fmt.Errorf("observing %s in the %s cloud: %w", env, c.Name(), err)
	}
	return live, nil
}

// create makes a new pool off traffic; the cloud waits for health, smoke
// checks and warm-up before it returns.
func (r *run) create(ctx context.Context, c cloud.Cloud, s *planner.Step) error {
	want := r.exec.desiredPool(s.Env, s.Role)
	if want == nil {
		return fmt.Errorf("creating pool %s: %s/%s is not in the spec", s.Pool, s.Env, s.Role)
	}
	if s.Key != "" && want.Key != s.Key {
		return fmt.Errorf("creating pool %s: the plan's key is not the spec's (the plan is stale)", s.Pool)
	}
	im, err := r.image(ctx, s.Cloud, c, want.BuildID)
	if err != nil {
		return fmt.Errorf("creating pool %s: %w", s.Pool, err)
	}
	log := &lineWriter{hooks: r.hooks, step: s}
	req := cloud.CreateRequest{
		Project: r.plan.Project, Pool: want, ID: s.Pool, Generation: s.Generation,
		Image: im, Commit: r.exec.Desired.Commit, Log: log,
	}
	err = r.retry(ctx, s, "create", func() error {
		_, err := c.CreatePool(ctx, req)
		return err
	})
	log.Flush()
	if err != nil {
		return fmt.Errorf("creating pool %s: %w", s.Pool, err)
	}
	return nil
}

// desiredPool returns the spec's pool of (env, role), or nil.
func (e *Executor) desiredPool(env, role string) *model.Pool {
	for _, p := range e.Desired.Pools {
		if p.Env == env && p.Role == role {
			return p
		}
	}
	return nil
}

// swap moves an endpoint's traffic onto the step's pool: in one atomic
// step (blue-green) or through the canary's weights, watching the new pool
// at each weight and for the bake window after the last (watch.go), and
// going back to the old backends on any failure. It then cools the pools
// the plan keeps cold: only after the watch, which may need them.
func (r *run) swap(ctx context.Context, c cloud.Cloud, s *planner.Step) error {
	target := s.Env + "/" + s.Role
	if s.Pool == "" {
		if !s.Destructive {
			return fmt.Errorf("swapping %s: the plan names no pool and is not destructive", target)
		}
		return r.send(ctx, c, s, nil)
	}
	live, err := r.observeEnv(ctx, c, s.Env)
	if err != nil {
		return fmt.Errorf("swapping %s: %w", target, err)
	}
	if err := swappable(live, s.Pool); err != nil {
		return fmt.Errorf("swapping %s to %s: %w", target, s.Pool, err)
	}
	old := serving(live, s.Env, s.Role, s.Pool)
	weights := s.Weights
	if len(old) == 0 {
		weights = nil // nothing to shift from: a first deploy is one step
	}
	if len(weights) == 0 || weights[len(weights)-1] < 100 {
		weights = append(slices.Clone(weights), 100)
	}
	for i, w := range weights {
		if i > 0 && r.stopped() {
			return r.undo(ctx, c, s, old, fmt.Errorf("%w during the canary", ErrInterrupted))
		}
		if err := r.send(ctx, c, s, canary(s.Pool, w, old)); err != nil {
			if i == 0 {
				return fmt.Errorf("swapping %s to %s: %w", target, s.Pool, err)
			}
			return r.undo(ctx, c, s, old, err)
		}
		if w >= 100 {
			if i > 0 {
				r.logf(s, "canary: 100%% of traffic on %s", shortPool(s))
			}
			break
		}
		r.logf(s, "canary: %d%% of traffic on %s", w, shortPool(s))
		if err := r.hold(ctx, c, s, fmt.Sprintf("canary %d%%", w)); err != nil {
			return r.undo(ctx, c, s, old, err)
		}
	}
	if err := r.bakeWatch(ctx, c, s, old); err != nil {
		return r.undo(ctx, c, s, old, err)
	}
	return r.cool(ctx, c, s)
}

// swappable checks that a pool can take traffic now: ready and healthy, or
// cold (the cloud starts it first).
func swappable(live *cloud.Live, id string) error {
	for _, p := range live.Pools {
		if p.ID != id {
			continue
		}
		if p.State == cloud.PoolCold || (p.State == cloud.PoolReady && p.Healthy) {
			return nil
		}
		why := string(p.State)
		if p.State == cloud.PoolReady {
			why = fmt.Sprintf("%d/%d servers healthy", p.Servers, p.Count)
		}
		if p.Reason != "" {
			why += ": " + p.Reason
		}
		return fmt.Errorf("%w now (%s)", cloud.ErrNotReady, why)
	}
	return fmt.Errorf("pool %w", cloud.ErrNotFound)
}

// serving returns what the endpoint routes to now, except pool.
func serving(live *cloud.Live, env, role, except string) []cloud.Backend {
	for _, e := range live.Endpoints {
		if e.Env == env && e.Role == role {
			var out []cloud.Backend
			for _, b := range e.Backends {
				if b.Weight > 0 && b.Pool != except {
					out = append(out, b)
				}
			}
			return out
		}
	}
	return nil
}

// canary returns the backends with weight w on pool and the rest on the
// old backend that carried the most traffic (an interrupted canary's
// other pools are dropped).
func canary(pool string, w int, old []cloud.Backend) []cloud.Backend {
	if w >= 100 || len(old) == 0 {
		return []cloud.Backend{{Pool: pool, Weight: 100}}
	}
	main := slices.MaxFunc(old, func(a, b cloud.Backend) int { return a.Weight - b.Weight })
	return []cloud.Backend{{Pool: pool, Weight: w}, {Pool: main.Pool, Weight: 100 - w}}
}

// send points the endpoint at backends, retrying transient errors.
func (r *run) send(ctx context.Context, c cloud.Cloud, s *planner.Step, backends []cloud.Backend) error {
	req := cloud.SwapRequest{Project: r.plan.Project, Env: s.Env, Role: s.Role, Endpoint: s.Endpoint, Backends: backends, MoveFrom: s.MoveFrom}
	err := r.retry(ctx, s, "swap", func() error { return c.Swap(ctx, req) })
	if err != nil && ctx.Err() != nil {
		return context.Cause(ctx) // say why (a lost lock), not "context canceled"
	}
	return err
}

// healthy checks that the new pool is still healthy with all its servers.
func (r *run) healthy(ctx context.Context, c cloud.Cloud, s *planner.Step) error {
	live, err := r.observeEnv(ctx, c, s.Env)
	if err != nil {
		return err
	}
	for _, p := range live.Pools {
		if p.ID == s.Pool {
			if p.Healthy && p.Servers >= p.Count {
				return nil
			}
			return fmt.Errorf("canary pool %s became unhealthy (%d/%d servers): %s", s.Pool, p.Servers, p.Count, p.Reason)
		}
	}
	return fmt.Errorf("canary pool %s: %w", s.Pool, cloud.ErrNotFound)
}

// undo puts all traffic back on the old backends after a canary failed
// part way (even the share the new pool had before this step, when it
// resumes a canary cut short: the new pool is what failed).
func (r *run) undo(ctx context.Context, c cloud.Cloud, s *planner.Step, old []cloud.Backend, cause error) error {
	old = whole(old)
	r.logf(s, "release failed, sending traffic back to %s: %v", pools(old), cause)
	start := time.Now()
	if err := r.send(context.WithoutCancel(ctx), c, s, old); err != nil {
		return fmt.Errorf("swapping %s/%s to %s: %w; swapping back to %s also failed: %v", s.Env, s.Role, s.Pool, cause, pools(old), err)
	}
	took := time.Since(start)
	r.logf(s, "traffic is back on %s (in %s)", pools(old), took.Round(time.Microsecond))
	var rej *rejection
	if errors.As(cause, &rej) {
		return r.reject(context.WithoutCancel(ctx), c, s, rej, old)
	}
	return fmt.Errorf("swapping %s/%s to %s: %w (traffic is back on %s)", s.Env, s.Role, s.Pool, cause, pools(old))
}

// whole scales backends' weights up to sum to 100, the rounding going to
// the one with the most.
func whole(bs []cloud.Backend) []cloud.Backend {
	sum := 0
	for _, b := range bs {
		sum += b.Weight
	}
	if sum == 100 || sum == 0 {
		return bs
	}
	out := make([]cloud.Backend, len(bs))
	top, given := 0, 0
	for i, b := range bs {
		out[i] = cloud.Backend{Pool: b.Pool, Weight: b.Weight * 100 / sum}
		given += out[i].Weight
		if b.Weight > bs[top].Weight {
			top = i
		}
	}
	out[top].Weight += 100 - given
	return out
}

func pools(bs []cloud.Backend) string {
	ids := make([]string, len(bs))
	for i, b := range bs {
		ids[i] = b.Pool
	}
	return strings.Join(ids, ", ")
}

// cool stops the servers of the non-serving pools retention keeps cold.
// Traffic has already moved, so a failure here fails the step (and so
// holds back its prunes) but undoes nothing.
func (r *run) cool(ctx context.Context, c cloud.Cloud, s *planner.Step) error {
	var errs []error
	for _, id := range s.Cool {
		err := r.retry(ctx, s, "cool", func() error { return c.SetWarm(ctx, r.plan.Project, id, false) })
		if err != nil && !errors.Is(err, cloud.ErrNotFound) {
			errs = append(errs, fmt.Errorf("cooling pool %s: %w", id, err))
			continue
		}
		r.logf(s, "cooled %s (kept, servers stopped)", id)
	}
	if len(errs) > 0 {
		return fmt.Errorf("swapped %s/%s to %s, but %w", s.Env, s.Role, s.Pool, errors.Join(errs...))
	}
	return nil
}

// prune destroys a pool or an image. For a pool it first checks the live
// endpoints: the plan may be minutes old, and a pool that serves traffic
// now is never deleted.
func (r *run) prune(ctx context.Context, c cloud.Cloud, s *planner.Step) error {
	if s.Pool == "" {
		if s.BuildID == "" {
			return fmt.Errorf("pruning %s: the plan names no pool and no image", s.ID)
		}
		err := r.retry(ctx, s, "delete image", func() error { return c.DeleteImage(ctx, r.plan.Project, s.BuildID) })
		if err != nil && !errors.Is(err, cloud.ErrNotFound) {
			return fmt.Errorf("pruning image %s %s: %w", s.Image, short(s.BuildID, 7), err)
		}
		return nil
	}
	live, err := r.observeEnv(ctx, c, s.Env)
	if err != nil {
		return fmt.Errorf("pruning pool %s: %w", s.Pool, err)
	}
	for _, e := range live.Endpoints {
		if slices.Contains(e.Serving(), s.Pool) {
			return fmt.Errorf("refusing to prune pool %s: endpoint %s/%s (%s) routes to it now: %w", s.Pool, e.Env, e.Role, e.Address, cloud.ErrServing)
		}
	}
	err = r.retry(ctx, s, "delete pool", func() error { return c.DeletePool(ctx, r.plan.Project, s.Pool) })
	if err != nil && !errors.Is(err, cloud.ErrNotFound) {
		return fmt.Errorf("pruning pool %s: %w", s.Pool, err)
	}
	return nil
}
