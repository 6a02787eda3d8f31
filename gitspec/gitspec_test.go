package gitspec

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// testRepo is a real repository made with the git CLI.
type testRepo struct {
	t   *testing.T
	dir string
}

func newTestRepo(t *testing.T) *testRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git CLI not installed")
	}
	r := &testRepo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *testRepo) git(args ...string) string {
	r.t.Helper()
	return runGit(r.t, r.dir, args...)
}

func runGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=Ana", "GIT_AUTHOR_EMAIL=ana@example.com",
		"GIT_COMMITTER_NAME=Ana", "GIT_COMMITTER_EMAIL=ana@example.com",
		"GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *testRepo) write(files map[string]string) {
	r.t.Helper()
	for name, body := range files {
		p := filepath.Join(r.dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			r.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			r.t.Fatal(err)
		}
	}
}

// commit writes files, commits everything and returns the new hash.
func (r *testRepo) commit(msg string, files map[string]string) string {
	r.t.Helper()
	r.write(files)
	r.git("add", "-A")
	r.git("commit", "-q", "--allow-empty", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

func open(t *testing.T, dir string) *Repo {
	t.Helper()
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func resolve(t *testing.T, r *Repo, rev string) *Commit {
	t.Helper()
	c, err := r.Resolve(rev)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTreeFSReadsACommitNotTheWorkTree(t *testing.T) {
	tr := newTestRepo(t)
	tr.commit("spec v1", map[string]string{
		"environments/main.cue":         "package phoenix\nproject: \"shop\"\n",
		"environments/app/server.go":    "package main\n",
		"environments/app/static/a.txt": "A",
		"environments/z.b.cue":          "package phoenix\n",
		"environments/z/inner.txt":      "inner",
		"README.md":                     "outside the spec",
	})
	if err := os.Symlink("app/static/a.txt", filepath.Join(tr.dir, "environments/link.txt")); err != nil {
		t.Fatal(err)
	}
	tr.commit("symlink", nil)
	// The work tree moves on; the commit must not see it.
	tr.write(map[string]string{"environments/main.cue": "changed in the work tree"})

	r := open(t, tr.dir)
	c := resolve(t, r, "HEAD")
	fsys, err := r.FS(c, "environments")
	if err != nil {
		t.Fatal(err)
	}
	if err := fstest.TestFS(fsys, "main.cue", "app/server.go", "app/static/a.txt", "z.b.cue", "z/inner.txt", "link.txt"); err != nil {
		t.Fatal(err)
	}
	got, err := fs.ReadFile(fsys, "main.cue")
	if err != nil || string(got) != "package phoenix\nproject: \"shop\"\n" {
		t.Fatalf("main.cue = %q, %v", got, err)
	}
	if got, err := fs.ReadFile(fsys, "link.txt"); err != nil || string(got) != "A" {
		t.Fatalf("link.txt through its symlink = %q, %v", got, err)
	}
	if target, err := fs.ReadLink(fsys, "link.txt"); err != nil || target != "app/static/a.txt" {
		t.Fatalf("ReadLink(link.txt) = %q, %v", target, err)
	}
	if info, err := fs.Lstat(fsys, "link.txt"); err != nil || info.Mode()&fs.ModeSymlink == 0 {
		t.Fatalf("Lstat(link.txt) = %v, %v", info, err)
	}
	if _, err := fs.ReadFile(fsys, "README.md"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("a file outside the spec directory must not exist in its FS, got %v", err)
	}
	if _, err := r.FS(c, "nope"); err == nil {
		t.Fatal("FS of a directory missing at the commit must fail")
	}
}

func TestResolveRevisions(t *testing.T) {
	tr := newTestRepo(t)
	first := tr.commit("one", map[string]string{"environments/a.cue": "1"})
	second := tr.commit("two", map[string]string{"environments/a.cue": "2"})
	tr.git("tag", "-a", "v1", "-m", "release", first)
	tr.git("tag", "light", second)
	tr.git("branch", "feature", first)
	tr.git("update-ref", "refs/remotes/origin/main", first)
	r := open(t, tr.dir)
	for rev, want := range map[string]string{
		"HEAD": second, "main": second, "HEAD~1": first, "main^": first,
		"v1": first, "light": second, "feature": first, first[:7]: first, second: second,
		"origin/main": first, "refs/heads/main": second,
	} {
		if got := resolve(t, r, rev).Hash.String(); got != want {
			t.Errorf("Resolve(%q) = %s, want %s", rev, got, want)
		}
	}
	if _, err := r.Resolve("no-such-branch"); err == nil || !strings.Contains(err.Error(), "no branch, tag or commit") {
		t.Errorf("unknown revision: %v", err)
	}
}

func TestOpenFromSubdirectoryAndRelPath(t *testing.T) {
	tr := newTestRepo(t)
	tr.commit("one", map[string]string{"deploy/environments/a.cue": "1"})
	sub := filepath.Join(tr.dir, "deploy", "environments")
	r := open(t, sub)
	if want := realPath(tr.dir); r.Root() != want {
		t.Fatalf("Root() = %s, want %s", r.Root(), want)
	}
	rel, err := r.RelPath(sub)
	if err != nil || rel != "deploy/environments" {
		t.Fatalf("RelPath = %q, %v", rel, err)
	}
	// A directory that no longer exists in the work tree still maps.
	if rel, err := r.RelPath(filepath.Join(tr.dir, "old", "specs")); err != nil || rel != "old/specs" {
		t.Fatalf("RelPath of a missing dir = %q, %v", rel, err)
	}
	if _, err := r.RelPath(t.TempDir()); err == nil {
		t.Fatal("a path outside the repository must be refused")
	}
	if _, err := Open(t.TempDir()); !errors.Is(err, ErrNotRepo) {
		t.Fatalf("Open outside a repository: %v", err)
	}
}

func TestLinkedWorktreeAndPackedRefs(t *testing.T) {
	tr := newTestRepo(t)
	first := tr.commit("one", map[string]string{"environments/a.cue": "1"})
	tr.git("tag", "v1")
	second := tr.commit("two", map[string]string{"environments/a.cue": "2"})
	tr.git("pack-refs", "--all")
	tr.git("gc", "-q")
	if _, err := os.Stat(filepath.Join(tr.dir, ".git", "refs", "tags", "v1")); !os.IsNotExist(err) {
		t.Fatalf("expected v1 to live only in packed-refs, stat: %v", err)
	}
	wt := filepath.Join(t.TempDir(), "linked")
	tr.git("worktree", "add", "-q", "-b", "hotfix", wt, first)

	r := open(t, filepath.Join(wt, "environments"))
	if r.Root() != realPath(wt) {
		t.Fatalf("Root() = %s, want the linked worktree %s", r.Root(), wt)
	}
	if got := resolve(t, r, "HEAD").Hash.String(); got != first {
		t.Fatalf("HEAD in the linked worktree = %s, want %s", got, first)
	}
	if got := resolve(t, r, "main").Hash.String(); got != second {
		t.Fatalf("main (packed) = %s, want %s", got, second)
	}
	if got := resolve(t, r, "v1").Hash.String(); got != first {
		t.Fatalf("v1 (packed) = %s, want %s", got, first)
	}
	fsys, err := r.FS(resolve(t, r, "main"), "environments")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := fs.ReadFile(fsys, "a.cue"); string(b) != "2" {
		t.Fatalf("a.cue at main = %q", b)
	}
	changes, err := r.Dirty(context.Background(), "environments")
	if err != nil || len(changes) != 0 {
		t.Fatalf("clean linked worktree: %v, %v", changes, err)
	}
	if err := os.WriteFile(filepath.Join(wt, "environments", "a.cue"), []byte("3"), 0o644); err != nil {
		t.Fatal(err)
	}
	if changes, err := r.Dirty(context.Background(), "environments"); err != nil || len(changes) != 1 {
		t.Fatalf("dirty linked worktree: %v, %v", changes, err)
	}
}

func TestShallowCloneSaysHowToDeepen(t *testing.T) {
	tr := newTestRepo(t)
	tr.commit("one", map[string]string{"environments/a.cue": "1"})
	tr.commit("two", map[string]string{"environments/a.cue": "2"})
	tr.commit("three", map[string]string{"environments/a.cue": "3"})
	clone := filepath.Join(t.TempDir(), "clone")
	runGit(t, t.TempDir(), "clone", "-q", "--depth", "1", "file://"+tr.dir, clone)

	r := open(t, clone)
	if !r.Shallow() {
		t.Fatal("the clone should be shallow")
	}
	head := resolve(t, r, "HEAD")
	if _, err := r.FS(head, "environments"); err != nil {
		t.Fatalf("reading HEAD needs no history: %v", err)
	}
	_, err := r.Resolve("HEAD~1")
	checkShallow(t, err)
	err = r.Changes(context.Background(), head, "environments", func(SpecCommit) error { return nil })
	checkShallow(t, err)
}

func checkShallow(t *testing.T, err error) {
	t.Helper()
	if !errors.Is(err, ErrShallow) || !strings.Contains(err.Error(), "git fetch --unshallow") || !strings.Contains(err.Error(), "fetch-depth: 0") {
		t.Fatalf("want a shallow-clone error saying how to deepen, got %v", err)
	}
}

func TestMergeBaseAgreesWithGit(t *testing.T) {
	tr := newTestRepo(t)
	tr.commit("base", map[string]string{"environments/a.cue": "1"})
	fork := tr.commit("fork point", map[string]string{"environments/b.cue": "1"})
	tr.git("checkout", "-q", "-b", "pr")
	tr.commit("pr change", map[string]string{"environments/a.cue": "pr"})
	tr.git("checkout", "-q", "main")
	mainTip := tr.commit("main moves on", map[string]string{"environments/c.cue": "main"})
	tr.git("checkout", "-q", "pr")
	// The pull request merges main back in: the merge base moves to main's tip.
	tr.git("merge", "-q", "--no-edit", "main")
	prTip := tr.commit("pr again", map[string]string{"environments/a.cue": "pr2"})

	r := open(t, tr.dir)
	ctx := context.Background()
	for _, tc := range []struct{ a, b, want string }{
		{"main", "pr", mainTip},
		{"pr", "main", mainTip},
		{"main~1", "pr~2", fork},
		{"main", "main", mainTip},
		{"main~1", "main", fork},
	} {
		mb, err := r.MergeBase(ctx, resolve(t, r, tc.a), resolve(t, r, tc.b))
		if err != nil {
			t.Fatal(err)
		}
		if want := tr.git("merge-base", tc.a, tc.b); want != tc.want {
			t.Fatalf("test is wrong: git merge-base %s %s = %s, want %s", tc.a, tc.b, want, tc.want)
		}
		if mb.Hash.String() != tc.want {
			t.Errorf("MergeBase(%s, %s) = %s, want %s", tc.a, tc.b, mb.Short(), tc.want[:7])
		}
	}
	_ = prTip
}

func TestDirtySeesOnlyTheSpecDirectory(t *testing.T) {
	tr := newTestRepo(t)
	tr.commit("one", map[string]string{
		"environments/a.cue":       "1",
		"environments/app/main.go": "package main",
		"environments/.gitignore":  "*.log\n",
		"other/file.txt":           "x",
		".gitignore":               "build/\n",
	})
	r := open(t, tr.dir)
	ctx := context.Background()
	check := func(want ...string) {
		t.Helper()
		got, err := r.Dirty(ctx, "environments")
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, c := range got {
			s = append(s, c.String())
		}
		if strings.Join(s, ", ") != strings.Join(want, ", ") {
			t.Fatalf("Dirty = %v, want %v", s, want)
		}
	}
	check()
	tr.write(map[string]string{
		"other/file.txt":            "changed outside the spec",
		"environments/debug.log":    "ignored",
		"environments/build/out.o":  "ignored by the root .gitignore",
		"environments/new/file.cue": "untracked",
	})
	check("added environments/new/file.cue")
	tr.write(map[string]string{"environments/a.cue": "2"})
	if err := os.Remove(filepath.Join(tr.dir, "environments/app/main.go")); err != nil {
		t.Fatal(err)
	}
	check("modified environments/a.cue", "deleted environments/app/main.go", "added environments/new/file.cue")
	tr.git("add", "-A")
	check("modified environments/a.cue", "deleted environments/app/main.go", "added environments/new/file.cue")
	tr.git("commit", "-q", "-m", "two")
	check()
	if err := os.Chmod(filepath.Join(tr.dir, "environments/a.cue"), 0o755); err != nil {
		t.Fatal(err)
	}
	check("mode environments/a.cue")
}

func TestChangesWalksOnlySpecChanges(t *testing.T) {
	tr := newTestRepo(t)
	tr.commit("readme", map[string]string{"README.md": "1"})
	c1 := tr.commit("add spec", map[string]string{"environments/a.cue": "1"})
	tr.commit("readme again", map[string]string{"README.md": "2"})
	c2 := tr.commit("change spec", map[string]string{"environments/a.cue": "2"})
	tr.git("checkout", "-q", "-b", "side", "HEAD~1")
	tr.commit("side change", map[string]string{"environments/side.cue": "s"})
	tr.git("checkout", "-q", "main")
	merge := func() string { tr.git("merge", "-q", "--no-edit", "side"); return tr.git("rev-parse", "HEAD") }()
	tr.commit("docs", map[string]string{"README.md": "3"})

	r := open(t, tr.dir)
	var got []string
	err := r.Changes(context.Background(), resolve(t, r, "HEAD"), "environments", func(c SpecCommit) error {
		got = append(got, c.Hash.String())
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{merge, c2, c1}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("Changes = %v, want merge, change, add (first parent only): %v", got, want)
	}
}

func TestSpecDirFromSubdirectoryFallsBackToTheRoot(t *testing.T) {
	tr := newTestRepo(t)
	tr.commit("one", map[string]string{"environments/a.cue": "1", "app/main.go": "package main", "app/environments/x.txt": "not a spec"})
	tr.commit("two", map[string]string{"app/specs/b.cue": "2"})
	r := open(t, tr.dir)
	c := resolve(t, r, "HEAD")
	first := resolve(t, r, "HEAD~1")

	t.Chdir(filepath.Join(tr.dir, "app"))
	for dir, want := range map[string]string{
		".":               "app",              // relative to the current directory, as on disk
		"environments":    "app/environments", // exists under app/ too: the current directory wins
		"specs":           "app/specs",
		"../environments": "environments",
	} {
		if got, err := r.SpecDir(dir, c); err != nil || got != want {
			t.Errorf("SpecDir(%q) = %q, %v; want %q", dir, got, err, want)
		}
	}
	// Not under app/ at the commit: the path from the repository's root.
	os.RemoveAll(filepath.Join(tr.dir, "app", "environments"))
	tr.git("rm", "-rq", "app/environments")
	tr.git("commit", "-qm", "drop app/environments")
	c = resolve(t, r, "HEAD")
	if got, err := r.SpecDir("environments", c); err != nil || got != "environments" {
		t.Errorf("SpecDir(environments) from app/ = %q, %v; want environments", got, err)
	}
	// Present in one of several commits is enough (a spec a change adds).
	if got, err := r.SpecDir("specs", first, c); err != nil || got != "app/specs" {
		t.Errorf("SpecDir(specs) in either commit = %q, %v", got, err)
	}
	_, err := r.SpecDir("nope", c)
	if err == nil || !strings.Contains(err.Error(), "neither app/nope/ (DIR from the current directory) nor nope/ (DIR from the repository's root) exists at commit "+c.Short()) {
		t.Errorf("a path in neither place: %v", err)
	}
	t.Chdir(tr.dir)
	_, err = r.SpecDir("nope", c, first)
	if err == nil || err.Error() != "nope/ does not exist at commits "+c.Short()+" and "+first.Short() {
		t.Errorf("from the root, one path is tried: %v", err)
	}
}

func TestShallowCloneSaysHowToFetchAMissingReference(t *testing.T) {
	tr := newTestRepo(t)
	tr.commit("one", map[string]string{"environments/a.cue": "1"})
	tr.commit("two", map[string]string{"environments/a.cue": "2"})
	tr.git("checkout", "-q", "-b", "pr")
	tr.commit("three", map[string]string{"environments/a.cue": "3"})
	clone := filepath.Join(t.TempDir(), "clone")
	runGit(t, t.TempDir(), "clone", "-q", "--depth", "1", "--branch", "pr", "file://"+tr.dir, clone)
	r := open(t, clone)

	for rev, want := range map[string]string{
		"origin/main":   "`git fetch origin main:refs/remotes/origin/main`",
		"origin/main~1": "`git fetch origin main:refs/remotes/origin/main`",
		"main":          "fetch it with `git fetch origin main:main`",
		"v1.2":          "fetch it with `git fetch origin v1.2:v1.2`",
		"deadbeef":      "`git fetch --unshallow`",
	} {
		_, err := r.Resolve(rev)
		if err == nil || !strings.Contains(err.Error(), "in this shallow clone") || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "fetch-depth: 0") {
			t.Errorf("Resolve(%q) = %v; want the hint %s", rev, err, want)
		}
	}
	// The reference exists but its history is cut off: deepen.
	_, err := r.Resolve("origin/pr~1")
	checkShallow(t, err)
}

func TestMergeBaseInAShallowClone(t *testing.T) {
	tr := newTestRepo(t)
	tr.commit("one", map[string]string{"environments/a.cue": "1"})
	tipOfMain := tr.commit("two", map[string]string{"environments/a.cue": "2"})
	tr.git("checkout", "-q", "-b", "pr")
	tr.commit("three", map[string]string{"environments/a.cue": "3"})
	tr.commit("four", map[string]string{"environments/a.cue": "4"})
	tr.git("checkout", "-q", "main")
	tr.commit("five", map[string]string{"environments/b.cue": "5"})

	// A pull request's CI checkout: only its head, then main fetched in
	// full. The base lies below the head's cut: say how to deepen.
	ci := filepath.Join(t.TempDir(), "ci")
	runGit(t, t.TempDir(), "clone", "-q", "--depth", "1", "--branch", "pr", "file://"+tr.dir, ci)
	runGit(t, ci, "fetch", "-q", "origin", "main:refs/remotes/origin/main")
	r := open(t, ci)
	_, err := r.MergeBase(context.Background(), resolve(t, r, "origin/main"), resolve(t, r, "HEAD"))
	checkShallow(t, err)

	// Cut at main's old tip, with the branch above it fetched: the base is
	// that tip, as git says, though its parents are missing.
	cut := filepath.Join(t.TempDir(), "cut")
	runGit(t, t.TempDir(), "clone", "-q", "--depth", "1", "--branch", "pr", "file://"+tr.dir, cut)
	runGit(t, cut, "fetch", "-q", "--depth", "3", "origin", "pr")
	runGit(t, cut, "fetch", "-q", "--depth", "1", "origin", tipOfMain+":refs/remotes/origin/old-main")
	want := runGit(t, cut, "merge-base", "origin/old-main", "HEAD")
	r = open(t, cut)
	mb, err := r.MergeBase(context.Background(), resolve(t, r, "origin/old-main"), resolve(t, r, "HEAD"))
	if err != nil || mb.Hash.String() != want || want != tipOfMain {
		t.Fatalf("merge base = %v, %v; git says %s (main's old tip %s)", mb, err, want, tipOfMain)
	}
}
