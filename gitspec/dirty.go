package gitspec

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// Change is one path of the work tree that differs from HEAD.
type Change struct {
	Path string // slash-separated, relative to the repository's root
	// What is "modified", "added" (untracked or new), "deleted" or "mode"
	// (the executable bit changed).
	What string
}

func (c Change) String() string { return c.What + " " + c.Path }

// Dirty compares the work tree's directory dir (relative to the root) with
// HEAD's tree and returns what differs: modified, deleted and untracked
// files (ignored files excepted), sorted by path. It reads only dir, not
// the whole work tree the way a full status would, hashing each file as
// git would store it. It does not consult the index: a change that is
// staged but not committed is still a change.
func (r *Repo) Dirty(ctx context.Context, dir string) ([]Change, error) {
	if r.root == "" {
		return nil, errors.New("the repository has no work tree")
	}
	tracked, err := r.trackedFiles(dir)
	if err != nil {
		return nil, err
	}
	ignore := r.ignoreMatcher(dir)
	var out []Change
	seen := map[string]bool{}
	base := filepath.Join(r.root, filepath.FromSlash(dir))
	err = filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == base {
				return filepath.SkipAll
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		rel, _ := filepath.Rel(r.root, p)
		rel = filepath.ToSlash(rel)
		parts := strings.Split(rel, "/")
		if d.IsDir() {
			if p != base && (d.Name() == ".git" || ignore.matchDir(p, parts)) {
				if _, ok := tracked.dirs[rel]; !ok {
					return filepath.SkipDir
				}
			}
			return nil
		}
		want, isTracked := tracked.files[rel]
		if !isTracked {
			if !ignore.m.Match(parts, false) {
				out = append(out, Change{Path: rel, What: "added"})
			}
			return nil
		}
		seen[rel] = true
		got, mode, err := hashWorkFile(p, d)
		if err != nil {
			return err
		}
		switch {
		case got != want.hash:
			out = append(out, Change{Path: rel, What: "modified"})
		case mode != want.mode:
			out = append(out, Change{Path: rel, What: "mode"})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("comparing %s with HEAD: %w", displayDir(dir), err)
	}
	for p := range tracked.files {
		if !seen[p] {
			out = append(out, Change{Path: p, What: "deleted"})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

type trackedFile struct {
	hash plumbing.Hash
	mode filemode.FileMode
}

type trackedSet struct {
	files map[string]trackedFile // by path from the root
	dirs  map[string]struct{}
}

// trackedFiles lists the files under dir in HEAD's tree.
func (r *Repo) trackedFiles(dir string) (trackedSet, error) {
	set := trackedSet{files: map[string]trackedFile{}, dirs: map[string]struct{}{}}
	head, err := r.Head()
	if err != nil || head == nil {
		return set, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok, err := r.subtreeLocked(head.Tree, dir)
	if err != nil || !ok {
		return set, err
	}
	t, err := object.GetTree(r.repo.Storer, h)
	if err != nil {
		return set, err
	}
	w := object.NewTreeWalker(t, true, nil)
	defer w.Close()
	for {
		name, e, err := w.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return set, fmt.Errorf("reading HEAD's tree: %w", err)
		}
		p := path.Join(dir, name)
		if e.Mode == filemode.Dir {
			set.dirs[p] = struct{}{}
			continue
		}
		if e.Mode == filemode.Submodule {
			continue
		}
		set.files[p] = trackedFile{hash: e.Hash, mode: e.Mode}
	}
	return set, nil
}

// hashWorkFile returns the blob hash git would give the file at p and its
// git mode.
func hashWorkFile(p string, d fs.DirEntry) (plumbing.Hash, filemode.FileMode, error) {
	if d.Type()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(p)
		if err != nil {
			return plumbing.ZeroHash, 0, err
		}
		return plumbing.ComputeHash(plumbing.BlobObject, []byte(filepath.ToSlash(target))), filemode.Symlink, nil
	}
	info, err := d.Info()
	if err != nil {
		return plumbing.ZeroHash, 0, err
	}
	data, err := os.ReadFile(p)
	if err != nil {
		return plumbing.ZeroHash, 0, err
	}
	mode := filemode.Regular
	if info.Mode()&0o111 != 0 {
		mode = filemode.Executable
	}
	return plumbing.ComputeHash(plumbing.BlobObject, data), mode, nil
}

// ignorer answers "is this untracked path ignored?" from the .gitignore
// files on the way from the root to dir, those below dir (read as the walk
// reaches them) and .git/info/exclude. The user's global excludes file is
// not read.
type ignorer struct {
	m        gitignore.Matcher
	patterns []gitignore.Pattern
	root     string
}

func (r *Repo) ignoreMatcher(dir string) *ignorer {
	ig := &ignorer{root: r.root}
	if s, ok := r.repo.Storer.(*filesystem.Storage); ok {
		if f, err := s.Filesystem().Open("info/exclude"); err == nil {
			data, err := io.ReadAll(f)
			f.Close()
			if err == nil {
				ig.add(string(data), nil)
			}
		}
	}
	var domain []string
	ig.read(domain)
	if dir != "" {
		for _, part := range strings.Split(dir, "/") {
			domain = append(domain, part)
			ig.read(append([]string(nil), domain...))
		}
	}
	ig.m = gitignore.NewMatcher(ig.patterns)
	return ig
}

// read adds the .gitignore of the directory domain (path parts from the
// root), if it has one.
func (ig *ignorer) read(domain []string) {
	data, err := os.ReadFile(filepath.Join(append([]string{ig.root}, append(domain, ".gitignore")...)...))
	if err == nil {
		ig.add(string(data), domain)
	}
}

func (ig *ignorer) add(text string, domain []string) {
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		ig.patterns = append(ig.patterns, gitignore.ParsePattern(line, domain))
	}
}

// matchDir reports whether the directory is ignored, and otherwise picks up
// its own .gitignore for the paths below it.
func (ig *ignorer) matchDir(p string, parts []string) bool {
	if ig.m.Match(parts, true) {
		return true
	}
	before := len(ig.patterns)
	ig.read(parts)
	if len(ig.patterns) != before {
		ig.m = gitignore.NewMatcher(ig.patterns)
	}
	return false
}
