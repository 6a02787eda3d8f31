package compiler

import (
	"crypto/sha256"
	"encoding/json"
	"runtime"
	"slices"
	"strconv"
	"sync"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/parser"
)

// The fast path evaluates files that are independent of each other in
// parallel, each in a cue.Context of its own goroutine (CUE is not safe
// for concurrent use), checks the exported JSON against the schema's
// shape in Go, and decodes it. It only ever answers for a spec that is
// entirely valid: on any doubt or error it gives up, and Load runs the
// whole-package evaluation, which also produces the diagnostics.
//
// A file is independent when what it defines ("claims") is defined by no
// other file, its references stay inside its own claims, and no other
// file refers to the field its claims live in. A claim is a top-level
// field (project, images, ...) or one entry of a section
// (environments."env-1"). Everything else is evaluated as one package, as
// before; the test TestFastPathEqualsWholePackage holds the two equal.

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

// piece is the exported JSON of one claim, checked against the schema's
// shape.
type piece struct {
	top, entry string
	json       []byte
}

// cached is what the fast path keeps of an independent file, by the
// hash of its bytes: its analysis and its pieces. A file that is
// independent means the same whatever the files around it, so a second
// compile of it (`phoenix diff` compiles two revisions that share most
// files; a long-running process compiles the same spec again) skips
// parsing and evaluating it.
type cached struct {
	info   fileInfo // without the file and the syntax of its claims
	pieces []piece
}

// fileCache holds cached files up to cacheLimit bytes of JSON; when full
// it starts over, which is simple and bounds memory.
var fileCache = struct {
	sync.Mutex
	m    map[[32]byte]*cached
	size int
}{m: map[[32]byte]*cached{}}

const cacheLimit = 64 << 20

func cacheGet(key [32]byte) *cached {
	fileCache.Lock()
	defer fileCache.Unlock()
	return fileCache.m[key]
}

func cachePut(key [32]byte, c *cached) {
	n := 0
	for _, p := range c.pieces {
		n += len(p.json) + len(p.top) + len(p.entry)
	}
	fileCache.Lock()
	defer fileCache.Unlock()
	if fileCache.size+n > cacheLimit {
		clear(fileCache.m)
		fileCache.size = 0
	}
	fileCache.m[key] = c
	fileCache.size += n
}

// loadFast evaluates the spec by the fast path; ok is false when it does
// not apply or the spec is not plainly valid.
func loadFast(files []*specFile) (*rawSpec, bool) {
	n := len(files)
	keys := make([][32]byte, n)
	infos := make([]*fileInfo, n)
	hits := make([]*cached, n)
	fine := make([]bool, n)
	// Analyse (parsing what is not cached) on every CPU.
	forEach(n, func(int) func(int) {
		return func(i int) {
			f := files[i]
			keys[i] = sha256.Sum256(f.src)
			if c := cacheGet(keys[i]); c != nil {
				info := c.info
				info.file = f
				infos[i], hits[i], fine[i] = &info, c, true
				return
			}
			a, err := parser.ParseFile(f.name, f.src)
			if err != nil || a.PackageName() != packageName {
				return
			}
			f.ast = a
			infos[i], fine[i] = analyseFile(f)
		}
	})
	for _, ok := range fine {
		if !ok {
			return nil, false
		}
	}
	indep, rest := partition(infos)
	if len(indep) < 2 {
		return nil, false // nothing to gain
	}
	pieces, ok := evalIndependent(indep, keys, hits, infos)
	if !ok {
		return nil, false
	}
	if len(rest) > 0 {
		more, ok := evalTogether(rest)
		if !ok {
			return nil, false
		}
		pieces = append(pieces, more...)
	}
	return assemble(pieces)
}

// evalIndependent evaluates the independent files that are not cached on
// one goroutine per CPU, each with its own cue.Context, and returns the
// pieces of all of them. Files are built in chunks of several, as one
// instance each: being independent they mean the same together or apart,
// and one instance per file costs more.
func evalIndependent(indep []*fileInfo, keys [][32]byte, hits []*cached, all []*fileInfo) ([]piece, bool) {
	index := make(map[*fileInfo]int, len(all))
	for i, in := range all {
		index[in] = i
	}
	var out []piece
	var todo []*fileInfo
	for _, in := range indep {
		if c := hits[index[in]]; c != nil {
			out = append(out, c.pieces...)
		} else {
			todo = append(todo, in)
		}
	}
	chunks := chunk(todo, 4*runtime.GOMAXPROCS(0), 64)
	results := make([][][]piece, len(chunks))
	failed := make([]bool, len(chunks))
	forEach(len(chunks), func(int) func(int) {
		ctx := newFastContext()
		return func(i int) { results[i], failed[i] = evalChunk(ctx, chunks[i]) }
	})
	if slices.Contains(failed, true) {
		return nil, false
	}
	for ci, ch := range chunks {
		for fi, in := range ch {
			out = append(out, results[ci][fi]...)
			cacheFile(keys[index[in]], in, results[ci][fi])
		}
	}
	return out, true
}

// chunk splits infos into about n chunks of at most max files.
func chunk(infos []*fileInfo, n, maxSize int) [][]*fileInfo {
	size := min(max(1, (len(infos)+n-1)/max(n, 1)), maxSize)
	var out [][]*fileInfo
	for len(infos) > 0 {
		k := min(size, len(infos))
		out = append(out, infos[:k])
		infos = infos[k:]
	}
	return out
}

// evalChunk builds independent files as one instance and exports each
// file's claims; failed is true on any error.
func evalChunk(ctx *cue.Context, infos []*fileInfo) (pieces [][]piece, failed bool) {
	pieces = make([][]piece, len(infos))
	var files []*specFile
	var rest []int
	for i, in := range infos {
		if ps, ok := literalPieces(in); ok {
			pieces[i] = ps
			continue
		}
		files = append(files, in.file)
		rest = append(rest, i)
	}
	if len(files) == 0 {
		return pieces, false
	}
	v, ok := buildFiles(ctx, files)
	if !ok {
		return nil, true
	}
	for _, i := range rest {
		in := infos[i]
		for _, c := range in.claims {
			if !c.exported() {
				continue
			}
			b, err := v.LookupPath(c.path()).MarshalJSON()
			if err != nil {
				return nil, true
			}
			p := piece{top: c.top, entry: c.entry, json: b}
			if !p.fits() {
				return nil, true
			}
			pieces[i] = append(pieces[i], p)
		}
	}
	return pieces, false
}

// newFastContext returns a cue.Context for the fast path. Fields are
// sorted by name rather than in CUE's order of declaration: JSON decoding
// does not care, and the ordering analysis is a good part of an export.
func newFastContext() *cue.Context {
	return cuecontext.New(cuecontext.CUE_DEBUG("sortfields"))
}

// cacheFile keeps a file's analysis (without its syntax) and pieces.
func cacheFile(key [32]byte, in *fileInfo, pieces []piece) {
	info := *in
	info.file = nil
	info.claims = slices.Clone(info.claims)
	for j := range info.claims {
		info.claims[j].value = nil
	}
	cachePut(key, &cached{info: info, pieces: pieces})
}

// fits checks a piece against the schema's shape at its place.
func (p piece) fits() bool {
	sh := specShape().fields[p.top]
	switch {
	case sh == nil:
		return false
	case p.entry != "":
		return sh.elem.fits(p.json)
	}
	return sh.fits(p.json)
}

// evalTogether evaluates the files that depend on each other as one
// package and splits the result by top-level field.
func evalTogether(infos []*fileInfo) ([]piece, bool) {
	files := make([]*specFile, len(infos))
	for i, in := range infos {
		files[i] = in.file
		if files[i].ast == nil { // analysed from the cache
			a, err := parser.ParseFile(files[i].name, files[i].src)
			if err != nil {
				return nil, false
			}
			files[i].ast = a
		}
	}
	v, ok := buildFiles(cuecontext.New(), files)
	if !ok {
		return nil, false
	}
	b, err := v.MarshalJSON()
	if err != nil {
		return nil, false
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(b, &top); err != nil {
		return nil, false
	}
	var out []piece
	for name, raw := range top {
		p := piece{top: name, json: raw}
		if !p.fits() {
			return nil, false
		}
		out = append(out, p)
	}
	return out, true
}

func buildFiles(ctx *cue.Context, files []*specFile) (cue.Value, bool) {
	inst := build.NewContext().NewInstance("", nil)
	for _, f := range files {
		if err := inst.AddSyntax(f.ast); err != nil {
			return cue.Value{}, false
		}
	}
	v := ctx.BuildInstance(inst)
	return v, v.Err() == nil
}

// assemble decodes the pieces (checked against the schema's shape
// already) into one rawSpec.
func assemble(pieces []piece) (*rawSpec, bool) {
	raw := &rawSpec{}
	entries := map[string]map[string]json.RawMessage{}
	for _, p := range pieces {
		switch {
		case p.entry != "":
			if !addEntry(entries, p.top, p.entry, p.json) {
				return nil, false
			}
		case sections[p.top]:
			var m map[string]json.RawMessage
			if json.Unmarshal(p.json, &m) != nil {
				return nil, false
			}
			for k, v := range m {
				if !addEntry(entries, p.top, k, v) {
					return nil, false
				}
			}
		case p.top == "project":
			if json.Unmarshal(p.json, &raw.Project) != nil {
				return nil, false
			}
		default:
			return nil, false
		}
	}
	if raw.Project == "" {
		return nil, false
	}
	return raw, decodeSection(entries["images"], &raw.Images) &&
		decodeSection(entries["roles"], &raw.Roles) &&
		decodeSection(entries["environments"], &raw.Environments)
}

func addEntry(entries map[string]map[string]json.RawMessage, top, name string, v json.RawMessage) bool {
	if entries[top] == nil {
		entries[top] = map[string]json.RawMessage{}
	}
	if _, dup := entries[top][name]; dup {
		return false
	}
	entries[top][name] = v
	return true
}

func decodeSection[T any](m map[string]json.RawMessage, into *map[string]*T) bool {
	if len(m) == 0 {
		return true
	}
	names := make([]string, 0, len(m))
	for name := range m {
		names = append(names, name)
	}
	decoded := make([]*T, len(names))
	forEach(len(names), func(int) func(int) {
		return func(i int) {
			var t T
			if json.Unmarshal(m[names[i]], &t) == nil {
				decoded[i] = &t
			}
		}
	})
	*into = make(map[string]*T, len(m))
	for i, name := range names {
		if decoded[i] == nil {
			return false
		}
		(*into)[name] = decoded[i]
	}
	return true
}
