package compiler

import (
	"bytes"
	"slices"
	"sync"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"

	"github.com/phoenix-gitops/phoenix/schema"
)

// A shape is the schema reduced to what a concrete JSON value must look
// like: the kinds, the fields a struct allows and requires, the element
// shape of maps and lists. The fast path checks exported JSON against it
// instead of unifying the spec with the schema in CUE. The two agree only
// where the schema says nothing but a kind, so the shape is derived from
// the schema itself and every node that says more (a default, a bound, a
// regex, an enum or any other concrete value, a disjunction, a pattern on
// map keys) becomes a shape nothing fits: a spec that sets such a field
// goes the whole-package way, whatever the schema's comments promise.
// TestSchemaHasOnlyBareTypes lists such nodes, so that one added to the
// schema is seen as the fast path it costs.
type shape struct {
	kind     shapeKind
	fields   map[string]*shape // struct: allowed fields
	required []string          // struct: fields that must be present
	elem     *shape            // map and list: the shape of each element
}

type shapeKind int

const (
	shapeRefused shapeKind = iota // no JSON value fits
	shapeStruct
	shapeMap
	shapeList
	shapeString
	shapeInt
	shapeFloat
	shapeNumber
	shapeBool
)

var specShape = sync.OnceValue(func() *shape {
	v := cuecontext.New().CompileBytes(schema.Source, cue.Filename(schema.Filename))
	sh, _ := deriveShape(v.LookupPath(cue.MakePath(cue.Def("#Spec"))))
	return sh
})

// deriveShape reads the shape of a schema value, with the paths of the
// nodes it refused and why.
func deriveShape(v cue.Value) (*shape, []string) {
	d := &deriver{}
	return d.shapeOf(v, "#Spec"), d.refused
}

// deriver reads shapes from schema values, noting what it refuses.
type deriver struct{ refused []string }

func (d *deriver) refuse(path, why string) *shape {
	d.refused = append(d.refused, path+": "+why)
	return &shape{kind: shapeRefused}
}

// scalarShapes are the bare kinds a shape checks by itself.
var scalarShapes = map[cue.Kind]shapeKind{
	cue.StringKind: shapeString, cue.IntKind: shapeInt, cue.FloatKind: shapeFloat,
	cue.NumberKind: shapeNumber, cue.BoolKind: shapeBool,
}

// shapeOf reads the shape of the schema node v at path, refusing any node
// that is not a bare kind, a closed struct of such nodes, a list or a map
// (keyed by any string) of them.
func (d *deriver) shapeOf(v cue.Value, path string) *shape {
	v, op := resolve(v)
	if op != cue.NoOp {
		return d.refuse(path, "is an expression ("+op.String()+"), not a bare type")
	}
	k := v.IncompleteKind()
	if sk, ok := scalarShapes[k]; ok {
		if _, dflt := v.Default(); dflt || v.IsConcrete() {
			return d.refuse(path, "has a value or a default, not a bare type")
		}
		return &shape{kind: sk}
	}
	switch k {
	case cue.ListKind:
		return &shape{kind: shapeList, elem: d.shapeOf(v.LookupPath(cue.MakePath(cue.AnyIndex)), path+"[_]")}
	case cue.StructKind:
		return d.structShape(v, path)
	}
	return d.refuse(path, "is of kind "+k.String())
}

// resolve follows references (#Duration, #Health) to the node they name,
// and returns it with its operator: NoOp for a bare type or a literal
// struct or list.
func resolve(v cue.Value) (cue.Value, cue.Op) {
	for range 32 { // a schema's chain of references is short
		op, _ := v.Expr()
		if op != cue.SelectorOp {
			return v, op
		}
		root, ref := v.ReferencePath()
		if !root.Exists() || len(ref.Selectors()) == 0 {
			return v, op
		}
		v = root.LookupPath(ref)
	}
	return v, cue.SelectorOp
}

// structShape reads a map ([string]: T and nothing else) or a closed
// struct of named fields; a pattern on keys, or a pattern beside fields,
// is refused.
func (d *deriver) structShape(v cue.Value, path string) *shape {
	it, err := v.Fields(cue.Optional(true), cue.Patterns(true))
	if err != nil {
		return d.refuse(path, "has fields that cannot be read: "+err.Error())
	}
	s := &shape{kind: shapeStruct, fields: map[string]*shape{}}
	var elem *cue.Value
	for it.Next() {
		sel := it.Selector()
		if sel.ConstraintType() == cue.PatternConstraint {
			if sel.String() != "[string]" || elem != nil {
				return d.refuse(path, "constrains its keys with "+sel.String())
			}
			e := it.Value()
			elem = &e
			continue
		}
		name := sel.Unquoted()
		s.fields[name] = d.shapeOf(it.Value(), path+"."+name)
		if it.FieldType()&cue.RequiredConstraint != 0 {
			s.required = append(s.required, name)
		}
	}
	switch {
	case elem == nil:
		return s
	case len(s.fields) > 0:
		return d.refuse(path, "has both fields and a pattern")
	}
	return &shape{kind: shapeMap, elem: d.shapeOf(*elem, path+"[string]")}
}

// fits reports whether the JSON text b is a value of shape s: exact field
// names (encoding/json alone would match them without regard to case),
// required fields present, no nulls, whole numbers where ints are due. b
// is JSON as CUE writes it; anything unusual is simply not a fit.
func (s *shape) fits(b []byte) bool {
	sc := &scanner{b: b}
	return s.scan(sc) && sc.end()
}

// scanner reads JSON text for shape checks without building values.
type scanner struct {
	b []byte
	i int
}

func (sc *scanner) skipSpace() {
	for sc.i < len(sc.b) {
		switch sc.b[sc.i] {
		case ' ', '\t', '\n', '\r':
			sc.i++
		default:
			return
		}
	}
}

func (sc *scanner) end() bool { sc.skipSpace(); return sc.i == len(sc.b) }

// peek returns the next non-space byte, or 0 at the end.
func (sc *scanner) peek() byte {
	sc.skipSpace()
	if sc.i < len(sc.b) {
		return sc.b[sc.i]
	}
	return 0
}

func (sc *scanner) eat(c byte) bool {
	if sc.peek() == c {
		sc.i++
		return true
	}
	return false
}

// str reads a string and returns its raw text (escapes kept: field names
// with escapes are not fields of the schema anyway).
func (sc *scanner) str() ([]byte, bool) {
	if !sc.eat('"') {
		return nil, false
	}
	start := sc.i
	for sc.i < len(sc.b) {
		switch sc.b[sc.i] {
		case '\\':
			sc.i += 2
		case '"':
			sc.i++
			return sc.b[start : sc.i-1], true
		default:
			sc.i++
		}
	}
	return nil, false
}

// numberKind is what number() read.
type numberKind int

const (
	notNumber   numberKind = iota
	wholeNumber            // digits only, fitting an int64
	fraction               // with a fraction or an exponent, as CUE writes a float
)

// number reads a JSON number: whole numbers of up to 18 digits (so that
// they fit an int64), and numbers with a fraction or an exponent.
func (sc *scanner) number() numberKind {
	sc.skipSpace()
	if sc.i < len(sc.b) && sc.b[sc.i] == '-' {
		sc.i++
	}
	n := sc.digits()
	if n == 0 {
		return notNumber
	}
	kind := wholeNumber
	if sc.i < len(sc.b) && sc.b[sc.i] == '.' {
		sc.i++
		if sc.digits() == 0 {
			return notNumber
		}
		kind = fraction
	}
	if sc.i < len(sc.b) && (sc.b[sc.i] == 'e' || sc.b[sc.i] == 'E') {
		sc.i++
		if sc.i < len(sc.b) && (sc.b[sc.i] == '+' || sc.b[sc.i] == '-') {
			sc.i++
		}
		if sc.digits() == 0 {
			return notNumber
		}
		kind = fraction
	}
	if kind == wholeNumber && n > 18 {
		return notNumber
	}
	return kind
}

// digits reads decimal digits and says how many.
func (sc *scanner) digits() int {
	start := sc.i
	for sc.i < len(sc.b) && sc.b[sc.i] >= '0' && sc.b[sc.i] <= '9' {
		sc.i++
	}
	return sc.i - start
}

// word reads the literal w (true, false).
func (sc *scanner) word(w string) bool {
	sc.skipSpace()
	if !bytes.HasPrefix(sc.b[sc.i:], []byte(w)) {
		return false
	}
	sc.i += len(w)
	return true
}

func (s *shape) scan(sc *scanner) bool {
	switch s.kind {
	case shapeString:
		_, ok := sc.str()
		return ok
	case shapeInt:
		return sc.number() == wholeNumber
	case shapeFloat:
		return sc.number() == fraction
	case shapeNumber:
		return sc.number() != notNumber
	case shapeBool:
		return sc.word("true") || sc.word("false")
	case shapeList:
		if !sc.eat('[') {
			return false
		}
		if sc.eat(']') {
			return true
		}
		for {
			if !s.elem.scan(sc) {
				return false
			}
			if sc.eat(']') {
				return true
			}
			if !sc.eat(',') {
				return false
			}
		}
	case shapeMap, shapeStruct:
		return s.scanObject(sc)
	}
	return false // shapeRefused
}

func (s *shape) scanObject(sc *scanner) bool {
	if !sc.eat('{') {
		return false
	}
	seen := 0
	if sc.eat('}') {
		return len(s.required) == 0
	}
	for {
		key, ok := sc.str()
		if !ok || !sc.eat(':') {
			return false
		}
		sub := s.elem
		if s.kind == shapeStruct {
			sub = s.fields[string(key)]
			if sub == nil {
				return false
			}
			if slices.Contains(s.required, string(key)) {
				seen++
			}
		}
		if !sub.scan(sc) {
			return false
		}
		if sc.eat('}') {
			return seen == len(s.required)
		}
		if !sc.eat(',') {
			return false
		}
	}
}
