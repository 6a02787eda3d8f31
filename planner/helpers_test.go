package planner_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/dag"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
)

const day = 24 * time.Hour

var now = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// shop is the spec most tests start from: base <- web, staging then prod.
func shop() *plantest.Spec {
	return plantest.NewSpec("shop").
		Image("base", "", "apt-get upgrade").
		Image("web", "base", "install web").
		Env("staging").
		Env("prod", plantest.After("staging")).
		Role("staging", "web", "web", 1).
		Role("prod", "web", "web", 2)
}

func mustPlan(t *testing.T, d *model.Desired, live *cloud.Live, opts planner.Options) *planner.Plan {
	t.Helper()
	if opts.Now.IsZero() {
		opts.Now = now
	}
	p, err := planner.Make(d, live, opts)
	if err != nil {
		t.Fatalf("Make: %v", err)
	}
	checkShape(t, p)
	return p
}

// checkShape asserts what holds for every plan: unique ids, sorted After
// lists naming earlier steps, and an acyclic graph.
func checkShape(t *testing.T, p *planner.Plan) {
	t.Helper()
	seen := map[string]bool{}
	g := dag.New[string]()
	for _, s := range p.Steps {
		if seen[s.ID] {
			t.Fatalf("duplicate step id %s", s.ID)
		}
		if !slices.IsSorted(s.After) {
			t.Errorf("step %s: After not sorted: %v", s.ID, s.After)
		}
		for _, a := range s.After {
			if !seen[a] {
				t.Errorf("step %s waits for %s, which does not come before it", s.ID, a)
			}
		}
		seen[s.ID] = true
		g.Add(s.ID, s.After...)
	}
	if c := g.FindCycle(); c != nil {
		t.Fatalf("cycle %v", c)
	}
}

func step(t *testing.T, p *planner.Plan, id string) planner.Step {
	t.Helper()
	for _, s := range p.Steps {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("no step %s in plan:\n%s", id, dump(p))
	return planner.Step{}
}

func ids(p *planner.Plan) []string {
	out := make([]string, len(p.Steps))
	for i, s := range p.Steps {
		out[i] = s.ID
	}
	return out
}

func dump(p *planner.Plan) string {
	var b strings.Builder
	for _, s := range p.Steps {
		b.WriteString(s.ID + "  after=" + strings.Join(s.After, ",") + "  " + s.Reason + "\n")
	}
	for _, w := range p.Warnings {
		b.WriteString("warning: " + w + "\n")
	}
	return b.String()
}

func wantIDs(t *testing.T, p *planner.Plan, want ...string) {
	t.Helper()
	got := slices.Clone(ids(p))
	slices.Sort(got)
	w := slices.Clone(want)
	slices.Sort(w)
	if !slices.Equal(got, w) {
		t.Fatalf("steps:\n got %v\nwant %v\nplan:\n%s", got, w, dump(p))
	}
}

func wantAfter(t *testing.T, p *planner.Plan, id string, after ...string) {
	t.Helper()
	s := step(t, p, id)
	if after == nil {
		after = []string{}
	}
	slices.Sort(after)
	if !slices.Equal(s.After, after) {
		t.Errorf("%s waits for %v, want %v", id, s.After, after)
	}
}

func wantReason(t *testing.T, p *planner.Plan, id, reason string) {
	t.Helper()
	if got := step(t, p, id).Reason; got != reason {
		t.Errorf("%s reason %q, want %q", id, got, reason)
	}
}

func pool(d *model.Desired, env, role string) *model.Pool {
	for _, p := range d.Pools {
		if p.Env == env && p.Role == role {
			return p
		}
	}
	panic("no pool " + env + "/" + role)
}

func b12(id string) string { return id[:12] }

// livePool returns a pointer to the live pool with id, for a test to edit.
func livePool(l *cloud.Live, id string) *cloud.Pool {
	for i := range l.Pools {
		if l.Pools[i].ID == id {
			return &l.Pools[i]
		}
	}
	panic("no live pool " + id)
}

func endpoint(l *cloud.Live, env, role string) *cloud.Endpoint {
	for i := range l.Endpoints {
		if l.Endpoints[i].Env == env && l.Endpoints[i].Role == role {
			return &l.Endpoints[i]
		}
	}
	panic("no endpoint " + env + "/" + role)
}
