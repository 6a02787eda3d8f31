// Package render turns a plan into what people and programs read: text for
// a terminal, JSON (a versioned contract), Markdown for a pull-request
// comment, and the plan's DAG as DOT or Mermaid. It is kept apart from the
// planner, as Terraform keeps its views apart from planning.
//
// There is one source of truth: every format is rendered from Doc, the JSON
// form of the plan. A saved JSON plan can be read back with ReadJSON and
// rendered as text exactly as the live plan was.
package render

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/planner"
)

// Doc is the JSON form of a plan (format version planner.FormatVersion).
// Fields of the contract in issue 3 are always present; the others are
// additions, omitted when empty.
type Doc struct {
	FormatVersion string `json:"format_version"`
	Project       string `json:"project,omitempty"`
	// Commit is the git commit of the spec, when known.
	Commit    string     `json:"commit,omitempty"`
	Clouds    []string   `json:"clouds,omitempty"`
	Envs      []string   `json:"envs,omitempty"`
	Now       *time.Time `json:"now,omitempty"`
	Steps     []Step     `json:"steps"`
	Endpoints []Endpoint `json:"endpoints,omitempty"`
	Warnings  []string   `json:"warnings,omitempty"`
	Summary   Summary    `json:"summary"`
	// Changes is false when the plan is empty (live state matches the spec).
	Changes bool `json:"changes"`
	// Destructive counts the steps marked destructive.
	Destructive int `json:"destructive,omitempty"`
	// Rollback lists the environments whose change is swaps to retained
	// pools only.
	Rollback []string `json:"rollback,omitempty"`
	// Simulation is true when the plan was made against the in-memory
	// simulation (PHOENIX_CLOUD_OVERRIDE=memory): nothing in it is real.
	Simulation bool `json:"simulation,omitempty"`
}

// Step is one step of the plan in the JSON contract: planner.Step's fields,
// in its order and of its types, with the contract's JSON names and
// omissions. FromPlan converts one into the other (Step(s)), so a field
// added to planner.Step and not here, or the other way round, does not
// compile: the plan cannot grow a fact its renderings forget.
type Step struct {
	ID          string          `json:"id"`
	Kind        planner.Kind    `json:"kind"`
	Cloud       string          `json:"cloud,omitempty"`
	Env         string          `json:"env"`
	Role        string          `json:"role"`
	Image       string          `json:"image"`
	BuildID     string          `json:"build_id,omitempty"`
	Pool        string          `json:"pool"`
	Key         string          `json:"key,omitempty"`
	Generation  int             `json:"generation,omitempty"`
	Endpoint    string          `json:"endpoint,omitempty"`
	MoveFrom    string          `json:"move_from,omitempty"`
	From        []cloud.Backend `json:"from,omitempty"`
	Weights     []int           `json:"weights,omitempty"`
	Cool        []string        `json:"cool,omitempty"`
	Reason      string          `json:"reason"`
	Destructive bool            `json:"destructive"`
	Rollback    bool            `json:"rollback,omitempty"`
	// Replace marks a bake that rebuilds an existing build id (an image
	// past its maxAge keeps its id).
	Replace bool     `json:"replace,omitempty"`
	After   []string `json:"after"`
	// Watch is how a release's swap is watched on the new pool's traffic
	// (canary pause, bake window, analysis); the reason says it in words.
	Watch *planner.Watch `json:"watch,omitempty"`
}

// Endpoint is an (environment, role) in the plan's scope and what it serves
// before the plan.
type Endpoint struct {
	Cloud    string          `json:"cloud,omitempty"`
	Env      string          `json:"env"`
	Role     string          `json:"role"`
	Address  string          `json:"address,omitempty"`
	Serving  []cloud.Backend `json:"serving,omitempty"`
	Rollback bool            `json:"rollback,omitempty"`
	// MovedFrom is the address that serves now when the plan moves the
	// endpoint to Address.
	MovedFrom string `json:"moved_from,omitempty"`
	// Held says why the spec's release is held back: release analysis
	// rejected its pool (rule 8).
	Held string `json:"held,omitempty"`
}

// Summary counts the steps by kind.
type Summary struct {
	Bake   int `json:"bake"`
	Create int `json:"create"`
	Swap   int `json:"swap"`
	Prune  int `json:"prune"`
}

// Info is what a plan does not carry but a reader wants to see.
type Info struct {
	// Commit is the spec's git commit (model.Desired.Commit), if known.
	Commit string
	// Clouds names the clouds the spec uses; if empty they are taken from
	// the plan's endpoints and steps.
	Clouds []string
	// Simulation says the live state came from the in-memory simulation.
	Simulation bool
}

// Moves counts the swaps that move an endpoint to a new address (each is
// also counted in Destructive).
func (d *Doc) Moves() int {
	n := 0
	for _, s := range d.Steps {
		if s.MoveFrom != "" {
			n++
		}
	}
	return n
}

// FromPlan builds the Doc of a plan.
func FromPlan(p *planner.Plan, info Info) *Doc {
	d := &Doc{
		FormatVersion: planner.FormatVersion,
		Project:       p.Project,
		Commit:        info.Commit,
		Envs:          slices.Clone(p.Envs),
		Warnings:      slices.Clone(p.Warnings),
		Steps:         make([]Step, 0, len(p.Steps)),
		Simulation:    info.Simulation,
	}
	if !p.Now.IsZero() {
		now := p.Now.UTC()
		d.Now = &now
	}
	clouds := map[string]bool{}
	for _, c := range info.Clouds {
		clouds[c] = true
	}
	for _, s := range p.Steps {
		d.Steps = append(d.Steps, stepOf(s))
		if len(info.Clouds) == 0 && s.Cloud != "" {
			clouds[s.Cloud] = true
		}
	}
	for _, e := range p.Endpoints {
		d.Endpoints = append(d.Endpoints, Endpoint{Cloud: e.Cloud, Env: e.Env, Role: e.Role,
			Address: e.Address, Serving: slices.Clone(e.Serving), Rollback: e.Rollback,
			MovedFrom: e.MovedFrom, Held: e.Held})
		if len(info.Clouds) == 0 && e.Cloud != "" {
			clouds[e.Cloud] = true
		}
	}
	for c := range clouds {
		d.Clouds = append(d.Clouds, c)
	}
	sort.Strings(d.Clouds)
	d.derive()
	return d
}

// stepOf converts a planner step (a conversion, not a field-by-field copy:
// see Step) and clones its slices so that the Doc shares nothing with the
// plan. After is never null in the contract.
func stepOf(s planner.Step) Step {
	st := Step(s)
	st.From = slices.Clone(s.From)
	st.Weights = slices.Clone(s.Weights)
	st.Cool = slices.Clone(s.Cool)
	st.After = slices.Clone(s.After)
	if st.After == nil {
		st.After = []string{}
	}
	return st
}

// derive fills the fields computed from the steps: summary, changes,
// destructive count and rollback environments.
func (d *Doc) derive() {
	d.Summary = Summary{}
	d.Destructive = 0
	for _, s := range d.Steps {
		switch s.Kind {
		case planner.Bake:
			d.Summary.Bake++
		case planner.Create:
			d.Summary.Create++
		case planner.Swap:
			d.Summary.Swap++
		case planner.Prune:
			d.Summary.Prune++
		}
		if s.Destructive {
			d.Destructive++
		}
	}
	d.Changes = len(d.Steps) > 0
	d.Rollback = rollbackEnvs(d.Steps)
}

// rollbackEnvs returns the environments whose change is only swaps to
// retained pools (and prunes after them): no create in them.
func rollbackEnvs(steps []Step) []string {
	swaps := map[string]int{}
	rollbacks := map[string]int{}
	creates := map[string]bool{}
	for _, s := range steps {
		switch s.Kind {
		case planner.Swap:
			swaps[s.Env]++
			if s.Rollback {
				rollbacks[s.Env]++
			}
		case planner.Create:
			creates[s.Env] = true
		}
	}
	var out []string
	for env, n := range swaps {
		if n == rollbacks[env] && !creates[env] {
			out = append(out, env)
		}
	}
	sort.Strings(out)
	return out
}

// WriteJSON writes the Doc as indented JSON.
func WriteJSON(w io.Writer, d *Doc) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(d)
}

// ReadJSON reads a Doc written by WriteJSON, refusing a format version it
// does not know.
func ReadJSON(r io.Reader) (*Doc, error) {
	var d Doc
	if err := json.NewDecoder(r).Decode(&d); err != nil {
		return nil, fmt.Errorf("reading plan JSON: %w", err)
	}
	if d.FormatVersion != planner.FormatVersion {
		return nil, fmt.Errorf("reading plan JSON: format version %q, this phoenix reads %q", d.FormatVersion, planner.FormatVersion)
	}
	for i := range d.Steps {
		if d.Steps[i].After == nil {
			d.Steps[i].After = []string{}
		}
	}
	d.derive()
	return &d, nil
}

// isImagePrune reports whether a step prunes an image rather than a pool.
func (s Step) isImagePrune() bool { return s.Kind == planner.Prune && s.Pool == "" }

// Short renders a pool id for people ("web@7d2e.2"); ids that are not pool
// ids come back as they are.
func Short(poolID string) string {
	_, role, key, gen, ok := parsePoolID(poolID)
	if !ok {
		return poolID
	}
	return cloud.ShortPool(role, key, gen)
}

// parsePoolID splits "env.role.key8.gen" (cloud.PoolID); the environment may
// itself hold dots, the role, key and generation may not.
func parsePoolID(id string) (env, role, key string, gen int, ok bool) {
	var parts []string
	rest := id
	for range 3 {
		i := lastDot(rest)
		if i < 0 {
			return "", "", "", 0, false
		}
		parts = append(parts, rest[i+1:])
		rest = rest[:i]
	}
	gen, err := strconv.Atoi(parts[0])
	if err != nil || rest == "" || parts[1] == "" || parts[2] == "" {
		return "", "", "", 0, false
	}
	return rest, parts[2], parts[1], gen, true
}

func lastDot(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '.' {
			return i
		}
	}
	return -1
}
