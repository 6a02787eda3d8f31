package render

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/phoenix-gitops/phoenix/internal/mdtext"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/specdiff"
)

// CommentMarker opens every pull-request comment so that CI can find its
// previous comment and update it in place.
const CommentMarker = "<!-- phoenix:diff -->"

// commentMax keeps a pull-request comment under GitHub's 65,536-character
// limit, with room for a bot's framing.
const commentMax = DefaultMarkdownMax

// commentGraphMax omits the Mermaid graph of plans with more steps than
// GitHub renders.
const commentGraphMax = 150

// comment is the pull-request comment of a diff, in parts that are cut,
// least useful first, to fit commentMax.
type comment struct {
	head    string   // marker, verdict, what is compared, bakes
	tables  []string // one Markdown table per environment
	warn    string
	desired string // desired-state changes, collapsed
	graph   string // Mermaid graph, collapsed
	full    string // the text plan, collapsed
}

// Comment writes the pull-request comment of a diff: a marker line (CI
// finds and updates its comment by it), a one-line verdict, a table per
// environment, then the desired-state diff, the plan graph and the full
// plan, collapsed.
func Comment(w io.Writer, res *Diff) error {
	c := buildComment(res)
	_, err := io.WriteString(w, c.fit(commentMax))
	return err
}

// failureCommentMax leaves room for the comment's framing under
// commentMax.
const failureCommentMax = commentMax - 1000

// FailureComment writes the comment of a diff that failed (a spec
// that does not compile, a cloud that cannot be read): the marker, so
// that it replaces the previous comment, and the error in a code block.
// The error quotes the spec, which the pull request's author wrote, so
// it goes in a fence it cannot close, where GitHub renders no markup,
// HTML or mention.
func FailureComment(w io.Writer, err error) error {
	text := err.Error()
	note := ""
	if len(text) > failureCommentMax {
		text, note = cutLines(text, failureCommentMax), "\n<sub>Cut to fit a comment. Run `phoenix diff` for everything.</sub>\n"
	}
	_, werr := io.WriteString(w, CommentMarker+"\n**Phoenix:** the preview failed.\n\n"+mdtext.Fence("", text)+note)
	return werr
}

func buildComment(res *Diff) *comment {
	c := &comment{}
	var desired strings.Builder
	res.Desired.Markdown(&desired)
	c.desired = fmt.Sprintf("\n<details><summary>Desired-state changes</summary>\n\n%s\n</details>\n", desired.String())
	compared := fmt.Sprintf("<sub>Spec <code>%s</code> at %s compared with %s, the merge base of %s and %s.</sub>\n",
		specdiff.MarkdownCell(specDirLabel(res.Dir)), shortID(res.Head, 7), shortID(res.MergeBase, 7),
		specdiff.MarkdownCell(res.BaseRev), specdiff.MarkdownCell(res.HeadRev))
	if res.Plan == nil {
		verdict := "the desired state does not change."
		if !res.Desired.Empty() {
			verdict = desiredVerdict(res.Desired) + " (live cloud not read: `--offline`)."
		}
		c.head = CommentMarker + "\n**Phoenix:** " + verdict + "\n\n" + compared
		return c
	}
	doc := res.Plan
	c.head = CommentMarker + "\n**Phoenix:** " + Verdict(doc) + "\n" + SimulationMD(doc) + "\n" + compared
	if b := bakesMarkdown(doc); b != "" {
		c.head += "\n" + b + "\n"
	}
	c.tables = envTables(doc)
	for _, wn := range doc.Warnings {
		c.warn += "\n> ⚠️ " + specdiff.MarkdownCell(strings.ReplaceAll(wn, "\n", " ")) + "\n"
	}
	if doc.Changes {
		c.graph = commentGraph(doc)
	}
	if doc.Changes {
		var t strings.Builder
		_ = Text(&t, doc, TextOptions{Title: "Plan if " + res.HeadRev + " is applied"})
		c.full = "\n<details><summary>Full plan</summary>\n\n" + mdtext.Fence("", t.String()) + "\n</details>\n"
	}
	return c
}

// fit assembles the comment in at most max bytes, cutting the full plan,
// then the graph, then the desired-state details, then table rows, and
// saying what it cut.
func (c *comment) fit(max int) string {
	var cuts []string
	build := func() string {
		var b strings.Builder
		b.WriteString(c.head)
		for _, t := range c.tables {
			b.WriteString(t)
		}
		b.WriteString(c.warn)
		b.WriteString(c.desired)
		b.WriteString(c.graph)
		b.WriteString(c.full)
		if len(cuts) > 0 {
			b.WriteString("\n<sub>Cut to fit a comment: " + strings.Join(cuts, ", ") + ". Run `phoenix diff` for everything.</sub>\n")
		}
		return b.String()
	}
	out := build()
	for _, part := range []struct {
		name string
		p    *string
	}{{"the full plan", &c.full}, {"the plan graph", &c.graph}, {"the desired-state details", &c.desired}} {
		if len(out) <= max {
			return out
		}
		if *part.p != "" {
			*part.p = ""
			cuts = append(cuts, part.name)
			out = build()
		}
	}
	if len(out) <= max {
		return out
	}
	// Tables: keep whole environments first to last while they fit.
	cuts = append(cuts, "environments")
	all := c.tables
	for len(c.tables) > 0 {
		c.tables = c.tables[:len(c.tables)-1]
		cuts[len(cuts)-1] = fmt.Sprintf("%d of %d environment tables", len(all)-len(c.tables), len(all))
		if out = build(); len(out) <= max {
			return out
		}
	}
	return cutLines(out, max)
}

// commentGraph is the collapsed plan graph, or, when GitHub would not
// draw it, a line that says so and why (a graph left out silently looks
// like a plan without one).
func commentGraph(doc *Doc) string {
	g, why := CommentGraph(doc, commentGraphMax)
	if why != "" {
		return "\n<sub>Plan graph left out: " + why + ". `phoenix graph` prints it.</sub>\n"
	}
	return "\n<details><summary>Plan graph</summary>\n\n" + mdtext.Fence("mermaid", g) + "\n</details>\n"
}

// bakesMarkdown lists the bakes and image prunes above the tables.
func bakesMarkdown(doc *Doc) string {
	return bakeLines(doc, func(s Step) string { return specdiff.MarkdownCell(s.Reason) })
}

// envTables is one table per environment with steps, a row per role:
// what happens to it and why.
func envTables(doc *Doc) []string {
	rollback := map[string]bool{}
	for _, e := range doc.Rollback {
		rollback[e] = true
	}
	var tables []string
	for _, env := range doc.EnvsWithSteps() {
		var roles []string
		kinds := map[string][]string{}
		whys := map[string][]string{}
		for _, s := range doc.Steps {
			if s.Env != env || s.Role == "" {
				continue
			}
			if !slices.Contains(roles, s.Role) {
				roles = append(roles, s.Role)
			}
			k := string(s.Kind)
			if s.Destructive {
				k = "**destroy**"
			}
			if ks := kinds[s.Role]; len(ks) == 0 || ks[len(ks)-1] != k {
				kinds[s.Role] = append(ks, k)
			}
			why := s.Reason
			if s.Kind == planner.Prune {
				why = Short(s.Pool) + ": " + why
			}
			if why != "" && !slices.Contains(whys[s.Role], why) {
				whys[s.Role] = append(whys[s.Role], why)
			}
		}
		title := "#### " + mdtext.Inline(env)
		if rollback[env] {
			title += " · rollback (swaps only)"
		}
		var b strings.Builder
		b.WriteString("\n" + title + "\n\n| role | change | why |\n|---|---|---|\n")
		for _, r := range roles {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", mdtext.Inline(r), strings.Join(kinds[r], " + "), specdiff.MarkdownCell(strings.Join(whys[r], "; ")))
		}
		tables = append(tables, b.String())
	}
	return tables
}
