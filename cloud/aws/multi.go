package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/sync/errgroup"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// Several regions and accounts
//
// An environment names its region and, optionally, a role to assume
// (usually in another account). Environments of one (region, role) are a
// placement: they share one set of clients, so one set of client-side
// rate limits, and one read. AWS throttles per account and region, so
// that is where the limits belong. Images are baked once, in the first AWS
// environment's placement (the image placement), and made usable where a
// pool needs them when the pool is created: copied (CopyImage) into the
// image account's other regions, and shared by launch permission with
// other accounts. Copies are tagged as any image, plus the AMI they copy,
// and deleted with their image.

// placementKey is where an environment's AWS calls go.
type placementKey struct {
	region string
	role   string // IAM role ARN to assume; "" for the standard chain
}

func (k placementKey) String() string {
	if k.role == "" {
		return k.region
	}
	return k.region + " as " + k.role
}

// placement is the environments of one placementKey, in spec order.
type placement struct {
	key  placementKey
	envs []string
}

// placementsOf groups the spec's AWS environments by (region, role), in
// the order of their first environment's name, except that the image
// placement comes first: that of the first environment that assumes no
// role (the account Phoenix runs as, where images are kept centrally and
// shared from), else the first.
func placementsOf(d *model.Desired) []placement {
	ps := groupPlacements(d)
	if i := slices.IndexFunc(ps, func(p placement) bool { return p.key.role == "" }); i > 0 {
		p := ps[i]
		ps = slices.Insert(slices.Delete(ps, i, i+1), 0, p)
	}
	return ps
}

func groupPlacements(d *model.Desired) []placement {
	var out []placement
	at := map[placementKey]int{}
	for _, name := range d.EnvNames() {
		e := d.Environments[name]
		if e.Cloud != Name {
			continue
		}
		var k placementKey
		if e.AWS != nil {
			k = placementKey{region: e.AWS.Region, role: e.AWS.AssumeRole}
		}
		i, ok := at[k]
		if !ok {
			i = len(out)
			at[k] = i
			out = append(out, placement{key: k})
		}
		out[i].envs = append(out[i].envs, name)
	}
	return out
}

// Open opens the AWS cloud of the spec's AWS environments from base (the
// standard configuration: credentials, endpoint, retry settings). Each
// placement gets base with its region and, when it names one, credentials
// of its assumed role. One placement is a Cloud, as NewFromConfig makes;
// several are a Multi, which checks every placement's credentials and
// account before the first call.
func Open(ctx context.Context, base aws.Config, d *model.Desired, opt Options) (cloud.Cloud, error) {
	ps := placementsOf(d)
	if len(ps) <= 1 {
		cfg := base
		if len(ps) == 1 {
			cfg = placementConfig(base, ps[0].key)
		}
		if err := checkPlacement(ctx, cfg, ps); err != nil {
			return nil, err
		}
		return NewFromConfig(cfg, d, opt)
	}
	m := &Multi{byEnv: map[string]*placed{}, copiers: map[string]*Cloud{}, poolAt: map[string]*placed{}, epAt: map[string]*placed{}}
	seen := map[string]placementKey{} // account/region -> the key that reached it
	for i, p := range ps {
		cfg := placementConfig(base, p.key)
		if err := checkPlacement(ctx, cfg, ps[i:i+1]); err != nil {
			return nil, err
		}
		acct, err := accountOf(ctx, cfg)
		if err != nil {
			return nil, fmt.Errorf("environment %s (%s): %w", p.envs[0], p.key, err)
		}
		where := acct + "/" + p.key.region
		if k, dup := seen[where]; dup {
			return nil, fmt.Errorf("environment %s (%s) reaches account %s in %s, as environments of %s do: use one role per account and region, so that their resources are read and rate-limited once",
				p.envs[0], p.key, acct, p.key.region, k)
		}
		seen[where] = p.key
		c, err := newCloud(clientsFor(cfg, opt), d, opt, p.envs)
		if err != nil {
			return nil, err
		}
		pl := &placed{placement: p, account: acct, cfg: cfg, c: c}
		c.noImages = i > 0 // images are read where they are baked
		m.places = append(m.places, pl)
		for _, e := range p.envs {
			m.byEnv[e] = pl
		}
	}
	m.bake = m.places[0]
	for _, pl := range m.places[1:] {
		m.addCopier(pl, base, d, opt)
	}
	return m, nil
}

// addCopier makes sure the image account has a cloud in pl's region,
// where copies for pl's pools are kept: pl's own if pl is of the image
// account, else one with the image placement's credentials and no
// environments.
func (m *Multi) addCopier(pl *placed, base aws.Config, d *model.Desired, opt Options) {
	r := pl.key.region
	if r == m.bake.key.region || m.copiers[r] != nil {
		return
	}
	for _, o := range m.places {
		if o.account == m.bake.account && o.key.region == r {
			m.copiers[r] = o.c
			return
		}
	}
	cfg := placementConfig(base, placementKey{region: r, role: m.bake.key.role})
	c, _ := newCloud(clientsFor(cfg, opt), d, opt, []string{}) // no environments: cannot fail
	m.copiers[r] = c
}

// placementConfig is base with the placement's region and, if it names a
// role, credentials of that role (assumed with base's credentials,
// refreshed before they expire).
func placementConfig(base aws.Config, k placementKey) aws.Config {
	cfg := base.Copy()
	if k.region != "" {
		cfg.Region = k.region
	}
	if k.role != "" {
		prov := stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), k.role, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "phoenix"
		})
		cfg.Credentials = aws.NewCredentialsCache(prov)
	}
	return cfg
}

// checkPlacement asks cfg for credentials once, naming the environments
// and role they are for when it fails.
func checkPlacement(ctx context.Context, cfg aws.Config, ps []placement) error {
	if cfg.Region == "" {
		return fmt.Errorf("no AWS region: set aws.region in the spec or AWS_REGION")
	}
	err := CheckCredentials(ctx, cfg)
	if err == nil || len(ps) == 0 || ps[0].key.role == "" {
		return err
	}
	return fmt.Errorf("environment %s: assuming %s: %w", strings.Join(ps[0].envs, ", "), ps[0].key.role, err)
}

// accountOf asks STS which account cfg's credentials are of.
func accountOf(ctx context.Context, cfg aws.Config) (string, error) {
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", classify("asking STS for the account", err)
	}
	return aws.ToString(out.Account), nil
}

// Multi is the AWS cloud of a spec whose environments are in several
// regions or accounts: one Cloud per placement, behind the one cloud the
// planner sees. Calls about an environment go to its placement; calls
// about a pool or endpoint go where the last read found it.
type Multi struct {
	bake    *placed   // where images are baked and kept
	places  []*placed // every placement, bake first
	byEnv   map[string]*placed
	copiers map[string]*Cloud // region -> the image account's cloud there

	mu     sync.Mutex
	copyMu map[string]*sync.Mutex // region/source AMI -> held while its copy is found or made
	poolAt map[string]*placed     // pool id -> where a read found it
	epAt   map[string]*placed     // endpoint address -> where a read found it
	scope  []string
}

// placed is one placement with its account and cloud.
type placed struct {
	placement
	account string
	cfg     aws.Config
	c       *Cloud
}

var (
	_ cloud.Cloud        = (*Multi)(nil)
	_ cloud.EnvObserver  = (*Multi)(nil)
	_ cloud.Preflighter  = (*Multi)(nil)
	_ cloud.Meter        = (*Multi)(nil)
	_ cloud.Rejecter     = (*Multi)(nil)
	_ cloud.QuotaChecker = (*Multi)(nil)
)

// Name implements cloud.Cloud.
func (m *Multi) Name() string { return Name }

// Scope limits Observe to these environments (Cloud.Scope): only their
// placements are read, and the image placement for its images.
func (m *Multi) Scope(envs []string) {
	m.scope = slices.Sorted(slices.Values(envs))
	for _, p := range m.places {
		p.c.Scope(envs)
	}
}

// Observe reads every placement at once (each within its own rate
// limits) and merges what they hold; images are the image placement's.
func (m *Multi) Observe(ctx context.Context, project string) (*cloud.Live, error) {
	return m.observe(ctx, project, m.scope)
}

// ObserveEnv implements cloud.EnvObserver: env's placement's own
// re-check (Cloud.ObserveEnv), or for an environment that left the spec
// a read of every placement limited to it.
func (m *Multi) ObserveEnv(ctx context.Context, project, env string) (*cloud.Live, error) {
	p := m.byEnv[env]
	if p == nil {
		return m.observe(ctx, project, []string{env})
	}
	l, err := p.c.ObserveEnv(ctx, project, env)
	if err != nil {
		return nil, err
	}
	parts := make([]*cloud.Live, len(m.places))
	parts[slices.Index(m.places, p)] = l
	return m.merge(parts, l.Images), nil
}

func (m *Multi) observe(ctx context.Context, project string, scope []string) (*cloud.Live, error) {
	read := m.toRead(scope)
	parts := make([]*cloud.Live, len(m.places))
	var images []cloud.Image
	g, gctx := errgroup.WithContext(ctx)
	for i, p := range m.places {
		if !read[i] {
			continue
		}
		g.Go(func() error {
			l, err := p.c.observe(gctx, project, scope)
			if err != nil {
				return fmt.Errorf("reading %s: %w", p.key, err)
			}
			parts[i] = l
			return nil
		})
	}
	if !read[0] {
		g.Go(func() (err error) { images, err = m.bake.c.readImages(gctx, project); return })
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	if read[0] {
		images = parts[0].Images
	}
	return m.merge(parts, images), nil
}

// toRead says which placements a read of scope covers: those with an
// environment in scope, every one for an environment no placement has
// (it left the spec: its resources may be anywhere), all without a scope.
func (m *Multi) toRead(scope []string) []bool {
	read := make([]bool, len(m.places))
	for i, p := range m.places {
		read[i] = len(scope) == 0 || slices.ContainsFunc(p.envs, func(e string) bool { return slices.Contains(scope, e) })
	}
	for _, e := range scope {
		if m.byEnv[e] == nil {
			for i := range read {
				read[i] = true
			}
		}
	}
	return read
}

// merge joins the placements' reads and remembers where each pool and
// endpoint was found.
func (m *Multi) merge(parts []*cloud.Live, images []cloud.Image) *cloud.Live {
	live := &cloud.Live{Images: images}
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, l := range parts {
		if l == nil {
			continue
		}
		for _, p := range l.Pools {
			m.poolAt[p.ID] = m.places[i]
		}
		for _, e := range l.Endpoints {
			m.epAt[e.Address] = m.places[i]
		}
		live.Pools = append(live.Pools, l.Pools...)
		live.Endpoints = append(live.Endpoints, l.Endpoints...)
		live.Locks = append(live.Locks, l.Locks...)
	}
	sort.Slice(live.Pools, func(i, j int) bool { return live.Pools[i].ID < live.Pools[j].ID })
	sort.SliceStable(live.Endpoints, func(i, j int) bool {
		a, b := live.Endpoints[i], live.Endpoints[j]
		return a.Env+"\x00"+a.Role+"\x00"+a.Address < b.Env+"\x00"+b.Role+"\x00"+b.Address
	})
	sort.Slice(live.Locks, func(i, j int) bool { return live.Locks[i].Env < live.Locks[j].Env })
	return live
}

// copying returns the lock of the copy of ami into region: two pools of
// one region created at once (the executor runs them in parallel) would
// each find no copy and make one. Across processes, the copy's client
// token makes AWS return the first copy.
func (m *Multi) copying(region, ami string) *sync.Mutex {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.copyMu == nil {
		m.copyMu = map[string]*sync.Mutex{}
	}
	k := region + "/" + ami
	if m.copyMu[k] == nil {
		m.copyMu[k] = &sync.Mutex{}
	}
	return m.copyMu[k]
}

// ofEnv returns the placement of a spec environment.
func (m *Multi) ofEnv(env string) (*placed, error) {
	if p := m.byEnv[env]; p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("environment %s is not an aws environment of this spec", env)
}

// ofPool returns where a pool is: where a read found it, else its
// environment's placement (a pool id starts with its environment), else
// the image placement.
func (m *Multi) ofPool(id string) *placed {
	m.mu.Lock()
	p := m.poolAt[id]
	m.mu.Unlock()
	if p != nil {
		return p
	}
	env, _, _ := strings.Cut(id, ".")
	if p := m.byEnv[env]; p != nil {
		return p
	}
	return m.bake
}

// Bake implements cloud.Cloud: in the image placement.
func (m *Multi) Bake(ctx context.Context, req cloud.BakeRequest) (cloud.Image, error) {
	return m.bake.c.Bake(ctx, req)
}

// CreatePool implements cloud.Cloud: in the environment's placement, from
// the image's copy or share there (made first if missing).
func (m *Multi) CreatePool(ctx context.Context, req cloud.CreateRequest) (cloud.Pool, error) {
	p, err := m.ofEnv(req.Pool.Env)
	if err != nil {
		return cloud.Pool{}, err
	}
	ref, err := m.imageFor(ctx, req.Project, req.Image, p, req.Log)
	if err != nil {
		return cloud.Pool{}, fmt.Errorf("making image %s usable in %s: %w", req.Image.Name, p.key, err)
	}
	req.Image.Ref = ref
	pool, err := p.c.CreatePool(ctx, req)
	m.mu.Lock()
	m.poolAt[req.ID] = p
	m.mu.Unlock()
	return pool, err
}

// Swap implements cloud.Cloud: in the environment's placement, or where
// the endpoint was read for an environment that left the spec.
func (m *Multi) Swap(ctx context.Context, req cloud.SwapRequest) error {
	p := m.byEnv[req.Env]
	if p == nil {
		m.mu.Lock()
		p = m.epAt[req.Endpoint]
		m.mu.Unlock()
	}
	if p == nil {
		p = m.bake
	}
	return p.c.Swap(ctx, req)
}

// SetWarm implements cloud.Cloud.
func (m *Multi) SetWarm(ctx context.Context, project, poolID string, warm bool) error {
	return m.ofPool(poolID).c.SetWarm(ctx, project, poolID, warm)
}

// DeletePool implements cloud.Cloud.
func (m *Multi) DeletePool(ctx context.Context, project, poolID string) error {
	return m.ofPool(poolID).c.DeletePool(ctx, project, poolID)
}

// Reject implements cloud.Rejecter.
func (m *Multi) Reject(ctx context.Context, project, poolID, reason string) error {
	return m.ofPool(poolID).c.Reject(ctx, project, poolID, reason)
}

// Traffic implements cloud.Meter.
func (m *Multi) Traffic(ctx context.Context, project, poolID string, since time.Time) (cloud.TrafficFigures, error) {
	return m.ofPool(poolID).c.Traffic(ctx, project, poolID, since)
}

// Preflight implements cloud.Preflighter.
func (m *Multi) Preflight(ctx context.Context, pool *model.Pool) error {
	p, err := m.ofEnv(pool.Env)
	if err != nil {
		return err
	}
	return p.c.Preflight(ctx, pool)
}

// CheckQuotas implements cloud.QuotaChecker: limits are per account and
// region, so each placement counts the pools created in it against its
// own. Every placement's refusal is reported, each named by placement.
func (m *Multi) CheckQuotas(ctx context.Context, creates []*model.Pool) (skipped []string, err error) {
	by := map[*placed][]*model.Pool{}
	for _, p := range creates {
		pl, err := m.ofEnv(p.Env)
		if err != nil {
			return nil, err
		}
		by[pl] = append(by[pl], p)
	}
	var errs []error
	for _, pl := range m.places {
		if len(by[pl]) == 0 {
			continue
		}
		sk, err := pl.c.CheckQuotas(ctx, by[pl])
		for _, s := range sk {
			skipped = append(skipped, fmt.Sprintf("%s (%s)", s, pl.key))
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("in %s: %w", pl.key, err))
		}
	}
	return skipped, errors.Join(errs...)
}

// Lock implements cloud.Cloud: in the environment's bucket, through its
// placement.
func (m *Multi) Lock(ctx context.Context, req cloud.LockRequest) error {
	p, err := m.ofEnv(req.Env)
	if err != nil {
		return err
	}
	return p.c.Lock(ctx, req)
}

// Unlock implements cloud.Cloud.
func (m *Multi) Unlock(ctx context.Context, project, env, owner string) error {
	p, err := m.ofEnv(env)
	if err != nil {
		return err
	}
	return p.c.Unlock(ctx, project, env, owner)
}

// DeleteImage implements cloud.Cloud: it refuses while a pool of any
// placement uses the build, then deletes its copies in every region and
// the image itself (shares go with it).
func (m *Multi) DeleteImage(ctx context.Context, project, buildID string) error {
	for _, p := range m.places {
		if err := p.c.refuseInUse(ctx, project, buildID); err != nil {
			return fmt.Errorf("in %s: %w", p.key, err)
		}
	}
	var errs []error
	for _, r := range sortedKeys(m.copiers) {
		errs = append(errs, m.copiers[r].deleteCopies(ctx, project, buildID))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return m.bake.c.DeleteImage(ctx, project, buildID)
}
