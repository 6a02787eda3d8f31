package compiler

import (
	"slices"
	"strings"
	"sync"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"

	"github.com/phoenix-gitops/phoenix/schema"
)

// A shape is the schema reduced to what a concrete JSON value must look
// like: the kinds, the fields a struct allows and requires, the element
// shape of maps and lists. The fast path checks exported JSON against it
// instead of unifying the spec with the schema in CUE; the schema holds
// nothing else (no defaults, no bounds), so the two agree.
type shape struct {
	kind     shapeKind
	fields   map[string]*shape // struct: allowed fields
	required []string          // struct: fields that must be present
	elem     *shape            // map and list: the shape of each element
}

type shapeKind int

const (
	shapeAny shapeKind = iota
	shapeStruct
	shapeMap
	shapeList
	shapeString
	shapeInt
	shapeNumber
)

var specShape = sync.OnceValue(func() *shape {
	v := cuecontext.New().CompileBytes(schema.Source, cue.Filename(schema.Filename))
	return shapeOf(v.LookupPath(cue.MakePath(cue.Def("#Spec"))))
})

// shapeOf reads a shape from a schema value.
func shapeOf(v cue.Value) *shape {
	switch k := v.IncompleteKind(); k {
	case cue.StringKind:
		return &shape{kind: shapeString}
	case cue.IntKind:
		return &shape{kind: shapeInt}
	case cue.NumberKind:
		return &shape{kind: shapeNumber}
	case cue.ListKind:
		return &shape{kind: shapeList, elem: shapeOf(v.LookupPath(cue.MakePath(cue.AnyIndex)))}
	case cue.StructKind:
		if p := v.LookupPath(cue.MakePath(cue.AnyString)); p.Exists() {
			return &shape{kind: shapeMap, elem: shapeOf(p)}
		}
		s := &shape{kind: shapeStruct, fields: map[string]*shape{}}
		it, _ := v.Fields(cue.Optional(true))
		for it.Next() {
			name := it.Selector().Unquoted()
			s.fields[name] = shapeOf(it.Value())
			if it.FieldType()&cue.RequiredConstraint != 0 {
				s.required = append(s.required, name)
			}
		}
		return s
	}
	return &shape{kind: shapeAny}
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

// integer reads a whole number that fits in an int64.
func (sc *scanner) integer() bool {
	sc.skipSpace()
	if sc.i < len(sc.b) && sc.b[sc.i] == '-' {
		sc.i++
	}
	digits := sc.i
	for sc.i < len(sc.b) && sc.b[sc.i] >= '0' && sc.b[sc.i] <= '9' {
		sc.i++
	}
	n := sc.i - digits
	if n == 0 || n > 18 || (sc.i < len(sc.b) && strings.IndexByte(".eE", sc.b[sc.i]) >= 0) {
		return false
	}
	return true
}

// number reads a JSON number: an optional minus, digits, an optional
// fraction and exponent.
func (sc *scanner) number() bool {
	sc.skipSpace()
	start := sc.i
	digits := func() int {
		n := 0
		for sc.i < len(sc.b) && sc.b[sc.i] >= '0' && sc.b[sc.i] <= '9' {
			sc.i++
			n++
		}
		return n
	}
	if sc.i < len(sc.b) && sc.b[sc.i] == '-' {
		sc.i++
	}
	if digits() == 0 {
		return false
	}
	if sc.i < len(sc.b) && sc.b[sc.i] == '.' {
		sc.i++
		if digits() == 0 {
			return false
		}
	}
	if sc.i < len(sc.b) && (sc.b[sc.i] == 'e' || sc.b[sc.i] == 'E') {
		sc.i++
		if sc.i < len(sc.b) && (sc.b[sc.i] == '+' || sc.b[sc.i] == '-') {
			sc.i++
		}
		if digits() == 0 {
			return false
		}
	}
	return sc.i > start
}

func (s *shape) scan(sc *scanner) bool {
	switch s.kind {
	case shapeString:
		_, ok := sc.str()
		return ok
	case shapeInt:
		return sc.integer()
	case shapeNumber:
		return sc.number()
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
	return false // the schema has no other kinds
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
