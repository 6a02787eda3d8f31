package compiler

import (
	"path"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/token"

	"github.com/phoenix-gitops/phoenix/diag"
	"github.com/phoenix-gitops/phoenix/schema"
)

// diags collects the diagnostics of one compile. Positions are turned into
// the user's file names (prefixed with Options.Name) here, and values are
// located in the user's own files, never in the schema.
type diags struct {
	prefix string
	list   diag.List
	// user is the spec as the user wrote it (not unified with the
	// schema); positions of offending values are looked up in it.
	user cue.Value
	// failed holds the paths of values CUE reported errors for; checks
	// about them, or about the entries holding them, are muted so that
	// one mistake is reported once.
	failed []vpath
	// quiet records problems without positions: the fast path only needs
	// to know that there are some.
	quiet bool
	// schema is the compiled schema (its root, holding #Spec).
	schema cue.Value
	// replaced are the places of unresolved references, replaced by _
	// after they were reported (refs.go).
	replaced []token.Pos
	// userErrs are the paths of the errors CUE reported for the spec on
	// its own, before the schema; later errors at or below them are
	// the same errors again.
	userErrs []vpath
}

func (d *diags) add(pos diag.Pos, summary, detail string) {
	d.list = append(d.list, diag.Diagnostic{Pos: pos, Summary: summary, Detail: detail})
}

// at reports a problem with the value at p in the user's spec.
func (d *diags) at(p vpath, summary, detail string) {
	if d.quiet {
		d.add(diag.Pos{}, summary, detail)
		return
	}
	if d.hasFailed(p) {
		return
	}
	d.add(d.posOf(p), summary, detail)
}

// hasFailed reports whether CUE already reported a problem at or around p
// (so a check that reads p as absent would only repeat it).
func (d *diags) hasFailed(p vpath) bool {
	for _, f := range d.failed {
		if related(p, f) {
			return true
		}
	}
	return false
}

// atLabel reports a problem with the name (label) of the field at p.
func (d *diags) atLabel(p vpath, summary, detail string) {
	if d.quiet {
		d.add(diag.Pos{}, summary, detail)
		return
	}
	if v := d.user.LookupPath(p.path()); v.Exists() {
		if pos := d.cuePos(v.Pos()); pos.File != "" {
			d.add(pos, summary, detail)
			return
		}
	}
	d.at(p, summary, detail)
}

// related says whether one of the paths is a prefix of the other.
func related(a, b vpath) bool {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i].String() != b[i].String() {
			return false
		}
	}
	return true
}

func (d *diags) pos(file string, line, col int) diag.Pos {
	if d.prefix != "" {
		file = path.Join(d.prefix, file)
	}
	return diag.Pos{File: file, Line: line, Col: col}
}

func (d *diags) cuePos(p token.Pos) diag.Pos {
	if !p.IsValid() || p.Filename() == schema.Filename {
		return diag.Pos{}
	}
	return d.pos(p.Filename(), p.Line(), p.Column())
}

// posOf returns the position of the value at p in the user's files, or of
// its nearest ancestor that the user wrote (a default filled in by the
// schema has no position of its own).
func (d *diags) posOf(p vpath) diag.Pos {
	for n := len(p); n >= 0; n-- {
		v := d.user.LookupPath(p[:n].path())
		if !v.Exists() {
			continue
		}
		if pos := d.cuePos(valuePos(v)); pos.File != "" {
			return pos
		}
	}
	return diag.Pos{File: d.prefix}
}

// valuePos is the position of a value: of the expression the user wrote
// for it, else of its field.
func valuePos(v cue.Value) token.Pos {
	switch n := v.Source().(type) {
	case *ast.Field:
		if p := n.Value.Pos(); p.IsValid() {
			return p
		}
	case ast.Expr:
		if p := n.Pos(); p.IsValid() {
			return p
		}
	}
	return v.Pos()
}

// addCUE reports a CUE error at its first position in a user file.
func (d *diags) addCUE(e errors.Error, prefix string) {
	format, args := e.Msg()
	msg := prefix + errorf(format, args...)
	d.add(d.firstUserPos(e), msg, "")
}

// firstUserPos returns the first of an error's positions that lies in a
// user file.
func (d *diags) firstUserPos(e errors.Error) diag.Pos {
	for _, p := range errors.Positions(e) {
		if pos := d.cuePos(p); pos.File != "" {
			return pos
		}
	}
	return diag.Pos{}
}

// vpath is a path to a value in the spec: field labels and list indexes.
type vpath []cue.Selector

func pathOf(labels ...string) vpath {
	p := make(vpath, len(labels))
	for i, l := range labels {
		p[i] = cue.Str(l)
	}
	return p
}

// field returns p extended by labels (copying, so paths can be shared).
func (p vpath) field(labels ...string) vpath {
	q := make(vpath, len(p), len(p)+len(labels))
	copy(q, p)
	for _, l := range labels {
		q = append(q, cue.Str(l))
	}
	return q
}

func (p vpath) index(i int) vpath {
	q := make(vpath, len(p), len(p)+1)
	copy(q, p)
	return append(q, cue.Index(i))
}

func (p vpath) path() cue.Path { return cue.MakePath(p...) }

func (p vpath) String() string {
	parts := make([]string, len(p))
	for i, s := range p {
		parts[i] = s.String()
	}
	return strings.Join(parts, ".")
}
