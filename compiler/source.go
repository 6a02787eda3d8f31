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

// readSpec reads every .cue file at the root of fsys, in name order.
// Files whose names start with "." or "_" are ignored, as the CUE loader
// does.
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
	}
	return files, nil
}

// parseAll parses the files not parsed yet, in parallel, reporting
// syntax errors of all of them; it returns the files that parsed.
func parseAll(files []*specFile, d *diags) []*specFile {
	var todo []*specFile
	for _, f := range files {
		if f.ast == nil {
			todo = append(todo, f)
		}
	}
	parseErrs := make([]error, len(todo))
	forEach(len(todo), func(int) func(int) {
		return func(i int) { todo[i].ast, parseErrs[i] = parser.ParseFile(todo[i].name, todo[i].src) }
	})
	var ok []*specFile
	for _, f := range files {
		if checkParsed(f, parseErrs, todo, d) {
			ok = append(ok, f)
		}
	}
	return ok
}

func checkParsed(f *specFile, errs []error, todo []*specFile, d *diags) bool {
	for i, t := range todo {
		if t == f && errs[i] != nil {
			f.ast = nil
			for _, e := range errors.Errors(errs[i]) {
				d.addCUE(e, "syntax error: ")
			}
			return false
		}
	}
	return checkPackage(f, d)
}

// checkPackage reports a wrong or missing package clause; it reports
// whether f can be evaluated.
func checkPackage(f *specFile, d *diags) bool {
	a := f.ast
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
