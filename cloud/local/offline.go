package local

import (
	"errors"
	"fmt"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// Reading the local cloud while it is down. Commands that only look
// (status, plan, diff, history) open the cloud ReadOnly: when no supervisor
// answers they read its state database themselves rather than start one,
// which would start every serving pool's proxy again on its port, the
// opposite of what `phoenix cloud down` asked for. The picture is the one
// the next supervisor would have on starting (see recover): a ready pool
// none of whose servers runs is cold, one caught mid-create has failed.
// Image trees are not hashed here, so drift shows only once it runs.

// errReadOnly: a ReadOnly cloud was asked for something only a running
// supervisor can do.
var errReadOnly = errors.New("the local cloud is not running, and this command does not start it (phoenix cloud up does)")

// observeOffline reads project's live picture from home's state database
// while no supervisor runs. A home without state is an empty cloud.
func observeOffline(home, project string, now time.Time) (*cloud.Live, error) {
	live := &cloud.Live{Images: []cloud.Image{}, Pools: []cloud.Pool{}, Endpoints: []cloud.Endpoint{}}
	if err := viewStateOffline(home, func(tx *bolt.Tx) error { return readLive(tx, project, now, live) }); err != nil {
		return nil, err
	}
	sortLive(live)
	return live, nil
}

// readLive fills live with project's records; a file a supervisor died
// creating has no buckets yet, so nothing.
func readLive(tx *bolt.Tx, project string, now time.Time, live *cloud.Live) error {
	for _, b := range [][]byte{bucketImages, bucketPools, bucketEndpoints, bucketLocks} {
		if tx.Bucket(b) == nil {
			return nil
		}
	}
	prefix := projectPrefix(project)
	err := errors.Join(
		each(tx, bucketImages, prefix, func(r *imageRec) error { live.Images = append(live.Images, r.live()); return nil }),
		each(tx, bucketEndpoints, prefix, func(r *endpointRec) error {
			live.Endpoints = append(live.Endpoints, cloud.Endpoint{Cloud: model.CloudLocal, Env: r.Env, Role: r.Role, Address: r.Address, Backends: r.Backends})
			return nil
		}),
		each(tx, bucketLocks, prefix, func(r *lockRec) error {
			if r.Expires.After(now) {
				live.Locks = append(live.Locks, cloud.LockInfo{Env: r.Env, Owner: r.Owner, Expires: r.Expires})
			}
			return nil
		}),
	)
	if err != nil {
		return err
	}
	return each(tx, bucketPools, prefix, func(r *poolRec) error {
		live.Pools = append(live.Pools, offlinePoolView(r, servingIn(live.Endpoints, r.ID)))
		return nil
	})
}

// servingIn reports whether an endpoint of eps routes to pool id.
func servingIn(eps []cloud.Endpoint, id string) bool {
	for _, ep := range eps {
		for _, b := range ep.Backends {
			if b.Pool == id && b.Weight > 0 {
				return true
			}
		}
	}
	return false
}

// offlinePoolView is a pool as the next supervisor would see it: servers
// count while their process runs (not health-checked: the servers of a
// killed supervisor are taken as healthy while they run).
func offlinePoolView(rec *poolRec, serving bool) cloud.Pool {
	v := recordView(rec, serving)
	alive := 0
	for _, sr := range rec.Servers {
		if processMatches(sr.PID, sr.StartTime) {
			alive++
		}
	}
	switch rec.State {
	case cloud.PoolReady:
		if len(rec.Servers) > 0 && alive == 0 {
			v.State, v.Reason = cloud.PoolCold, "none of its servers is running, and neither is the local cloud's supervisor (phoenix cloud up starts them)"
			break
		}
		v.Servers = alive
		v.Healthy = alive >= v.Count
		if !v.Healthy && v.Reason == "" {
			v.Reason = fmt.Sprintf("%d of %d servers running", alive, v.Count)
		}
	case cloud.PoolCreating:
		v.State, v.Reason = cloud.PoolFailed, "creation was interrupted (the supervisor stopped during it)"
	}
	return v
}

// sortLive orders a live picture as the supervisor's Observe does.
func sortLive(live *cloud.Live) {
	sort.Slice(live.Images, func(i, j int) bool {
		a, b := live.Images[i], live.Images[j]
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		return a.BuildID < b.BuildID
	})
	sort.Slice(live.Pools, func(i, j int) bool { return live.Pools[i].ID < live.Pools[j].ID })
	sort.Slice(live.Endpoints, func(i, j int) bool {
		a, b := live.Endpoints[i], live.Endpoints[j]
		if a.Env != b.Env {
			return a.Env < b.Env
		}
		return a.Role < b.Role
	})
}
