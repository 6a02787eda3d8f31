package planner

import (
	"fmt"
	"slices"
	"strings"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// retention applies rule 4 to the pools of one (env, role): after the swap
// (if any), every pool other than the one that serves is either retained
// for rollback or pruned. Unusable pools (failed, half-made, unhealthy,
// drifted, too old) are pruned and never count. The usable ones are ranked
// by when they last served (the pools serving now count as serving until
// the swap), then by creation, newest first: the first `keep` stay, and of
// those the ones past `warm` are listed in the swap's Cool. With no swap,
// every backend of the endpoint is protected, whatever its weight. Prunes
// past retention wait for the swap (until it is done, the old pools are
// the rollback); prunes of unusable pools wait only if the endpoint routes
// to them.
func retention(d *model.Pool, live []livePool, ep *cloud.Endpoint, swap *Step, target string) ([]Step, []*cloud.Pool) {
	var eb []cloud.Backend
	if ep != nil {
		eb = ep.Backends
	}
	var prunes []Step
	var pruned []*cloud.Pool
	good := make([]*cloud.Pool, 0, len(live))
	for _, lp := range live {
		if lp.ID == target || (swap == nil && backendOf(eb, lp.ID) >= 0) {
			continue
		}
		if lp.prob != "" {
			// An unusable pool that serves nothing is no rollback
			// candidate and waits for nothing: pruning it at once keeps
			// failed pools from piling up while a release keeps failing
			// (its swap never runs). One the endpoint still routes to
			// waits for the swap that takes it out of service.
			after := swap
			if backendOf(eb, lp.ID) < 0 {
				after = nil
			}
			prunes = append(prunes, pruneStep(lp.Pool, after, lp.prob))
			pruned = append(pruned, lp.Pool)
			continue
		}
		good = append(good, lp.Pool)
	}
	if len(good) > 1 {
		slices.SortFunc(good, func(a, b *cloud.Pool) int { return servedLater(a, b, eb) })
	}
	keep := max(d.Retention.Keep, 0)
	warm := min(max(d.Retention.Warm, 0), keep)
	for i, p := range good {
		switch {
		case i >= keep:
			prunes = append(prunes, pruneStep(p, swap, fmt.Sprintf("past retention (keep %d)", keep)))
			pruned = append(pruned, p)
		case i >= warm && swap != nil && p.State == cloud.PoolReady:
			swap.Cool = append(swap.Cool, p.ID)
		}
	}
	return prunes, pruned
}

// backendOf returns the index of pool id among an endpoint's backends, or -1.
func backendOf(eb []cloud.Backend, id string) int {
	for i, b := range eb {
		if b.Pool == id {
			return i
		}
	}
	return -1
}

// servingNow reports whether the endpoint routes traffic to pool id.
func servingNow(eb []cloud.Backend, id string) bool {
	i := backendOf(eb, id)
	return i >= 0 && eb[i].Weight > 0
}

// servedLater orders retained pools newest-served first: serving now (eb
// are the endpoint's backends), then LastServed, then CreatedAt, then id
// (for a stable order).
func servedLater(a, b *cloud.Pool, eb []cloud.Backend) int {
	if sa, sb := servingNow(eb, a.ID), servingNow(eb, b.ID); sa != sb {
		if sa {
			return -1
		}
		return 1
	}
	if c := b.LastServed.Compare(a.LastServed); c != 0 {
		return c
	}
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return strings.Compare(b.ID, a.ID)
}

// pruneStep destroys a pool of an endpoint; it waits for the endpoint's
// swap, so a pool that serves now is gone only once it no longer does.
func pruneStep(p *cloud.Pool, swap *Step, reason string) Step {
	st := Step{
		ID: "prune:" + p.ID, Kind: Prune, Cloud: p.Cloud, Env: p.Env, Role: p.Role,
		Image: p.Image, BuildID: p.BuildID, Pool: p.ID, Key: p.Key, Generation: p.Generation,
		Reason: reason,
	}
	if swap != nil {
		st.After = []string{swap.ID}
	}
	return st
}
