package planner

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// Watch is how a release's swap is watched (see "Watching a release" in
// the design notes): each canary weight for Pause, then the new pool with
// all the traffic for Bake, each window judged against Analysis (nil:
// health only). The previous pool stays warm, and the prunes and cooling
// of the swap wait, until the watch passes.
type Watch struct {
	Pause    time.Duration   `json:"pause,omitempty"`
	Bake     time.Duration   `json:"bake,omitempty"`
	Analysis *model.Analysis `json:"analysis,omitempty"`
}

// watchOf returns how the swap st is watched under traffic t: a release
// that leaves healthy pools to go back to (share, see canShare) is; a
// rollback (the way back itself: watching it would make the release it
// undoes the way back), a first deploy, a detach and the replacement of a
// sick pool (no way back) are not. Nil when nothing is watched.
func watchOf(t model.Traffic, st *Step, share bool) *Watch {
	if st.Rollback || st.Pool == "" || !share || !leavesPool(st) {
		return nil
	}
	w := &Watch{Bake: t.Bake, Analysis: t.Analysis}
	if len(st.Weights) > 0 {
		w.Pause = t.Pause
	}
	if w.Pause <= 0 && w.Bake <= 0 {
		return nil
	}
	if w.Analysis != nil {
		a := *w.Analysis
		w.Analysis = &a
	}
	return w
}

// leavesPool reports whether a swap takes traffic from another pool.
func leavesPool(st *Step) bool {
	for _, b := range st.From {
		if b.Pool != st.Pool && b.Weight > 0 {
			return true
		}
	}
	return false
}

// Describe says what will be watched, for every rendering of the plan:
// "canary 25% → 50% → 100%, each watched 30s (5xx < 1%, p99 < 300ms,
// ≥ 20 requests), then a 5m bake; previous pools kept warm until it
// passes".
func (w *Watch) Describe(weights []int) string {
	var parts []string
	if w.Pause > 0 && len(weights) > 0 {
		ws := make([]string, len(weights))
		for i, x := range weights {
			ws[i] = strconv.Itoa(x) + "%"
		}
		parts = append(parts, fmt.Sprintf("canary %s, each watched %s%s", strings.Join(ws, " → "), fmtDur(w.Pause), w.criteria()))
	}
	if w.Bake > 0 {
		crit := w.criteria()
		if len(parts) > 0 {
			crit = ""
		}
		parts = append(parts, fmt.Sprintf("a %s bake%s", fmtDur(w.Bake), crit))
	}
	out := "watched: " + strings.Join(parts, ", then ")
	if w.Bake > 0 {
		out += "; the previous pool stays warm, and prunes and cooling wait, until the bake passes"
	}
	return out
}

// criteria renders the analysis: " (5xx < 1%, p99 < 300ms, ≥ 20
// requests)", or " (health only)".
func (w *Watch) criteria() string {
	a := w.Analysis
	if a == nil {
		return " (health only)"
	}
	c := []string{fmt.Sprintf("5xx < %s%%", strconv.FormatFloat(a.MaxErrorRate, 'f', -1, 64))}
	if a.MaxLatency > 0 {
		c = append(c, "p99 < "+fmtDur(a.MaxLatency))
	}
	if a.MinRequests > 0 {
		c = append(c, fmt.Sprintf("≥ %d requests", a.MinRequests))
	}
	return " (" + strings.Join(c, ", ") + ")"
}

// fmtDur renders a duration without trailing zero units: 5m, 1m30s, 300ms.
func fmtDur(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// released reports whether a pool is a rollback target: it completed a
// release and was not rejected since.
func released(p *cloud.Pool) bool { return !p.Released.IsZero() && p.Rejected == "" }

// rejectedProblem adds rule 8 to a pool's problem: a rejected pool cannot
// be swapped to or retained, unless it is the spec's key and the apply
// retries rejected releases. One with the spec's key that has all the
// traffic anyway (its way back failed) is judged as before: nothing swaps
// to it.
func rejectedProblem(p *cloud.Pool, prob string, ep *cloud.Endpoint, key string, retry bool) string {
	if prob != "" || p.Rejected == "" || p.Key == key && (retry || ep != nil && cloud.SoleBackend(ep.Backends) == p.ID) {
		return prob
	}
	return "rejected by release analysis: " + p.Rejected
}

// heldBy returns the newest rejected pool with the spec's key that does
// not serve, or nil: the release that rule 8 holds back.
func heldBy(d *model.Pool, live []livePool) *cloud.Pool {
	var held *cloud.Pool
	for _, lp := range live {
		if lp.Key == d.Key && lp.Rejected != "" && strings.HasPrefix(lp.prob, "rejected by release analysis") &&
			(held == nil || lp.Generation > held.Generation) {
			held = lp.Pool
		}
	}
	return held
}

// heldReason says why and since when a release is held, and what releases
// it.
func heldReason(p *cloud.Pool) string {
	when := ""
	if !p.RejectedAt.IsZero() {
		when = " at " + p.RejectedAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	commit := ""
	if p.Commit != "" {
		commit = " (commit " + shortCommit(p.Commit) + ")"
	}
	return fmt.Sprintf("release %s%s was rejected by release analysis%s: %s; a new commit releases normally, phoenix apply --retry-rejected tries it again",
		shortPool(p), commit, when, p.Rejected)
}

func shortCommit(c string) string {
	if len(c) > 7 {
		return c[:7]
	}
	return c
}

// sayWaitsForBake adds to the reason of each prune that waits for a
// watched swap that it waits for the bake window too: the previous pools
// are the way back until it passes.
func sayWaitsForBake(prunes []Step, swap *Step) {
	if swap == nil || swap.Watch == nil || swap.Watch.Bake <= 0 {
		return
	}
	for i := range prunes {
		if slices.Contains(prunes[i].After, swap.ID) {
			prunes[i].Reason += "; after the " + fmtDur(swap.Watch.Bake) + " bake watch of " + swap.ID
		}
	}
}
