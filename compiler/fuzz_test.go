package compiler

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"testing/fstest"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/phoenix-gitops/phoenix/diag"
)

// fuzzEnv is a second file for the fuzzer, an environment on its own, so
// that the fast path (independent files evaluated apart) is exercised too.
const fuzzEnv = "package phoenix\n\nenvironments: fuzz: roles: web: endpoint: \"127.0.0.1:18999\"\n"

// FuzzCompile feeds arbitrary bytes to the compiler as two spec files: it
// must never panic, must either compile or explain itself with
// diagnostics that have a summary, and the fast path must agree with the
// whole-package evaluation. The seed corpus is every .cue file of
// the golden tests, beside an independent environment file.
func FuzzCompile(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.txtar")
	for _, p := range paths {
		ar, err := txtar.ParseFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range ar.Files {
			if filepath.Ext(file.Name) == ".cue" {
				f.Add(file.Data, []byte(fuzzEnv))
			}
		}
	}
	// Lists whose elements are checked (a failing check names a list
	// index), numbers too large for an int, and references that do not
	// resolve, beside other errors.
	for _, src := range []string{
		`roles: web: {image: "web", smoke: [{path: "x"}, {path: "/", status: 99999999999999999999}], warm: ["/", "y"]}`,
		`roles: web: {image: "web", health: path: "z", count: -99999999999999999999}`,
		`roles: web: {image: webb, port: 1 & 2, count: 0}`,
		`environments: fuzz: {retention: keep: 99999999999999999999, traffic: {strategy: "canary", steps: [200, 99999999999999999999]}}`,
	} {
		spec := "package phoenix\n\nproject: \"shop\"\nimages: web: from: \"scratch\"\n" + src + "\n"
		f.Add([]byte(spec), []byte(fuzzEnv))
	}
	f.Fuzz(func(t *testing.T, src, env []byte) {
		fsys := fstest.MapFS{
			"spec.cue":    {Data: src},
			"zz-env.cue":  {Data: env},
			"motd.txt":    {Data: []byte("hello")},
			"app/main.go": {Data: []byte("package main")},
		}
		// Differential: the fast path and the whole package agree.
		if fast, whole := outcome(t, fsys, Options{Name: "fuzz"}),
			outcome(t, fsys, Options{Name: "fuzz", wholePackage: true}); fast != whole {
			t.Fatalf("fast path and whole package differ:\nfast:\n%s\nwhole:\n%s", fast, whole)
		}
		d, err := Load(context.Background(), fsys, Options{Name: "fuzz"})
		if err == nil {
			if d == nil {
				t.Fatal("no error and no result")
			}
			return
		}
		var dl diag.List
		if !errors.As(err, &dl) {
			t.Fatalf("an error that is not a diagnostic list: %v", err)
		}
		for _, x := range dl {
			if x.Summary == "" {
				t.Fatalf("diagnostic without a summary: %+v", x)
			}
		}
	})
}
