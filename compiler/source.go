package compiler

import (
	"fmt"
	"io/fs"
	"sort"
	"strings"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/parser"

	"github.com/phoenix-gitops/phoenix/diag"
)

// packageName is the CUE package every spec file declares.
const packageName = "phoenix"

// specFile is one parsed .cue file of a spec.
type specFile struct {
	name string // path inside the spec fs.FS, as CUE positions carry it
	src  []byte
	ast  *ast.File
}

// readSpec reads and parses every .cue file at the root of fsys, in name
// order. Files whose names start with "." or "_" are ignored, as the CUE
// loader does. Syntax errors of all files come back together.
func readSpec(fsys fs.FS, d *diags) ([]*specFile, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("reading spec directory: %w", err)
	}
	var files []*specFile
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".cue") || strings.HasPrefix(n, ".") || strings.HasPrefix(n, "_") {
			continue
		}
		src, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", n, err)
		}
		files = append(files, &specFile{name: n, src: src})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	if len(files) == 0 {
		d.add(diag.Pos{File: d.prefix}, "no .cue files in the spec directory",
			"a spec is a directory of .cue files that start with `package phoenix`")
		return nil, nil
	}
	var ok []*specFile
	for _, f := range files {
		if parseFile(f, d) {
			ok = append(ok, f)
		}
	}
	return ok, nil
}

// parseFile parses f, reporting syntax errors and a wrong or missing
// package clause; it reports whether f can be evaluated.
func parseFile(f *specFile, d *diags) bool {
	a, err := parser.ParseFile(f.name, f.src)
	if err != nil {
		for _, e := range errors.Errors(err) {
			d.addCUE(e, "syntax error: ")
		}
		return false
	}
	f.ast = a
	switch pkg := a.PackageName(); pkg {
	case packageName:
		return true
	case "":
		d.add(d.pos(f.name, 1, 1), "missing package clause: spec files start with `package phoenix`", "")
	default:
		pos := a.Pos()
		for _, decl := range a.Decls {
			if p, ok := decl.(*ast.Package); ok {
				pos = p.Name.Pos()
			}
		}
		d.add(d.cuePos(pos), fmt.Sprintf("package %s: spec files must be `package phoenix`", pkg), "")
	}
	return false
}
