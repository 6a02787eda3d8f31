package planner

import (
	"slices"

	"github.com/phoenix-gitops/phoenix/model"
)

// linkAfter makes the swaps of each environment in scope wait for the swaps
// of the nearest environments in its `after` closure that have swaps in
// this plan, and only for those that no other of them already waits for.
//
// The DAG orders transitively, so listing more would only add edges: an
// environment in `after` with no swap in this plan (or out of scope)
// passes its own `after` on, and with `prod after [qa, staging]` and
// `qa after [staging]`, prod's swaps wait for qa's alone when qa has swaps
// (qa's wait for staging's). Every swap of an environment waits for every
// swap of each environment it lists: with no step that stands for "all of
// an environment's swaps", that product is the least the DAG can hold
// without ordering swaps of one environment among themselves.
//
// swaps holds the swap ids of each environment, every one of which is a
// swap that this function links (an endpoint's swap, Pool set), so "qa's
// swaps wait for staging's" holds for each of them.
func linkAfter(steps []Step, d *model.Desired, swaps map[string][]string) {
	w := afterWaits{d: d, swaps: swaps, near: map[string][]string{}, reach: map[string]map[string]bool{}, ids: map[string][]string{}}
	for i := range steps {
		s := &steps[i]
		if s.Kind != Swap || s.Pool == "" || d.Environments[s.Env] == nil {
			continue
		}
		extra := w.waitIDs(s.Env)
		if len(extra) == 0 {
			continue
		}
		after := make([]string, 0, len(s.After)+len(extra))
		s.After = append(append(after, s.After...), extra...)
	}
}

// afterWaits computes, once per environment, what its swaps wait for. It
// relies on orderEnvs having rejected cycles and unknown names; a guard
// against cycles stays so that a bug cannot recurse forever.
type afterWaits struct {
	d     *model.Desired
	swaps map[string][]string
	near  map[string][]string        // env -> nearest envs with swaps
	reach map[string]map[string]bool // env -> every env with swaps it waits for, transitively
	ids   map[string][]string        // env -> swap ids its swaps wait for directly
	stack []string
}

// nearest returns the environments with swaps that env's `after` reaches
// through environments without swaps, each once, in `after` order.
func (w *afterWaits) nearest(env string) []string {
	if n, ok := w.near[env]; ok {
		return n
	}
	e := w.d.Environments[env]
	if e == nil || slices.Contains(w.stack, env) {
		return nil
	}
	w.stack = append(w.stack, env)
	var out []string
	for _, a := range e.After {
		if len(w.swaps[a]) > 0 {
			out = append(out, a)
		} else {
			out = append(out, w.nearest(a)...)
		}
	}
	w.stack = w.stack[:len(w.stack)-1]
	out = dedup(out)
	w.near[env] = out
	return out
}

// reached returns every environment with swaps that env's swaps wait for,
// directly or through other swaps.
func (w *afterWaits) reached(env string) map[string]bool {
	if r, ok := w.reach[env]; ok {
		return r
	}
	w.reach[env] = nil // a cycle (a bug) ends here instead of recursing
	r := map[string]bool{}
	for _, n := range w.nearest(env) {
		r[n] = true
		for m := range w.reached(n) {
			r[m] = true
		}
	}
	w.reach[env] = r
	return r
}

// waitIDs returns the swap ids that env's swaps wait for: those of its
// nearest environments with swaps, less those that another of them already
// reaches.
func (w *afterWaits) waitIDs(env string) []string {
	if ids, ok := w.ids[env]; ok {
		return ids
	}
	near := w.nearest(env)
	var out []string
	for _, n := range near {
		redundant := false
		for _, m := range near {
			if m != n && w.reached(m)[n] {
				redundant = true
				break
			}
		}
		if !redundant {
			out = append(out, w.swaps[n]...)
		}
	}
	w.ids[env] = out
	return out
}

// dedup drops repeated names, keeping the first of each.
func dedup(names []string) []string {
	out := names[:0:0]
	for _, n := range names {
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
