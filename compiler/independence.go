package compiler

import (
	"strconv"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
)

// Which files of a spec can be evaluated apart from the others.
//
// A file is independent when what it defines ("claims") is defined by no
// other file, its references stay inside its own claims, and no other
// file refers to the field its claims live in. A claim is a top-level
// field (project, images, ...) or one entry of a section
// (environments."env-1"). An independent file means the same alone as
// within the package, so it can be evaluated (and cached) on its own.

// sections are the top-level fields whose entries may be claimed one by
// one by different files.
var sections = map[string]bool{"images": true, "roles": true, "environments": true}

// claim is one thing a file defines.
type claim struct {
	top   string // top-level label
	entry string // entry of a section; "" claims the whole top-level field
	value ast.Expr
	// hidden marks a hidden field (_x) or a definition (#X): part of the
	// package, not of its JSON.
	hidden bool
}

// exported says whether the claim is a regular field, which JSON holds;
// hidden fields and definitions are not.
func (c claim) exported() bool { return !c.hidden }

func (c claim) path() cue.Path {
	if c.entry == "" {
		return cue.MakePath(cue.Str(c.top))
	}
	return cue.MakePath(cue.Str(c.top), cue.Str(c.entry))
}

// fileInfo is what the analysis learns about one file.
type fileInfo struct {
	file   *specFile
	claims []claim
	// refs are top-level names the file refers to outside its claims:
	// to other files, or to the field around its own claims.
	refs map[string]bool
	// selfContained says its references all stay inside its claims.
	selfContained bool
}

// predeclared are CUE's predeclared identifiers; a reference to one that
// does not resolve in the file is not a reference to another file.
var predeclared = map[string]bool{
	"bool": true, "int": true, "float": true, "string": true, "bytes": true, "number": true, "null": true,
	"true": true, "false": true, "len": true, "close": true, "and": true, "or": true, "div": true,
	"mod": true, "quo": true, "rem": true, "top": true, "_": true, "matchN": true, "matchIf": true,
}

func analyseFile(f *specFile) (*fileInfo, bool) {
	info := &fileInfo{file: f, refs: map[string]bool{}, selfContained: true}
	for _, decl := range f.ast.Decls {
		switch x := decl.(type) {
		case *ast.Package, *ast.ImportDecl, *ast.CommentGroup, *ast.Attribute:
		case *ast.Field:
			name, ok := staticLabel(x)
			if !ok || predeclared[name] {
				return nil, false
			}
			if id, isIdent := x.Label.(*ast.Ident); isIdent && (id.Name[0] == '_' || id.Name[0] == '#') {
				info.claims = append(info.claims, claim{top: name, value: x.Value, hidden: true})
				continue
			}
			info.claims = append(info.claims, claimsOf(name, x.Value)...)
		default:
			return nil, false
		}
	}
	inside := map[ast.Node]bool{}
	for _, c := range info.claims {
		ast.Walk(c.value, func(n ast.Node) bool { inside[n] = true; return true }, nil)
	}
	for _, decl := range f.ast.Decls {
		walkRefs(decl, func(id *ast.Ident) {
			switch {
			case id.Node == nil && predeclared[id.Name]:
			case id.Node == nil:
				info.refs[id.Name] = true
				info.selfContained = false
			case inside[id.Node]:
			default:
				if _, ok := id.Node.(*ast.ImportSpec); !ok {
					info.refs[id.Name] = true
					info.selfContained = false
				}
			}
		})
	}
	return info, true
}

// walkRefs calls ref for every identifier in n that refers to something:
// not field labels, selectors, or the names that clauses, aliases and
// imports declare.
func walkRefs(n ast.Node, ref func(*ast.Ident)) {
	var before func(ast.Node) bool
	walk := func(n ast.Node) {
		if n != nil {
			ast.Walk(n, before, nil)
		}
	}
	before = func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.Ident:
			ref(x)
		case *ast.Field:
			switch l := x.Label.(type) {
			case *ast.Ident, *ast.BasicLit:
			case *ast.Alias:
				walk(l.Expr)
			default:
				walk(l)
			}
			walk(x.Value)
			return false
		case *ast.SelectorExpr:
			walk(x.X)
			return false
		case *ast.LetClause:
			walk(x.Expr)
			return false
		case *ast.ForClause:
			walk(x.Source)
			return false
		case *ast.Alias:
			walk(x.Expr)
			return false
		case *ast.ImportDecl, *ast.Package, *ast.Attribute, *ast.CommentGroup:
			return false
		}
		return true
	}
	walk(n)
}

// claimsOf splits a top-level field into claims: the entries of a section
// written as plain fields, else the field as a whole.
func claimsOf(name string, v ast.Expr) []claim {
	st, ok := v.(*ast.StructLit)
	if !sections[name] || !ok || len(st.Elts) == 0 {
		return []claim{{top: name, value: v}}
	}
	var out []claim
	for _, e := range st.Elts {
		f, ok := e.(*ast.Field)
		if !ok {
			return []claim{{top: name, value: v}}
		}
		entry, ok := staticLabel(f)
		if !ok {
			return []claim{{top: name, value: v}}
		}
		out = append(out, claim{top: name, entry: entry, value: f.Value})
	}
	return out
}

// staticLabel returns a regular field's name when it is written plainly:
// not optional or required, no alias, no pattern, not computed.
func staticLabel(f *ast.Field) (string, bool) {
	if f.Constraint != 0 || f.Alias != nil {
		return "", false
	}
	switch l := f.Label.(type) {
	case *ast.Ident:
		return l.Name, true
	case *ast.BasicLit:
		s, err := strconv.Unquote(l.Value)
		return s, err == nil && l.Kind.String() == "STRING"
	}
	return "", false
}

// partition splits files into the independent ones and the rest.
func partition(infos []*fileInfo) (indep, rest []*fileInfo) {
	wholes := map[string]int{}             // top -> files claiming it whole
	entries := map[string]map[string]int{} // top -> entry -> files
	for _, in := range infos {
		for _, c := range in.claims {
			if c.entry == "" {
				wholes[c.top]++
				continue
			}
			if entries[c.top] == nil {
				entries[c.top] = map[string]int{}
			}
			entries[c.top][c.entry]++
		}
	}
	refCount := map[string]int{}
	for _, in := range infos {
		for r := range in.refs {
			refCount[r]++
		}
	}
	for _, in := range infos {
		ok := in.selfContained
		for _, c := range in.claims {
			if !ok {
				break
			}
			own := 0
			if in.refs[c.top] {
				own = 1
			}
			if c.entry == "" {
				ok = wholes[c.top] == 1 && len(entries[c.top]) == 0 && refCount[c.top] == own
			} else {
				ok = wholes[c.top] == 0 && entries[c.top][c.entry] == 1 && refCount[c.top] == own
			}
		}
		if ok {
			indep = append(indep, in)
		} else {
			rest = append(rest, in)
		}
	}
	return indep, rest
}
