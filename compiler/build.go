package compiler

import (
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"

	"github.com/phoenix-gitops/phoenix/model"
)

// builder turns a checked rawSpec into the model: build ids, file digests,
// merged pool settings and pool keys.
type builder struct {
	raw     *rawSpec
	fsys    fs.FS
	d       *diags
	digests map[string]string // file digests by source path, per compile
}

func buildModel(raw *rawSpec, fsys fs.FS, d *diags) *model.Desired {
	b := &builder{raw: raw, fsys: fsys, d: d, digests: map[string]string{}}
	out := &model.Desired{
		Project:      raw.Project,
		Images:       make(map[string]*model.Image, len(raw.Images)),
		Environments: make(map[string]*model.Environment, len(raw.Environments)),
		Source:       fsys,
	}
	for _, n := range sortedKeys(raw.Images) {
		b.image(out.Images, n)
	}
	// Environments and their pools are independent of each other: build
	// them on every CPU (a spec may hold thousands).
	names := sortedKeys(raw.Environments)
	envs := make([]*model.Environment, len(names))
	pools := make([][]*model.Pool, len(names))
	forEach(len(names), func(int) func(int) {
		return func(i int) {
			env := b.env(names[i], raw.Environments[names[i]])
			envs[i] = env
			for _, rn := range env.Roles {
				pools[i] = append(pools[i], b.pool(env, rn, out.Images))
			}
		}
	})
	n := 0
	for i, env := range envs {
		out.Environments[env.Name] = env
		n += len(pools[i])
	}
	out.Pools = make([]*model.Pool, 0, n)
	for _, ps := range pools {
		out.Pools = append(out.Pools, ps...)
	}
	return out
}

// image builds an image after its parent (memoised in images); the chain
// has no cycles, the checks made sure.
func (b *builder) image(images map[string]*model.Image, name string) *model.Image {
	if im, ok := images[name]; ok {
		return im
	}
	r := b.raw.Images[name]
	im := &model.Image{Name: name, Steps: r.Steps, Env: nonEmpty(r.Env)}
	h := newHasher("phoenix image v1")
	if r.Parent != nil {
		parent := b.image(images, *r.Parent)
		im.Parent = parent.Name
		im.Chain = append(slices.Clone(parent.Chain), name)
		h.str("parent")
		h.str(parent.BuildID)
	} else {
		im.From = *r.From
		im.Chain = []string{name}
		h.str("from")
		h.str(im.From)
	}
	if r.MaxAge != nil {
		im.MaxAge, _ = parseDuration(*r.MaxAge)
	}
	h.strs(r.Steps)
	h.strMap(r.Env)
	dests := sortedKeys(r.Files)
	h.uint(uint64(len(dests)))
	for _, dest := range dests {
		src := path.Clean(r.Files[dest])
		f := model.File{Dest: dest, Source: src, Digest: b.digest(name, dest, src)}
		im.Files = append(im.Files, f)
		h.str(f.Dest)
		h.str(f.Digest)
	}
	im.BuildID = h.sum()
	images[name] = im
	return im
}

func (b *builder) digest(image, dest, src string) string {
	if dg, ok := b.digests[src]; ok {
		return dg
	}
	dg, err := digestSource(b.fsys, src)
	if err != nil {
		b.d.at(pathOf("images", image, "files", dest), fmt.Sprintf("image %q: reading file source %q: %v", image, src, err), "")
	}
	b.digests[src] = dg
	return dg
}

func (b *builder) env(name string, r *rawEnv) *model.Environment {
	e := &model.Environment{
		Name:      name,
		Cloud:     *r.Cloud,
		Roles:     sortedKeys(r.Roles),
		Config:    nonEmpty(r.Config),
		Secrets:   nonEmpty(r.Secrets),
		Retention: model.Retention{Keep: *r.Retention.Keep, Warm: *r.Retention.Warm},
		After:     slices.Sorted(slices.Values(slices.Compact(slices.Sorted(slices.Values(r.After))))),
		Traffic:   traffic(r.Traffic),
	}
	if len(e.After) == 0 {
		e.After = nil
	}
	if e.Traffic.Strategy == "canary" && (len(e.Traffic.Steps) == 0 || e.Traffic.Steps[len(e.Traffic.Steps)-1] != 100) {
		e.Traffic.Steps = append(slices.Clone(e.Traffic.Steps), 100)
	}
	if r.MaxAge != nil {
		e.MaxAge, _ = parseDuration(*r.MaxAge)
	}
	if a := r.AWS; a != nil {
		e.AWS = &model.AWS{Region: a.Region, AssumeRole: a.AssumeRole, Subnets: a.Subnets, SecurityGroups: a.SecurityGroups,
			InstanceProfile: a.InstanceProfile, Bucket: a.Bucket}
	}
	return e
}

// pool merges a role with its environment's overrides: role config <
// environment config < the environment's config for the role.
func (b *builder) pool(env *model.Environment, role string, images map[string]*model.Image) *model.Pool {
	r := b.raw.Roles[role]
	er := b.raw.Environments[env.Name].Roles[role]
	p := &model.Pool{
		Env: env.Name, Role: role, Cloud: env.Cloud,
		Image: r.Image, BuildID: images[r.Image].BuildID, Endpoint: er.Endpoint,
		Command: r.Command, Size: r.Size, Count: *r.Count, Port: *r.Port,
		Warm:      slices.Clone(r.Warm),
		Secrets:   maps.Clone(env.Secrets),
		Retention: env.Retention, MaxAge: env.MaxAge,
		Traffic: env.Traffic.Clone(),
	}
	if er.Count != nil {
		p.Count = *er.Count
	}
	if er.Size != nil {
		p.Size = *er.Size
	}
	p.Health.Path = *r.Health.Path
	p.Health.Interval, _ = parseDuration(*r.Health.Interval)
	p.Health.Timeout, _ = parseDuration(*r.Health.Timeout)
	if r.Health.Deadline != nil {
		p.Health.Deadline, _ = parseDuration(*r.Health.Deadline)
	}
	for _, s := range r.Smoke {
		p.Smoke = append(p.Smoke, model.Smoke{Path: s.Path, Status: *s.Status, Contains: s.Contains})
	}
	cfg := make(map[string]string, len(r.Config)+len(env.Config)+len(er.Config))
	maps.Copy(cfg, r.Config)
	maps.Copy(cfg, env.Config)
	maps.Copy(cfg, er.Config)
	p.Config = nonEmpty(cfg)
	p.Key = poolKey(p, env.AWS)
	return p
}

// poolKey hashes everything that shapes a server of the pool; not the
// endpoint, retention, maxAge or traffic, which steer the plan only, and
// never secret values (only their references are known here).
func poolKey(p *model.Pool, aws *model.AWS) string {
	h := newHasher("phoenix pool v1")
	h.str(p.Env)
	h.str(p.Role)
	h.str(p.Cloud)
	h.str(p.BuildID)
	h.str(p.Command)
	h.str(p.Size)
	h.int(int64(p.Count))
	h.int(int64(p.Port))
	h.str(p.Health.Path)
	h.int(int64(p.Health.Interval))
	h.int(int64(p.Health.Timeout))
	h.uint(uint64(len(p.Smoke)))
	for _, s := range p.Smoke {
		h.str(s.Path)
		h.int(int64(s.Status))
		h.str(s.Contains)
	}
	h.strs(p.Warm)
	h.strMap(p.Config)
	h.strMap(p.Secrets)
	if aws != nil {
		// Where servers run shapes them; the lock bucket does not.
		h.str(aws.Region)
		h.strs(aws.Subnets)
		h.strs(aws.SecurityGroups)
		h.str(aws.InstanceProfile)
		// The account is where servers run too, but a spec without
		// assumeRole hashes nothing for it, so that the keys of pools
		// from before assumeRole existed do not change (and no pool is
		// replaced). Last and tagged, so the encoding stays unambiguous.
		if aws.AssumeRole != "" {
			h.str("assumeRole")
			h.str(aws.AssumeRole)
		}
	}
	return h.sum()
}

func nonEmpty(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	return m
}

// traffic builds an environment's traffic strategy; durations were checked.
func traffic(r rawTraffic) model.Traffic {
	t := model.Traffic{Strategy: *r.Strategy, Steps: r.Steps}
	if r.Pause != nil {
		t.Pause, _ = parseDuration(*r.Pause)
	}
	if r.Bake != nil {
		t.Bake, _ = parseDuration(*r.Bake)
	}
	if a := r.Analysis; a != nil {
		t.Analysis = &model.Analysis{MaxErrorRate: *a.MaxErrorRate, MinRequests: *a.MinRequests}
		if a.MaxLatency != nil {
			t.Analysis.MaxLatency, _ = parseDuration(*a.MaxLatency)
		}
	}
	return t
}
