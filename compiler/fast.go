package compiler

import (
	"crypto/sha256"
	"encoding/json"
	"runtime"
	"slices"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/parser"
)

// The fast path compiles a valid spec without evaluating it as one
// package: files that are independent of each other (see
// independence.go) are read on every CPU — straight from their syntax
// when they hold plain data (literal.go), else evaluated in chunks, one
// cue.Context per goroutine (CUE is not safe for concurrent use) — and
// what they define is exported as JSON, checked against the schema's
// shape in Go (shape.go) and decoded. Files that depend on each other are
// evaluated together, as before. The fast path only ever answers for a
// spec that is entirely valid: on any doubt or error it gives up, and
// Load runs the whole-package evaluation, which also produces the
// diagnostics. TestFastPathEqualsWholePackage, its property-based twin
// and FuzzCompile hold the two paths equal.

// piece is the exported JSON of one claim, checked against the schema's
// shape.
type piece struct {
	top, entry string
	json       []byte
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
	v, err := buildPackage(ctx, files)
	return v, err == nil && v.Err() == nil
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
