package cloudtest

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// A fresh cloud holds nothing for the project: no images, no pools, no
// endpoint that routes anywhere.
func testObserveEmpty(t *testing.T, e *env) {
	l := e.observe(t, e.project)
	if len(l.Images) != 0 || len(l.Pools) != 0 || len(l.Locks) != 0 {
		t.Fatalf("a fresh cloud is not empty\n%s", dump(l))
	}
	for _, ep := range l.Endpoints {
		if len(ep.Serving()) > 0 {
			t.Fatalf("a fresh cloud routes an endpoint\n%s", dump(l))
		}
	}
}

// Baking a chain records every image with its parent; baking a build id
// again returns the existing image and adds nothing.
func testBakeChain(t *testing.T, e *env) {
	first := e.bake(t, e.project, e.pool.Image)
	chain := e.d.Images[e.pool.Image].Chain
	l := e.observe(t, e.project)
	if len(l.Images) != len(chain) {
		t.Fatalf("after baking the chain %v: %d images, want %d\n%s", chain, len(l.Images), len(chain), dump(l))
	}
	parent := ""
	for _, n := range chain {
		spec := e.d.Images[n]
		im, ok := findImage(l, spec.BuildID)
		if !ok {
			t.Fatalf("image %s %s not observed\n%s", n, short(spec.BuildID), dump(l))
		}
		if im.Name != n {
			t.Errorf("image %s observed with name %q", short(spec.BuildID), im.Name)
		}
		if im.ParentBuildID != parent {
			t.Errorf("image %s: parent build id %q, want %q", n, im.ParentBuildID, parent)
		}
		if im.CreatedAt.IsZero() {
			t.Errorf("image %s: no creation time", n)
		}
		if first[n].BuildID != spec.BuildID {
			t.Errorf("Bake of %s returned build id %q, want %q", n, first[n].BuildID, spec.BuildID)
		}
		parent = spec.BuildID
	}
	again := e.bake(t, e.project, e.pool.Image)
	for _, n := range chain {
		if again[n].BuildID != first[n].BuildID || again[n].Ref != first[n].Ref {
			t.Errorf("baking %s again returned %+v, want the existing %+v", n, again[n], first[n])
		}
	}
	if l := e.observe(t, e.project); len(l.Images) != len(chain) {
		t.Fatalf("baking again added images: %d, want %d\n%s", len(l.Images), len(chain), dump(l))
	}
}

// A created pool is ready and healthy with all its servers, and every tag
// the planner reads comes back through Observe.
func testCreateTagged(t *testing.T, e *env) {
	p := e.create(t, e.project, "", 1)
	id := cloud.PoolID(e.pool.Env, e.pool.Role, e.pool.Key, 1)
	if p.ID != id || p.State != cloud.PoolReady || !p.Healthy {
		t.Fatalf("CreatePool returned %+v, want id %s ready and healthy", p, id)
	}
	l := e.eventually(t, e.project, func(l *cloud.Live) error {
		got, ok := findPool(l, id)
		if !ok {
			return fmt.Errorf("pool %s not observed", id)
		}
		if got.State != cloud.PoolReady || !got.Healthy || got.Servers != e.pool.Count || got.Count != e.pool.Count {
			return fmt.Errorf("pool %s: state %s healthy %v servers %d/%d, want ready, healthy, %d/%d",
				id, got.State, got.Healthy, got.Servers, got.Count, e.pool.Count, e.pool.Count)
		}
		return nil
	})
	got, _ := findPool(l, id)
	checks := []struct{ what, got, want string }{
		{"env", got.Env, e.pool.Env},
		{"role", got.Role, e.pool.Role},
		{"key", got.Key, e.pool.Key},
		{"generation", fmt.Sprint(got.Generation), "1"},
		{"image", got.Image, e.pool.Image},
		{"build id", got.BuildID, e.pool.BuildID},
		{"commit", got.Commit, e.d.Commit},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("pool %s: %s %q does not round-trip, want %q", id, c.what, c.got, c.want)
		}
	}
	if got.CreatedAt.IsZero() {
		t.Errorf("pool %s: no creation time", id)
	} else if d := got.CreatedAt.Sub(p.CreatedAt); d > time.Second || d < -time.Second {
		t.Errorf("pool %s: observed creation time %v, CreatePool said %v", id, got.CreatedAt, p.CreatedAt)
	}
	if !got.LastServed.IsZero() {
		t.Errorf("pool %s never served but has last served %v", id, got.LastServed)
	}
	if !got.Released.IsZero() {
		t.Errorf("pool %s never served but is released at %v", id, got.Released)
	}
	if len(backendsOf(l, e.pool.Env, e.pool.Role)) != 0 {
		t.Errorf("creating a pool put it on traffic\n%s", dump(l))
	}
}

// Creating a pool id that exists (an apply run again after a crash)
// returns it and makes nothing new.
func testCreateAgain(t *testing.T, e *env) {
	p := e.create(t, e.project, "", 1)
	again := e.create(t, e.project, "", 1)
	if again.ID != p.ID || again.State != cloud.PoolReady {
		t.Fatalf("creating %s again returned %+v", p.ID, again)
	}
	l := e.observe(t, e.project)
	if len(l.Pools) != 1 {
		t.Fatalf("creating %s again made %d pools, want 1\n%s", p.ID, len(l.Pools), dump(l))
	}
}

// A create that fails returns an error and leaves the pool behind, failed
// with a reason, off traffic, for the planner to prune; a swap to it is
// refused and deleting it works.
func testCreateFailed(t *testing.T, e *env) {
	if e.h.FailCreate == nil {
		t.Skip("the harness has no FailCreate hook")
	}
	good := e.create(t, e.project, "", 1)
	if err := e.swap(only(good.ID)); err != nil {
		t.Fatalf("swap to %s: %v", good.ID, err)
	}
	mp := e.variant("broken")
	e.h.FailCreate(t, e.c, mp)
	ims := e.bake(t, e.project, mp.Image)
	id := cloud.PoolID(mp.Env, mp.Role, mp.Key, 1)
	if _, err := e.c.CreatePool(e.ctx, e.createRequest(e.project, mp, id, 1, ims[mp.Image])); err == nil {
		t.Fatalf("creating the broken pool %s succeeded", id)
	}
	e.eventually(t, e.project, func(l *cloud.Live) error {
		p, ok := findPool(l, id)
		if !ok {
			return fmt.Errorf("the failed pool %s was not left behind for the planner", id)
		}
		if p.State != cloud.PoolFailed || p.Healthy || p.Reason == "" {
			return fmt.Errorf("the failed pool %s is %s, healthy %v, reason %q; want failed, unhealthy, with a reason", id, p.State, p.Healthy, p.Reason)
		}
		return routesExactly(l, e.pool.Env, e.pool.Role, only(good.ID))
	})
	if err := e.swap(only(id)); !errors.Is(err, cloud.ErrNotReady) {
		t.Fatalf("swap to the failed pool %s: got %v, want an error wrapping ErrNotReady", id, err)
	}
	if err := e.c.DeletePool(e.ctx, e.project, id); err != nil {
		t.Fatalf("deleting the failed pool %s: %v", id, err)
	}
	e.eventually(t, e.project, func(l *cloud.Live) error {
		if _, ok := findPool(l, id); ok {
			return fmt.Errorf("deleted failed pool %s is still observed", id)
		}
		return routesExactly(l, e.pool.Env, e.pool.Role, only(good.ID))
	})
}

// Independent creates may run at once (the executor does this).
func testCreateConcurrent(t *testing.T, e *env) {
	ims := e.bake(t, e.project, e.pool.Image)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	ids := make([]string, 2)
	for i, v := range []string{"a", "b"} {
		mp := e.variant(v)
		ids[i] = cloud.PoolID(mp.Env, mp.Role, mp.Key, 1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = e.c.CreatePool(e.ctx, e.createRequest(e.project, mp, ids[i], 1, ims[mp.Image]))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatalf("concurrent creates: %v", err)
	}
	e.eventually(t, e.project, func(l *cloud.Live) error {
		for _, id := range ids {
			if p, ok := findPool(l, id); !ok || p.State != cloud.PoolReady || !p.Healthy {
				return fmt.Errorf("pool %s not ready and healthy after concurrent creates", id)
			}
		}
		return nil
	})
}

// A swap points the endpoint at the pool, at the spec's address, and marks
// the pool as served.
func testSwap(t *testing.T, e *env) {
	p := e.create(t, e.project, "", 1)
	if err := e.swap(only(p.ID)); err != nil {
		t.Fatalf("swap to %s: %v", p.ID, err)
	}
	l := e.eventually(t, e.project, func(l *cloud.Live) error {
		return routesExactly(l, e.pool.Env, e.pool.Role, only(p.ID))
	})
	ep, _ := findEndpoint(l, e.pool.Env, e.pool.Role)
	if e.pool.Endpoint != "" && ep.Address != e.pool.Endpoint {
		t.Errorf("endpoint address %q, want the spec's %q", ep.Address, e.pool.Endpoint)
	}
	if got, _ := findPool(l, p.ID); got.LastServed.IsZero() || got.Released.IsZero() {
		t.Errorf("pool %s takes all traffic but its last served time (%v) or release time (%v) is zero", p.ID, got.LastServed, got.Released)
	}
	// Swapping to what is served already is harmless.
	if err := e.swap(only(p.ID)); err != nil {
		t.Fatalf("swap to the serving pool again: %v", err)
	}
	e.eventually(t, e.project, func(l *cloud.Live) error {
		return routesExactly(l, e.pool.Env, e.pool.Role, only(p.ID))
	})
}

// A swap to a pool that does not exist fails and leaves the endpoint as it
// was.
func testSwapUnknown(t *testing.T, e *env) {
	p := e.create(t, e.project, "", 1)
	if err := e.swap(only(p.ID)); err != nil {
		t.Fatalf("swap to %s: %v", p.ID, err)
	}
	ghost := cloud.PoolID(e.pool.Env, e.pool.Role, hash("ghost"), 9)
	if err := e.swap(only(ghost)); err == nil {
		t.Fatalf("swap to the unknown pool %s succeeded", ghost)
	}
	if err := e.swap(cloud.Backend{Pool: p.ID, Weight: 50}, cloud.Backend{Pool: ghost, Weight: 50}); err == nil {
		t.Fatalf("swap with an unknown backend %s succeeded", ghost)
	}
	e.eventually(t, e.project, func(l *cloud.Live) error {
		return routesExactly(l, e.pool.Env, e.pool.Role, only(p.ID))
	})
}

// Weighted backends (a canary step) are reported with their weights, and
// the last step moves all traffic.
func testSwapCanary(t *testing.T, e *env) {
	a := e.create(t, e.project, "a", 1)
	b := e.create(t, e.project, "b", 1)
	if err := e.swap(only(a.ID)); err != nil {
		t.Fatalf("swap to %s: %v", a.ID, err)
	}
	step := []cloud.Backend{{Pool: a.ID, Weight: 90}, {Pool: b.ID, Weight: 10}}
	if err := e.swap(step...); err != nil {
		t.Fatalf("canary step %v: %v", step, err)
	}
	l := e.eventually(t, e.project, func(l *cloud.Live) error {
		return routesExactly(l, e.pool.Env, e.pool.Role, step...)
	})
	// A pool that carried part of an unfinished canary is no rollback
	// target: only the step that moves all traffic releases it.
	if got, _ := findPool(l, b.ID); !got.Released.IsZero() {
		t.Errorf("pool %s carries a 10%% canary step but is released at %v", b.ID, got.Released)
	}
	if err := e.swap(only(b.ID)); err != nil {
		t.Fatalf("final canary step to %s: %v", b.ID, err)
	}
	l = e.eventually(t, e.project, func(l *cloud.Live) error {
		return routesExactly(l, e.pool.Env, e.pool.Role, only(b.ID))
	})
	if got, _ := findPool(l, a.ID); got.LastServed.IsZero() {
		t.Errorf("pool %s stopped serving but its last served time is zero", a.ID)
	}
	if got, _ := findPool(l, b.ID); got.Released.IsZero() {
		t.Errorf("pool %s took all traffic at the canary's last step but is not released", b.ID)
	}
}

// A pool whose servers died is reported unhealthy or short, and a swap to
// it is refused with ErrNotReady, leaving the endpoint as it was.
func testSwapUnhealthy(t *testing.T, e *env) {
	if e.h.KillServer == nil {
		t.Skip("the harness has no KillServer hook")
	}
	a := e.create(t, e.project, "a", 1)
	b := e.create(t, e.project, "b", 1)
	if err := e.swap(only(a.ID)); err != nil {
		t.Fatalf("swap to %s: %v", a.ID, err)
	}
	e.h.KillServer(t, e.c, e.project, b.ID)
	e.eventually(t, e.project, func(l *cloud.Live) error {
		p, ok := findPool(l, b.ID)
		if !ok {
			return fmt.Errorf("pool %s vanished after a server was killed", b.ID)
		}
		if p.Healthy && p.Servers == p.Count {
			return fmt.Errorf("pool %s still healthy with %d/%d servers after a server was killed", b.ID, p.Servers, p.Count)
		}
		return nil
	})
	err := e.swap(only(b.ID))
	if !errors.Is(err, cloud.ErrNotReady) {
		t.Fatalf("swap to the unhealthy pool %s: got %v, want an error wrapping ErrNotReady", b.ID, err)
	}
	e.eventually(t, e.project, func(l *cloud.Live) error {
		return routesExactly(l, e.pool.Env, e.pool.Role, only(a.ID))
	})
}

// A swap with no backends detaches the endpoint (an environment that left
// the spec, planned with --destroy): it routes nowhere, so the pool that
// served it can then be destroyed. The address itself is not Phoenix's to
// delete.
func testSwapDetach(t *testing.T, e *env) {
	p := e.create(t, e.project, "", 1)
	if err := e.swap(only(p.ID)); err != nil {
		t.Fatalf("swap to %s: %v", p.ID, err)
	}
	if err := e.swap(); err != nil {
		t.Fatalf("detaching %s/%s: %v", e.pool.Env, e.pool.Role, err)
	}
	l := e.eventually(t, e.project, func(l *cloud.Live) error {
		return routesExactly(l, e.pool.Env, e.pool.Role)
	})
	if got, _ := findPool(l, p.ID); got.LastServed.IsZero() {
		t.Errorf("pool %s was detached but its last served time is zero", p.ID)
	}
	if err := e.c.DeletePool(e.ctx, e.project, p.ID); err != nil {
		t.Fatalf("deleting %s after detaching its endpoint: %v", p.ID, err)
	}
	e.eventually(t, e.project, func(l *cloud.Live) error {
		if _, ok := findPool(l, p.ID); ok {
			return fmt.Errorf("deleted pool %s is still observed", p.ID)
		}
		return nil
	})
}

// While swaps go back and forth, every Observe sees the endpoint route to
// exactly one of the two pools with all the traffic: never to none, never
// half-changed.
func testSwapAtomic(t *testing.T, e *env) {
	a := e.create(t, e.project, "a", 1)
	b := e.create(t, e.project, "b", 1)
	if err := e.swap(only(a.ID)); err != nil {
		t.Fatalf("swap to %s: %v", a.ID, err)
	}
	done := make(chan struct{})
	errs := make(chan error, 1)
	go func() {
		defer close(errs)
		for {
			select {
			case <-done:
				return
			default:
			}
			l, err := e.c.Observe(e.ctx, e.project)
			if err != nil {
				errs <- err
				return
			}
			bs := backendsOf(l, e.pool.Env, e.pool.Role)
			if len(bs) != 1 || bs[0].Weight != 100 || (bs[0].Pool != a.ID && bs[0].Pool != b.ID) {
				errs <- fmt.Errorf("mid-swap the endpoint routes to %v", bs)
				return
			}
		}
	}()
	for i := range 10 {
		target := []string{b.ID, a.ID}[i%2]
		if err := e.swap(only(target)); err != nil {
			close(done)
			t.Fatalf("swap %d to %s: %v", i, target, err)
		}
	}
	close(done)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	e.eventually(t, e.project, func(l *cloud.Live) error {
		return routesExactly(l, e.pool.Env, e.pool.Role, only(a.ID))
	})
}

// Deleting a serving pool is refused with ErrServing and the pool keeps
// serving.
func testDeleteServing(t *testing.T, e *env) {
	p := e.create(t, e.project, "", 1)
	if err := e.swap(only(p.ID)); err != nil {
		t.Fatalf("swap to %s: %v", p.ID, err)
	}
	err := e.c.DeletePool(e.ctx, e.project, p.ID)
	if !errors.Is(err, cloud.ErrServing) {
		t.Fatalf("deleting the serving pool %s: got %v, want an error wrapping ErrServing", p.ID, err)
	}
	e.eventually(t, e.project, func(l *cloud.Live) error {
		got, ok := findPool(l, p.ID)
		if !ok || got.State != cloud.PoolReady || !got.Healthy {
			return fmt.Errorf("the serving pool %s is gone or not healthy after a refused delete", p.ID)
		}
		return routesExactly(l, e.pool.Env, e.pool.Role, only(p.ID))
	})
}

// A pool that no longer serves can be deleted; deleting it again succeeds.
func testDeleteNonServing(t *testing.T, e *env) {
	a := e.create(t, e.project, "a", 1)
	b := e.create(t, e.project, "b", 1)
	for _, id := range []string{a.ID, b.ID} {
		if err := e.swap(only(id)); err != nil {
			t.Fatalf("swap to %s: %v", id, err)
		}
	}
	l := e.observe(t, e.project)
	if got, _ := findPool(l, a.ID); got.LastServed.IsZero() {
		t.Errorf("pool %s served then stopped, but its last served time is zero", a.ID)
	}
	if err := e.c.DeletePool(e.ctx, e.project, a.ID); err != nil {
		t.Fatalf("deleting the non-serving pool %s: %v", a.ID, err)
	}
	e.eventually(t, e.project, func(l *cloud.Live) error {
		if _, ok := findPool(l, a.ID); ok {
			return fmt.Errorf("deleted pool %s is still observed", a.ID)
		}
		return routesExactly(l, e.pool.Env, e.pool.Role, only(b.ID))
	})
	if err := e.c.DeletePool(e.ctx, e.project, a.ID); err != nil {
		t.Fatalf("deleting %s a second time: %v (deleting what is gone must succeed)", a.ID, err)
	}
}

// An image a pool uses cannot be deleted; once its pools are gone it can,
// and deleting it again succeeds.
func testDeleteImageInUse(t *testing.T, e *env) {
	p := e.create(t, e.project, "", 1)
	err := e.c.DeleteImage(e.ctx, e.project, p.BuildID)
	if !errors.Is(err, cloud.ErrInUse) {
		t.Fatalf("deleting image %s used by pool %s: got %v, want an error wrapping ErrInUse", short(p.BuildID), p.ID, err)
	}
	if _, ok := findImage(e.observe(t, e.project), p.BuildID); !ok {
		t.Fatalf("image %s is gone after a refused delete", short(p.BuildID))
	}
	if err := e.c.DeletePool(e.ctx, e.project, p.ID); err != nil {
		t.Fatalf("deleting pool %s: %v", p.ID, err)
	}
	e.eventually(t, e.project, func(l *cloud.Live) error {
		if _, ok := findPool(l, p.ID); ok {
			return fmt.Errorf("deleted pool %s is still observed", p.ID)
		}
		return nil
	})
	if err := e.c.DeleteImage(e.ctx, e.project, p.BuildID); err != nil {
		t.Fatalf("deleting the unused image %s: %v", short(p.BuildID), err)
	}
	e.eventually(t, e.project, func(l *cloud.Live) error {
		if _, ok := findImage(l, p.BuildID); ok {
			return fmt.Errorf("deleted image %s is still observed", short(p.BuildID))
		}
		return nil
	})
	if err := e.c.DeleteImage(e.ctx, e.project, p.BuildID); err != nil {
		t.Fatalf("deleting image %s a second time: %v", short(p.BuildID), err)
	}
}

// A retained pool made cold keeps its record; a swap back starts it, and it
// serves healthy. Warming a cold pool makes it ready again.
func testWarm(t *testing.T, e *env) {
	a := e.create(t, e.project, "a", 1)
	b := e.create(t, e.project, "b", 1)
	if err := e.swap(only(a.ID)); err != nil {
		t.Fatalf("swap to %s: %v", a.ID, err)
	}
	if err := e.c.SetWarm(e.ctx, e.project, b.ID, false); err != nil {
		t.Fatalf("cooling %s: %v", b.ID, err)
	}
	e.eventually(t, e.project, func(l *cloud.Live) error {
		p, ok := findPool(l, b.ID)
		if !ok || p.State != cloud.PoolCold {
			return fmt.Errorf("pool %s is not cold after SetWarm(false): %+v", b.ID, p)
		}
		return nil
	})
	if err := e.swap(only(b.ID)); err != nil {
		t.Fatalf("swap to the cold pool %s: %v", b.ID, err)
	}
	e.eventually(t, e.project, func(l *cloud.Live) error {
		p, _ := findPool(l, b.ID)
		if p.State != cloud.PoolReady || !p.Healthy || p.Servers != p.Count {
			return fmt.Errorf("pool %s swapped to from cold is %s, healthy %v, %d/%d servers", b.ID, p.State, p.Healthy, p.Servers, p.Count)
		}
		return routesExactly(l, e.pool.Env, e.pool.Role, only(b.ID))
	})
	// And the other way: cool a, warm it again without a swap.
	if err := e.c.SetWarm(e.ctx, e.project, a.ID, false); err != nil {
		t.Fatalf("cooling %s: %v", a.ID, err)
	}
	if err := e.c.SetWarm(e.ctx, e.project, a.ID, true); err != nil {
		t.Fatalf("warming %s: %v", a.ID, err)
	}
	e.eventually(t, e.project, func(l *cloud.Live) error {
		p, _ := findPool(l, a.ID)
		if p.State != cloud.PoolReady || !p.Healthy {
			return fmt.Errorf("pool %s warmed again is %s, healthy %v", a.ID, p.State, p.Healthy)
		}
		return nil
	})
}

// A serving pool cannot be made cold: that would take traffic down.
func testWarmServing(t *testing.T, e *env) {
	p := e.create(t, e.project, "", 1)
	if err := e.swap(only(p.ID)); err != nil {
		t.Fatalf("swap to %s: %v", p.ID, err)
	}
	if err := e.c.SetWarm(e.ctx, e.project, p.ID, false); !errors.Is(err, cloud.ErrServing) {
		t.Fatalf("cooling the serving pool %s: got %v, want an error wrapping ErrServing", p.ID, err)
	}
	e.eventually(t, e.project, func(l *cloud.Live) error {
		got, _ := findPool(l, p.ID)
		if got.State != cloud.PoolReady || !got.Healthy {
			return fmt.Errorf("serving pool %s is %s, healthy %v after a refused cool", p.ID, got.State, got.Healthy)
		}
		return routesExactly(l, e.pool.Env, e.pool.Role, only(p.ID))
	})
}

// Two owners: the second is refused with the holder named; the first
// renews; a non-holder's unlock leaves the lock; an empty owner forces it.
func testLockOwners(t *testing.T, e *env) {
	lock := func(owner string) error {
		return e.c.Lock(e.ctx, cloud.LockRequest{Project: e.project, Env: e.pool.Env, Owner: owner, Lease: 10 * time.Minute})
	}
	if err := lock("alice"); err != nil {
		t.Fatalf("alice takes the lock: %v", err)
	}
	err := lock("bob")
	if !errors.Is(err, cloud.ErrLocked) {
		t.Fatalf("bob takes alice's lock: got %v, want an error wrapping ErrLocked", err)
	}
	var le *cloud.LockedError
	if !errors.As(err, &le) || le.Owner != "alice" || le.Env != e.pool.Env {
		t.Errorf("bob's lock error %v does not name alice as the holder of %s", err, e.pool.Env)
	}
	if err := lock("alice"); err != nil {
		t.Fatalf("alice renews her lock: %v", err)
	}
	l := e.observe(t, e.project)
	held := false
	for _, li := range l.Locks {
		held = held || (li.Env == e.pool.Env && li.Owner == "alice")
	}
	if !held {
		t.Errorf("Observe does not report alice's lock on %s\n%s", e.pool.Env, dump(l))
	}
	_ = e.c.Unlock(e.ctx, e.project, e.pool.Env, "bob") // not the holder: no effect
	if err := lock("bob"); !errors.Is(err, cloud.ErrLocked) {
		t.Fatalf("after bob's unlock of alice's lock, bob's lock: got %v, want ErrLocked", err)
	}
	if err := e.c.Unlock(e.ctx, e.project, e.pool.Env, ""); err != nil {
		t.Fatalf("forced unlock: %v", err)
	}
	if err := lock("bob"); err != nil {
		t.Fatalf("bob locks after a forced unlock: %v", err)
	}
	if err := e.c.Unlock(e.ctx, e.project, e.pool.Env, "bob"); err != nil {
		t.Fatalf("bob unlocks: %v", err)
	}
	if err := lock("alice"); err != nil {
		t.Fatalf("alice locks after bob unlocked: %v", err)
	}
}

// An expired lease is taken over by another owner.
func testLockExpired(t *testing.T, e *env) {
	lease := 2 * time.Second
	if err := e.c.Lock(e.ctx, cloud.LockRequest{Project: e.project, Env: e.pool.Env, Owner: "alice", Lease: lease}); err != nil {
		t.Fatalf("alice takes the lock: %v", err)
	}
	e.advance(t, lease+time.Second)
	if err := e.c.Lock(e.ctx, cloud.LockRequest{Project: e.project, Env: e.pool.Env, Owner: "bob", Lease: time.Minute}); err != nil {
		t.Fatalf("bob takes alice's expired lock: %v", err)
	}
	err := e.c.Lock(e.ctx, cloud.LockRequest{Project: e.project, Env: e.pool.Env, Owner: "alice", Lease: time.Minute})
	if !errors.Is(err, cloud.ErrLocked) {
		t.Fatalf("alice retakes bob's lock: got %v, want ErrLocked", err)
	}
}

// Another project's resources are invisible, untouched by deletes made in
// this project's name, and its locks are its own.
func testOtherProject(t *testing.T, e *env) {
	other := e.project + "-other"
	p := e.create(t, other, "", 1)
	l := e.observe(t, e.project)
	if len(l.Images) != 0 || len(l.Pools) != 0 {
		t.Fatalf("project %s sees project %s's resources\n%s", e.project, other, dump(l))
	}
	if err := e.c.DeletePool(e.ctx, e.project, p.ID); err != nil {
		t.Fatalf("deleting pool %s, absent in %s: %v", p.ID, e.project, err)
	}
	if err := e.c.DeleteImage(e.ctx, e.project, p.BuildID); err != nil {
		t.Fatalf("deleting image %s, absent in %s: %v", short(p.BuildID), e.project, err)
	}
	e.eventually(t, other, func(l *cloud.Live) error {
		if got, ok := findPool(l, p.ID); !ok || got.State != cloud.PoolReady {
			return fmt.Errorf("project %s lost pool %s to a delete in %s", other, p.ID, e.project)
		}
		if _, ok := findImage(l, p.BuildID); !ok {
			return fmt.Errorf("project %s lost image %s to a delete in %s", other, short(p.BuildID), e.project)
		}
		return nil
	})
	for _, pr := range []string{other, e.project} {
		if err := e.c.Lock(e.ctx, cloud.LockRequest{Project: pr, Env: e.pool.Env, Owner: "owner-" + pr, Lease: time.Minute}); err != nil {
			t.Fatalf("locking %s in project %s: %v", e.pool.Env, pr, err)
		}
	}
}

// Resources Phoenix did not tag for the project never show and survive a
// whole cycle of bake, create, swap, prune.
func testForeign(t *testing.T, e *env) {
	if e.h.Foreign == nil {
		t.Skip("the harness has no Foreign hook")
	}
	intact := e.h.Foreign(t, e.c, e.d)
	l := e.observe(t, e.project)
	if len(l.Images) != 0 || len(l.Pools) != 0 {
		t.Fatalf("foreign resources show in Observe\n%s", dump(l))
	}
	a := e.create(t, e.project, "a", 1)
	b := e.create(t, e.project, "b", 1)
	for _, id := range []string{a.ID, b.ID} {
		if err := e.swap(only(id)); err != nil {
			t.Fatalf("swap to %s: %v", id, err)
		}
	}
	if err := e.c.DeletePool(e.ctx, e.project, a.ID); err != nil {
		t.Fatalf("deleting %s: %v", a.ID, err)
	}
	l = e.observe(t, e.project)
	if len(l.Pools) != 1 || l.Pools[0].ID != b.ID {
		t.Fatalf("after the cycle the project should hold only pool %s\n%s", b.ID, dump(l))
	}
	if err := intact(t); err != nil {
		t.Fatalf("foreign resources were touched: %v", err)
	}
}
