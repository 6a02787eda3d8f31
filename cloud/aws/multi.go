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
func placementsOf(d *model.Desired) []placement { return placementsIn(d, "") }

// placementsIn is placementsOf with region standing for an environment
// that names none (AWS_REGION's), so that it is grouped with those that
// name it.
func placementsIn(d *model.Desired, region string) []placement {
	ps := groupPlacements(d, region)
	if i := slices.IndexFunc(ps, func(p placement) bool { return p.key.role == "" }); i > 0 {
		p := ps[i]
		ps = slices.Insert(slices.Delete(ps, i, i+1), 0, p)
	}
	return ps
}

func groupPlacements(d *model.Desired, region string) []placement {
	var out []placement
	at := map[placementKey]int{}
	for _, name := range d.EnvNames() {
		e := d.Environments[name]
		if e.Cloud != Name {
			continue
		}
		k := placementKey{region: region}
		if e.AWS != nil {
			k.role = e.AWS.AssumeRole
			if e.AWS.Region != "" {
				k.region = e.AWS.Region
			}
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
	ps := placementsIn(d, base.Region)
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
	m := &Multi{byEnv: map[string]*placed{}, copiers: map[string]*Cloud{}, poolAt: map[string]*placed{}, epAt: map[string]*placed{},
		home: map[string]*placed{}, specEnvs: map[string]bool{}}
	for name := range d.Environments {
		m.specEnvs[name] = true
	}
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
		pl := &placed{placement: p, account: acct, c: c}
		m.places = append(m.places, pl)
		for _, e := range p.envs {
			m.byEnv[e] = pl
		}
	}
	m.bake = m.places[0]
	for _, pl := range m.places {
		// Images are read in every placement of the image account: those
		// baked where an earlier spec baked them stay the images.
		pl.c.noImages = pl.account != m.bake.account
		m.addCopier(pl, base, d, opt)
	}
	return m, nil
}

// addCopier makes sure the image account has a cloud in pl's region,
// where its images or copies for pl's pools are kept: that of a placement
// of the image account there, else one with the image placement's
// credentials and no environments.
func (m *Multi) addCopier(pl *placed, base aws.Config, d *model.Desired, opt Options) {
	r := pl.key.region
	if m.copiers[r] != nil {
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

// checkPlacement asks cfg for credentials once. For a placement that
// assumes a role, a failure is the AssumeRole's (denied, no such role, a
// throttle), not a lack of credentials, and is said so.
func checkPlacement(ctx context.Context, cfg aws.Config, ps []placement) error {
	if cfg.Region == "" {
		return fmt.Errorf("no AWS region: set aws.region in the spec or AWS_REGION")
	}
	if len(ps) == 0 || ps[0].key.role == "" {
		return CheckCredentials(ctx, cfg)
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		return fmt.Errorf("environment %s: assuming %s: %w", strings.Join(ps[0].envs, ", "), ps[0].key.role, classify("assuming the role", err))
	}
	return nil
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

	// specEnvs are all the spec's environments, of any cloud: a scope
	// naming one that no placement has is another cloud's, not one that
	// left the spec.
	specEnvs map[string]bool

	mu     sync.Mutex
	copyMu map[string]*sync.Mutex // region/source AMI -> held while its copy is found or made
	home   map[string]*placed     // build id -> the placement its image was read in
	poolAt map[string]*placed     // pool id -> where a read found it
	epAt   map[string]*placed     // endpoint address -> where a read found it
	scope  []string
}

// placed is one placement with its account and cloud.
type placed struct {
	placement
	account string
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
// placements are read, and the images of the image account's others.
func (m *Multi) Scope(envs []string) {
	m.scope = slices.Sorted(slices.Values(envs))
}

// Observe reads every placement at once (each within its own rate
// limits) and merges what they hold; images are those of the image
// account's placements.
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
	return m.merge(parts, nil), nil // a re-check reads no images
}

func (m *Multi) observe(ctx context.Context, project string, scope []string) (*cloud.Live, error) {
	read := m.toRead(scope)
	parts := make([]*cloud.Live, len(m.places))
	images := make([][]cloud.Image, len(m.places))
	g, gctx := errgroup.WithContext(ctx)
	for i, p := range m.places {
		switch {
		case read[i]:
			g.Go(func() error {
				l, err := p.c.observe(gctx, project, scope)
				if err != nil {
					return fmt.Errorf("reading %s: %w", p.key, err)
				}
				parts[i], images[i] = l, l.Images
				return nil
			})
		case !p.c.noImages:
			g.Go(func() (err error) {
				if images[i], err = p.c.readImages(gctx, project); err != nil {
					return fmt.Errorf("reading the images of %s: %w", p.key, err)
				}
				return nil
			})
		}
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return m.merge(parts, m.newestImages(images)), nil
}

// newestImages keeps the newest image of every build among those the
// placements of the image account read (by index of m.places), and
// remembers where each was read: a pool elsewhere starts from a copy of
// it, a child is baked from a copy in the image placement's region.
func (m *Multi) newestImages(byPlace [][]cloud.Image) []cloud.Image {
	m.mu.Lock()
	defer m.mu.Unlock()
	best := map[string]int{} // build id -> index in out
	var out []cloud.Image
	for i, ims := range byPlace {
		for _, im := range ims {
			j, seen := best[im.BuildID]
			switch {
			case !seen:
				best[im.BuildID] = len(out)
				out = append(out, im)
			case im.CreatedAt.After(out[j].CreatedAt):
				out[j] = im
			default:
				continue
			}
			m.home[im.BuildID] = m.places[i]
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].BuildID < out[j].BuildID })
	return out
}

// homeOf returns the placement an image was read in (or baked in).
func (m *Multi) homeOf(buildID string) *placed {
	m.mu.Lock()
	defer m.mu.Unlock()
	if p := m.home[buildID]; p != nil {
		return p
	}
	return m.bake
}

// toRead says which placements a read of scope covers: those with an
// environment in scope, every one for an environment no placement has and
// no other cloud of the spec either (it left the spec: its resources may
// be anywhere), all without a scope.
func (m *Multi) toRead(scope []string) []bool {
	read := make([]bool, len(m.places))
	for i, p := range m.places {
		read[i] = len(scope) == 0 || slices.ContainsFunc(p.envs, func(e string) bool { return slices.Contains(scope, e) })
	}
	for _, e := range scope {
		if m.byEnv[e] == nil && !m.specEnvs[e] {
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

// Bake implements cloud.Cloud: in the image placement, from a copy of
// the parent there if the parent was baked in another region (by an
// earlier spec whose image placement was elsewhere).
func (m *Multi) Bake(ctx context.Context, req cloud.BakeRequest) (cloud.Image, error) {
	if req.Parent != nil {
		ref, err := m.imageFor(ctx, req.Project, *req.Parent, m.bake, req.Log)
		if err != nil {
			return cloud.Image{}, fmt.Errorf("making parent image %s usable in %s: %w", req.Parent.Name, m.bake.key, err)
		}
		parent := *req.Parent
		parent.Ref = ref
		req.Parent = &parent
	}
	im, err := m.bake.c.Bake(ctx, req)
	if err == nil {
		m.mu.Lock()
		m.home[im.BuildID] = m.bake
		m.mu.Unlock()
	}
	return im, err
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
	if req.MoveFrom != "" && req.MoveFrom != req.Endpoint {
		m.mu.Lock()
		from := m.epAt[req.MoveFrom]
		m.mu.Unlock()
		if from != nil && from != p {
			// The endpoint moved to another region or account: the new
			// listener serves first, then the old one is detached where
			// it is.
			moved := req
			moved.MoveFrom = ""
			if err := p.c.Swap(ctx, moved); err != nil {
				return err
			}
			return from.c.release(ctx, req.MoveFrom)
		}
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
	return m.lockPlace(req.Env).c.Lock(ctx, req)
}

// lockPlace is where an environment's lock is: its placement, or for one
// that left the spec (apply --destroy locks it) the image placement,
// whose cloud keeps such locks in its bucket (Cloud.lockSite).
func (m *Multi) lockPlace(env string) *placed {
	if p := m.byEnv[env]; p != nil {
		return p
	}
	return m.bake
}

// Unlock implements cloud.Cloud.
func (m *Multi) Unlock(ctx context.Context, project, env, owner string) error {
	return m.lockPlace(env).c.Unlock(ctx, project, env, owner)
}

// DeleteImage implements cloud.Cloud: it refuses while a pool of any
// placement uses the build, then deletes its copies in every region and
// the image itself wherever the image account holds it (shares go with
// it).
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
	for _, p := range m.places {
		if !p.c.noImages {
			if err := p.c.deleteBuild(ctx, project, buildID); err != nil {
				return fmt.Errorf("in %s: %w", p.key, err)
			}
		}
	}
	m.mu.Lock()
	delete(m.home, buildID)
	m.mu.Unlock()
	return nil
}
