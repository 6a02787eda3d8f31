package planner

import (
	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// Verdict is what a plan does for one desired (environment, role).
type Verdict string

const (
	// Keep: the endpoint already serves the desired pool (rule 1).
	Keep Verdict = "keep"
	// Reuse: traffic moves to a live pool with the desired key; nothing is
	// baked or created (rule 2).
	Reuse Verdict = "reuse"
	// Build: a new pool is created, after baking what its image chain
	// lacks (rules 3 and 6).
	Build Verdict = "build"
	// Held: the spec's pool was rejected by release analysis; nothing
	// moves for it until a new commit or an explicit retry (rule 8).
	Held Verdict = "held"
)

// Decision is the plan's answer for one desired (environment, role), for
// commands that ask "what would planning this spec do here?" (history:
// "is going back to this commit an instant rollback?") instead of
// re-deriving the plan rules.
type Decision struct {
	Cloud   string  `json:"cloud"`
	Env     string  `json:"env"`
	Role    string  `json:"role"`
	Verdict Verdict `json:"verdict"`
	// Pool is the pool that serves after the plan: the serving one (Keep),
	// the one swapped to (Reuse) or the one created (Build).
	Pool string `json:"pool,omitempty"`
	// Instant is true for a Reuse that is a rollback moving all traffic in
	// one step: no canary walk, no bake, no create.
	Instant bool `json:"instant,omitempty"`
	// Reason is the reason of the step that decides: the create's for
	// Build, the swap's for Reuse; empty for Keep.
	Reason string `json:"reason,omitempty"`
}

// Decide plans desired against live with o and returns the plan's
// decision for every desired (environment, role) in scope. It is Make
// followed by Plan.Decisions: the same code path as the plan a user sees.
func Decide(desired *model.Desired, live *cloud.Live, o Options) ([]Decision, error) {
	p, err := Make(desired, live, o)
	if err != nil {
		return nil, err
	}
	return p.Decisions(), nil
}

// Decisions reads the plan's decision for each endpoint in p.Endpoints
// from its own steps: a create means Build, a swap without one Reuse
// (Instant when the swap is a rollback with no canary weights), neither
// Keep. Steps of what left the spec (destructive swaps) decide nothing
// here.
func (p *Plan) Decisions() []Decision {
	type slot struct{ cloud, env, role string }
	creates := map[slot]*Step{}
	swaps := map[slot]*Step{}
	for i := range p.Steps {
		s := &p.Steps[i]
		k := slot{s.Cloud, s.Env, s.Role}
		switch {
		case s.Kind == Create:
			creates[k] = s
		case s.Kind == Swap && s.Pool != "" && (!s.Destructive || s.MoveFrom != ""):
			swaps[k] = s
		}
	}
	out := make([]Decision, 0, len(p.Endpoints))
	for _, e := range p.Endpoints {
		k := slot{e.Cloud, e.Env, e.Role}
		d := Decision{Cloud: e.Cloud, Env: e.Env, Role: e.Role}
		switch c, s := creates[k], swaps[k]; {
		case e.Held != "":
			d.Verdict, d.Pool, d.Reason = Held, heaviest(e.Serving), e.Held
		case c != nil:
			d.Verdict, d.Pool, d.Reason = Build, c.Pool, c.Reason
		case s != nil:
			d.Verdict, d.Pool, d.Reason = Reuse, s.Pool, s.Reason
			// A move that keeps the serving pool is one swap too.
			d.Instant = len(s.Weights) == 0 && (s.Rollback || (s.MoveFrom != "" && heaviest(e.Serving) == s.Pool))
		default:
			d.Verdict, d.Pool = Keep, heaviest(e.Serving)
		}
		out = append(out, d)
	}
	return out
}

// heaviest is the pool with the most weight among backends ("" if none).
func heaviest(bs []cloud.Backend) string {
	best := -1
	for i, b := range bs {
		if best < 0 || b.Weight > bs[best].Weight {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return bs[best].Pool
}
