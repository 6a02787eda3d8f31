package history

import (
	"fmt"
	"strings"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

// markLive says, for every change, what going back to its spec takes, as
// the planner decides it (see judgeChange), and shows for every role the
// live pool that decision rests on. A change whose spec the planner
// rejects gets "unknown" and a note.
func markLive(h *History, specs []*model.Desired, live *cloud.Live, base planner.Options, now time.Time) {
	serving := servingIn(live, h.Env)
	for i := range h.Changes {
		hc := &h.Changes[i]
		if hc.Event == "environment removed" || specs[i] == nil {
			hc.Back = "rebuild"
			continue
		}
		if err := judgeChange(hc, specs[i], live, h.Env, base, now, serving); err != nil {
			hc.Back = "unknown"
			h.Notes = append(h.Notes, fmt.Sprintf("%s: %v", short(hc.Commit), err))
		}
	}
}

// servingIn is the set of pools that the endpoints of env route to.
func servingIn(live *cloud.Live, env string) map[string]bool {
	serving := map[string]bool{}
	for _, e := range live.Endpoints {
		if e.Env != env {
			continue
		}
		for _, id := range e.Serving() {
			serving[id] = true
		}
	}
	return serving
}

// judgeChange asks the planner what planning d (the spec at the change's
// commit) against live would do for each role of env, so that history
// never promises an instant swap where plan would bake and create: the
// rules (drift, maxAge, rebaked images, short or unhealthy pools, which
// generation, canary or rollback) live in the planner alone.
func judgeChange(hc *Change, d *model.Desired, live *cloud.Live, env string, base planner.Options, now time.Time, serving map[string]bool) error {
	opts := base
	opts.Envs, opts.Now = []string{env}, now
	ds, err := planner.Decide(d, live, opts)
	if err != nil {
		return fmt.Errorf("planning: %w", err)
	}
	byRole := make(map[string]planner.Decision, len(ds))
	for _, dc := range ds {
		byRole[dc.Role] = dc
	}
	var judged []planner.Decision
	for j := range hc.Roles {
		r := &hc.Roles[j]
		dc, ok := byRole[r.Role]
		if r.Key == "" || !ok {
			continue
		}
		judged = append(judged, dc)
		showPool(r, hc.Commit, dc, live.Pools, env, serving)
		if (dc.Verdict == planner.Build && r.Pool != "") || (dc.Verdict == planner.Reuse && !dc.Instant) || dc.Verdict == planner.Held {
			r.Plan = dc.Reason // a pool with the key is there, yet not reused, or not at once: why
		}
	}
	hc.Back = backOf(judged)
	return nil
}

// backOf sums up the decisions of a change's roles: "current" when every
// role keeps its serving pool, "rebuild" when one is created, "swap" when
// the others are all instant rollbacks, and "release" when a swap to an
// existing pool is not.
func backOf(ds []planner.Decision) string {
	back := "current"
	for _, dc := range ds {
		switch {
		case dc.Verdict == planner.Build:
			return "rebuild"
		case dc.Verdict == planner.Held:
			back = "held"
		case dc.Verdict == planner.Reuse && !dc.Instant:
			back = "release"
		case dc.Verdict == planner.Reuse && back == "current":
			back = "swap"
		}
	}
	return back
}

// showPool fills in the live pool a role's decision rests on, for display:
// the pool kept or swapped to, or for a build the newest live pool with
// the key (it exists, but the planner does not reuse it), if any.
func showPool(r *Role, commit string, dc planner.Decision, pools []cloud.Pool, env string, serving map[string]bool) {
	var p *cloud.Pool
	for i := range pools {
		q := &pools[i]
		if q.Env != env || q.Role != r.Role || q.Key != r.Key {
			continue
		}
		if dc.Verdict != planner.Build && dc.Verdict != planner.Held && q.ID == dc.Pool {
			p = q
			break
		}
		newest := dc.Verdict == planner.Build || dc.Verdict == planner.Held
		if newest && (p == nil || q.Generation > p.Generation) {
			p = q
		}
	}
	if p == nil {
		r.State = "gone"
		return
	}
	r.Pool = p.ID
	r.State = poolState(p, serving[p.ID])
	if p.Commit != "" && !strings.HasPrefix(commit, strings.TrimSuffix(p.Commit, model.DirtySuffix)) {
		r.MadeAt = short(p.Commit)
	}
}

func poolState(p *cloud.Pool, isServing bool) string {
	switch {
	case isServing:
		return "serving"
	case p.Rejected != "":
		return "rejected"
	case p.State == cloud.PoolReady && p.Healthy:
		return "retained (warm)"
	case p.State == cloud.PoolCold:
		return "retained (cold)"
	case p.State == cloud.PoolReady:
		return "unhealthy"
	}
	return string(p.State)
}

// short cuts a commit to the 7 characters a person reads.
func short(id string) string {
	if len(id) > 7 {
		return id[:7]
	}
	return id
}
