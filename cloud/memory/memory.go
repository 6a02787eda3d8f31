// Package memory is an in-memory cloud for tests. It behaves like a cloud,
// not like a mock: it keeps state between calls, refuses what a real cloud
// refuses (deleting a serving pool, swapping to an unhealthy one, deleting an
// image in use) and reports only what is tagged for the asked project. Test
// knobs make creates and bakes fail, kill servers, mark drift, inject
// transient errors and move a settable clock.
package memory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// Op names a cloud operation, for transient-error injection, call counts and
// hooks.
type Op string

// The operations of cloud.Cloud.
const (
	OpObserve     Op = "observe"
	OpBake        Op = "bake"
	OpCreatePool  Op = "create"
	OpSwap        Op = "swap"
	OpSetWarm     Op = "set-warm"
	OpDeletePool  Op = "delete-pool"
	OpDeleteImage Op = "delete-image"
	OpLock        Op = "lock"
	OpUnlock      Op = "unlock"
	OpTraffic     Op = "traffic"
	OpReject      Op = "reject"
)

// Hook runs at the start of every call, before the cloud's state is read,
// with the operation and its target (pool id, build id, env/role or env).
// A non-nil error is returned by the call, which then changes nothing.
// Executor tests use it to count concurrency or to block a step.
type Hook func(ctx context.Context, op Op, target string) error

// Cloud is the in-memory cloud. It is safe for concurrent use.
type Cloud struct {
	name    string
	latency time.Duration

	mu       sync.Mutex
	clock    func() time.Time
	fixed    *time.Time // set by SetNow/Advance; overrides clock
	projects map[string]*project
	// Knobs.
	createFail map[string]string // "env/role" or "*/*" -> reason
	bakeFail   map[string]string // image name or build id -> reason
	transient  map[Op]int        // op -> calls left that fail
	calls      map[Op]int
	hook       Hook
	traffic    TrafficScript // nil: no traffic
}

// project is everything tagged for one project.
type project struct {
	images    map[string]cloud.Image    // by build id
	pools     map[string]cloud.Pool     // by pool id
	endpoints map[string]cloud.Endpoint // by "env/role"
	locks     map[string]cloud.LockInfo // by env
}

func newProject() *project {
	return &project{
		images:    map[string]cloud.Image{},
		pools:     map[string]cloud.Pool{},
		endpoints: map[string]cloud.Endpoint{},
		locks:     map[string]cloud.LockInfo{},
	}
}

// Option configures a Cloud.
type Option func(*Cloud)

// WithName sets the cloud's name (default "memory"). Name it "local" to stand
// in for the local cloud of a spec.
func WithName(name string) Option { return func(c *Cloud) { c.name = name } }

// WithClock sets the clock (default time.Now). SetNow and Advance override it.
func WithClock(now func() time.Time) Option { return func(c *Cloud) { c.clock = now } }

// WithNow freezes the clock at t (see SetNow).
func WithNow(t time.Time) Option { return func(c *Cloud) { c.fixed = &t } }

// WithLatency makes every acting call (not Observe) take d, respecting the
// context, so that executor tests can see steps overlap.
func WithLatency(d time.Duration) Option { return func(c *Cloud) { c.latency = d } }

// WithHook installs a hook (see Hook).
func WithHook(h Hook) Option { return func(c *Cloud) { c.hook = h } }

// New returns an empty in-memory cloud.
func New(opts ...Option) *Cloud {
	c := &Cloud{
		name:       "memory",
		clock:      time.Now,
		projects:   map[string]*project{},
		createFail: map[string]string{},
		bakeFail:   map[string]string{},
		transient:  map[Op]int{},
		calls:      map[Op]int{},
	}
	for _, o := range opts {
		o(c)
	}
	return c
}

var _ cloud.Cloud = (*Cloud)(nil)

// Name implements cloud.Cloud.
func (c *Cloud) Name() string { return c.name }

// now returns the cloud's time; c.mu must be held.
func (c *Cloud) now() time.Time {
	if c.fixed != nil {
		return *c.fixed
	}
	return c.clock()
}

// proj returns the state of a project, creating it; c.mu must be held.
func (c *Cloud) proj(name string) *project {
	p, ok := c.projects[name]
	if !ok {
		p = newProject()
		c.projects[name] = p
	}
	return p
}

// begin runs what every call shares: context, hook, latency, call count and
// injected transient errors. It takes c.mu on success; the caller unlocks.
func (c *Cloud) begin(ctx context.Context, op Op, target string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	hook := c.hook
	c.calls[op]++
	c.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, op, target); err != nil {
			return err
		}
	}
	if c.latency > 0 && op != OpObserve {
		t := time.NewTimer(c.latency)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	c.mu.Lock()
	if n := c.transient[op]; n > 0 {
		c.transient[op] = n - 1
		c.mu.Unlock()
		return &cloud.TransientError{Err: fmt.Errorf("memory cloud: injected transient error in %s %s", op, target)}
	}
	return nil
}

// Observe implements cloud.Cloud: copies of everything tagged for project.
func (c *Cloud) Observe(ctx context.Context, projectName string) (*cloud.Live, error) {
	if err := c.begin(ctx, OpObserve, projectName); err != nil {
		return nil, err
	}
	defer c.mu.Unlock()
	return c.export(projectName), nil
}

// export copies a project's state into a Live, sorted; c.mu must be held.
func (c *Cloud) export(projectName string) *cloud.Live {
	live := &cloud.Live{}
	p, ok := c.projects[projectName]
	if !ok {
		return live
	}
	for _, im := range p.images {
		live.Images = append(live.Images, im)
	}
	sort.Slice(live.Images, func(i, j int) bool {
		a, b := live.Images[i], live.Images[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.BuildID < b.BuildID
	})
	for _, pl := range p.pools {
		live.Pools = append(live.Pools, pl)
	}
	sort.Slice(live.Pools, func(i, j int) bool { return live.Pools[i].ID < live.Pools[j].ID })
	keys := make([]string, 0, len(p.endpoints))
	for k := range p.endpoints {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		e := p.endpoints[k]
		e.Backends = slices.Clone(e.Backends)
		live.Endpoints = append(live.Endpoints, e)
	}
	now := c.now()
	for _, l := range p.locks {
		if l.Expires.After(now) {
			live.Locks = append(live.Locks, l)
		}
	}
	sort.Slice(live.Locks, func(i, j int) bool { return live.Locks[i].Env < live.Locks[j].Env })
	return live
}

// Bake implements cloud.Cloud. Baking a build id that exists returns the
// existing image unchanged, unless req.Replace: then it is baked again (the
// parent checked, failures injected, steps logged, as for a first bake) and
// its one record replaced, with the cloud's current time as CreatedAt. Pools
// refer to an image by build id, so the pools made from the old bake keep
// working.
func (c *Cloud) Bake(ctx context.Context, req cloud.BakeRequest) (cloud.Image, error) {
	if req.Image == nil {
		return cloud.Image{}, errors.New("memory cloud: bake request without an image")
	}
	if err := c.begin(ctx, OpBake, req.Image.BuildID); err != nil {
		return cloud.Image{}, err
	}
	defer c.mu.Unlock()
	im := req.Image
	if im.BuildID == "" {
		return cloud.Image{}, fmt.Errorf("baking image %s: no build id", im.Name)
	}
	p := c.proj(req.Project)
	if got, ok := p.images[im.BuildID]; ok && !req.Replace && !got.Drift {
		return got, nil
	}
	parent := ""
	switch {
	case req.Parent != nil:
		pim, ok := p.images[req.Parent.BuildID]
		if !ok {
			return cloud.Image{}, fmt.Errorf("baking image %s: parent image %s %s: %w", im.Name, req.Parent.Name, short(req.Parent.BuildID), cloud.ErrNotFound)
		}
		if pim.Drift {
			return cloud.Image{}, fmt.Errorf("baking image %s: parent image %s %s: %w", im.Name, req.Parent.Name, short(req.Parent.BuildID), cloud.ErrDrift)
		}
		parent = req.Parent.BuildID
	case im.Parent != "":
		return cloud.Image{}, fmt.Errorf("baking image %s: its parent %s was not given", im.Name, im.Parent)
	}
	for _, k := range []string{im.BuildID, im.Name} {
		if reason, ok := c.bakeFail[k]; ok {
			if req.Log != nil {
				fmt.Fprintf(req.Log, "bake %s failed: %s\n", im.Name, reason)
			}
			return cloud.Image{}, fmt.Errorf("baking image %s: %s", im.Name, reason)
		}
	}
	if req.Log != nil {
		for _, s := range im.Steps {
			fmt.Fprintf(req.Log, "+ %s\n", s)
		}
	}
	got := cloud.Image{
		Cloud:         c.name,
		Name:          im.Name,
		BuildID:       im.BuildID,
		ParentBuildID: parent,
		CreatedAt:     c.now(),
		Ref:           "mem-" + short(im.BuildID),
	}
	p.images[im.BuildID] = got
	return got, nil
}

// CreatePool implements cloud.Cloud. The pool is ready and healthy with all
// its servers at once, unless FailCreate matches it; then it is left behind
// failed, as a real cloud would leave a half-made pool.
func (c *Cloud) CreatePool(ctx context.Context, req cloud.CreateRequest) (cloud.Pool, error) {
	if req.Pool == nil || req.ID == "" {
		return cloud.Pool{}, errors.New("memory cloud: create request without a pool or id")
	}
	if err := c.begin(ctx, OpCreatePool, req.ID); err != nil {
		return cloud.Pool{}, err
	}
	defer c.mu.Unlock()
	p := c.proj(req.Project)
	if got, ok := p.pools[req.ID]; ok {
		if got.State == cloud.PoolFailed {
			return got, fmt.Errorf("it exists and failed: %s", got.Reason)
		}
		return got, nil
	}
	if _, ok := p.images[req.Image.BuildID]; !ok {
		return cloud.Pool{}, fmt.Errorf("image %s %s: %w", req.Image.Name, short(req.Image.BuildID), cloud.ErrNotFound)
	}
	count := max(req.Pool.Count, 1)
	pool := cloud.Pool{
		Cloud:      c.name,
		ID:         req.ID,
		Env:        req.Pool.Env,
		Role:       req.Pool.Role,
		Key:        req.Pool.Key,
		Generation: req.Generation,
		Image:      req.Image.Name,
		BuildID:    req.Image.BuildID,
		Commit:     req.Commit,
		CreatedAt:  c.now(),
		State:      cloud.PoolReady,
		Healthy:    true,
		Servers:    count,
		Count:      count,
	}
	if reason, ok := c.createFailure(req.Pool.Env, req.Pool.Role); ok {
		pool.State, pool.Healthy, pool.Servers, pool.Reason = cloud.PoolFailed, false, 0, reason
		p.pools[req.ID] = pool
		if req.Log != nil {
			fmt.Fprintf(req.Log, "pool %s failed: %s\n", req.ID, reason)
		}
		return pool, errors.New(reason)
	}
	p.pools[req.ID] = pool
	return pool, nil
}

func (c *Cloud) createFailure(env, role string) (string, bool) {
	for _, k := range []string{env + "/" + role, env + "/*", "*/" + role, "*/*"} {
		if r, ok := c.createFail[k]; ok {
			return r, true
		}
	}
	return "", false
}

// Swap implements cloud.Cloud. Every backend is checked before anything
// changes: it must exist in the project, belong to the endpoint's
// environment and role, and be healthy or cold (a cold pool is started
// first). No backends detaches the endpoint.
func (c *Cloud) Swap(ctx context.Context, req cloud.SwapRequest) error {
	target := req.Env + "/" + req.Role
	if err := c.begin(ctx, OpSwap, target); err != nil {
		return err
	}
	defer c.mu.Unlock()
	p := c.proj(req.Project)
	backends, err := cloud.CheckBackends(req.Backends)
	if err != nil {
		return fmt.Errorf("swapping %s: %w", target, err)
	}
	for _, b := range backends {
		pl, ok := p.pools[b.Pool]
		switch {
		case !ok:
			return fmt.Errorf("swapping %s to pool %s: %w", target, b.Pool, cloud.ErrNotFound)
		case pl.Env != req.Env || pl.Role != req.Role:
			return fmt.Errorf("swapping %s to pool %s: the pool belongs to %s/%s", target, b.Pool, pl.Env, pl.Role)
		case pl.State == cloud.PoolFailed || pl.State == cloud.PoolCreating:
			return fmt.Errorf("swapping %s to pool %s (%s): %w", target, b.Pool, pl.State, cloud.ErrNotReady)
		case pl.State == cloud.PoolReady && !pl.Healthy:
			return fmt.Errorf("swapping %s to pool %s (%d/%d servers): %w", target, b.Pool, pl.Servers, pl.Count, cloud.ErrNotReady)
		}
	}
	now := c.now()
	old := p.endpoints[target]
	touch := map[string]bool{}
	for _, id := range old.Serving() {
		touch[id] = true
	}
	for _, b := range backends {
		touch[b.Pool] = true
		pl := p.pools[b.Pool]
		if pl.State == cloud.PoolCold {
			pl.State, pl.Healthy, pl.Servers = cloud.PoolReady, true, pl.Count
			p.pools[b.Pool] = pl
		}
	}
	for id := range touch {
		if pl, ok := p.pools[id]; ok {
			pl.LastServed = now
			p.pools[id] = pl
		}
	}
	if sole := cloud.SoleBackend(backends); sole != "" {
		pl := p.pools[sole]
		if pl.Released.IsZero() {
			pl.Released = now
			p.pools[sole] = pl
		}
	}
	if len(backends) == 0 {
		delete(p.endpoints, target)
		return nil
	}
	addr := req.Endpoint
	if addr == "" {
		addr = old.Address
	}
	p.endpoints[target] = cloud.Endpoint{Cloud: c.name, Env: req.Env, Role: req.Role, Address: addr, Backends: backends}
	return nil
}

// SetWarm implements cloud.Cloud. A serving pool cannot be made cold; a
// failed pool cannot be warmed.
func (c *Cloud) SetWarm(ctx context.Context, projectName, poolID string, warm bool) error {
	if err := c.begin(ctx, OpSetWarm, poolID); err != nil {
		return err
	}
	defer c.mu.Unlock()
	p := c.proj(projectName)
	pl, ok := p.pools[poolID]
	if !ok {
		return fmt.Errorf("setting pool %s warm=%v: %w", poolID, warm, cloud.ErrNotFound)
	}
	switch {
	case !warm && p.serving(poolID) != "":
		return fmt.Errorf("cooling pool %s: %s routes to it: %w", poolID, p.serving(poolID), cloud.ErrServing)
	case !warm:
		pl.Servers, pl.Healthy = 0, false
		if pl.State != cloud.PoolFailed {
			pl.State = cloud.PoolCold
		}
	case pl.State == cloud.PoolFailed:
		return fmt.Errorf("warming pool %s: %w: it failed: %s", poolID, cloud.ErrNotReady, pl.Reason)
	case pl.State == cloud.PoolCold:
		pl.State, pl.Healthy, pl.Servers, pl.Reason = cloud.PoolReady, true, pl.Count, ""
	}
	p.pools[poolID] = pl
	return nil
}

// serving returns the endpoint ("env/role") that routes to the pool, or "".
func (p *project) serving(poolID string) string {
	for k, e := range p.endpoints {
		if slices.Contains(e.Serving(), poolID) {
			return k
		}
	}
	return ""
}

// DeletePool implements cloud.Cloud, checking the endpoints at this moment.
func (c *Cloud) DeletePool(ctx context.Context, projectName, poolID string) error {
	if err := c.begin(ctx, OpDeletePool, poolID); err != nil {
		return err
	}
	defer c.mu.Unlock()
	p := c.proj(projectName)
	if _, ok := p.pools[poolID]; !ok {
		return nil
	}
	if ep := p.serving(poolID); ep != "" {
		return fmt.Errorf("deleting pool %s: endpoint %s routes to it: %w", poolID, ep, cloud.ErrServing)
	}
	delete(p.pools, poolID)
	return nil
}

// DeleteImage implements cloud.Cloud.
func (c *Cloud) DeleteImage(ctx context.Context, projectName, buildID string) error {
	if err := c.begin(ctx, OpDeleteImage, buildID); err != nil {
		return err
	}
	defer c.mu.Unlock()
	p := c.proj(projectName)
	im, ok := p.images[buildID]
	if !ok {
		return nil
	}
	var users []string
	for _, pl := range p.pools {
		if pl.BuildID == buildID {
			users = append(users, pl.ID)
		}
	}
	if len(users) > 0 {
		sort.Strings(users)
		return fmt.Errorf("deleting image %s %s: used by pool %s: %w", im.Name, short(buildID), strings.Join(users, ", "), cloud.ErrInUse)
	}
	delete(p.images, buildID)
	return nil
}

// Lock implements cloud.Cloud.
func (c *Cloud) Lock(ctx context.Context, req cloud.LockRequest) error {
	if err := c.begin(ctx, OpLock, req.Env); err != nil {
		return err
	}
	defer c.mu.Unlock()
	if req.Owner == "" || req.Lease <= 0 {
		return fmt.Errorf("locking %s: an owner and a positive lease are required", req.Env)
	}
	p := c.proj(req.Project)
	now := c.now()
	if l, ok := p.locks[req.Env]; ok && l.Owner != req.Owner && l.Expires.After(now) {
		return &cloud.LockedError{Env: req.Env, Owner: l.Owner, Expires: l.Expires}
	}
	p.locks[req.Env] = cloud.LockInfo{Env: req.Env, Owner: req.Owner, Expires: now.Add(req.Lease)}
	return nil
}

// Unlock implements cloud.Cloud. Unlocking a lock held by someone else
// leaves it alone.
func (c *Cloud) Unlock(ctx context.Context, projectName, env, owner string) error {
	if err := c.begin(ctx, OpUnlock, env); err != nil {
		return err
	}
	defer c.mu.Unlock()
	p := c.proj(projectName)
	if l, ok := p.locks[env]; ok && (owner == "" || l.Owner == owner) {
		delete(p.locks, env)
	}
	return nil
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}
