package render

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/planner"
)

// TestCommentFitsTheLimit: a giant plan still fits a comment; the full
// plan goes first, then the graph, then details, then whole tables.
func TestCommentFitsTheLimit(t *testing.T) {
	row := "| web | create + swap | " + strings.Repeat("x", 80) + " |\n"
	var tables []string
	for i := 0; i < 400; i++ {
		tables = append(tables, fmt.Sprintf("\n#### env%03d\n\n| role | change | why |\n|---|---|---|\n%s", i, row))
	}
	c := &comment{head: CommentMarker + "\n**Phoenix:** lots.\n", tables: tables,
		desired: strings.Repeat("- pool\n", 3000), graph: strings.Repeat("g\n", 20000), full: strings.Repeat("line\n", 20000)}
	out := c.fit(commentMax)
	if len(out) > commentMax {
		t.Fatalf("comment is %d bytes, over %d", len(out), commentMax)
	}
	for _, want := range []string{CommentMarker, "#### env000", "Cut to fit a comment: the full plan, the plan graph, the desired-state details, "} {
		if !strings.Contains(out, want) {
			t.Errorf("comment lacks %q", want)
		}
	}
	small := &comment{head: "h\n", tables: tables[:2], full: "f\n"}
	if got := small.fit(commentMax); strings.Contains(got, "Cut to fit") || !strings.HasSuffix(got, "f\n") {
		t.Errorf("a small comment is cut: %q", got)
	}
}

// TestCommentSaysWhenTheGraphIsLeftOut: a graph GitHub's Mermaid would
// refuse (every prod swap after every staging swap: 600 edges in 50
// steps) is left out, and the comment says so instead of going silent.
func TestCommentSaysWhenTheGraphIsLeftOut(t *testing.T) {
	p := &planner.Plan{Project: "fleet", Now: time.Now()}
	var staging []string
	for i := range 20 {
		id := fmt.Sprintf("swap:staging-%d/web", i)
		staging = append(staging, id)
		p.Steps = append(p.Steps, planner.Step{ID: id, Kind: planner.Swap, Env: fmt.Sprintf("staging-%d", i), Role: "web", Pool: "p", After: []string{}})
	}
	for i := range 30 {
		p.Steps = append(p.Steps, planner.Step{ID: fmt.Sprintf("swap:prod-%d/web", i), Kind: planner.Swap, Env: fmt.Sprintf("prod-%d", i), Role: "web", Pool: "p", After: staging})
	}
	got := commentGraph(FromPlan(p, Info{}))
	if strings.Contains(got, "```mermaid") || !strings.Contains(got, "Plan graph left out: 600 edges") {
		t.Errorf("comment graph part:\n%s", got)
	}
	small := &planner.Plan{Project: "p", Now: time.Now(), Steps: p.Steps[:2]}
	if got := commentGraph(FromPlan(small, Info{})); !strings.Contains(got, "```mermaid") {
		t.Errorf("a small graph is drawn:\n%s", got)
	}
}
