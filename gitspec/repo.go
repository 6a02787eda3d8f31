// Package gitspec reads Phoenix specs straight from a git repository's
// objects with go-git: a spec at any revision is an io/fs.FS over a commit's
// tree, read lazily, so planning an old revision never touches the work
// tree. It also answers the questions GitOps needs of history: merge bases
// for pull requests, the commits that changed a spec directory, and whether
// the work tree's spec has uncommitted changes.
//
// The product never shells out to the git CLI; everything goes through
// go-git, so Phoenix works on machines without git installed.
package gitspec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5"
	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

// ErrNotRepo says a path is not inside a git repository.
var ErrNotRepo = errors.New("not a git repository")

// ErrShallow is wrapped by errors that need history a shallow clone lacks.
var ErrShallow = errors.New("the repository is a shallow clone")

// shallowHint is how a user deepens a clone, locally or in CI.
const shallowHint = "run `git fetch --unshallow`, or set `fetch-depth: 0` on actions/checkout"

// Repo is an open repository. Its methods are safe for concurrent use:
// go-git's object storage is not, so every object read holds mu.
type Repo struct {
	mu      sync.Mutex
	repo    *git.Repository
	storage *filesystem.Storage
	root    string // the work tree's root, absolute with symlinks resolved
	shallow map[plumbing.Hash]bool
	blobs   blobCache // guarded by mu
}

// Commit is one commit, as much of it as Phoenix shows.
type Commit struct {
	Hash    plumbing.Hash
	Tree    plumbing.Hash
	Parents []plumbing.Hash
	Author  string
	When    time.Time
	Subject string
}

// Short is the commit's hash abbreviated for people.
func (c *Commit) Short() string { return c.Hash.String()[:7] }

// String is the full hex hash.
func (c *Commit) String() string { return c.Hash.String() }

// Open opens the repository that contains path (a directory or file, which
// may be a subdirectory of the work tree or inside a linked worktree). A
// path outside any repository gives an error wrapping ErrNotRepo.
func Open(path string) (*Repo, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	start := existingAncestor(abs)
	r, err := git.PlainOpenWithOptions(start, &git.PlainOpenOptions{DetectDotGit: true, EnableDotGitCommonDir: true})
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return nil, fmt.Errorf("%s: %w", path, ErrNotRepo)
	}
	if err != nil {
		return nil, fmt.Errorf("opening git repository at %s: %w", path, err)
	}
	var wtfs billy.Filesystem
	if wt, err := r.Worktree(); err == nil {
		wtfs = wt.Filesystem
	}
	// Reopen the same storage keeping pack files open: go-git otherwise
	// opens and closes the pack for every object it reads, which is most
	// of the time spent reading a large tree. Close releases them.
	st, ok := r.Storer.(*filesystem.Storage)
	if !ok {
		return nil, fmt.Errorf("opening git repository at %s: unexpected storage %T", path, r.Storer)
	}
	st = filesystem.NewStorageWithOptions(st.Filesystem(), cache.NewObjectLRUDefault(), filesystem.Options{KeepDescriptors: true})
	if r, err = git.Open(st, wtfs); err != nil {
		return nil, fmt.Errorf("opening git repository at %s: %w", path, err)
	}
	out := &Repo{repo: r, storage: st, shallow: map[plumbing.Hash]bool{}}
	if wtfs != nil {
		out.root = realPath(wtfs.Root())
	}
	sh, err := r.Storer.Shallow()
	if err != nil {
		return nil, fmt.Errorf("reading shallow commits: %w", err)
	}
	for _, h := range sh {
		out.shallow[h] = true
	}
	return out, nil
}

// Close releases the pack files the repository keeps open.
func (r *Repo) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.storage.Close()
}

// Root is the absolute path of the work tree ("" for a bare repository).
func (r *Repo) Root() string { return r.root }

// Shallow reports whether the repository is a shallow clone.
func (r *Repo) Shallow() bool { return len(r.shallow) > 0 }

// RelPath turns a path on disk (absolute, or relative to the current
// directory) into the slash-separated path inside the repository that
// names the same directory; "" is the repository's root. The path need not
// exist in the work tree: a spec may be read at a revision where it lived.
func (r *Repo) RelPath(path string) (string, error) {
	if r.root == "" {
		return "", fmt.Errorf("%s: the repository has no work tree", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(r.root, realPath(abs))
	p, ok := inRepo(rel)
	if err != nil || !ok {
		return "", fmt.Errorf("%s is outside the repository at %s", path, r.root)
	}
	return p, nil
}

// inRepo turns rel, a clean path relative to the repository's root, into
// the slash path inside it ("" for the root); false when rel climbs out.
func inRepo(rel string) (string, bool) {
	p := filepath.ToSlash(rel)
	if p == ".." || strings.HasPrefix(p, "../") {
		return "", false
	}
	if p == "." {
		p = ""
	}
	return p, true
}

// SpecDir returns the path inside the repository of the spec directory
// dir as it exists in at least one of the commits at. dir is first taken
// as a path on disk (relative to the current directory, as RelPath does),
// so `cd environments && phoenix plan --rev v1 .` works; when that
// directory exists in none of the commits and dir is relative, it is
// taken from the repository's root, since the contract is that DIR
// is the spec's path inside the repository: `phoenix plan --rev v1
// environments` run in app/ reads environments/, not app/environments/.
// When neither exists the error names both paths tried.
func (r *Repo) SpecDir(dir string, at ...*Commit) (string, error) {
	fromCwd, cwdErr := r.RelPath(dir)
	if cwdErr == nil {
		if ok, err := r.dirInAny(fromCwd, at); err != nil || ok {
			return fromCwd, err
		}
	}
	fromRoot, rootOK := rootRelative(dir)
	if rootOK && (cwdErr != nil || fromRoot != fromCwd) {
		if ok, err := r.dirInAny(fromRoot, at); err != nil || ok {
			return fromRoot, err
		}
	}
	switch {
	case cwdErr != nil && !rootOK:
		return "", cwdErr
	case cwdErr != nil:
		return "", fmt.Errorf("%s does not exist at %s", displayDir(fromRoot), commitList(at))
	case !rootOK || fromRoot == fromCwd:
		// One path tried (run from the root, or DIR absolute): the plain
		// message, without saying how DIR was read.
		return "", fmt.Errorf("%s does not exist at %s", displayDir(fromCwd), commitList(at))
	}
	return "", fmt.Errorf("neither %s (DIR from the current directory) nor %s (DIR from the repository's root) exists at %s",
		displayDir(fromCwd), displayDir(fromRoot), commitList(at))
}

// rootRelative reads dir as a slash path from the repository's root; an
// absolute path or one that climbs out of the root is not one.
func rootRelative(dir string) (string, bool) {
	if filepath.IsAbs(dir) {
		return "", false
	}
	return inRepo(filepath.Clean(dir))
}

// dirInAny reports whether dir is a directory in any of the commits.
func (r *Repo) dirInAny(dir string, at []*Commit) (bool, error) {
	for _, c := range at {
		if _, ok, err := r.SubtreeHash(c, dir); err != nil || ok {
			return ok, err
		}
	}
	return false, nil
}

// commitList names commits for an error: "commit 3f2a1c9" or "commits
// 3f2a1c9 and 7d2e0a1".
func commitList(cs []*Commit) string {
	var names []string
	seen := map[plumbing.Hash]bool{}
	for _, c := range cs {
		if !seen[c.Hash] {
			seen[c.Hash] = true
			names = append(names, c.Short())
		}
	}
	switch len(names) {
	case 0:
		return "any commit"
	case 1:
		return "commit " + names[0]
	}
	return "commits " + strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// Resolve turns a revision (a branch, tag, remote branch, full or short
// hash, HEAD~2, main^2, …) into its commit.
func (r *Repo) Resolve(rev string) (*Commit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, err := r.repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return nil, r.resolveError(rev, err)
	}
	return r.commitLocked(*h)
}

// resolveError explains why rev did not resolve. In a shallow clone (a CI
// checkout of depth 1 has only the commit it builds) it says how to get
// what is missing: the history behind a commit for HEAD~2, the reference
// itself for origin/main, which such a checkout never fetched. r.mu is
// held.
func (r *Repo) resolveError(rev string, err error) error {
	notFound := errors.Is(err, plumbing.ErrReferenceNotFound) || errors.Is(err, plumbing.ErrObjectNotFound)
	if !r.Shallow() {
		if notFound {
			return fmt.Errorf("resolving revision %q: no branch, tag or commit has that name", rev)
		}
		return fmt.Errorf("resolving revision %q: %w", rev, err)
	}
	name := rev
	if i := strings.IndexAny(rev, "~^"); i >= 0 {
		name = rev[:i]
	}
	if name != rev {
		if _, err := r.repo.ResolveRevision(plumbing.Revision(name)); err == nil {
			return fmt.Errorf("resolving revision %q: its history is cut off (%w); %s", rev, ErrShallow, shallowHint)
		}
	}
	return fmt.Errorf("resolving revision %q: no branch, tag or commit has that name in this shallow clone, which holds only what was fetched; %s, or set `fetch-depth: 0` on actions/checkout",
		rev, r.fetchHint(name))
}

// fetchHint says how to fetch the missing reference name into a shallow
// clone: the remote-tracking branch origin/main by its full refspec (a
// clone of one branch has no refspec that would store it), a branch or tag
// of the same name (git picks refs/heads or refs/tags from what the remote
// has), a commit by deepening. r.mu is held.
func (r *Repo) fetchHint(name string) string {
	remotes := r.remoteNames()
	name = strings.TrimPrefix(name, "refs/remotes/")
	for _, rm := range remotes {
		if branch, ok := strings.CutPrefix(name, rm+"/"); ok && branch != "" {
			return fmt.Sprintf("fetch it with `git fetch %s %s:refs/remotes/%s/%s`", rm, branch, rm, branch)
		}
	}
	if isHex(name) {
		return "fetch the history that holds it with `git fetch --unshallow`"
	}
	rm := "origin"
	if len(remotes) > 0 && !slices.Contains(remotes, rm) {
		rm = remotes[0]
	}
	name = strings.TrimPrefix(strings.TrimPrefix(name, "refs/heads/"), "refs/tags/")
	return fmt.Sprintf("if it is a branch or tag of %s, fetch it with `git fetch %s %s:%s`", rm, rm, name, name)
}

// remoteNames lists the configured remotes, sorted. r.mu is held.
func (r *Repo) remoteNames() []string {
	cfg, err := r.repo.Config()
	if err != nil {
		return nil
	}
	var names []string
	for n := range cfg.Remotes {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// isHex reports whether s looks like an abbreviated or full object name.
func isHex(s string) bool {
	if len(s) < 4 || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}

// Head returns the commit HEAD points at, or nil in a repository with no
// commits yet.
func (r *Repo) Head() (*Commit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ref, err := r.repo.Head()
	if errors.Is(err, plumbing.ErrReferenceNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading HEAD: %w", err)
	}
	return r.commitLocked(ref.Hash())
}

// Commit reads the commit with hash h.
func (r *Repo) Commit(h plumbing.Hash) (*Commit, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.commitLocked(h)
}

func (r *Repo) commitLocked(h plumbing.Hash) (*Commit, error) {
	c, err := r.repo.CommitObject(h)
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", h, err)
	}
	return toCommit(c), nil
}

func toCommit(c *object.Commit) *Commit {
	subject, _, _ := strings.Cut(strings.TrimSpace(c.Message), "\n")
	return &Commit{
		Hash:    c.Hash,
		Tree:    c.TreeHash,
		Parents: append([]plumbing.Hash(nil), c.ParentHashes...),
		Author:  c.Author.Name,
		When:    c.Committer.When,
		Subject: subject,
	}
}

// parentsOf returns the parent hashes of c, refusing at a shallow boundary
// where the parents' objects are missing.
func (r *Repo) parentsOf(c *Commit) ([]plumbing.Hash, error) {
	if r.shallow[c.Hash] {
		return nil, r.shallowError(c.Hash)
	}
	return c.Parents, nil
}

func (r *Repo) shallowError(at plumbing.Hash) error {
	return fmt.Errorf("history stops at commit %s (%w); %s", at.String()[:7], ErrShallow, shallowHint)
}

// realPath resolves symlinks in the longest prefix of p that exists, so
// that /tmp and /private/tmp, or a symlinked checkout, compare equal.
func realPath(p string) string {
	p = filepath.Clean(p)
	var rest []string
	for {
		if rp, err := filepath.EvalSymlinks(p); err == nil {
			return filepath.Join(append([]string{rp}, rest...)...)
		}
		parent := filepath.Dir(p)
		if parent == p {
			return filepath.Join(append([]string{p}, rest...)...)
		}
		rest = append([]string{filepath.Base(p)}, rest...)
		p = parent
	}
}

// existingAncestor returns the nearest ancestor of p (or p) that exists.
func existingAncestor(p string) string {
	for {
		if _, err := os.Stat(p); err == nil {
			return p
		}
		parent := filepath.Dir(p)
		if parent == p {
			return p
		}
		p = parent
	}
}
