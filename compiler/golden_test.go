package compiler

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/phoenix-gitops/phoenix/diag"
)

// Golden tests: each testdata/*.txtar holds a spec (its .cue files and any
// other files) and exactly one expected result: "out.json", the compiled
// model, or "diagnostics", the exact error text. UPDATE_GOLDEN=1 rewrites
// the expected results from what the compiler does now.

// goldenNames are the archive members that hold expectations, not spec.
const (
	goldenJSON  = "out.json"
	goldenDiags = "diagnostics"
)

// goldenSpecName is the Options.Name the golden tests compile with, so that
// the file name prefix of diagnostics is tested everywhere.
const goldenSpecName = "spec"

var updateGolden = os.Getenv("UPDATE_GOLDEN") == "1"

func TestGolden(t *testing.T) {
	paths, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(paths) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, p := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(p), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(p)
			if err != nil {
				t.Fatal(err)
			}
			fsys, want, wantName := specOf(ar)
			got, gotName := compileGolden(t, fsys)
			if updateGolden {
				writeGolden(t, p, ar, gotName, got)
				return
			}
			if wantName != gotName || !bytes.Equal(want, got) {
				t.Errorf("%s: want %s:\n%s\ngot %s:\n%s", p, wantName, want, gotName, got)
			}
		})
	}
}

// specOf splits an archive into the spec's files and its expectation.
func specOf(ar *txtar.Archive) (fstest.MapFS, []byte, string) {
	fsys := fstest.MapFS{}
	var want []byte
	var name string
	for _, f := range ar.Files {
		switch f.Name {
		case goldenJSON, goldenDiags:
			want, name = f.Data, f.Name
		default:
			mode := os.FileMode(0o644)
			if strings.HasSuffix(f.Name, ".sh") {
				mode = 0o755
			}
			fsys[f.Name] = &fstest.MapFile{Data: f.Data, Mode: mode}
		}
	}
	return fsys, want, name
}

// compileGolden compiles fsys and renders the outcome as golden text.
func compileGolden(t *testing.T, fsys fstest.MapFS) ([]byte, string) {
	t.Helper()
	d, err := Load(context.Background(), fsys, Options{Name: goldenSpecName})
	if err != nil {
		var dl diag.List
		if !errors.As(err, &dl) {
			t.Fatalf("not a diagnostic list: %v", err)
		}
		return []byte(dl.Error() + "\n"), goldenDiags
	}
	b, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n'), goldenJSON
}

func writeGolden(t *testing.T, path string, ar *txtar.Archive, name string, data []byte) {
	t.Helper()
	var files []txtar.File
	for _, f := range ar.Files {
		if f.Name != goldenJSON && f.Name != goldenDiags {
			files = append(files, f)
		}
	}
	ar.Files = append(files, txtar.File{Name: name, Data: data})
	if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
		t.Fatal(err)
	}
}
