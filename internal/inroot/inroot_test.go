package inroot

import (
	"os"
	"path/filepath"
	"testing"
)

// TestEscapes pins os.Root's error for a path out of the root, and finds
// the link that leads out, below a link that stays inside.
func TestEscapes(t *testing.T) {
	dir := t.TempDir()
	for _, l := range [][2]string{{"in", "."}, {"out", ".."}, {"abs", "/"}} {
		if err := os.Symlink(l[1], filepath.Join(dir, l[0])); err != nil {
			t.Fatal(err)
		}
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, tc := range []struct{ name, link, target string }{
		{"out/x", "out", ".."},
		{"in/out/x", "in/out", ".."},
		{"abs", "abs", "/"},
	} {
		_, err := r.Open(tc.name)
		if !Escapes(err) {
			t.Errorf("open %s: %v is not recognised as leaving the root", tc.name, err)
		}
		if link, target := LinkOut(r, tc.name); link != tc.link || target != tc.target {
			t.Errorf("LinkOut(%s) = %s -> %s, want %s -> %s", tc.name, link, target, tc.link, tc.target)
		}
	}
	if _, err := r.Open("in/missing"); err == nil || Escapes(err) {
		t.Errorf("a missing file inside: %v", err)
	}
}

// TestEscapesWrapped: MkdirAll wraps the refusal in two path errors.
func TestEscapesWrapped(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink("..", filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.MkdirAll("out", 0o755); !Escapes(err) {
		t.Errorf("MkdirAll through a link out: %v is not recognised as leaving the root", err)
	}
}
