package render

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"

	"github.com/phoenix-gitops/phoenix/internal/mdtext"
	"github.com/phoenix-gitops/phoenix/planner"
)

// DefaultMarkdownMax keeps a comment under GitHub's 65,536-character limit
// for issue and pull-request comments, with room for a bot's own framing.
const DefaultMarkdownMax = 60000

// MarkdownOptions steer the pull-request rendering.
type MarkdownOptions struct {
	// MaxBytes is the hard cap on the output (default DefaultMarkdownMax).
	MaxBytes int
	// MaxGraphSteps omits the Mermaid graph of plans with more steps than
	// this (default 150): GitHub does not render graphs much larger.
	MaxGraphSteps int
	// Title is the bold lead of the verdict (default "Phoenix:").
	Title string
}

// Markdown renders the plan as a pull-request comment: a one-line verdict,
// a summary table, then the graph and the full text plan collapsed. It
// never writes more than MaxBytes: it cuts the full plan first, then the
// graph, then table rows, and says what it cut.
func Markdown(w io.Writer, d *Doc, o MarkdownOptions) error {
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMarkdownMax
	}
	if o.MaxGraphSteps <= 0 {
		o.MaxGraphSteps = 150
	}
	if o.Title == "" {
		o.Title = "Phoenix:"
	}
	verdict := "**" + o.Title + "** " + Verdict(d) + "\n" + SimulationMD(d)
	if !d.Changes {
		out := verdict + warningsMD(d)
		_, err := io.WriteString(w, capBytes(out, o.MaxBytes))
		return err
	}
	rows := tableRows(d)
	var bakes string
	if b := bakesLine(d); b != "" {
		bakes = "\n" + b + "\n"
	}
	warn := warningsMD(d)

	graph, graphNote := "", ""
	if g, why := CommentGraph(d, o.MaxGraphSteps); why == "" {
		graph = "\n<details><summary>Plan graph</summary>\n\n" + mdtext.Fence("mermaid", g) + "\n</details>\n"
	} else {
		graphNote = "the graph (" + why + ")"
	}
	var full strings.Builder
	_ = Text(&full, d, TextOptions{})
	fullText := full.String()

	// Assemble, cutting what does not fit: the full plan, then the graph,
	// then table rows.
	var cuts []string
	if graphNote != "" {
		cuts = append(cuts, graphNote)
	}
	build := func(rows []string, droppedRows int, graph, details string, cuts []string) string {
		var b strings.Builder
		b.WriteString(verdict)
		b.WriteString(bakes)
		b.WriteString("\n| env | role | change | why |\n|---|---|---|---|\n")
		for _, r := range rows {
			b.WriteString(r)
		}
		if droppedRows > 0 {
			fmt.Fprintf(&b, "| … | | %d more | |\n", droppedRows)
		}
		b.WriteString(warn)
		b.WriteString(graph)
		b.WriteString(details)
		if len(cuts) > 0 {
			b.WriteString("\n_Cut to fit a comment: " + strings.Join(cuts, "; ") + ". Run `phoenix plan` for everything._\n")
		}
		return b.String()
	}
	details := func(text string) string {
		return "\n<details><summary>Full plan</summary>\n\n" + mdtext.Fence("", text) + "\n</details>\n"
	}
	out := build(rows, 0, graph, details(fullText), cuts)
	if len(out) <= o.MaxBytes {
		_, err := io.WriteString(w, out)
		return err
	}
	// 1. Truncate the full plan by whole lines to what fits.
	noteReserve := 300
	base := build(rows, 0, graph, details(""), append(slices.Clone(cuts), "the full plan after line 000000 of 000000"))
	if room := o.MaxBytes - len(base) - noteReserve; room > 0 {
		lines := strings.SplitAfter(fullText, "\n")
		kept, size := 0, 0
		for kept < len(lines) && size+len(lines[kept]) <= room {
			size += len(lines[kept])
			kept++
		}
		if kept > 0 {
			c := append(slices.Clone(cuts), fmt.Sprintf("the full plan after line %d of %d", kept, len(lines)-1))
			out = build(rows, 0, graph, details(strings.Join(lines[:kept], "")+"…\n"), c)
			if len(out) <= o.MaxBytes {
				_, err := io.WriteString(w, out)
				return err
			}
		}
	}
	cuts = append(cuts, "the full plan")
	// 2. Drop the graph.
	if graph != "" {
		cuts = append(cuts, "the graph")
		out = build(rows, 0, "", "", cuts)
		if len(out) <= o.MaxBytes {
			_, err := io.WriteString(w, out)
			return err
		}
	}
	// 3. Keep as many table rows as fit.
	cuts = append(cuts, "table rows")
	keep := len(rows)
	for keep > 0 {
		out = build(rows[:keep], len(rows)-keep, "", "", cuts)
		if len(out) <= o.MaxBytes {
			break
		}
		// Shrink in proportion to the excess, at least one row.
		over := len(out) - o.MaxBytes
		keep -= max(1, over/max(1, avgLen(rows[:keep])))
		keep = max(keep, 0)
	}
	if keep == 0 {
		out = build(nil, len(rows), "", "", cuts)
	}
	_, err := io.WriteString(w, capBytes(out, o.MaxBytes))
	return err
}

// Mermaid as GitHub runs it (mermaid.js, default configuration) draws an
// error box instead of a graph past these: "Edge limit exceeded", and
// "Maximum text size in diagram exceeded".
const (
	MermaidMaxEdges = 500
	MermaidMaxChars = 50000
)

// CommentGraph is the Mermaid graph of d for a comment, or, when GitHub
// would not draw it (more than maxSteps steps, MermaidMaxEdges edges or
// MermaidMaxChars characters), "" and why, for the comment to say.
func CommentGraph(d *Doc, maxSteps int) (graph, why string) {
	if len(d.Steps) > maxSteps {
		return "", fmt.Sprintf("%d steps, more than GitHub draws (%d)", len(d.Steps), maxSteps)
	}
	var g strings.Builder
	_ = Mermaid(&g, d)
	if n := strings.Count(g.String(), " --> "); n > MermaidMaxEdges {
		return "", fmt.Sprintf("%d edges, more than GitHub's Mermaid draws (%d)", n, MermaidMaxEdges)
	}
	if n := g.Len(); n > MermaidMaxChars {
		return "", fmt.Sprintf("%d characters, more than GitHub's Mermaid draws (%d)", n, MermaidMaxChars)
	}
	return g.String(), ""
}

// Verdict is the one-line summary of a plan for a pull request: counts,
// where, what it destroys, and which environments roll back with swaps
// only ("2 bakes, 1 create, 2 swaps in staging and prod.").
func Verdict(d *Doc) string {
	if !d.Changes {
		return "no changes. The live state matches the spec."
	}
	envs := d.EnvsWithSteps()
	v := countsLine(d.Summary)
	switch {
	case len(envs) > 4:
		v += fmt.Sprintf(" in %d environments", len(envs))
	case len(envs) > 0:
		v += " in " + andList(envs)
	}
	v += "."
	if n := d.Destructive - d.Moves(); n > 0 {
		v += fmt.Sprintf(" ⚠️ **%d destructive %s remove what left the spec.**", n, plural(n, "step", "steps"))
	}
	if n := d.Moves(); n > 0 {
		v += fmt.Sprintf(" ⚠️ **%d %s an endpoint to a new address: the old address stops serving.**", n, plural(n, "step moves", "steps move"))
	}
	if len(d.Rollback) > 0 {
		rb := slices.Clone(d.Rollback)
		sortEnvs(d, rb)
		if len(rb) == len(envs) {
			return v + " **Rollback: swaps only** (retained pools match the spec)."
		}
		if len(rb) == 1 {
			v += " " + upperFirst(rb[0]) + " is a rollback (swaps only)."
		} else {
			v += " " + upperFirst(andList(rb)) + " are rollbacks (swaps only)."
		}
	}
	return v
}

// EnvsWithSteps lists the environments the plan changes, in the order the
// text view shows them (environments before those that come after them).
func (d *Doc) EnvsWithSteps() []string {
	var envs []string
	seen := map[string]bool{}
	for _, s := range d.Steps {
		if s.Env != "" && !seen[s.Env] {
			seen[s.Env] = true
			envs = append(envs, s.Env)
		}
	}
	sortEnvs(d, envs)
	return envs
}

// sortEnvs orders environment names as the text view orders groups;
// names without a group go last, by name.
func sortEnvs(d *Doc, envs []string) {
	rank := map[string]int{}
	for i, g := range groupSteps(d) {
		if _, ok := rank[g.env]; !ok {
			rank[g.env] = i
		}
	}
	sort.SliceStable(envs, func(i, j int) bool {
		ri, oki := rank[envs[i]]
		rj, okj := rank[envs[j]]
		switch {
		case oki && okj:
			return ri < rj
		case oki != okj:
			return oki
		}
		return envs[i] < envs[j]
	})
}

// tableRows is one Markdown row per (environment, role) with steps.
func tableRows(d *Doc) []string {
	var rows []string
	for _, g := range groupSteps(d) {
		var kinds, why []string
		for _, s := range g.steps {
			k := string(s.Kind)
			switch {
			case s.Kind == planner.Swap && s.Pool == "":
				k = "**detach**"
			case s.MoveFrom != "":
				k = "**move**"
			case s.Destructive:
				k = "**destroy**"
			}
			if len(kinds) == 0 || kinds[len(kinds)-1] != k {
				kinds = append(kinds, k)
			}
			r := s.Reason
			if s.Kind == planner.Prune {
				r = Short(s.Pool) + ": " + r
			}
			if r != "" && !slices.Contains(why, r) {
				why = append(why, r)
			}
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %s | %s |\n",
			cellMD(g.env), cellMD(g.role), strings.Join(kinds, " + "), cellMD(strings.Join(why, "; "))))
	}
	return rows
}

// bakesLine lists bakes and image prunes in one line each, above the table.
func bakesLine(d *Doc) string {
	return bakeLines(d, func(s Step) string { return cellMD(trimImagePrefix(s.Reason, s.Image)) })
}

// bakeLines is the bakes and image prunes of a plan in one Markdown line
// each, a bake's reason written by reason (plan and pull-request comment
// escape it their own ways); "" when there are none.
func bakeLines(d *Doc, reason func(Step) string) string {
	var bakes, prunes []string
	for _, s := range d.Steps {
		switch {
		case s.Kind == planner.Bake:
			bakes = append(bakes, fmt.Sprintf("`%s` %s (%s)", s.Image, shortID(s.BuildID, 7), reason(s)))
		case s.isImagePrune():
			prunes = append(prunes, fmt.Sprintf("`%s` %s", s.Image, shortID(s.BuildID, 7)))
		}
	}
	var lines []string
	if len(bakes) > 0 {
		lines = append(lines, "**Bakes:** "+strings.Join(bakes, ", "))
	}
	if len(prunes) > 0 {
		lines = append(lines, "**Image prunes:** "+strings.Join(prunes, ", "))
	}
	return strings.Join(lines, "  \n")
}

func warningsMD(d *Doc) string {
	if len(d.Warnings) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("\n")
	for _, w := range d.Warnings {
		b.WriteString("> ⚠️ " + cellMD(w) + "\n")
	}
	return b.String()
}

// SimulationMD marks a comment made against the in-memory simulation, which
// a reader of a pull request would otherwise take for the real cloud: a
// quoted line of its own under the verdict, or nothing.
func SimulationMD(d *Doc) string {
	if !d.Simulation {
		return ""
	}
	return "\n> **SIMULATION**: planned against the in-memory cloud (PHOENIX_CLOUD_OVERRIDE=memory); nothing in it is real.\n"
}

// cellMD escapes text from the spec, the cloud or an error for a table
// cell or a line: no markup, HTML or mention (see package mdtext).
func cellMD(s string) string { return mdtext.Inline(s) }

func avgLen(rows []string) int {
	if len(rows) == 0 {
		return 1
	}
	n := 0
	for _, r := range rows {
		n += len(r)
	}
	return n / len(rows)
}

// capBytes is the last guard of the cap: it cuts at a line boundary.
func capBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	if i := strings.LastIndexByte(s, '\n'); i > 0 {
		s = s[:i+1]
	}
	return s
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
