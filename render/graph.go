package render

import (
	"fmt"
	"io"
	"strings"

	"github.com/phoenix-gitops/phoenix/planner"
)

// Node ids in DOT and Mermaid are derived from step ids, so the same plan
// gives the same graph text (diffable, cacheable) and a node can be found
// by its step id.

// Label is a step's one-line label in a graph: its kind and target.
func Label(s Step) string {
	switch {
	case s.Kind == planner.Bake:
		return fmt.Sprintf("bake %s %s", s.Image, shortID(s.BuildID, 7))
	case s.isImagePrune():
		return fmt.Sprintf("prune image %s %s", s.Image, shortID(s.BuildID, 7))
	case s.Kind == planner.Create:
		return fmt.Sprintf("create %s/%s %s", s.Env, s.Role, poolName(s))
	case s.Kind == planner.Swap && s.Pool == "":
		return fmt.Sprintf("detach %s/%s", s.Env, s.Role)
	case s.Kind == planner.Swap:
		l := fmt.Sprintf("swap %s/%s → %s", s.Env, s.Role, poolName(s))
		if len(s.Weights) > 0 {
			l += " (canary)"
		}
		if s.MoveFrom != "" {
			l += " at " + s.Endpoint + " (moved)"
		}
		return l
	case s.Kind == planner.Prune:
		verb := "prune"
		if s.Destructive {
			verb = "DESTROY"
		}
		return fmt.Sprintf("%s %s/%s %s", verb, s.Env, s.Role, poolName(s))
	}
	return string(s.Kind) + " " + s.ID
}

// DOT writes the plan's DAG in Graphviz DOT; edges point from a step to the
// steps that wait for it.
func DOT(w io.Writer, d *Doc) error {
	var b strings.Builder
	b.WriteString("digraph plan {\n")
	b.WriteString("  rankdir=LR;\n")
	b.WriteString("  node [shape=box, style=\"rounded,filled\", fontname=\"monospace\", fillcolor=\"white\"];\n")
	if len(d.Steps) == 0 {
		b.WriteString("  \"none\" [label=\"no changes\"];\n")
	}
	for _, s := range d.Steps {
		fmt.Fprintf(&b, "  %s [label=%s, fillcolor=%q];\n", dotQuote(s.ID), dotQuote(Label(s)), dotFill(s))
	}
	for _, s := range d.Steps {
		for _, a := range s.After {
			fmt.Fprintf(&b, "  %s -> %s;\n", dotQuote(a), dotQuote(s.ID))
		}
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func dotFill(s Step) string {
	switch {
	case s.Destructive:
		return "#f4a6a6"
	case s.Kind == planner.Bake:
		return "#dbe9f6"
	case s.Kind == planner.Create:
		return "#d5f0d5"
	case s.Kind == planner.Swap:
		return "#fbeec1"
	case s.Kind == planner.Prune:
		return "#f6dede"
	}
	return "white"
}

var dotEscaper = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

func dotQuote(s string) string { return `"` + dotEscaper.Replace(s) + `"` }

// Mermaid writes the plan's DAG as a Mermaid flowchart that reads like the
// text plan: bakes in an "images" box, each environment's steps in a box
// of its own (in the text plan's order), labelled as the text plan's rows
// ("swap web@3b9c.1 → web@7d2e.1 · canary 10% → 50% → 100%"). A step that
// waits for a step of another environment (`after`) is drawn as one edge
// between the two environments' boxes, not one per pair of steps: a fleet
// whose prod swaps each wait for every staging swap stays within
// Mermaid's edge limit.
func Mermaid(w io.Writer, d *Doc) error {
	var b strings.Builder
	b.WriteString("flowchart LR\n")
	if len(d.Steps) == 0 {
		b.WriteString("  none[\"no changes\"]\n")
	}
	ids := mermaidIDs(d.Steps)
	for _, box := range mermaidBoxes(d) {
		fmt.Fprintf(&b, "  subgraph %s[\"%s\"]\n", box.id, mermaidText(unbreakable(box.title)))
		for _, s := range box.steps {
			fmt.Fprintf(&b, "    %s[\"%s\"]:::%s\n", ids[s.ID], mermaidText(mermaidLabel(s)), mermaidClass(s))
		}
		b.WriteString("  end\n")
	}
	for _, e := range mermaidEdges(d, ids) {
		fmt.Fprintf(&b, "  %s --> %s\n", e.from, e.to)
	}
	if len(d.Steps) > 0 {
		// Dark text on the light fills: without a colour, GitHub's dark
		// theme writes light grey labels on them.
		b.WriteString("  classDef bake fill:#dbe9f6,stroke:#4a78a8,color:#1f2328\n")
		b.WriteString("  classDef create fill:#d5f0d5,stroke:#3c8a3c,color:#1f2328\n")
		b.WriteString("  classDef swap fill:#fbeec1,stroke:#a8862a,color:#1f2328\n")
		b.WriteString("  classDef prune fill:#f6dede,stroke:#a84a4a,color:#1f2328\n")
		b.WriteString("  classDef destroy fill:#f4a6a6,stroke:#b00,stroke-width:3px,color:#1f2328\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mermaidClass(s Step) string {
	if s.Destructive {
		return "destroy"
	}
	switch planner.Kind(s.Kind) {
	case planner.Bake, planner.Create, planner.Swap, planner.Prune:
		return string(s.Kind)
	}
	return "prune"
}

// mermaidIDs maps step ids to Mermaid node ids: the step id with every
// character outside [A-Za-z0-9_] made "_", made unique with a suffix.
func mermaidIDs(steps []Step) map[string]string {
	out := make(map[string]string, len(steps))
	used := map[string]bool{}
	for _, s := range steps {
		base := mermaidSafe(s.ID)
		id := base
		for n := 2; used[id]; n++ {
			id = fmt.Sprintf("%s_%d", base, n)
		}
		used[id] = true
		out[s.ID] = id
	}
	return out
}

// mermaidSafe makes every character of s outside [A-Za-z0-9_] "_".
func mermaidSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' {
			return r
		}
		return '_'
	}, s)
}

// mermaidText escapes a label for a quoted Mermaid node.
var mermaidEscaper = strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;")

func mermaidText(s string) string { return mermaidEscaper.Replace(s) }
