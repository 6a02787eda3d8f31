package planner

import (
	"sort"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// slotLive is the live state of one (cloud, environment, role): its pools
// and its endpoint.
type slotLive struct {
	cloud, env, role string
	pools            []*cloud.Pool
	images           []*cloud.Image // the live image of each pool, or nil
	endpoint         *cloud.Endpoint
	// claimed is set when a desired pool in scope takes this slot; the
	// slots left unclaimed are the ones rule 7 looks at.
	claimed bool
	n       int // pools counted while indexing
}

// index is the live state indexed once, so every rule is a lookup and a
// plan stays linear in the size of the live state. Maps are nested by
// string (cloud, then environment, then role or build id) rather than keyed
// by structs: string keys hash fastest and need no allocation.
type index struct {
	slots map[string]map[string]map[string]*slotLive // cloud → env → role
	// slotList lists every slot in the order first seen, for rule 7.
	slotList []*slotLive
	// images holds the newest image per (cloud, build id): a rebake replaces
	// the record, but a cloud that keeps both still has one current bake.
	images map[string]map[string]*cloud.Image
	// newestByName is the newest image of each (cloud, name), to say what a
	// missing build replaces.
	newestByName map[string]map[string]*cloud.Image
	imageCount   int
}

// newerImage reports whether image a is newer than b: created later, or
// at the same time with the greater build id, then the greater ref. The
// tie-breaks keep the plan (the build a reason names, the record a pool is
// judged against) independent of the order the cloud lists images in.
func newerImage(a, b *cloud.Image) bool {
	if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
		return c > 0
	}
	if a.BuildID != b.BuildID {
		return a.BuildID > b.BuildID
	}
	return a.Ref > b.Ref
}

func indexLive(l *cloud.Live) *index {
	ix := &index{
		slots:        map[string]map[string]map[string]*slotLive{},
		images:       map[string]map[string]*cloud.Image{},
		newestByName: map[string]map[string]*cloud.Image{},
	}
	for i := range l.Images {
		im := &l.Images[i]
		byID := ix.images[im.Cloud]
		if byID == nil {
			byID = make(map[string]*cloud.Image, len(l.Images))
			ix.images[im.Cloud] = byID
			ix.newestByName[im.Cloud] = map[string]*cloud.Image{}
		}
		if old := byID[im.BuildID]; old == nil || newerImage(im, old) {
			if old == nil {
				ix.imageCount++
			}
			byID[im.BuildID] = im
		}
		byName := ix.newestByName[im.Cloud]
		if old := byName[im.Name]; old == nil || newerImage(im, old) {
			byName[im.Name] = im
		}
	}
	// Two passes: count the pools of each slot, then hand each slot its
	// part of one backing array (one allocation instead of a few per slot).
	// Pools come grouped by slot from every cloud, so most lookups are
	// skipped.
	of := make([]*slotLive, len(l.Pools))
	var last *slotLive
	for i := range l.Pools {
		p := &l.Pools[i]
		if last == nil || last.cloud != p.Cloud || last.env != p.Env || last.role != p.Role {
			last = ix.ensure(p.Cloud, p.Env, p.Role)
		}
		last.n++
		of[i] = last
	}
	backing := make([]*cloud.Pool, len(l.Pools))
	imBacking := make([]*cloud.Image, len(l.Pools))
	for _, s := range ix.slotList {
		s.pools, backing = backing[:0:s.n], backing[s.n:]
		s.images, imBacking = imBacking[:0:s.n], imBacking[s.n:]
	}
	var im *cloud.Image
	for i := range l.Pools {
		p := &l.Pools[i]
		if im == nil || im.BuildID != p.BuildID || im.Cloud != p.Cloud {
			im = ix.image(p.Cloud, p.BuildID)
		}
		of[i].pools = append(of[i].pools, p)
		of[i].images = append(of[i].images, im)
	}
	for i := range l.Endpoints {
		e := &l.Endpoints[i]
		s := ix.ensure(e.Cloud, e.Env, e.Role)
		// A cloud may report an (env, role) at two addresses while it
		// moves (an AWS listener the spec names and, from the pools'
		// tags, the one that still serves): the one that routes wins.
		if s.endpoint == nil || len(backends(s.endpoint)) == 0 {
			s.endpoint = e
		}
	}
	return ix
}

// ensure returns the slot of (c, env, role), adding it if new.
func (ix *index) ensure(c, env, role string) *slotLive {
	envs := ix.slots[c]
	if envs == nil {
		envs = map[string]map[string]*slotLive{}
		ix.slots[c] = envs
	}
	roles := envs[env]
	if roles == nil {
		roles = map[string]*slotLive{}
		envs[env] = roles
	}
	s := roles[role]
	if s == nil {
		s = &slotLive{cloud: c, env: env, role: role}
		roles[role] = s
		ix.slotList = append(ix.slotList, s)
	}
	return s
}

// slot returns the live state of (c, env, role), or nil.
func (ix *index) slot(c, env, role string) *slotLive { return ix.slots[c][env][role] }

// image returns the current image of a build id in a cloud, or nil.
func (ix *index) image(c, buildID string) *cloud.Image { return ix.images[c][buildID] }

// imageList returns the current image of every (cloud, build id), sorted by
// cloud then build id, for a deterministic walk.
func (ix *index) imageList() []*cloud.Image {
	out := make([]*cloud.Image, 0, ix.imageCount)
	for _, byID := range ix.images {
		for _, im := range byID {
			out = append(out, im)
		}
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Cloud != out[b].Cloud {
			return out[a].Cloud < out[b].Cloud
		}
		return out[a].BuildID < out[b].BuildID
	})
	return out
}

// backends returns the pools an endpoint routes traffic to (weight > 0).
// The result may be the live state's own slice: read it, never change it.
func backends(e *cloud.Endpoint) []cloud.Backend {
	if e == nil {
		return nil
	}
	all := true
	for _, b := range e.Backends {
		all = all && b.Weight > 0
	}
	if all {
		return e.Backends // the common case shares the live state's slice
	}
	out := make([]cloud.Backend, 0, len(e.Backends))
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
