package render

import (
	"fmt"
	"strings"

	"github.com/phoenix-gitops/phoenix/planner"
)

// mermaidBox is a subgraph of the Mermaid graph: the images, or one
// environment.
type mermaidBox struct {
	id, title string
	env       string // "" for the images box
	steps     []Step
}

// mermaidBoxes groups the steps as the text plan does: bakes and image
// prunes first, then environments in the order traffic moves through
// them, each environment's roles by name.
func mermaidBoxes(d *Doc) []*mermaidBox {
	envIDs := mermaidEnvIDs(d.Steps)
	images := &mermaidBox{id: "images", title: "images"}
	for _, s := range d.Steps {
		if s.Env == "" {
			images.steps = append(images.steps, s)
		}
	}
	var boxes []*mermaidBox
	if len(images.steps) > 0 {
		boxes = append(boxes, images)
	}
	byEnv := map[string]*mermaidBox{}
	for _, g := range groupSteps(d) {
		box := byEnv[g.env]
		if box == nil {
			box = &mermaidBox{id: envIDs[g.env], title: g.env, env: g.env}
			if len(g.after) > 0 {
				box.title += " · after " + strings.Join(g.after, ", ")
			}
			byEnv[g.env] = box
			boxes = append(boxes, box)
		}
		box.steps = append(box.steps, g.steps...)
	}
	return boxes
}

// mermaidEnvIDs maps environments to subgraph ids: "env_" and the name
// with every character outside [A-Za-z0-9_] made "_", made unique with a
// suffix. No step id starts with "env", so none clashes with a node.
func mermaidEnvIDs(steps []Step) map[string]string {
	out := map[string]string{}
	used := map[string]bool{}
	for _, s := range steps {
		if _, ok := out[s.Env]; ok || s.Env == "" {
			continue
		}
		base := "env_" + mermaidSafe(s.Env)
		id := base
		for n := 2; used[id]; n++ {
			id = fmt.Sprintf("%s_%d", base, n)
		}
		used[id] = true
		out[s.Env] = id
	}
	return out
}

type mermaidEdge struct{ from, to string }

// mermaidEdges are the graph's arrows: one per dependency within an
// environment or on an image, and one per pair of environments where a
// step of one waits for a step of the other.
func mermaidEdges(d *Doc, ids map[string]string) []mermaidEdge {
	envIDs := mermaidEnvIDs(d.Steps)
	env := make(map[string]string, len(d.Steps))
	for _, s := range d.Steps {
		env[s.ID] = s.Env
	}
	var out []mermaidEdge
	seen := map[mermaidEdge]bool{}
	for _, s := range d.Steps {
		for _, a := range s.After {
			from, ok := ids[a]
			if !ok {
				continue
			}
			e := mermaidEdge{from, ids[s.ID]}
			if ea := env[a]; ea != "" && s.Env != "" && ea != s.Env {
				e = mermaidEdge{envIDs[ea], envIDs[s.Env]}
			}
			if !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
		}
	}
	return out
}

// mermaidLabel is a step's label in the graph. A pool step reads as its
// row in the text plan, without the environment its box names; names
// keep their dashes on one line (U+2011, a hyphen no browser breaks at:
// "api-gw-v2" broke into "api-" and "gw-v2").
func mermaidLabel(s Step) string {
	l := Label(s)
	if s.Env != "" && s.Kind != planner.Bake && !s.isImagePrune() {
		cells := stepRow(s)
		l = strings.TrimLeft(cells[0].s, " +~-") + " " + cells[1].s
		if cells[2].s != "" {
			l += " · " + cells[2].s
		}
		if s.MoveFrom != "" {
			l += " · to " + s.Endpoint
		}
	}
	return unbreakable(l)
}

// unbreakable makes the dashes of s non-breaking hyphens (U+2011), so
// that a browser wraps a label between words, never inside a name.
func unbreakable(s string) string { return strings.ReplaceAll(s, "-", "\u2011") }
