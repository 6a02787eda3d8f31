package compiler

import (
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
)

// An unresolved reference (`image: webb` for `image: "webb"`) makes CUE
// reject the whole package, which would hide every other problem of the
// spec. The compiler reports it, then evaluates again with the field that
// holds the reference set to _ (any value), its checks muted: the rest of
// the spec is checked as usual.

// unresolved returns the "reference not found" errors in err.
func unresolved(err error) []errors.Error {
	var out []errors.Error
	for _, e := range errors.Errors(err) {
		if format, _ := e.Msg(); strings.HasPrefix(format, "reference %q not found") {
			out = append(out, e)
		}
	}
	return out
}

// withoutRefs returns the files with the innermost field holding each of
// the errors' positions set to _, re-parsed so that the caller's syntax
// trees are left as they were; ok is false when some error lies outside
// any field, where there is nothing to replace. The places of the
// replacements are kept in d.replaced: that they have no concrete value
// is not news.
func withoutRefs(files []*specFile, errs []errors.Error, d *diags) (out []*specFile, ok bool) {
	at := map[string][]token.Pos{}
	for _, e := range errs {
		ps := errors.Positions(e)
		if len(ps) == 0 || !ps[0].IsValid() {
			return nil, false
		}
		at[ps[0].Filename()] = append(at[ps[0].Filename()], ps[0])
	}
	for _, f := range files {
		positions := at[f.name]
		if len(positions) == 0 {
			out = append(out, f)
			continue
		}
		a, err := parser.ParseFile(f.name, f.src)
		if err != nil {
			return nil, false
		}
		for _, p := range positions {
			field := innermostField(a, p.Offset())
			if field == nil {
				return nil, false
			}
			id := ast.NewIdent("_")
			id.NamePos = field.Value.Pos()
			field.Value = id
			d.replaced = append(d.replaced, id.NamePos)
		}
		out = append(out, &specFile{name: f.name, src: f.src, ast: a})
	}
	return out, true
}

// innermostField finds the deepest field whose value spans offset.
func innermostField(a *ast.File, offset int) *ast.Field {
	var found *ast.Field
	ast.Walk(a, func(n ast.Node) bool {
		if !spans(n, offset) {
			return false
		}
		if f, ok := n.(*ast.Field); ok && f.Value != nil && spans(f.Value, offset) {
			found = f
		}
		return true
	}, nil)
	return found
}

func spans(n ast.Node, offset int) bool {
	start, end := n.Pos(), n.End()
	if !start.IsValid() || !end.IsValid() {
		return true // no position (a file, a synthesized node): look inside
	}
	return start.Offset() <= offset && offset < end.Offset()
}

// wasReplaced says whether v is one of the _ put in place of a reference.
func (d *diags) wasReplaced(v cue.Value) bool {
	pos := valuePos(v)
	for _, r := range d.replaced {
		if pos.Filename() == r.Filename() && pos.Offset() == r.Offset() {
			return true
		}
	}
	return false
}
