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

// FuzzCompile feeds arbitrary bytes to the compiler as a spec file: it
// must never panic, and must either compile or explain itself with
// diagnostics that have a summary. The seed corpus is every .cue file of
// the golden tests.
func FuzzCompile(f *testing.F) {
	paths, _ := filepath.Glob("testdata/*.txtar")
	for _, p := range paths {
		ar, err := txtar.ParseFile(p)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range ar.Files {
			if filepath.Ext(file.Name) == ".cue" {
				f.Add(file.Data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		fsys := fstest.MapFS{
			"spec.cue":    {Data: src},
			"motd.txt":    {Data: []byte("hello")},
			"app/main.go": {Data: []byte("package main")},
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
