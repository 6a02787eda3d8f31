package planner

import (
	"fmt"
	"sort"

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
// every backend of the endpoint is protected, whatever its weight.
func retention(d *model.Pool, live []*cloud.Pool, ep *cloud.Endpoint, swap *Step, target string, j judge) []Step {
	protected := map[string]bool{target: true}
	servingNow := map[string]bool{}
	if ep != nil {
		for _, b := range ep.Backends {
			servingNow[b.Pool] = b.Weight > 0
			if swap == nil {
				protected[b.Pool] = true
			}
		}
	}
	var prunes []Step
	var good []*cloud.Pool
	for _, p := range live {
		if protected[p.ID] {
			continue
		}
		if prob := j.problem(p); prob != "" {
			prunes = append(prunes, pruneStep(p, swap, prob))
			continue
		}
		good = append(good, p)
	}
	sort.Slice(good, func(a, b int) bool { return servedLater(good[a], good[b], servingNow) })
	keep := max(d.Retention.Keep, 0)
	warm := min(max(d.Retention.Warm, 0), keep)
	for i, p := range good {
		switch {
		case i >= keep:
			prunes = append(prunes, pruneStep(p, swap, fmt.Sprintf("past retention (keep %d)", keep)))
		case i >= warm && swap != nil && p.State == cloud.PoolReady:
			swap.Cool = append(swap.Cool, p.ID)
		}
	}
	sort.Slice(prunes, func(a, b int) bool { return prunes[a].Pool < prunes[b].Pool })
	return prunes
}

// servedLater orders retained pools newest-served first: serving now, then
// LastServed, then CreatedAt, then id (for a stable order).
func servedLater(a, b *cloud.Pool, servingNow map[string]bool) bool {
	if servingNow[a.ID] != servingNow[b.ID] {
		return servingNow[a.ID]
	}
	if !a.LastServed.Equal(b.LastServed) {
		return a.LastServed.After(b.LastServed)
	}
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.After(b.CreatedAt)
	}
	return a.ID > b.ID
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
		st.Endpoint = swap.Endpoint
	}
	return st
}
