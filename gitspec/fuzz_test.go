package gitspec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"testing"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/memory"
)

// FuzzTreeFS builds a commit's tree from arbitrary entries, including
// what git itself would never write but a crafted repository can hold
// (entry names "..", ".", "a/b" or empty; links out of the tree, to
// themselves, in loops), and reads it the ways a compile and a bake do:
// it must never panic or hang, never resolve a path outside the tree, and
// agree with itself (Stat and Open, ReadFile and a read through Open,
// ReadDir and fs.WalkDir).
//
// The input is one entry per line, "KIND PATH\tDATA": KIND f (file), x
// (executable), l (symbolic link to DATA), r (a file whose whole PATH is
// one entry name in the root, slashes and dots included).
func FuzzTreeFS(f *testing.F) {
	for _, seed := range []string{
		"f spec.cue\tpackage phoenix\nf app/main.go\tpackage main\nx app/run.sh\t#!/bin/sh",
		"l leak\t../outside.txt\nl abs\t/etc/passwd\nl in\tapp/main.go\nf app/main.go\tx",
		"l a\tb\nl b\ta\nl self\tself\nl dir\tapp\nf app/x\t1\nl app/up\t..\nl app/out\t../..",
		"r ..\tup\nf a/c\tc\nf a/d/e\te",
		"f a/../x\tup\nf a/c\tc",
		"r .\tdot\nf a/c\tc",
		"r a/b\tslash\nf a/b\tc\nf a/c\tc",
		"r \tempty\nf a/c\tc",
		"l d1\td2/x\nl d2\td3/x\nl d3\td4/x\nl d4\td1/x",
		"f x/y/z/w\tdeep\nl x/y/l\t../../x/y/z\nl top\tx/y/l/w",
		// Each link names the previous one four times (l0 is the root):
		// followed with a budget per link rather than per lookup, l15/f
		// takes 4^15 lookups.
		"l l0\t.\nl l1\tl0/l0/l0/l0\nl l2\tl1/l1/l1/l1\nl l3\tl2/l2/l2/l2\nl l4\tl3/l3/l3/l3\nl l5\tl4/l4/l4/l4\nl l6\tl5/l5/l5/l5\nl l7\tl6/l6/l6/l6\nl l8\tl7/l7/l7/l7\nl l9\tl8/l8/l8/l8\nl l10\tl9/l9/l9/l9\nl l11\tl10/l10/l10/l10\nl l12\tl11/l11/l11/l11\nl l13\tl12/l12/l12/l12\nl l14\tl13/l13/l13/l13\nl l15\tl14/l14/l14/l14\nf f\tend",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, spec []byte) {
		fsys, files := fuzzTree(t, spec)
		if fsys == nil {
			return
		}
		// A hang is a finding too (a crafted commit that stalls diff in
		// CI), which the fuzzer would not report as one.
		done := make(chan error, 1)
		go func() { done <- readAll(fsys, spec, files) }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("reading the tree took over 10s")
		}
	})
}

// fuzzEntry is one parsed input line.
type fuzzEntry struct {
	kind       byte
	name, data string
}

func parseFuzz(spec []byte) []fuzzEntry {
	var out []fuzzEntry
	for _, line := range strings.Split(string(spec), "\n") {
		if len(line) < 2 || line[1] != ' ' {
			continue
		}
		name, data, _ := strings.Cut(line[2:], "\t")
		out = append(out, fuzzEntry{kind: line[0], name: name, data: data})
		if len(out) == 64 {
			break
		}
	}
	return out
}

// fuzzTree stores the entries as git objects and opens the tree; files
// holds every blob's content (what any read may return).
func fuzzTree(t *testing.T, spec []byte) (*TreeFS, map[string]bool) {
	repo, err := git.Init(memory.NewStorage(), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := &Repo{repo: repo, shallow: map[plumbing.Hash]bool{}}
	root := &dirNode{kids: map[string]any{}}
	files := map[string]bool{}
	for _, e := range parseFuzz(spec) {
		mode := map[byte]filemode.FileMode{'f': filemode.Regular, 'x': filemode.Executable, 'l': filemode.Symlink, 'r': filemode.Regular}[e.kind]
		if mode == 0 {
			continue
		}
		h := storeObject(t, r, plumbing.BlobObject, []byte(e.data))
		files[e.data] = true
		leaf := object.TreeEntry{Mode: mode, Hash: h}
		if e.kind == 'r' {
			leaf.Name = e.name
			root.kids[e.name] = leaf
			continue
		}
		root.put(strings.Split(e.name, "/"), leaf)
	}
	h, ok := root.store(t, r)
	if !ok {
		return nil, nil // a tree git cannot even encode (a NUL in a name)
	}
	fsys, err := r.FS(&Commit{Tree: h}, "")
	if err != nil {
		t.Fatal(err)
	}
	return fsys, files
}

// dirNode is a directory being built: kids are *dirNode or TreeEntry.
type dirNode struct{ kids map[string]any }

func (d *dirNode) put(parts []string, leaf object.TreeEntry) {
	if len(parts) == 1 {
		leaf.Name = parts[0]
		d.kids[parts[0]] = leaf
		return
	}
	sub, ok := d.kids[parts[0]].(*dirNode)
	if !ok {
		sub = &dirNode{kids: map[string]any{}}
		d.kids[parts[0]] = sub
	}
	sub.put(parts[1:], leaf)
}

func (d *dirNode) store(t *testing.T, r *Repo) (plumbing.Hash, bool) {
	tree := &object.Tree{}
	for name, k := range d.kids {
		switch k := k.(type) {
		case *dirNode:
			h, ok := k.store(t, r)
			if !ok {
				return h, false
			}
			tree.Entries = append(tree.Entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: h})
		case object.TreeEntry:
			tree.Entries = append(tree.Entries, k)
		}
	}
	// In git's order (a directory "a" sorts as "a/"), as git writes it.
	sortEntries(tree.Entries)
	obj := r.repo.Storer.NewEncodedObject()
	if err := tree.Encode(obj); err != nil {
		return plumbing.ZeroHash, false
	}
	h, err := r.repo.Storer.SetEncodedObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	return h, true
}

func sortEntries(es []object.TreeEntry) {
	for i := 1; i < len(es); i++ {
		for j := i; j > 0 && sortName(&es[j]) < sortName(&es[j-1]); j-- {
			es[j], es[j-1] = es[j-1], es[j]
		}
	}
}

func storeObject(t *testing.T, r *Repo, typ plumbing.ObjectType, data []byte) plumbing.Hash {
	obj := r.repo.Storer.NewEncodedObject()
	obj.SetType(typ)
	w, err := obj.Writer()
	if err != nil {
		t.Fatal(err)
	}
	_, _ = w.Write(data)
	_ = w.Close()
	h, err := r.repo.Storer.SetEncodedObject(obj)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// probes are the paths to read: every entry's path and its prefixes,
// every link target resolved from its directory, and a few that leave.
func probes(spec []byte) []string {
	set := map[string]bool{".": true, "..": true, "../x": true, "/etc/passwd": true, "": true}
	for _, e := range parseFuzz(spec) {
		set[e.name] = true
		for p := e.name; p != "." && p != "/" && p != ""; p = path.Dir(p) {
			set[p] = true
		}
		if e.kind == 'l' {
			set[path.Join(path.Dir(e.name), e.data)] = true
			set[e.name+"/x"] = true
		}
	}
	out := make([]string, 0, len(set))
	for p := range set {
		out = append(out, p)
	}
	return out
}

// readAll walks the tree and reads every probe; the first disagreement
// is the error.
func readAll(fsys *TreeFS, spec []byte, files map[string]bool) error {
	if err := checkWalk(fsys, files); err != nil {
		return err
	}
	for _, p := range probes(spec) {
		if err := checkPath(fsys, p, files); err != nil {
			return err
		}
	}
	return nil
}

// checkPath reads p every way and checks that the answers agree and come
// from the tree.
func checkPath(fsys *TreeFS, p string, files map[string]bool) error {
	fi, statErr := fsys.Stat(p)
	if !fs.ValidPath(p) {
		if statErr == nil || !errors.Is(statErr, fs.ErrInvalid) {
			return fmt.Errorf("Stat(%q), not a valid path: %v, want ErrInvalid", p, statErr)
		}
		return nil
	}
	file, openErr := fsys.Open(p)
	// Stat of a directory does not decode it; Open lists it, which fails
	// on a malformed tree (an empty entry name, say).
	if (statErr == nil) != (openErr == nil) && (statErr != nil || !fi.IsDir()) {
		return fmt.Errorf("Stat(%q) = %v but Open = %v", p, statErr, openErr)
	}
	if openErr != nil {
		return nil
	}
	defer file.Close()
	if fi.IsDir() {
		if _, err := fsys.ReadDir(p); err != nil {
			return fmt.Errorf("ReadDir(%q) of a directory: %v", p, err)
		}
		return nil
	}
	b, err := fsys.ReadFile(p)
	if err != nil {
		return fmt.Errorf("ReadFile(%q) of a file that opened: %v", p, err)
	}
	if !files[string(b)] {
		return fmt.Errorf("ReadFile(%q) = %q, which no blob of the tree holds", p, b)
	}
	viaOpen, err := io.ReadAll(file)
	if err != nil || !bytes.Equal(viaOpen, b) || int64(len(b)) != fi.Size() {
		return fmt.Errorf("%q: ReadFile %q, Open+Read %q (%v), Stat size %d", p, b, viaOpen, err, fi.Size())
	}
	return nil
}

// checkWalk walks the whole tree as a digest of a `files` directory does:
// it must end, visit only paths inside the tree, and read every file it
// lists from the tree's blobs.
func checkWalk(fsys *TreeFS, files map[string]bool) error {
	seen := 0
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return nil // an unreadable entry is reported, not fatal
		case !insidePath(p):
			return fmt.Errorf("walking the tree reached the path %q, which leaves it or loops", p)
		}
		if seen++; seen > 10000 {
			return fmt.Errorf("walking the tree visited over 10000 paths (at %q): a loop", p)
		}
		if d.Type().IsRegular() {
			if b, err := fsys.ReadFile(p); err == nil && !files[string(b)] {
				return fmt.Errorf("ReadFile(%q) = %q, which no blob of the tree holds", p, b)
			}
		}
		return nil
	})
}

// insidePath reports whether p names something inside the tree: "." or
// elements none of which is empty, "." or "..". (fs.ValidPath also wants
// UTF-8, which a file name in git need not be: such a file is unreadable
// through io/fs, not a way out.)
func insidePath(p string) bool {
	if p == "." {
		return true
	}
	for _, el := range strings.Split(p, "/") {
		if el == "" || el == "." || el == ".." {
			return false
		}
	}
	return true
}
