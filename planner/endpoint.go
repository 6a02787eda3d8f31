package planner

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// endpointPlan is what the planner decided for one desired (env, role):
// at most one create and one swap, and the prunes of its retention.
type endpointPlan struct {
	summary EndpointSummary
	create  *Step
	swap    *Step
	prunes  []Step
	pruned  []*cloud.Pool // the pools of prunes, in the same order
}

func (e *endpointPlan) appendSteps(out []Step) []Step {
	if e.create != nil {
		out = append(out, *e.create)
	}
	if e.swap != nil {
		out = append(out, *e.swap)
	}
	return append(out, e.prunes...)
}

// judge tells whether a live pool can serve (or be swapped to): "" when it
// can, else why not, phrased to follow "serving pool " or stand alone.
type judge struct {
	bk     *bakes
	now    time.Time
	maxAge time.Duration
}

// problem judges pool p, whose live image (nil if gone) is im.
func (j judge) problem(p *cloud.Pool, im *cloud.Image) string {
	switch p.State {
	case cloud.PoolFailed:
		if p.Reason != "" {
			return "failed: " + failureLine(p)
		}
		return "failed"
	case cloud.PoolCreating:
		return "half-made: still creating when an apply stopped"
	case cloud.PoolReady, cloud.PoolCold:
	default:
		return fmt.Sprintf("unknown state %q", p.State)
	}
	if p.Drift {
		return "drift: servers do not match their image"
	}
	if p.State == cloud.PoolReady && !p.Healthy {
		return fmt.Sprintf("unhealthy: %d/%d servers", p.Servers, p.Count)
	}
	if p.State == cloud.PoolReady && p.Servers < p.Count {
		return fmt.Sprintf("short: %d/%d servers", p.Servers, p.Count)
	}
	if older(p.CreatedAt, j.maxAge, j.now) {
		return "older than maxAge " + fmtAge(j.maxAge)
	}
	if j.bk.rebaked(p.Cloud, p.BuildID) {
		return fmt.Sprintf("image %s is rebaked", p.Image)
	}
	if im != nil && bakedBefore(p.CreatedAt, im.CreatedAt) {
		return fmt.Sprintf("built before image %s was rebaked", p.Image)
	}
	return ""
}

// servingProblem phrases a problem of the pool that serves now.
func servingProblem(prob string) string {
	if strings.HasPrefix(prob, "drift:") || strings.HasPrefix(prob, "image ") {
		return prob
	}
	return "serving pool " + prob
}

// livePool is a live pool of the endpoint with what is wrong with it ("" if
// it can serve), judged once.
type livePool struct {
	*cloud.Pool
	prob string
}

// planEndpoint applies rules 1, 2, 3, 6 and 4 to one desired pool.
// buf is scratch space reused from one endpoint to the next.
func planEndpoint(d *model.Pool, idx *index, bk *bakes, now time.Time, retry bool, buf *[]livePool) *endpointPlan {
	sl := idx.slot(d.Cloud, d.Env, d.Role)
	var ep *cloud.Endpoint
	live := (*buf)[:0]
	j := judge{bk: bk, now: now, maxAge: d.MaxAge}
	if sl != nil {
		sl.claimed = true
		ep = sl.endpoint
		for i, p := range sl.pools {
			live = append(live, livePool{p, rejectedProblem(p, j.problem(p, sl.images[i]), sl.endpoint, d.Key, retry)})
		}
		*buf = live
	}
	serving := backends(ep)
	out := &endpointPlan{summary: EndpointSummary{
		Cloud: d.Cloud, Env: d.Env, Role: d.Role, Address: d.Endpoint, Serving: serving,
	}}
	if out.summary.Address == "" && ep != nil {
		out.summary.Address = ep.Address
	}

	sole := -1
	if len(serving) == 1 && serving[0].Weight == 100 {
		sole = find(live, serving[0].Pool)
	}
	moveFrom := movedFrom(d, ep, serving)
	out.summary.MovedFrom = moveFrom
	// Rule 1: the serving pool is the desired one and fit to serve.
	if sole >= 0 && live[sole].Key == d.Key && live[sole].prob == "" && live[sole].State == cloud.PoolReady {
		if moveFrom != "" {
			// Rule 7: the same pool, served at the spec's new address.
			out.swap = moveStep(d, ep, serving, live[sole].Pool, moveFrom)
		}
		out.prunes, out.pruned = retention(d, live, ep, out.swap, live[sole].ID)
		return out
	}

	target, weight := rollbackTarget(d, live, serving)
	if held := heldBy(d, live); target == nil && held != nil {
		// Rule 8: the spec's release was rejected; change nothing for it.
		out.summary.Held = heldReason(held)
		if moveFrom != "" && sole >= 0 && live[sole].prob == "" && live[sole].State == cloud.PoolReady {
			// The held endpoint still moves: its serving pool at the
			// spec's new address (rule 7).
			out.swap = moveStep(d, ep, serving, live[sole].Pool, moveFrom)
		}
		// Retention as with no swap: the move keeps the serving pool, the
		// hold keeps the rejected one, and every backend is left alone.
		out.prunes, out.pruned = retention(d, live, ep, nil, held.ID)
		return out
	}
	var swapReason string
	if target != nil {
		// Rule 2: a retained pool has the key: swap only. It is an instant
		// rollback only when it completed a release before (Released) and
		// was not rejected; one that carried part of an unfinished canary,
		// never served, or is retried after a rejection is put in service
		// as a release.
		swapReason = reuseReason(d, target, weight)
		out.summary.Rollback = weight == 0 && released(target)
	} else {
		// Rules 3 and 6: bake what is missing, create a new generation.
		out.create = createStep(d, live, bk, createReason(d, live, serving, sole))
		target = &cloud.Pool{
			Cloud: d.Cloud, ID: out.create.Pool, Env: d.Env, Role: d.Role, Key: d.Key,
			Generation: out.create.Generation, Image: d.Image, BuildID: d.BuildID,
		}
		swapReason = "put new pool " + shortPool(target) + " in service"
	}
	if moveFrom != "" {
		swapReason += "; " + moveReason(moveFrom, d.Endpoint)
	}
	share := canShare(live, serving, target.ID)
	out.swap = swapStep(d, ep, serving, target, weight, swapReason, share)
	out.swap.Rollback = out.summary.Rollback
	if out.swap.Watch = watchOf(d.Traffic, out.swap, share); out.swap.Watch != nil {
		out.swap.Reason += "; " + out.swap.Watch.Describe(out.swap.Weights)
	}
	out.swap.MoveFrom, out.swap.Destructive = moveFrom, moveFrom != ""
	if out.create != nil {
		out.swap.After = []string{out.create.ID}
	}
	out.prunes, out.pruned = retention(d, live, ep, out.swap, target.ID)
	sayWaitsForBake(out.prunes, out.swap)
	return out
}

// movedFrom returns the address the endpoint serves at now when the spec
// names another one (rule 7), or "". An endpoint that routes to nothing
// has nothing to move: the swap that follows brings it up at the spec's
// address.
func movedFrom(d *model.Pool, ep *cloud.Endpoint, serving []cloud.Backend) string {
	if ep == nil || d.Endpoint == "" || ep.Address == "" || ep.Address == d.Endpoint || len(serving) == 0 {
		return ""
	}
	return ep.Address
}

// moveStep serves the endpoint's serving pool at the spec's address and
// releases from (rule 7): a swap onto the same pool, destructive as it
// stops traffic on an address clients may still use.
func moveStep(d *model.Pool, ep *cloud.Endpoint, serving []cloud.Backend, pool *cloud.Pool, from string) *Step {
	st := swapStep(d, ep, serving, pool, 100, moveReason(from, d.Endpoint), false)
	st.MoveFrom, st.Destructive = from, true
	return st
}

// moveReason says an endpoint moves, in every rendering the same way.
func moveReason(from, to string) string {
	return "endpoint " + from + " → " + to
}

// reuseReason says why a retained pool with the desired key is swapped to,
// given the weight it serves now.
func reuseReason(d *model.Pool, target *cloud.Pool, weight int) string {
	state := "warm"
	if target.State == cloud.PoolCold {
		state = "cold"
	}
	switch {
	case weight == 100: // it serves, but cold: nothing answers
		return fmt.Sprintf("serving pool %s is cold: start it", shortPool(target))
	case weight > 0:
		return fmt.Sprintf("finish canary: %s serves %d%% and matches the spec", shortPool(target), weight)
	case target.Rejected != "":
		return fmt.Sprintf("retry rejected pool %s (%s): it was rejected by release analysis: %s", shortPool(target), state, target.Rejected)
	case released(target):
		return fmt.Sprintf("rollback: retained pool %s matches the spec (%s)", shortPool(target), state)
	case !target.LastServed.IsZero() && d.Traffic.Strategy == "canary":
		return fmt.Sprintf("resuming an interrupted canary: pool %s matches the spec but never took all traffic (%s)", shortPool(target), state)
	case !target.LastServed.IsZero():
		return fmt.Sprintf("put pool %s in service: it matches the spec but never took all traffic (%s)", shortPool(target), state)
	}
	return fmt.Sprintf("put pool %s in service: it matches the spec but never served (%s)", shortPool(target), state)
}

// find returns the index of the pool with id, or -1.
func find(live []livePool, id string) int {
	for i := range live {
		if live[i].ID == id {
			return i
		}
	}
	return -1
}

// rollbackTarget picks the usable pool with the desired key to swap to
// (newest generation first) and the weight it serves now (0 if none).
func rollbackTarget(d *model.Pool, live []livePool, serving []cloud.Backend) (*cloud.Pool, int) {
	var best *cloud.Pool
	for _, lp := range live {
		p := lp.Pool
		if p.Key != d.Key || lp.prob != "" {
			continue
		}
		if best == nil || p.Generation > best.Generation ||
			(p.Generation == best.Generation && (p.CreatedAt.After(best.CreatedAt) ||
				(p.CreatedAt.Equal(best.CreatedAt) && p.ID > best.ID))) {
			best = p
		}
	}
	if best == nil {
		return nil, 0
	}
	for _, b := range serving {
		if b.Pool == best.ID {
			return best, b.Weight
		}
	}
	return best, 0
}

// createReason says why a new pool is needed, from what the live state
// shows: first deploy, a serving pool unfit to serve, or no pool with the
// desired key (and why the retained ones with that key cannot be used).
func createReason(d *model.Pool, live []livePool, serving []cloud.Backend, sole int) string {
	if sole >= 0 && live[sole].Key == d.Key {
		return servingProblem(live[sole].prob)
	}
	var why string
	switch {
	case len(serving) == 0 && len(live) == 0:
		return "first deploy"
	case len(serving) == 0:
		why = "no pool serves the endpoint"
	case len(serving) > 1 || serving[0].Weight != 100:
		why = fmt.Sprintf("endpoint split across %d pools, none matches the spec", len(serving))
	case sole < 0:
		why = fmt.Sprintf("endpoint serves unknown pool %s", serving[0].Pool)
	default:
		why = fmt.Sprintf("no pool matches the spec (serving %s)", shortPool(live[sole].Pool))
	}
	// The newest pool with the key tells why it cannot be used again.
	newest := -1
	for i := range live {
		if live[i].Key == d.Key && (newest < 0 || live[i].Generation > live[newest].Generation) {
			newest = i
		}
	}
	if newest >= 0 {
		why += fmt.Sprintf("; %s: %s", shortPool(live[newest].Pool), live[newest].prob)
	}
	return why
}

// createStep makes the create step of a new generation of d's key:
// 1 + the highest generation of that key in the (env, role), skipping any
// id already taken (two keys may share their first 8 hex digits).
func createStep(d *model.Pool, live []livePool, bk *bakes, reason string) *Step {
	gen := 1
	for _, p := range live {
		if p.Key == d.Key && p.Generation >= gen {
			gen = p.Generation + 1
		}
	}
	id := cloud.PoolID(d.Env, d.Role, d.Key, gen)
	for find(live, id) >= 0 {
		gen++
		id = cloud.PoolID(d.Env, d.Role, d.Key, gen)
	}
	st := &Step{
		ID: "create:" + id, Kind: Create, Cloud: d.Cloud, Env: d.Env, Role: d.Role,
		Image: d.Image, BuildID: d.BuildID, Pool: id, Key: d.Key, Generation: gen,
		Endpoint: d.Endpoint, Reason: reason,
	}
	if b := bk.stepFor(d.Cloud, d.Image); b != "" {
		st.After = []string{b}
	}
	return st
}

// canShare reports whether the pools serving now (other than target) can
// keep a share of the traffic during a canary: there is at least one, and
// each is a known, ready, healthy pool. A sick pool is left at once.
func canShare(live []livePool, serving []cloud.Backend, target string) bool {
	others := 0
	for _, b := range serving {
		if b.Pool == target {
			continue
		}
		i := find(live, b.Pool)
		if i < 0 || live[i].State != cloud.PoolReady || !live[i].Healthy {
			return false
		}
		others++
	}
	return others > 0
}

// swapStep points the endpoint at target. A canary walks the traffic steps
// above the weight the target already has, but only when the pools serving
// now can share the traffic (see canShare) and the target is not a
// rollback target: a pool that completed a release before is swapped to at
// once, while one that only carried part of an interrupted canary starts
// the canary again from its first weight.
func swapStep(d *model.Pool, ep *cloud.Endpoint, serving []cloud.Backend, target *cloud.Pool, weight int, reason string, share bool) *Step {
	st := &Step{
		ID: "swap:" + d.Env + "/" + d.Role, Kind: Swap, Cloud: d.Cloud, Env: d.Env, Role: d.Role,
		Image: target.Image, BuildID: target.BuildID, Pool: target.ID, Key: target.Key,
		Generation: target.Generation, Endpoint: d.Endpoint, From: slices.Clone(serving), Reason: reason,
	}
	if st.Endpoint == "" && ep != nil {
		st.Endpoint = ep.Address
	}
	if d.Traffic.Strategy == "canary" && share && (!released(target) || weight > 0) {
		st.Weights = canaryWeights(d.Traffic.Steps, weight)
		if len(st.Weights) > 0 {
			st.Reason += " (" + canaryNote(st.Weights) + ")"
		}
	}
	return st
}

// canaryWeights returns the traffic steps above the current weight, ending
// at 100; nil when that is a single step to 100 (the same as blue-green).
func canaryWeights(steps []int, current int) []int {
	var out []int
	for _, w := range steps {
		if w > current && w < 100 && (len(out) == 0 || w > out[len(out)-1]) {
			out = append(out, w)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return append(out, 100)
}
