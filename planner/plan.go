package planner

import (
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// Kind is what a step does.
type Kind string

const (
	// Bake builds one image in one cloud.
	Bake Kind = "bake"
	// Create makes a new pool off traffic and smoke-tests it.
	Create Kind = "create"
	// Swap points an endpoint at a pool (or, for a canary, walks weights).
	Swap Kind = "swap"
	// Prune destroys a pool or an image that is past retention or left the
	// spec.
	Prune Kind = "prune"
)

// FormatVersion is the version of the JSON plan format; it changes only
// when a field changes meaning or goes away.
const FormatVersion = "1"

// Plan is the planner's result: a DAG of steps in a topological order.
// It is data; rendering lives in package render.
type Plan struct {
	Project string `json:"project"`
	// Steps are in a topological order: every step comes after the steps
	// it waits for. Ids are stable across runs for the same inputs.
	Steps []Step `json:"steps"`
	// Envs are the environments the plan was made for (sorted); the
	// executor locks these.
	Envs []string `json:"envs"`
	// Endpoints lists every (environment, role) in scope, with or without
	// steps, so renderers can say "no changes" per endpoint.
	Endpoints []EndpointSummary `json:"endpoints,omitempty"`
	// Warnings are things a person should know that are not steps (an
	// environment left the spec and --destroy was not given).
	Warnings []string `json:"warnings,omitempty"`
	// Now is the time the plan was made for (ages are relative to it).
	Now time.Time `json:"now"`
}

// EndpointSummary says what an endpoint serves before the plan.
type EndpointSummary struct {
	Cloud    string          `json:"cloud"`
	Env      string          `json:"env"`
	Role     string          `json:"role"`
	Address  string          `json:"address"`
	Serving  []cloud.Backend `json:"serving,omitempty"`
	Rollback bool            `json:"rollback,omitempty"` // the change is a swap to a retained pool
	// MovedFrom is the address the endpoint serves at now when the spec
	// moves it to Address (rule 7); empty when it does not move.
	MovedFrom string `json:"moved_from,omitempty"`
	// Held says why the spec's release is held back (rule 8: its pool was
	// rejected by release analysis); the plan changes nothing for it.
	Held string `json:"held,omitempty"`
}

// Step is one node of the plan.
type Step struct {
	// ID is stable: "bake:local:web:41aa9b3c", "create:prod.web.5c4d0a1b.2",
	// "swap:prod/web", "prune:prod.web.0a11ff00.1", "prune-image:local:41aa9b3c".
	ID    string `json:"id"`
	Kind  Kind   `json:"kind"`
	Cloud string `json:"cloud"`
	Env   string `json:"env,omitempty"`
	Role  string `json:"role,omitempty"`
	// Image is the image name (bake, create, image prune).
	Image   string `json:"image,omitempty"`
	BuildID string `json:"build_id,omitempty"`
	// Pool is the pool id: the pool a create makes, a swap moves traffic
	// to, or a prune destroys. Empty for bakes and image prunes.
	Pool       string `json:"pool,omitempty"`
	Key        string `json:"key,omitempty"`
	Generation int    `json:"generation,omitempty"`
	// Endpoint is the address a swap changes.
	Endpoint string `json:"endpoint,omitempty"`
	// MoveFrom is the address a swap releases once Endpoint serves: the
	// spec moved the endpoint (rule 7). Such a swap stops traffic on an
	// address clients may still use, so it is destructive.
	MoveFrom string `json:"move_from,omitempty"`
	// From lists what the endpoint served before a swap.
	From []cloud.Backend `json:"from,omitempty"`
	// Weights are a canary swap's percent steps on Pool, ending at 100;
	// empty for blue-green (one step to 100).
	Weights []int `json:"weights,omitempty"`
	// Cool lists non-serving pools a swap scales to zero after it moves
	// traffic (retention beyond `warm`).
	Cool []string `json:"cool,omitempty"`
	// Reason says why, for a person: "image web: steps changed".
	Reason      string `json:"reason"`
	Destructive bool   `json:"destructive,omitempty"`
	// Rollback is true for a swap to a retained pool (no bake, no create).
	Rollback bool `json:"rollback,omitempty"`
	// Replace is true for a bake of a build id the cloud already has (past
	// its maxAge, or baked before its parent was rebaked): the same inputs
	// baked again. The executor passes it on as cloud.BakeRequest.Replace.
	Replace bool `json:"replace,omitempty"`
	// After lists the ids of the steps this one waits for (sorted).
	After []string `json:"after"`
	// Watch says how a release's swap is watched on the new pool's own
	// traffic (each canary weight, then a bake window); nil for a swap
	// that is not watched (a rollback, a first deploy, a detach).
	Watch *Watch `json:"watch,omitempty"`
}

// Summary counts steps by kind.
type Summary struct {
	Bake   int `json:"bake"`
	Create int `json:"create"`
	Swap   int `json:"swap"`
	Prune  int `json:"prune"`
}

// Summary counts the plan's steps by kind.
func (p *Plan) Summary() Summary {
	var s Summary
	for _, st := range p.Steps {
		switch st.Kind {
		case Bake:
			s.Bake++
		case Create:
			s.Create++
		case Swap:
			s.Swap++
		case Prune:
			s.Prune++
		}
	}
	return s
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool { return len(p.Steps) == 0 }
