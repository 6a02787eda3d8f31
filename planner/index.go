package planner

import (
	"sort"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// slot names the pools and the endpoint of one (cloud, environment, role).
type slot struct{ cloud, env, role string }

// imageRef names an image in one cloud by build id.
type imageRef struct{ cloud, buildID string }

// poolRef names a pool in one cloud by id.
type poolRef struct{ cloud, id string }

// index is the live state indexed once, so every rule is a map lookup and a
// plan stays linear in the size of the live state.
type index struct {
	pools     map[slot][]*cloud.Pool
	poolByID  map[poolRef]*cloud.Pool
	endpoints map[slot]*cloud.Endpoint
	// images holds the newest image per (cloud, build id): a rebake replaces
	// the record, but a cloud that keeps both still has one current bake.
	images map[imageRef]*cloud.Image
	// newestByName is the newest image of each (cloud, name), to say what a
	// missing build replaces.
	newestByName map[[2]string]*cloud.Image
	// slots lists every (cloud, env, role) with a live pool or endpoint, in
	// the order first seen, for rule 7.
	slots []slot
}

func indexLive(l *cloud.Live) *index {
	ix := &index{
		pools:        make(map[slot][]*cloud.Pool),
		poolByID:     make(map[poolRef]*cloud.Pool, len(l.Pools)),
		endpoints:    make(map[slot]*cloud.Endpoint, len(l.Endpoints)),
		images:       make(map[imageRef]*cloud.Image, len(l.Images)),
		newestByName: make(map[[2]string]*cloud.Image),
	}
	seen := make(map[slot]bool)
	note := func(s slot) {
		if !seen[s] {
			seen[s] = true
			ix.slots = append(ix.slots, s)
		}
	}
	for i := range l.Pools {
		p := &l.Pools[i]
		s := slot{p.Cloud, p.Env, p.Role}
		ix.pools[s] = append(ix.pools[s], p)
		ix.poolByID[poolRef{p.Cloud, p.ID}] = p
		note(s)
	}
	for i := range l.Endpoints {
		e := &l.Endpoints[i]
		s := slot{e.Cloud, e.Env, e.Role}
		ix.endpoints[s] = e
		note(s)
	}
	for i := range l.Images {
		im := &l.Images[i]
		r := imageRef{im.Cloud, im.BuildID}
		if old := ix.images[r]; old == nil || im.CreatedAt.After(old.CreatedAt) {
			ix.images[r] = im
		}
		n := [2]string{im.Cloud, im.Name}
		if old := ix.newestByName[n]; old == nil || im.CreatedAt.After(old.CreatedAt) {
			ix.newestByName[n] = im
		}
	}
	return ix
}

// backends returns the pools an endpoint routes traffic to (weight > 0).
func backends(e *cloud.Endpoint) []cloud.Backend {
	if e == nil {
		return nil
	}
	var out []cloud.Backend
	for _, b := range e.Backends {
		if b.Weight > 0 {
			out = append(out, b)
		}
	}
	return out
}

// short12 is the prefix of a build id used in step ids.
func short12(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// short8 is the prefix of a build id shown to people.
func short8(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// shortPool renders a live pool for people ("web@7d2e.2").
func shortPool(p *cloud.Pool) string { return cloud.ShortPool(p.Role, p.Key, p.Generation) }

// imageList returns the current image of every (cloud, build id), sorted by
// cloud then build id, for a deterministic walk.
func (ix *index) imageList() []*cloud.Image {
	out := make([]*cloud.Image, 0, len(ix.images))
	for _, im := range ix.images {
		out = append(out, im)
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Cloud != out[b].Cloud {
			return out[a].Cloud < out[b].Cloud
		}
		return out[a].BuildID < out[b].BuildID
	})
	return out
}
