package render

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/internal/tty"
	"github.com/phoenix-gitops/phoenix/planner"
)

// TextOptions steer the text rendering.
type TextOptions struct {
	// Color writes ANSI colours; the caller decides with tty.Color, which
	// honours NO_COLOR and TERM=dumb.
	Color bool
	// Title opens the header line (default "Phoenix plan").
	Title string
	// MaxUnchanged caps the endpoints listed as unchanged (default 12).
	MaxUnchanged int
}

// ANSI SGR codes used by the text view.
const (
	cBold    = "1"
	cDim     = "2"
	cAdd     = "32"
	cChange  = "33"
	cRemove  = "31"
	cDestroy = "1;31"
	cWarn    = "33"
)

// Text renders the plan for a terminal: a header, the bakes, then one
// group per (environment, role) in the order traffic moves (environments
// another waits for come first), image prunes, warnings and a counts line.
func Text(w io.Writer, d *Doc, o TextOptions) error {
	t := &textView{d: d, o: o}
	if t.o.Title == "" {
		t.o.Title = "Phoenix plan"
	}
	if t.o.MaxUnchanged == 0 {
		t.o.MaxUnchanged = 12
	}
	t.header()
	if !d.Changes {
		t.line()
		t.line(t.paint(cAdd, "No changes.") + " The live state matches the spec.")
		t.warnings()
		_, err := io.WriteString(w, t.b.String())
		return err
	}
	t.destructiveBanner()
	t.bakes()
	t.groups()
	t.imagePrunes()
	t.unchanged()
	t.warnings()
	t.footer()
	_, err := io.WriteString(w, t.b.String())
	return err
}

type textView struct {
	d *Doc
	o TextOptions
	b strings.Builder
}

func (t *textView) paint(code, s string) string { return tty.Paint(t.o.Color && code != "", code, s) }

func (t *textView) line(parts ...string) {
	t.b.WriteString(strings.TrimRight(strings.Join(parts, ""), " "))
	t.b.WriteByte('\n')
}

func (t *textView) header() {
	parts := []string{t.paint(cBold, t.o.Title)}
	if t.d.Project != "" {
		parts = append(parts, "project "+t.d.Project)
	}
	if t.d.Commit != "" {
		parts = append(parts, "spec @ "+shortCommit(t.d.Commit))
	}
	if len(t.d.Clouds) > 0 {
		parts = append(parts, andList(t.d.Clouds)+plural(len(t.d.Clouds), " cloud", " clouds"))
	}
	if n := len(t.d.Envs); n > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", n, plural(n, "environment", "environments")))
	}
	t.line(strings.Join(parts, " · "))
}

func (t *textView) destructiveBanner() {
	if t.d.Destructive == 0 {
		return
	}
	t.line()
	moves := t.d.Moves()
	if n := t.d.Destructive - moves; n > 0 {
		t.line(t.paint(cDestroy, fmt.Sprintf("!! %d destructive %s %s what left the spec (marked %s below).",
			n, plural(n, "step", "steps"), plural(n, "removes", "remove"),
			strings.Join(destructiveMarks(t.d.Steps), " and "))))
	}
	if moves > 0 {
		t.line(t.paint(cDestroy, fmt.Sprintf("!! %d destructive %s %s an endpoint: the old address stops serving (marked MOVE below).",
			moves, plural(moves, "step", "steps"), plural(moves, "moves", "move"))))
	}
}

// destructiveMarks are the marks the destructive steps that remove what
// left the spec carry in the plan below, so the banner names only those
// that appear: DESTROY (a pool or an image destroyed), DETACH (an endpoint
// left with no pool). Moves have a banner of their own.
func destructiveMarks(steps []Step) []string {
	var destroy, detach bool
	for _, s := range steps {
		switch {
		case !s.Destructive || s.MoveFrom != "":
		case s.Kind == planner.Swap && s.Pool == "":
			detach = true
		default:
			destroy = true
		}
	}
	var marks []string
	if destroy {
		marks = append(marks, "DESTROY")
	}
	if detach {
		marks = append(marks, "DETACH")
	}
	return marks
}

func (t *textView) bakes() {
	var rows [][]cell
	for _, s := range t.d.Steps {
		if s.Kind != planner.Bake {
			continue
		}
		name := s.Image
		if len(t.d.Clouds) > 1 && s.Cloud != "" {
			name += " (" + s.Cloud + ")"
		}
		if s.Replace {
			name += " (rebake)"
		}
		rows = append(rows, []cell{
			{"  + ", cAdd}, {name, ""}, {shortID(s.BuildID, 7), cDim}, {trimImagePrefix(s.Reason, s.Image), ""},
		})
	}
	if len(rows) == 0 {
		return
	}
	t.line()
	t.line(t.paint(cBold, fmt.Sprintf("Bake (%d)", len(rows))))
	t.table(rows)
}

// group is the steps of one (environment, role).
type group struct {
	env, role string
	address   string
	after     []string // environments its swaps wait for
	depth     int
	steps     []Step
}

// groupSteps collects pool steps by (environment, role), ordered by how
// traffic moves: an environment comes after those its swaps wait for.
func groupSteps(d *Doc) []*group {
	byKey := map[string]*group{}
	var groups []*group
	stepEnv := map[string]string{}
	for _, s := range d.Steps {
		stepEnv[s.ID] = s.Env
	}
	addr := map[string]string{}
	for _, e := range d.Endpoints {
		addr[e.Env+"/"+e.Role] = e.Address
		if e.MovedFrom != "" {
			addr[e.Env+"/"+e.Role] = e.MovedFrom + " → " + e.Address
		}
	}
	for _, s := range d.Steps {
		if s.Kind == planner.Bake || s.isImagePrune() {
			continue
		}
		k := s.Env + "/" + s.Role
		g, ok := byKey[k]
		if !ok {
			g = &group{env: s.Env, role: s.Role, address: addr[k]}
			byKey[k] = g
			groups = append(groups, g)
		}
		if g.address == "" && s.Endpoint != "" {
			g.address = s.Endpoint
		}
		g.steps = append(g.steps, s)
		if s.Kind == planner.Swap {
			for _, a := range s.After {
				if e := stepEnv[a]; e != "" && e != s.Env && strings.HasPrefix(a, "swap") && !slices.Contains(g.after, e) {
					g.after = append(g.after, e)
				}
			}
		}
	}
	depth := envDepths(groups)
	for _, g := range groups {
		sort.Strings(g.after)
		g.depth = depth[g.env]
	}
	sort.SliceStable(groups, func(i, j int) bool {
		a, b := groups[i], groups[j]
		if a.depth != b.depth {
			return a.depth < b.depth
		}
		if a.env != b.env {
			return a.env < b.env
		}
		return a.role < b.role
	})
	return groups
}

// envDepths returns how many environments' swaps must happen before each
// environment's (0 for none).
func envDepths(groups []*group) map[string]int {
	after := map[string][]string{}
	for _, g := range groups {
		after[g.env] = append(after[g.env], g.after...)
	}
	depth := map[string]int{}
	var visit func(env string, seen map[string]bool) int
	visit = func(env string, seen map[string]bool) int {
		if d, ok := depth[env]; ok {
			return d
		}
		if seen[env] { // a cycle cannot be in a plan; do not loop on one
			return 0
		}
		seen[env] = true
		d := 0
		for _, a := range after[env] {
			d = max(d, visit(a, seen)+1)
		}
		depth[env] = d
		return d
	}
	for env := range after {
		visit(env, map[string]bool{})
	}
	return depth
}

func (t *textView) groups() {
	groups := groupSteps(t.d)
	// One table over every group so the columns line up across the plan.
	type block struct {
		head string
		rows [][]cell
	}
	var blocks []block
	var all [][]cell
	for _, g := range groups {
		head := t.paint(cBold, g.env+" · "+g.role)
		if g.address != "" {
			head += " · " + g.address
		}
		if len(g.after) > 0 {
			head += "   " + t.paint(cDim, "after "+andList(g.after))
		}
		var rows [][]cell
		for _, s := range g.steps {
			rows = append(rows, stepRow(s))
		}
		blocks = append(blocks, block{head, rows})
		all = append(all, rows...)
	}
	widths := columnWidths(all)
	if len(widths) > 0 {
		// The verb column is as wide as "  + create" whatever the plan
		// holds, so that plans of any kind read alike.
		widths[0] = max(widths[0], len("  + create"))
	}
	for _, b := range blocks {
		t.line()
		t.line(b.head)
		for _, r := range b.rows {
			t.row(r, widths)
		}
	}
}

// stepRow renders one pool step as cells: verb, target, detail, reason.
func stepRow(s Step) []cell {
	switch planner.Kind(s.Kind) {
	case planner.Create:
		detail := "from " + s.Image
		if s.BuildID != "" {
			detail += " " + shortID(s.BuildID, 7)
		}
		return []cell{{"  + create", cAdd}, {poolName(s), ""}, {detail, cDim}, {s.Reason, ""}}
	case planner.Swap:
		from := make([]string, 0, len(s.From))
		for _, b := range s.From {
			f := Short(b.Pool)
			if len(s.From) > 1 {
				f += fmt.Sprintf(" %d%%", b.Weight)
			}
			from = append(from, f)
		}
		if s.Pool == "" { // no backend: the endpoint is detached
			code := cChange
			verb := "  ~ detach"
			if s.Destructive {
				code, verb = cDestroy, "  ~ DETACH"
			}
			return []cell{{verb, code}, {strings.Join(from, ", ") + " → nothing", code}, {"", ""}, {s.Reason, code}}
		}
		target := poolName(s)
		switch {
		case len(s.From) == 1 && s.From[0].Pool == s.Pool:
			// The serving pool stays (a cold one is started): "X → X"
			// read as a swap that does nothing.
		case len(from) > 0:
			target = strings.Join(from, ", ") + " → " + target
		default:
			target = "→ " + target
		}
		var detail []string
		if len(s.Weights) > 0 && !strings.Contains(s.Reason, "canary") {
			ws := make([]string, len(s.Weights))
			for i, w := range s.Weights {
				ws[i] = fmt.Sprintf("%d%%", w)
			}
			detail = append(detail, "canary "+strings.Join(ws, " → "))
		}
		if len(s.Cool) > 0 {
			cool := make([]string, len(s.Cool))
			for i, c := range s.Cool {
				cool[i] = Short(c)
			}
			detail = append(detail, "then cool "+strings.Join(cool, ", "))
		}
		if s.MoveFrom != "" {
			return []cell{{"  ~ MOVE", cDestroy}, {target, ""}, {strings.Join(detail, "; "), cDim}, {s.Reason, cDestroy}}
		}
		return []cell{{"  ~ swap", cChange}, {target, ""}, {strings.Join(detail, "; "), cDim}, {s.Reason, ""}}
	case planner.Prune:
		if s.Destructive {
			return []cell{{"  - DESTROY", cDestroy}, {poolName(s), cDestroy}, {"", ""}, {s.Reason, cDestroy}}
		}
		return []cell{{"  - prune", cRemove}, {poolName(s), ""}, {"", ""}, {s.Reason, ""}}
	}
	return []cell{{"  ? " + string(s.Kind), ""}, {s.ID, ""}, {"", ""}, {s.Reason, ""}}
}

// poolName is the pool of a step for people.
func poolName(s Step) string {
	if s.Key != "" && s.Role != "" {
		return cloud.ShortPool(s.Role, s.Key, s.Generation)
	}
	return Short(s.Pool)
}

func (t *textView) imagePrunes() {
	var rows [][]cell
	for _, s := range t.d.Steps {
		if !s.isImagePrune() {
			continue
		}
		code, sign := cRemove, "  - "
		if s.Destructive {
			code, sign = cDestroy, "  - DESTROY "
		}
		name := s.Image
		if len(t.d.Clouds) > 1 && s.Cloud != "" {
			name += " (" + s.Cloud + ")"
		}
		rows = append(rows, []cell{{sign, code}, {name, ""}, {shortID(s.BuildID, 7), cDim}, {trimImagePrefix(s.Reason, s.Image), ""}})
	}
	if len(rows) == 0 {
		return
	}
	t.line()
	t.line(t.paint(cBold, fmt.Sprintf("Prune images (%d)", len(rows))))
	t.table(rows)
}

// unchanged lists the endpoints in scope that have no step.
func (t *textView) unchanged() {
	touched := map[string]bool{}
	for _, s := range t.d.Steps {
		touched[s.Env+"/"+s.Role] = true
	}
	var items []string
	for _, e := range t.d.Endpoints {
		if touched[e.Env+"/"+e.Role] {
			continue
		}
		item := e.Env + " · " + e.Role
		if len(e.Serving) > 0 {
			var s []string
			for _, b := range e.Serving {
				s = append(s, Short(b.Pool))
			}
			item += " (" + strings.Join(s, ", ") + ")"
		}
		items = append(items, item)
	}
	if len(items) == 0 {
		return
	}
	more := 0
	if len(items) > t.o.MaxUnchanged {
		more = len(items) - t.o.MaxUnchanged
		items = items[:t.o.MaxUnchanged]
	}
	t.line()
	s := "Unchanged: " + strings.Join(items, ", ")
	if more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	t.line(t.paint(cDim, s+"."))
}

func (t *textView) warnings() {
	if len(t.d.Warnings) == 0 {
		return
	}
	t.line()
	t.line(t.paint(cBold, fmt.Sprintf("Warnings (%d)", len(t.d.Warnings))))
	for _, w := range t.d.Warnings {
		t.line(t.paint(cWarn, "  ! "+w))
	}
}

func (t *textView) footer() {
	t.line()
	line := "Plan: " + countsLine(t.d.Summary) + "."
	if t.d.Destructive > 0 {
		line += " " + t.paint(cDestroy, fmt.Sprintf("%d destructive.", t.d.Destructive))
	}
	if len(t.d.Rollback) > 0 {
		envs := slices.Clone(t.d.Rollback)
		sortEnvs(t.d, envs)
		line += "   " + rollbackLine(envs)
	}
	t.line(line)
}

// countsLine is "2 bakes, 1 create, 2 swaps, 1 prune", leaving out kinds
// with no step.
func countsLine(s Summary) string {
	var parts []string
	for _, k := range []struct {
		n         int
		one, many string
	}{{s.Bake, "bake", "bakes"}, {s.Create, "create", "creates"}, {s.Swap, "swap", "swaps"}, {s.Prune, "prune", "prunes"}} {
		if k.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", k.n, plural(k.n, k.one, k.many)))
		}
	}
	if len(parts) == 0 {
		return "no steps"
	}
	return strings.Join(parts, ", ")
}

// rollbackLine says which environments roll back with swaps only.
func rollbackLine(envs []string) string {
	if len(envs) == 1 {
		return "Rollback in " + envs[0] + " is a swap only."
	}
	return "Rollbacks in " + andList(envs) + " are swaps only."
}

// cell is one column of a row with its colour.
type cell struct {
	s    string
	code string
}

func columnWidths(rows [][]cell) []int {
	var w []int
	for _, r := range rows {
		for i, c := range r {
			if i >= len(w) {
				w = append(w, 0)
			}
			w[i] = max(w[i], utf8.RuneCountInString(c.s))
		}
	}
	return w
}

func (t *textView) table(rows [][]cell) {
	w := columnWidths(rows)
	for _, r := range rows {
		t.row(r, w)
	}
}

// row writes cells padded to the widths (two spaces apart), colouring after
// padding is measured so escapes do not skew the columns. Empty trailing
// cells add nothing.
func (t *textView) row(r []cell, widths []int) {
	last := len(r) - 1
	for last >= 0 && r[last].s == "" {
		last--
	}
	var b strings.Builder
	for i := 0; i <= last; i++ {
		c := r[i]
		b.WriteString(t.paint(c.code, c.s))
		if i < last {
			b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c.s)))
			if !strings.HasSuffix(c.s, " ") {
				b.WriteString("  ")
			}
		}
	}
	t.line(b.String())
}

// trimImagePrefix drops a leading "image NAME: " from a reason shown next
// to the image's name already.
func trimImagePrefix(reason, image string) string {
	return strings.TrimPrefix(reason, "image "+image+": ")
}

// shortCommit shortens a commit id, keeping a "-dirty" mark.
func shortCommit(c string) string {
	if base, ok := strings.CutSuffix(c, "-dirty"); ok {
		return shortID(base, 7) + "-dirty"
	}
	return shortID(c, 7)
}

func shortID(id string, n int) string {
	if len(id) > n {
		return id[:n]
	}
	return id
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// andList is "a", "a and b", "a, b and c".
func andList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}
