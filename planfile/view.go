package planfile

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"sort"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

// The fingerprints hash canonical views of the spec and of the live state:
// exactly what a plan depends on, nothing volatile. encoding/json writes
// map keys sorted, so the same view always gives the same bytes.

// SpecView is what a plan depends on in the compiled spec, for the
// environments in scope.
type SpecView struct {
	Project string `json:"project"`
	// Images maps the name of every image a pool in scope uses (with its
	// chain) to its build id and maxAge.
	Images map[string]SpecImage `json:"images"`
	// Pools maps "env/role" to what steers its plan: its key (everything
	// that shapes a server) and the settings outside the key.
	Pools map[string]SpecPool `json:"pools"`
	Envs  map[string]SpecEnv  `json:"envs"`
}

// SpecImage is one image of the spec.
type SpecImage struct {
	BuildID string        `json:"build_id"`
	MaxAge  time.Duration `json:"max_age,omitempty"`
}

// SpecPool is one desired pool.
type SpecPool struct {
	Cloud     string          `json:"cloud"`
	Key       string          `json:"key"`
	BuildID   string          `json:"build_id"`
	Endpoint  string          `json:"endpoint"`
	Count     int             `json:"count"`
	Retention model.Retention `json:"retention"`
	MaxAge    time.Duration   `json:"max_age,omitempty"`
	Traffic   model.Traffic   `json:"traffic"`
}

// SpecEnv is one environment's ordering and placement.
type SpecEnv struct {
	Cloud string   `json:"cloud"`
	After []string `json:"after,omitempty"`
}

// LiveView is what a plan depends on in the live state: the pools and
// endpoints of the environments in scope and the images they use or the
// spec wants. It holds facts, never clocks: a pool's health class but not
// its server count, where it stands in its endpoint's served order but
// not when it served, so the same world always gives the same view however
// long ago it was observed. Reasons and locks do not count.
type LiveView struct {
	// Pools by "cloud/pool id".
	Pools map[string]LivePool `json:"pools"`
	// Endpoints by "cloud/env/role".
	Endpoints map[string]LiveEndpoint `json:"endpoints"`
	// Images by "cloud/build id".
	Images map[string]LiveImage `json:"images"`
}

// LivePool is one observed pool.
type LivePool struct {
	Env        string          `json:"env"`
	Role       string          `json:"role"`
	Key        string          `json:"key"`
	Generation int             `json:"generation"`
	BuildID    string          `json:"build_id"`
	State      cloud.PoolState `json:"state"`
	// Health is the class the planner acts on: "healthy" or "unhealthy"
	// for a ready pool, "" otherwise. A server count moving within a class
	// changes no step.
	Health string `json:"health,omitempty"`
	Drift  bool   `json:"drift,omitempty"`
	// Released: a completed swap once put all of its endpoint's traffic on
	// the pool, which makes it a rollback target (swapped to at once).
	Released bool `json:"released,omitempty"`
	// Rejected: release analysis rejected the pool, so a plain plan holds
	// its endpoint instead of swapping to it (rule 8).
	Rejected bool `json:"rejected,omitempty"`
	// ServedRank is the pool's place among its (env, role)'s pools by when
	// they last served, newest first from 1 (ties share a place); 0 if it
	// never served. It steers retention and whether a swap to the pool is
	// a canary; the time itself is no fact a plan rests on.
	ServedRank int    `json:"served_rank,omitempty"`
	CreatedAt  string `json:"created_at"`
}

// LiveEndpoint is one observed endpoint; backends sorted by pool.
type LiveEndpoint struct {
	Address  string          `json:"address"`
	Backends []cloud.Backend `json:"backends"`
}

// LiveImage is one observed image.
type LiveImage struct {
	Name      string `json:"name"`
	Parent    string `json:"parent,omitempty"`
	CreatedAt string `json:"created_at"`
	Drift     bool   `json:"drift,omitempty"`
}

// scope returns the environments a plan covers: its Envs, those its steps
// touch (an environment that left the spec), or nil for all.
func scope(p *planner.Plan) map[string]bool {
	if p == nil || len(p.Envs) == 0 {
		return nil
	}
	s := map[string]bool{}
	for _, e := range p.Envs {
		s[e] = true
	}
	for _, st := range p.Steps {
		if st.Env != "" {
			s[st.Env] = true
		}
	}
	return s
}

func inScope(s map[string]bool, env string) bool { return s == nil || s[env] }

// NewSpecView builds the spec's view for the environments in scope (nil:
// all).
func NewSpecView(d *model.Desired, envs map[string]bool) SpecView {
	v := SpecView{Project: d.Project, Images: map[string]SpecImage{}, Pools: map[string]SpecPool{}, Envs: map[string]SpecEnv{}}
	for name, e := range d.Environments {
		if inScope(envs, name) {
			v.Envs[name] = SpecEnv{Cloud: e.Cloud, After: sorted(e.After)}
		}
	}
	for _, p := range d.Pools {
		if !inScope(envs, p.Env) {
			continue
		}
		v.Pools[p.Env+"/"+p.Role] = SpecPool{Cloud: p.Cloud, Key: p.Key, BuildID: p.BuildID, Endpoint: p.Endpoint,
			Count: p.Count, Retention: p.Retention, MaxAge: p.MaxAge, Traffic: p.Traffic}
		if im, ok := d.Images[p.Image]; ok {
			for _, n := range im.Chain {
				if c, ok := d.Images[n]; ok {
					v.Images[n] = SpecImage{BuildID: c.BuildID, MaxAge: c.MaxAge}
				}
			}
		}
	}
	return v
}

// NewLiveView builds the live state's view for the environments in scope
// (nil: all). wanted holds the build ids whose images matter besides those
// pools in scope use: the spec's and the plan's.
func NewLiveView(l *cloud.Live, envs map[string]bool, wanted map[string]bool) LiveView {
	v := LiveView{Pools: map[string]LivePool{}, Endpoints: map[string]LiveEndpoint{}, Images: map[string]LiveImage{}}
	if l == nil {
		return v
	}
	used := map[string]bool{}
	for b := range wanted {
		used[b] = true
	}
	for _, p := range l.Pools {
		if !inScope(envs, p.Env) {
			continue
		}
		used[p.BuildID] = true
		v.Pools[p.Cloud+"/"+p.ID] = LivePool{Env: p.Env, Role: p.Role, Key: p.Key, Generation: p.Generation,
			BuildID: p.BuildID, State: p.State, Health: healthClass(p), Drift: p.Drift, Released: !p.Released.IsZero(),
			Rejected:   p.Rejected != "",
			ServedRank: servedRank(l.Pools, p), CreatedAt: stamp(p.CreatedAt)}
	}
	for _, e := range l.Endpoints {
		if !inScope(envs, e.Env) {
			continue
		}
		var bs []cloud.Backend
		for _, b := range e.Backends {
			if b.Weight > 0 {
				bs = append(bs, b)
			}
		}
		if len(bs) == 0 {
			continue // an endpoint routing nowhere is no endpoint to a plan
		}
		sort.Slice(bs, func(i, j int) bool { return bs[i].Pool < bs[j].Pool })
		v.Endpoints[e.Cloud+"/"+e.Env+"/"+e.Role] = LiveEndpoint{Address: e.Address, Backends: bs}
	}
	for _, im := range l.Images {
		if used[im.BuildID] {
			v.Images[im.Cloud+"/"+im.BuildID] = LiveImage{Name: im.Name, Parent: im.ParentBuildID, CreatedAt: stamp(im.CreatedAt), Drift: im.Drift}
		}
	}
	return v
}

// healthClass is "healthy" or "unhealthy" for a ready pool, "" for one
// whose state says it all (creating, failed, cold).
func healthClass(p cloud.Pool) string {
	switch {
	case p.State != cloud.PoolReady:
		return ""
	case p.Healthy:
		return "healthy"
	default:
		return "unhealthy"
	}
}

// servedRank is 1 + how many pools of p's cloud, environment and role
// last served after p, or 0 if p never served.
func servedRank(pools []cloud.Pool, p cloud.Pool) int {
	if p.LastServed.IsZero() {
		return 0
	}
	rank := 1
	for _, o := range pools {
		if o.Cloud == p.Cloud && o.Env == p.Env && o.Role == p.Role && o.LastServed.After(p.LastServed) {
			rank++
		}
	}
	return rank
}

// wantedBuilds are the build ids the spec in scope and the plan name.
func wantedBuilds(sv SpecView, p *planner.Plan) map[string]bool {
	w := map[string]bool{}
	for _, im := range sv.Images {
		w[im.BuildID] = true
	}
	if p != nil {
		for _, s := range p.Steps {
			if s.BuildID != "" {
				w[s.BuildID] = true
			}
		}
	}
	return w
}

// hashOf is the hex SHA-256 of v's canonical JSON.
func hashOf(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("planfile: a view does not marshal: " + err.Error()) // views are plain data
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// stamp renders a time canonically at second precision, the precision
// every cloud's tags keep; zero is "".
func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

func sorted(s []string) []string {
	out := slices.Clone(s)
	sort.Strings(out)
	return out
}
