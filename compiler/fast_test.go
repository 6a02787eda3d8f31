package compiler

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/phoenix-gitops/phoenix/diag"
)

// crossFileSpecs are specs whose files share values in the ways that
// make per-file evaluation wrong; the fast path must notice and give the
// same result as the whole package.
var crossFileSpecs = map[string]map[string]string{
	"pattern in one file, entries in others": {
		"a.cue": "package phoenix\nproject: \"p\"\nimages: i: from: \"scratch\"\nroles: [string]: {image: \"i\", count: 3}\n",
		"b.cue": "package phoenix\nroles: web: {}\n",
		"c.cue": "package phoenix\nroles: api: port: 9000\n",
		"d.cue": "package phoenix\nenvironments: dev: roles: {web: endpoint: \"127.0.0.1:18001\", api: endpoint: \"127.0.0.1:18002\"}\n",
	},
	"a file counts the environments of others": {
		"a.cue": "package phoenix\nproject: \"p-\\(len(environments))\"\nimages: i: from: \"scratch\"\nroles: web: image: \"i\"\n",
		"b.cue": "package phoenix\nenvironments: one: roles: web: endpoint: \"127.0.0.1:18001\"\n",
		"c.cue": "package phoenix\nenvironments: two: roles: web: endpoint: \"127.0.0.1:18002\"\n",
	},
	"a default in one file, the value in another": {
		"a.cue": "package phoenix\nproject: \"p\"\nimages: i: from: \"scratch\"\nroles: web: {image: \"i\", count: *1 | int}\n",
		"b.cue": "package phoenix\nroles: web: count: 3\n",
		"c.cue": "package phoenix\nenvironments: one: roles: web: endpoint: \"127.0.0.1:18001\"\n",
		"d.cue": "package phoenix\nenvironments: two: roles: web: endpoint: \"127.0.0.1:18002\"\n",
	},
	"a hidden value shared across files": {
		"a.cue": "package phoenix\nproject: \"p\"\n_host: \"127.0.0.1\"\nimages: i: from: \"scratch\"\nroles: web: image: \"i\"\n",
		"b.cue": "package phoenix\nenvironments: one: roles: web: endpoint: \"\\(_host):18001\"\n",
		"c.cue": "package phoenix\nenvironments: two: roles: web: endpoint: \"\\(_host):18002\"\n",
	},
	"a definition in one file used by others": {
		"a.cue": "package phoenix\nproject: \"p\"\nimages: i: from: \"scratch\"\nroles: web: image: \"i\"\n#Env: {roles: web: endpoint: string, retention: keep: 1}\n",
		"b.cue": "package phoenix\nenvironments: one: #Env & {roles: web: endpoint: \"127.0.0.1:18001\"}\n",
		"c.cue": "package phoenix\nenvironments: two: #Env & {roles: web: endpoint: \"127.0.0.1:18002\"}\n",
	},
	"one entry split over two files": {
		"a.cue": "package phoenix\nproject: \"p\"\nimages: i: from: \"scratch\"\nroles: web: image: \"i\"\n",
		"b.cue": "package phoenix\nenvironments: one: roles: web: endpoint: \"127.0.0.1:18001\"\n",
		"c.cue": "package phoenix\nenvironments: one: config: A: \"1\"\n",
		"d.cue": "package phoenix\nenvironments: two: roles: web: endpoint: \"127.0.0.1:18002\"\n",
	},
	"independent files, each valid alone, invalid together": {
		"a.cue": "package phoenix\nproject: \"p\"\nimages: i: from: \"scratch\"\nroles: web: image: \"i\"\n",
		"b.cue": "package phoenix\nenvironments: one: roles: web: endpoint: \"127.0.0.1:18001\"\n",
		"c.cue": "package phoenix\nenvironments: two: roles: web: endpoint: \"127.0.0.1:18001\"\n",
	},
	"independent files with a schema error in one": {
		"a.cue": "package phoenix\nproject: \"p\"\nimages: i: from: \"scratch\"\nroles: web: image: \"i\"\n",
		"b.cue": "package phoenix\nenvironments: one: roles: web: endpoint: \"127.0.0.1:18001\"\n",
		"c.cue": "package phoenix\nenvironments: two: {roles: web: endpoint: \"127.0.0.1:18002\", Retention: keep: 1}\n",
	},
	"independent files with a null": {
		"a.cue": "package phoenix\nproject: \"p\"\nimages: i: from: \"scratch\"\nroles: web: image: \"i\"\n",
		"b.cue": "package phoenix\nenvironments: one: roles: web: endpoint: \"127.0.0.1:18001\"\n",
		"c.cue": "package phoenix\nenvironments: two: {roles: web: endpoint: \"127.0.0.1:18002\", cloud: null}\n",
	},
	"independent files, one missing a required field": {
		"a.cue": "package phoenix\nproject: \"p\"\nimages: i: from: \"scratch\"\nroles: web: image: \"i\"\n",
		"b.cue": "package phoenix\nenvironments: one: roles: web: endpoint: \"127.0.0.1:18001\"\n",
		"c.cue": "package phoenix\nenvironments: two: roles: web: count: 2\n",
	},
	"plain data written in unusual ways": {
		"a.cue": "package phoenix\nproject: \"p\"\nimages: i: from: \"scratch\"\nroles: web: {image: \"i\", count: 0x2, port: 8_080}\n",
		"b.cue": "package phoenix\nenvironments: one: {roles: web: endpoint: \"127.0.0.1:18001\", config: {A: \"\\u00e9\\t\\\"x\\\"\", B: \"\"\"\n\t\tmulti\n\t\tline\n\t\t\"\"\"}}\n" +
			"environments: one: config: A: \"\\u00e9\\t\\\"x\\\"\"\nenvironments: one: retention: {keep: 1, warm: 1}\n",
		"c.cue": "package phoenix\nenvironments: two: {roles: web: endpoint: \"127.0.0.1:18002\", retention: keep: 3}\n",
		"d.cue": "package phoenix\nenvironments: three: {roles: web: endpoint: \"127.0.0.1:18003\"} @attr()\n",
	},
	"plain data that conflicts within a file": {
		"a.cue": "package phoenix\nproject: \"p\"\nimages: i: from: \"scratch\"\nroles: web: image: \"i\"\n",
		"b.cue": "package phoenix\nenvironments: one: {roles: web: endpoint: \"127.0.0.1:18001\", config: A: \"1\"}\nenvironments: one: config: A: \"2\"\n",
		"c.cue": "package phoenix\nenvironments: two: {roles: web: endpoint: \"127.0.0.1:18002\", after: [\"one\"], after: [\"one\"]}\n",
	},
	"comprehension over a list in its own file": {
		"a.cue": "package phoenix\nproject: \"p\"\nimages: i: from: \"scratch\"\nroles: web: image: \"i\"\n",
		"b.cue": "package phoenix\n_n: [1, 2]\nenvironments: {for n in _n {\"e\\(n)\": roles: web: endpoint: \"127.0.0.1:1800\\(n)\"}}\n",
		"c.cue": "package phoenix\nenvironments: other: roles: web: endpoint: \"127.0.0.1:18009\"\n",
	},
}

// TestFastPathEqualsWholePackage compiles every test spec both ways: the
// fast path (independent files in parallel, shape checked in Go) must
// give exactly what the whole-package evaluation with the schema gives,
// or step aside.
func TestFastPathEqualsWholePackage(t *testing.T) {
	specs := map[string]fstest.MapFS{}
	paths, _ := filepath.Glob("testdata/*.txtar")
	for _, p := range paths {
		ar, err := txtar.ParseFile(p)
		if err != nil {
			t.Fatal(err)
		}
		specs[p], _, _ = specOf(ar)
	}
	for name, files := range crossFileSpecs {
		fsys := fstest.MapFS{}
		for n, src := range files {
			fsys[n] = &fstest.MapFile{Data: []byte(src)}
		}
		specs[name] = fsys
	}
	specs["example"] = dirFS(t, "../environments")
	large := t.TempDir()
	largeSpec(t, large, 30, 5)
	specs["generated"] = dirFS(t, large)
	specs["determinism"] = chainFS(chainSpec)

	for name, fsys := range specs {
		fast := outcome(t, fsys, Options{Name: "spec"})
		whole := outcome(t, fsys, Options{Name: "spec", wholePackage: true})
		if fast != whole {
			t.Errorf("%s: the fast path differs from the whole package:\nfast:\n%s\nwhole:\n%s", name, fast, whole)
		}
	}
}

// TestFastPathApplies makes sure the equality above is not vacuous: the
// generated spec and the example take the fast path.
func TestFastPathApplies(t *testing.T) {
	large := t.TempDir()
	largeSpec(t, large, 30, 5)
	for _, dir := range []string{large, "../environments"} {
		files, err := readSpec(dirFS(t, dir), &diags{})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := loadFast(files); !ok {
			t.Errorf("%s: the fast path did not apply", dir)
		}
	}
}

// fataler is what outcome needs of a *testing.T or a *rapid.T.
type fataler interface {
	Helper()
	Fatal(args ...any)
}

func outcome(t fataler, fsys fstest.MapFS, opts Options) string {
	t.Helper()
	d, err := Load(context.Background(), fsys, opts)
	var dl diag.List
	switch {
	case errors.As(err, &dl):
		return "diagnostics:\n" + dl.Error()
	case err != nil:
		return "error: " + err.Error()
	}
	b, err := json.MarshalIndent(d, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// dirFS copies a directory into a MapFS (so both paths read the same
// bytes).
func dirFS(t testing.TB, dir string) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{}
	err := filepath.WalkDir(dir, func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		info, err := e.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fsys[filepath.ToSlash(rel)] = &fstest.MapFile{Data: b, Mode: info.Mode()}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}
