package plantest

import (
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// Deployed returns the live state in which d is fully applied at time at:
// every image of every pool's chain baked in the pool's cloud, and one
// ready, healthy pool (generation 1) per desired pool serving its endpoint
// alone, released (it completed its release) at time at. Tests start from it and change what they need.
func Deployed(d *model.Desired, at time.Time) *cloud.Live {
	live := &cloud.Live{}
	baked := map[[2]string]bool{}
	for _, p := range d.Pools {
		for _, name := range d.Images[p.Image].Chain {
			im := d.Images[name]
			if baked[[2]string{p.Cloud, im.BuildID}] {
				continue
			}
			baked[[2]string{p.Cloud, im.BuildID}] = true
			live.Images = append(live.Images, ImageFor(d, p.Cloud, name, at))
		}
		pool := PoolFor(p, 1, at)
		pool.LastServed, pool.Released = at, at
		live.Pools = append(live.Pools, pool)
		live.Endpoints = append(live.Endpoints, cloud.Endpoint{
			Cloud: p.Cloud, Env: p.Env, Role: p.Role, Address: p.Endpoint,
			Backends: []cloud.Backend{{Pool: pool.ID, Weight: 100}},
		})
	}
	return live
}

// ImageFor returns the live image of the spec's image name in a cloud,
// baked at time at.
func ImageFor(d *model.Desired, cloudName, name string, at time.Time) cloud.Image {
	im := d.Images[name]
	out := cloud.Image{Cloud: cloudName, Name: name, BuildID: im.BuildID, CreatedAt: at, Ref: "ref-" + im.BuildID[:8]}
	if im.Parent != "" {
		out.ParentBuildID = d.Images[im.Parent].BuildID
	}
	return out
}

// PoolFor returns a ready, healthy live pool of the desired pool p with
// generation gen, created at time at, that never served.
func PoolFor(p *model.Pool, gen int, at time.Time) cloud.Pool {
	return cloud.Pool{
		Cloud: p.Cloud, ID: cloud.PoolID(p.Env, p.Role, p.Key, gen), Env: p.Env, Role: p.Role,
		Key: p.Key, Generation: gen, Image: p.Image, BuildID: p.BuildID, Commit: "c0ffee0",
		CreatedAt: at, State: cloud.PoolReady, Healthy: true, Servers: max(p.Count, 1), Count: max(p.Count, 1),
	}
}
