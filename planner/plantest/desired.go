package plantest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/phoenix-gitops/phoenix/model"
)

// Spec builds a model.Desired in Go, the way the compiler would shape it
// (build ids from parents and steps, pool keys from everything that shapes
// a server, pools sorted), so planner tests need no CUE.
type Spec struct {
	d     *model.Desired
	roles map[[2]string]*model.Pool
	err   error
}

// NewSpec starts a spec of project with no images and no environments.
func NewSpec(project string) *Spec {
	return &Spec{
		d: &model.Desired{
			Project: project, Images: map[string]*model.Image{}, Environments: map[string]*model.Environment{},
			Commit: "c0ffee0",
		},
		roles: map[[2]string]*model.Pool{},
	}
}

// Image adds (or redefines) an image baked from scratch (parent "") or on
// a parent, with its steps. Build ids and chains are computed by Desired,
// so changing a parent's steps changes every descendant's build id.
func (s *Spec) Image(name, parent string, steps ...string) *Spec {
	im := &model.Image{Name: name, Parent: parent, Steps: steps}
	if old := s.d.Images[name]; old != nil {
		im.MaxAge = old.MaxAge
	}
	if parent == "" {
		im.From = "scratch"
	}
	s.d.Images[name] = im
	return s
}

// resolve fills build ids and chains, parents first.
func resolve(images map[string]*model.Image) error {
	var visit func(name string, depth int) error
	visit = func(name string, depth int) error {
		im := images[name]
		if im == nil {
			return fmt.Errorf("plantest spec: image %s is not defined", name)
		}
		if im.BuildID != "" {
			return nil
		}
		if depth > len(images) {
			return fmt.Errorf("plantest spec: image %s: parent cycle", name)
		}
		src := im.From
		im.Chain = []string{name}
		if im.Parent != "" {
			if err := visit(im.Parent, depth+1); err != nil {
				return err
			}
			p := images[im.Parent]
			src = p.BuildID
			im.Chain = append(append([]string{}, p.Chain...), name)
		}
		im.BuildID = hash(src, name, strings.Join(im.Steps, "\n"))
		return nil
	}
	for name := range images {
		if err := visit(name, 0); err != nil {
			return err
		}
	}
	return nil
}

// ImageMaxAge sets an image's maxAge.
func (s *Spec) ImageMaxAge(name string, d time.Duration) *Spec {
	if im := s.d.Images[name]; im != nil {
		im.MaxAge = d
	}
	return s
}

// EnvOption sets something on an environment.
type EnvOption func(*model.Environment)

// Cloud puts the environment in a cloud (default "memory").
func Cloud(name string) EnvOption { return func(e *model.Environment) { e.Cloud = name } }

// Keep sets the retention: keep non-serving pools, warm of them warm.
func Keep(keep, warm int) EnvOption {
	return func(e *model.Environment) { e.Retention = model.Retention{Keep: keep, Warm: warm} }
}

// MaxAge sets the pools' maxAge.
func MaxAge(d time.Duration) EnvOption { return func(e *model.Environment) { e.MaxAge = d } }

// After makes the environment wait for others.
func After(envs ...string) EnvOption { return func(e *model.Environment) { e.After = envs } }

// Canary makes swaps walk these weights.
func Canary(steps ...int) EnvOption {
	return func(e *model.Environment) { e.Traffic = model.Traffic{Strategy: "canary", Steps: steps} }
}

// Watched sets how releases are watched: each canary weight for pause,
// then a bake window, judged against a (nil: health only). Give it after
// Canary, which sets the whole traffic strategy.
func Watched(pause, bake time.Duration, a *model.Analysis) EnvOption {
	return func(e *model.Environment) {
		e.Traffic.Pause, e.Traffic.Bake, e.Traffic.Analysis = pause, bake, a
	}
}

// EnvConfig sets one environment config value (it shapes every pool's key).
func EnvConfig(k, v string) EnvOption {
	return func(e *model.Environment) {
		if e.Config == nil {
			e.Config = map[string]string{}
		}
		e.Config[k] = v
	}
}

// Env adds an environment (cloud "memory", keep 2 with 1 warm, blue-green).
func (s *Spec) Env(name string, opts ...EnvOption) *Spec {
	e := &model.Environment{
		Name: name, Cloud: "memory", Retention: model.Retention{Keep: 2, Warm: 1},
		Traffic: model.Traffic{Strategy: "blue-green"},
	}
	for _, o := range opts {
		o(e)
	}
	s.d.Environments[name] = e
	return s
}

// Role adds a role running image to environment env, with count servers
// and role config given as "k=v" pairs.
func (s *Spec) Role(env, role, image string, count int, config ...string) *Spec {
	e := s.d.Environments[env]
	switch {
	case e == nil:
		s.fail("role %s: environment %s is not defined yet", role, env)
		return s
	case s.d.Images[image] == nil:
		s.fail("role %s: image %s is not defined yet", role, image)
		return s
	}
	p := &model.Pool{
		Env: env, Role: role, Image: image, Count: count, Port: 8080,
		Endpoint: fmt.Sprintf("%s.%s.example:80", role, env),
		Health:   model.Health{Path: "/health", Interval: time.Second, Timeout: time.Second},
		Config:   map[string]string{},
	}
	for _, kv := range config {
		k, v, _ := strings.Cut(kv, "=")
		p.Config[k] = v
	}
	s.roles[[2]string{env, role}] = p
	return s
}

// Desired returns a new desired state: environment settings copied onto
// the pools, keys computed, pools sorted. The spec can be changed and built
// again (a second commit) without changing what an earlier call returned.
// It panics on a builder mistake (an undefined parent, environment or
// image), which is a bug in the test.
func (s *Spec) Desired() *model.Desired {
	if s.err != nil {
		panic(s.err)
	}
	d := &model.Desired{
		Project: s.d.Project, Commit: s.d.Commit, Source: s.d.Source,
		Images: map[string]*model.Image{}, Environments: map[string]*model.Environment{},
	}
	for n, im := range s.d.Images {
		c := *im
		c.BuildID, c.Chain = "", nil
		d.Images[n] = &c
	}
	if err := resolve(d.Images); err != nil {
		panic(err)
	}
	for n, e := range s.d.Environments {
		c := *e
		c.Roles = nil
		d.Environments[n] = &c
	}
	for _, r := range s.roles {
		p := *r
		e := d.Environments[p.Env]
		p.Cloud = e.Cloud
		p.Retention, p.MaxAge, p.Traffic = e.Retention, e.MaxAge, e.Traffic
		p.Config = map[string]string{}
		for k, v := range e.Config {
			p.Config[k] = v
		}
		for k, v := range r.Config {
			p.Config[k] = v
		}
		p.BuildID = d.Images[p.Image].BuildID
		p.Key = hash(p.BuildID, p.Env, p.Role, fmt.Sprint(p.Count), fmt.Sprint(sortedPairs(p.Config)))
		d.Pools = append(d.Pools, &p)
		e.Roles = append(e.Roles, p.Role)
	}
	sort.Slice(d.Pools, func(i, j int) bool {
		if d.Pools[i].Env != d.Pools[j].Env {
			return d.Pools[i].Env < d.Pools[j].Env
		}
		return d.Pools[i].Role < d.Pools[j].Role
	})
	for _, e := range d.Environments {
		sort.Strings(e.Roles)
	}
	return d
}

// Drop removes a role from an environment, or the whole environment when
// role is "".
func (s *Spec) Drop(env, role string) *Spec {
	for k := range s.roles {
		if k[0] == env && (role == "" || k[1] == role) {
			delete(s.roles, k)
		}
	}
	if role == "" {
		delete(s.d.Environments, env)
	}
	return s
}

func (s *Spec) fail(format string, args ...any) {
	if s.err == nil {
		s.err = fmt.Errorf("plantest spec: "+format, args...)
	}
}

func sortedPairs(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k, v := range m {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

func hash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
