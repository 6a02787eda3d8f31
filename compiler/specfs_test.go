package compiler

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// linkSpec is a spec whose image copies `leak` (a file) and `tree` (a
// directory) from the spec.
const linkSpec = `package phoenix

project: "shop"
images: web: {
	from: "scratch"
	files: {
		"srv/leak": "leak"
		"srv/tree": "tree"
	}
}
roles: web: image: "web"
environments: dev: roles: web: endpoint: "127.0.0.1:18080"
`

// writeLinkSpec makes dir/spec with linkSpec, a file outside the spec
// (dir/outside.txt), and tree/ holding one ordinary file. It returns the
// spec's directory.
func writeLinkSpec(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	spec := filepath.Join(dir, "spec")
	for p, body := range map[string]string{
		"outside.txt":       "host secret\n",
		"spec/spec.cue":     linkSpec,
		"spec/tree/ok.html": "ok\n",
	} {
		writeFile(t, filepath.Join(dir, p), body)
	}
	return spec
}

func symlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}

// TestLoadDirRefusesLinksOut: a spec in the work tree with a `files`
// source that is, or holds, a symbolic link out of the spec does not
// compile, and the diagnostic names the link and says it points outside
// the spec, as the git reader does for a commit.
func TestLoadDirRefusesLinksOut(t *testing.T) {
	for _, tc := range []struct{ name, link, target, want string }{
		{"relative", "leak", "../outside.txt", `"leak"`},
		{"absolute", "leak", "", `"leak"`}, // target: the outside file's absolute path
		{"in a directory source", "tree/out.txt", "../../outside.txt", "tree/out.txt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := writeLinkSpec(t)
			if tc.link != "leak" {
				writeFile(t, filepath.Join(spec, "leak"), "fine\n")
			}
			target := tc.target
			if target == "" {
				target = filepath.Join(filepath.Dir(spec), "outside.txt")
			}
			symlink(t, target, filepath.Join(spec, tc.link))
			_, err := LoadDir(context.Background(), spec)
			if err == nil {
				t.Fatal("a spec with a link out of it compiled")
			}
			t.Log(err)
			if msg := err.Error(); !strings.Contains(msg, tc.want) || !strings.Contains(msg, "points outside the spec") {
				t.Errorf("the error does not name the link and say it leaves the spec:\n%s", msg)
			}
		})
	}
}

// TestSpecFSStaysInside: the file system a compiled spec keeps as its
// Source, which bakes copy `files` from, refuses every path through a link
// out of the spec, with an error naming the link.
func TestSpecFSStaysInside(t *testing.T) {
	spec := writeLinkSpec(t)
	symlink(t, "../../outside.txt", filepath.Join(spec, "tree", "out.txt"))
	symlink(t, "..", filepath.Join(spec, "up"))
	fsys, err := openDir(spec)
	if err != nil {
		t.Fatal(err)
	}
	for name, link := range map[string]string{"tree/out.txt": "tree/out.txt", "up/outside.txt": "up"} {
		b, err := fs.ReadFile(fsys, name)
		if err == nil {
			t.Fatalf("read %q through a link out of the spec", b)
		}
		var lo *LinkOutError
		if !errors.As(err, &lo) || lo.Link != link || !strings.Contains(err.Error(), "points outside the spec") {
			t.Errorf("%s: error = %v, want one naming link %s as pointing outside the spec", name, err, link)
		}
		if !errors.Is(err, fs.ErrPermission) {
			t.Errorf("%s: error = %v, want it to match fs.ErrPermission", name, err)
		}
	}
	if _, err := fs.ReadFile(fsys, "tree/ok.html"); err != nil {
		t.Errorf("an ordinary file of the spec: %v", err)
	}
}

// TestLoadDirFollowsLinksInside: links that stay inside the spec still
// work, as on the git reader.
func TestLoadDirFollowsLinksInside(t *testing.T) {
	spec := writeLinkSpec(t)
	symlink(t, "tree/ok.html", filepath.Join(spec, "leak"))
	if _, err := LoadDir(context.Background(), spec); err != nil {
		t.Fatalf("a link inside the spec: %v", err)
	}
}
