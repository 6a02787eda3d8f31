package memory

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// This file holds the test knobs: ways to make the cloud misbehave the way
// real clouds do, and to set up live state directly.

// Now returns the cloud's current time.
func (c *Cloud) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now()
}

// SetNow freezes the cloud's clock at t (creation times, lock leases).
func (c *Cloud) SetNow(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fixed = &t
}

// Advance moves the clock forward by d, freezing it there.
func (c *Cloud) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.now().Add(d)
	c.fixed = &t
}

// FailCreate makes every following create of a pool in (env, role) fail
// with reason, leaving the pool behind in state failed. Either may be "*".
// An empty reason clears the failure.
func (c *Cloud) FailCreate(env, role, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := env + "/" + role
	if reason == "" {
		delete(c.createFail, k)
		return
	}
	c.createFail[k] = reason
}

// FailBake makes every following bake of an image (by name or build id) fail
// with reason, leaving no image behind. An empty reason clears it.
func (c *Cloud) FailBake(image, reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if reason == "" {
		delete(c.bakeFail, image)
		return
	}
	c.bakeFail[image] = reason
}

// InjectTransient makes the next n calls of op fail with a
// cloud.TransientError, changing nothing.
func (c *Cloud) InjectTransient(op Op, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.transient[op] = n
}

// Calls returns how many calls of op were made (including failed ones).
func (c *Cloud) Calls(op Op) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[op]
}

// SetHook installs (or, with nil, removes) a hook; see Hook.
func (c *Cloud) SetHook(h Hook) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.hook = h
}

// KillServers stops n servers of a pool, as a crash would: the pool stays
// ready but is short and unhealthy. n >= Count kills them all.
func (c *Cloud) KillServers(projectName, poolID string, n int) error {
	return c.updatePool(projectName, poolID, func(p *cloud.Pool) {
		p.Servers = max(p.Servers-n, 0)
		p.Healthy = false
		p.Reason = fmt.Sprintf("%d of %d servers pass health checks", p.Servers, p.Count)
	})
}

// Heal brings a pool's servers back (a warm pool becomes healthy again).
func (c *Cloud) Heal(projectName, poolID string) error {
	return c.updatePool(projectName, poolID, func(p *cloud.Pool) {
		if p.State == cloud.PoolReady {
			p.Servers, p.Healthy, p.Reason = p.Count, true, ""
		}
	})
}

// SetDrift marks a pool's servers as (not) matching their image.
func (c *Cloud) SetDrift(projectName, poolID string, drift bool) error {
	return c.updatePool(projectName, poolID, func(p *cloud.Pool) { p.Drift = drift })
}

// SetImageDrift marks an image as (not) holding what its bake made, as a
// tampered local image tree would be.
func (c *Cloud) SetImageDrift(projectName, buildID string, drift bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.proj(projectName)
	im, ok := p.images[buildID]
	if !ok {
		return fmt.Errorf("image %s: %w", short(buildID), cloud.ErrNotFound)
	}
	im.Drift = drift
	p.images[buildID] = im
	return nil
}

func (c *Cloud) updatePool(projectName, poolID string, f func(*cloud.Pool)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.proj(projectName)
	pl, ok := p.pools[poolID]
	if !ok {
		return fmt.Errorf("pool %s: %w", poolID, cloud.ErrNotFound)
	}
	f(&pl)
	p.pools[poolID] = pl
	return nil
}

// Seed replaces the state of a project with a copy of live, as is: it is
// how property tests build arbitrary live states, including ones no
// sequence of calls would reach. Locks are kept only if given.
func (c *Cloud) Seed(projectName string, live *cloud.Live) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seed(projectName, live)
}

func (c *Cloud) seed(projectName string, live *cloud.Live) {
	p := newProject()
	c.projects[projectName] = p
	if live == nil {
		return
	}
	for _, im := range live.Images {
		im.Cloud = c.name
		p.images[im.BuildID] = im
	}
	for _, pl := range live.Pools {
		pl.Cloud = c.name
		p.pools[pl.ID] = pl
	}
	for _, e := range live.Endpoints {
		e.Cloud = c.name
		e.Backends = slices.Clone(e.Backends)
		p.endpoints[e.Env+"/"+e.Role] = e
	}
	for _, l := range live.Locks {
		p.locks[l.Env] = l
	}
}

// Mutate lets f edit a copy of a project's state and stores the result, in
// one step. Use it for changes no knob covers (a pool stuck creating).
func (c *Cloud) Mutate(projectName string, f func(live *cloud.Live)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	live := c.exportAll(projectName)
	f(live)
	c.seed(projectName, live)
}

// Projects returns the names of the projects the cloud holds state for,
// sorted (a file-backed test seam saves each).
func (c *Cloud) Projects() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]string, 0, len(c.projects))
	for p := range c.projects {
		out = append(out, p)
	}
	slices.Sort(out)
	return out
}

// Export returns a copy of a project's state including expired locks, as
// Seed takes it back.
func (c *Cloud) Export(projectName string) *cloud.Live {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.exportAll(projectName)
}

// exportAll is export with expired locks too; c.mu must be held.
func (c *Cloud) exportAll(projectName string) *cloud.Live {
	live := c.export(projectName)
	if p, ok := c.projects[projectName]; ok {
		live.Locks = live.Locks[:0]
		for _, l := range p.locks {
			live.Locks = append(live.Locks, l)
		}
		slices.SortFunc(live.Locks, func(a, b cloud.LockInfo) int { return strings.Compare(a.Env, b.Env) })
	}
	return live
}
