package compiler

import (
	"encoding/json"
	"strconv"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/literal"
	"cuelang.org/go/cue/token"
)

// A file that holds nothing but data — structs, lists, strings and whole
// numbers written out, no references, expressions, definitions or
// constraints — evaluates to exactly that data: unification of literals
// is merging structs, and equal scalars. The fast path reads such files
// straight from their syntax into JSON, without a CUE evaluation; any
// other construct, or two different values for one field, sends the file
// to CUE as usual.

// literalPieces returns the pieces of an independent file that is plain
// data; ok is false when it is not.
func literalPieces(info *fileInfo) ([]piece, bool) {
	root := map[string]any{}
	for _, decl := range info.file.ast.Decls {
		switch x := decl.(type) {
		case *ast.Package, *ast.ImportDecl, *ast.CommentGroup:
		case *ast.Field:
			if !literalField(root, x) {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	out := make([]piece, 0, len(info.claims))
	for _, c := range info.claims {
		if c.hidden {
			return nil, false // only the regular fields are read here
		}
		v := root[c.top]
		if c.entry != "" {
			m, ok := v.(map[string]any)
			if !ok {
				return nil, false
			}
			v = m[c.entry]
		}
		if v == nil {
			return nil, false
		}
		b, err := json.Marshal(v)
		if err != nil {
			return nil, false
		}
		p := piece{top: c.top, entry: c.entry, json: b}
		if !p.fits() {
			return nil, false
		}
		out = append(out, p)
	}
	return out, true
}

// literalField merges a field of plain data into m.
func literalField(m map[string]any, f *ast.Field) bool {
	name, ok := staticLabel(f)
	if !ok || len(f.Attrs) > 0 {
		return false
	}
	if _, isIdent := f.Label.(*ast.Ident); isIdent && (name[0] == '_' || name[0] == '#') {
		return false
	}
	v, ok := literalValue(f.Value)
	if !ok {
		return false
	}
	if old, dup := m[name]; dup {
		merged, ok := mergeLiteral(old, v)
		if !ok {
			return false
		}
		v = merged
	}
	m[name] = v
	return true
}

// literalValue reads plain data: a struct of plain fields, a list, a
// string, a whole number.
func literalValue(e ast.Expr) (any, bool) {
	switch x := e.(type) {
	case *ast.StructLit:
		m := map[string]any{}
		for _, el := range x.Elts {
			f, ok := el.(*ast.Field)
			if !ok || !literalField(m, f) {
				return nil, false
			}
		}
		return m, true
	case *ast.ListLit:
		l := make([]any, 0, len(x.Elts))
		for _, el := range x.Elts {
			v, ok := literalValue(el)
			if !ok {
				return nil, false
			}
			l = append(l, v)
		}
		return l, true
	case *ast.BasicLit:
		return basicLiteral(x, false)
	case *ast.UnaryExpr:
		if lit, ok := x.X.(*ast.BasicLit); ok && x.Op == token.SUB && lit.Kind == token.INT {
			return basicLiteral(lit, true)
		}
	}
	return nil, false
}

func basicLiteral(x *ast.BasicLit, negative bool) (any, bool) {
	switch x.Kind {
	case token.STRING:
		if len(x.Value) == 0 || x.Value[0] != '"' {
			return nil, false // bytes ('...') are not strings
		}
		s, err := literal.Unquote(x.Value)
		return s, err == nil
	case token.INT:
		for _, c := range x.Value {
			if c < '0' || c > '9' {
				return nil, false // 0x10, 1_000, 1Ki: leave them to CUE
			}
		}
		n, err := strconv.ParseInt(x.Value, 10, 64)
		if negative {
			n = -n
		}
		return json.Number(strconv.FormatInt(n, 10)), err == nil
	}
	return nil, false
}

// mergeLiteral unifies two plain values: structs merge, equal strings and
// numbers stay; anything else (lists included) is left to CUE.
func mergeLiteral(a, b any) (any, bool) {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return nil, false
		}
		for k, v := range y {
			if old, dup := x[k]; dup {
				merged, ok := mergeLiteral(old, v)
				if !ok {
					return nil, false
				}
				v = merged
			}
			x[k] = v
		}
		return x, true
	case string:
		y, ok := b.(string)
		return x, ok && x == y
	case json.Number:
		y, ok := b.(json.Number)
		return x, ok && x == y
	}
	return nil, false
}
