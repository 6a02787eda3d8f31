package render

import (
	"bytes"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"

	"pgregory.net/rapid"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/planner"
)

// genPlan draws a plan in topological order: every step waits only for
// earlier ones.
func genPlan(t *rapid.T) *planner.Plan {
	p := &planner.Plan{Project: "p", Now: now}
	envs := rapid.SliceOfNDistinct(rapid.StringMatching(`[a-z]{1,6}(\.[0-9]{1,2})?`), 1, 4, rapid.ID[string]).Draw(t, "envs")
	p.Envs = envs
	n := rapid.IntRange(0, 40).Draw(t, "steps")
	for i := range n {
		kind := rapid.SampledFrom([]planner.Kind{planner.Bake, planner.Create, planner.Swap, planner.Prune}).Draw(t, "kind")
		env := rapid.SampledFrom(envs).Draw(t, "env")
		role := rapid.SampledFrom([]string{"web", "api", "w|b<x>"}).Draw(t, "role")
		key := fmt.Sprintf("%08x%056d", rapid.Uint32().Draw(t, "key"), i)
		gen := rapid.IntRange(1, 9).Draw(t, "gen")
		s := planner.Step{Kind: kind, Cloud: "local", Reason: rapid.StringMatching(`[ -~]{0,30}`).Draw(t, "reason"), After: []string{}}
		switch kind {
		case planner.Bake:
			s.ID, s.Image, s.BuildID = fmt.Sprintf("bake:local:img%d:%s", i, key[:8]), fmt.Sprintf("img%d", i), key
		case planner.Create, planner.Swap, planner.Prune:
			s.Env, s.Role, s.Key, s.Generation = env, role, key, gen
			s.Pool = cloud.PoolID(env, role, key, gen)
			s.ID = fmt.Sprintf("%s:%s#%d", kind, s.Pool, i)
			if kind == planner.Swap {
				s.From = []cloud.Backend{{Pool: cloud.PoolID(env, role, "ffff0000", 1), Weight: 100}}
				if rapid.Bool().Draw(t, "detach") {
					s.Pool, s.Key = "", ""
				}
			}
			s.Destructive = rapid.Bool().Draw(t, "destructive")
		}
		for j := range i {
			if rapid.IntRange(0, 4).Draw(t, "dep") == 0 {
				s.After = append(s.After, p.Steps[j].ID)
			}
		}
		p.Steps = append(p.Steps, s)
	}
	return p
}

func TestRenderProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		p := genPlan(t)
		d := FromPlan(p, Info{Commit: "abc"})

		// JSON is the source of truth: it reads back to the same Doc.
		var js bytes.Buffer
		if err := WriteJSON(&js, d); err != nil {
			t.Fatal(err)
		}
		back, err := ReadJSON(&js)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(d, back) {
			t.Fatalf("JSON round trip changed the doc:\n%+v\n%+v", d, back)
		}

		// Text names every pool step and ends with the counts.
		var txt bytes.Buffer
		_ = Text(&txt, d, TextOptions{})
		out := txt.String()
		for _, s := range d.Steps {
			if s.Pool != "" && s.Kind != planner.Bake && !strings.Contains(out, poolName(s)) {
				t.Fatalf("text does not show %s (%s):\n%s", s.ID, poolName(s), out)
			}
		}
		if d.Changes && !strings.Contains(out, "Plan: "+countsLine(d.Summary)+".") {
			t.Fatalf("text lacks the counts line:\n%s", out)
		}

		// Graphs: one node per step, one edge per dependency, unique ids.
		var dot, mmd bytes.Buffer
		_ = DOT(&dot, d)
		_ = Mermaid(&mmd, d)
		edges := 0
		for _, s := range d.Steps {
			edges += len(s.After)
		}
		if got := strings.Count(dot.String(), " -> "); got != edges {
			t.Fatalf("DOT has %d edges, want %d", got, edges)
		}
		// Mermaid draws each dependency: between the steps, or, across
		// environments, between their boxes, once per pair.
		ids, envIDs := mermaidIDs(d.Steps), mermaidEnvIDs(d.Steps)
		env := map[string]string{}
		for _, s := range d.Steps {
			env[s.ID] = s.Env
		}
		want := map[string]bool{}
		for _, s := range d.Steps {
			for _, a := range s.After {
				e := ids[a] + " --> " + ids[s.ID]
				if env[a] != "" && s.Env != "" && env[a] != s.Env {
					e = envIDs[env[a]] + " --> " + envIDs[s.Env]
				}
				want[e] = true
				if !strings.Contains(mmd.String(), "  "+e+"\n") {
					t.Fatalf("Mermaid lacks %q for %s after %s:\n%s", e, s.ID, a, mmd.String())
				}
			}
		}
		if got := strings.Count(mmd.String(), " --> "); got != len(want) {
			t.Fatalf("Mermaid has %d edges, want %d", got, len(want))
		}
		seen := map[string]bool{}
		for _, id := range append(slices.Collect(maps.Values(ids)), slices.Collect(maps.Values(envIDs))...) {
			if seen[id] {
				t.Fatalf("Mermaid id %s used twice", id)
			}
			seen[id] = true
		}

		// Markdown always fits its cap.
		limit := rapid.IntRange(600, 70000).Draw(t, "limit")
		var md bytes.Buffer
		_ = Markdown(&md, d, MarkdownOptions{MaxBytes: limit})
		if md.Len() > limit {
			t.Fatalf("markdown %d bytes over the cap %d", md.Len(), limit)
		}
		if !strings.HasPrefix(md.String(), "**Phoenix:** ") {
			t.Fatalf("markdown lost its verdict:\n%s", md.String())
		}
	})
}
