// Package status is what phoenix status reports: the live state of the
// environments in scope joined with the spec (which pool serves each
// endpoint, which are retained, which image builds exist), as data. It is
// the JSON contract of status --format json; render.StatusText is its
// table.
package status

import (
	"sort"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// FormatVersion is the version of the JSON contract of phoenix status.
// Version 1 (unnumbered) called an endpoint's pools "backends"; version 2
// calls them "serving", as the plan's JSON does.
const FormatVersion = "2"

// Doc is the JSON contract of phoenix status --format json: the live
// state of the environments in scope, joined with the spec.
type Doc struct {
	// FormatVersion is FormatVersion: a script can tell a contract it
	// does not know.
	FormatVersion string     `json:"format_version"`
	Project       string     `json:"project"`
	Endpoints     []Endpoint `json:"endpoints"`
	Pools         []Pool     `json:"pools"`
	Images        []Image    `json:"images"`
	// Simulation is true when the live state came from the in-memory
	// simulation (PHOENIX_CLOUD_OVERRIDE=memory): nothing in it is real.
	Simulation bool `json:"simulation,omitempty"`
}

// Endpoint is an (environment, role) and what its address routes to.
type Endpoint struct {
	Env     string `json:"env"`
	Role    string `json:"role"`
	Cloud   string `json:"cloud"`
	Address string `json:"address"`
	// Serving lists the pools the endpoint routes to, with their weights
	// (the plan's JSON calls them serving too).
	Serving []cloud.Backend `json:"serving"`
	// InSpec is false for an endpoint whose (environment, role) left the spec.
	InSpec bool `json:"in_spec"`
}

// Pool is a live pool, with whether it serves and whether the spec wants
// its key now.
type Pool struct {
	ID         string    `json:"id"`
	Env        string    `json:"env"`
	Role       string    `json:"role"`
	Key        string    `json:"key"`
	Generation int       `json:"generation"`
	Image      string    `json:"image"`
	BuildID    string    `json:"build_id"`
	Commit     string    `json:"commit"`
	CreatedAt  time.Time `json:"created_at"`
	Serving    bool      `json:"serving"`
	Weight     int       `json:"weight,omitempty"`
	Healthy    bool      `json:"healthy"`
	Servers    int       `json:"servers"`
	Count      int       `json:"count"`
	State      string    `json:"state"`
	Cloud      string    `json:"cloud"`
	// Desired is true when the pool's key is the spec's for its role now.
	Desired bool   `json:"desired"`
	Reason  string `json:"reason,omitempty"`
	// Rejected says why release analysis rejected the pool (rule 8).
	Rejected   string    `json:"rejected,omitempty"`
	RejectedAt time.Time `json:"rejected_at,omitzero"`
}

// Image is a baked image in the live cloud.
type Image struct {
	Name          string    `json:"name"`
	BuildID       string    `json:"build_id"`
	ParentBuildID string    `json:"parent_build_id,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	Cloud         string    `json:"cloud"`
	// Drift is true when the image no longer holds what its bake made.
	Drift bool `json:"drift,omitempty"`
}

// AddLeftEnvs adds to scope the environments that left the spec but still
// have endpoints or pools in the live cloud: their servers run and serve
// until phoenix apply --destroy, and status showed nothing of them.
func AddLeftEnvs(scope map[string]string, live *cloud.Live) {
	for _, e := range live.Endpoints {
		if _, ok := scope[e.Env]; !ok {
			scope[e.Env] = e.Cloud
		}
	}
	for _, p := range live.Pools {
		if _, ok := scope[p.Env]; !ok {
			scope[p.Env] = p.Cloud
		}
	}
}

// Build joins the live state with the spec for the environments in
// scope (and endpoints of those environments whose role left the spec).
func Build(d *model.Desired, live *cloud.Live, scope map[string]string) *Doc {
	doc := &Doc{FormatVersion: FormatVersion, Project: d.Project, Endpoints: []Endpoint{}, Pools: []Pool{}, Images: []Image{}}
	wantKey := map[string]string{}
	weight := map[string]int{}
	seen := map[string]bool{}
	for _, p := range d.Pools {
		if _, ok := scope[p.Env]; ok {
			wantKey[p.Env+"/"+p.Role] = p.Key
		}
	}
	for _, e := range live.Endpoints {
		if _, ok := scope[e.Env]; !ok {
			continue
		}
		k := e.Env + "/" + e.Role
		_, in := wantKey[k]
		doc.Endpoints = append(doc.Endpoints, Endpoint{Env: e.Env, Role: e.Role, Cloud: e.Cloud, Address: e.Address, Serving: e.Backends, InSpec: in})
		seen[k] = true
		for _, b := range e.Backends {
			weight[b.Pool] += b.Weight
		}
	}
	// Endpoints of the spec that nothing serves yet.
	for _, p := range d.Pools {
		if _, ok := scope[p.Env]; ok && !seen[p.Env+"/"+p.Role] {
			doc.Endpoints = append(doc.Endpoints, Endpoint{Env: p.Env, Role: p.Role, Cloud: p.Cloud, Address: p.Endpoint, Serving: []cloud.Backend{}, InSpec: true})
		}
	}
	sort.Slice(doc.Endpoints, func(i, j int) bool {
		a, b := doc.Endpoints[i], doc.Endpoints[j]
		return a.Env+"/"+a.Role < b.Env+"/"+b.Role
	})
	for _, p := range live.Pools {
		if _, ok := scope[p.Env]; !ok {
			continue
		}
		doc.Pools = append(doc.Pools, Pool{
			ID: p.ID, Env: p.Env, Role: p.Role, Key: p.Key, Generation: p.Generation, Image: p.Image, BuildID: p.BuildID,
			Commit: p.Commit, CreatedAt: p.CreatedAt, Serving: weight[p.ID] > 0, Weight: weight[p.ID], Healthy: p.Healthy,
			Servers: p.Servers, Count: p.Count, State: string(p.State), Cloud: p.Cloud,
			Desired: wantKey[p.Env+"/"+p.Role] == p.Key, Reason: p.Reason, Rejected: p.Rejected, RejectedAt: p.RejectedAt,
		})
	}
	sort.Slice(doc.Pools, func(i, j int) bool {
		a, b := doc.Pools[i], doc.Pools[j]
		if a.Env != b.Env || a.Role != b.Role {
			return a.Env+"/"+a.Role < b.Env+"/"+b.Role
		}
		return a.CreatedAt.After(b.CreatedAt) // newest first
	})
	for _, im := range live.Images {
		doc.Images = append(doc.Images, Image{Name: im.Name, BuildID: im.BuildID, ParentBuildID: im.ParentBuildID, CreatedAt: im.CreatedAt, Cloud: im.Cloud, Drift: im.Drift})
	}
	sort.Slice(doc.Images, func(i, j int) bool {
		a, b := doc.Images[i], doc.Images[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.CreatedAt.After(b.CreatedAt)
	})
	return doc
}
