package render

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/phoenix-gitops/phoenix/planner"
)

// fanInPlan is a fleet release whose every prod swap waits for every
// staging swap: few steps, many edges (staging×prod).
func fanInPlan(staging, prod int, name string) *planner.Plan {
	p := &planner.Plan{Project: "fleet", Now: now}
	var stagingIDs []string
	for i := range staging {
		id := fmt.Sprintf("swap:staging-%d/%s", i, name)
		stagingIDs = append(stagingIDs, id)
		p.Steps = append(p.Steps, planner.Step{ID: id, Kind: planner.Swap, Cloud: "local", Env: fmt.Sprintf("staging-%d", i), Role: name,
			Pool: pid("s", keyNew, 1), Reason: "spec changed", After: []string{}})
	}
	for i := range prod {
		p.Steps = append(p.Steps, planner.Step{ID: fmt.Sprintf("swap:prod-%d/%s", i, name), Kind: planner.Swap, Cloud: "local",
			Env: fmt.Sprintf("prod-%d", i), Role: name, Pool: pid("p", keyNew, 1), Reason: "spec changed", After: stagingIDs})
	}
	return p
}

func TestCommentGraphStaysWithinMermaidLimits(t *testing.T) {
	long := strings.Repeat("x", 1000) // in every node id
	for _, tc := range []struct {
		name string
		plan *planner.Plan
		why  string // "" if the graph is drawn
	}{
		{"small", fanInPlan(4, 2, "web"), ""},
		{"edges", fanInPlan(20, 30, "web"), "600 edges, more than GitHub's Mermaid draws (500)"},
		{"characters", fanInPlan(60, 1, long), "characters, more than GitHub's Mermaid draws (50000)"},
		{"steps", fanInPlan(100, 100, "web"), "200 steps, more than GitHub draws (150)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := FromPlan(tc.plan, Info{})
			g, why := CommentGraph(d, 150)
			if tc.why == "" {
				if why != "" || g == "" {
					t.Fatalf("graph left out: %s", why)
				}
				if n := strings.Count(g, " --> "); n > MermaidMaxEdges || len(g) > MermaidMaxChars {
					t.Fatalf("drawn with %d edges and %d characters", n, len(g))
				}
				return
			}
			if g != "" || !strings.Contains(why, tc.why) {
				t.Fatalf("want the graph left out for %q, got why %q (graph %d bytes)", tc.why, why, len(g))
			}
			var md bytes.Buffer
			if err := Markdown(&md, d, MarkdownOptions{MaxBytes: 1 << 30}); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(md.String(), "```mermaid") || !strings.Contains(md.String(), "the graph ("+why+")") {
				t.Errorf("the comment should leave the graph out and say why (%s):\n%.600s", why, md.String())
			}
		})
	}
}

// TestMermaidClassesSetTextColour: on GitHub's dark theme a class with a
// fill and no colour gets light grey text on a pastel box.
func TestMermaidClassesSetTextColour(t *testing.T) {
	var g bytes.Buffer
	if err := Mermaid(&g, FromPlan(canaryPlan(), Info{})); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, l := range strings.Split(g.String(), "\n") {
		if strings.Contains(l, "classDef ") {
			n++
			if !strings.Contains(l, ",color:#") {
				t.Errorf("%q sets no text colour", strings.TrimSpace(l))
			}
		}
	}
	if n == 0 {
		t.Fatal("no classDef lines")
	}
}
