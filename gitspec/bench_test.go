package gitspec_test

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/phoenix-gitops/phoenix/compiler"
	"github.com/phoenix-gitops/phoenix/gitspec"
)

// Shape of the generated repository of BenchmarkDiffGit.
const (
	benchCommits  = 2000 // on main
	benchEnvFiles = 998  // + images.cue and roles.cue = 1,000 spec files
	benchPRFork   = 1990 // the pull request branches off main's commit 1990
	benchPRCommit = 5    // commits on the pull request
)

// makeBenchRepo writes the repository with `git fast-import`, which
// produces a pack directly (as a clone would have), in well under a second.
// Each commit on main changes one environment's config; the pull request
// branch forks near main's tip and changes a few more.
func makeBenchRepo(b testing.TB) string {
	b.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		b.Skip("git CLI not installed")
	}
	dir := b.TempDir()
	var s bytes.Buffer
	when := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	blob := func(name, body string) {
		fmt.Fprintf(&s, "M 100644 inline environments/%s\ndata %d\n%s\n", name, len(body), body)
	}
	commit := func(ref string, mark int, from int, msg string, files func()) {
		when += 60
		fmt.Fprintf(&s, "commit %s\nmark :%d\ncommitter Bench <bench@example.com> %d +0000\ndata %d\n%s\n", ref, mark, when, len(msg), msg)
		if from > 0 {
			fmt.Fprintf(&s, "from :%d\n", from)
		}
		files()
	}
	commit("refs/heads/main", 1, 0, "initial spec", func() {
		blob("images.cue", benchImages)
		blob("roles.cue", benchRoles)
		for i := 0; i < benchEnvFiles; i++ {
			blob(benchEnvName(i), benchEnv(i, 1))
		}
	})
	for c := 2; c <= benchCommits; c++ {
		i := c % benchEnvFiles
		commit("refs/heads/main", c, c-1, fmt.Sprintf("bump e%04d", i), func() { blob(benchEnvName(i), benchEnv(i, c)) })
	}
	for k := 1; k <= benchPRCommit; k++ {
		from := benchCommits + k - 1
		if k == 1 {
			from = benchPRFork
		}
		i := (k * 97) % benchEnvFiles
		commit("refs/heads/pr", benchCommits+k, from, fmt.Sprintf("pr: bump e%04d", i), func() { blob(benchEnvName(i), benchEnv(i, 100000+k)) })
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"fast-import", "--quiet"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "HOME="+dir)
		if args[0] == "fast-import" {
			cmd.Stdin = &s
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("git %s: %v\n%s", args[0], err, out)
		}
	}
	return dir
}

func benchEnvName(i int) string { return fmt.Sprintf("env-%04d.cue", i) }

func benchEnv(i, version int) string {
	return fmt.Sprintf(`package phoenix

environments: e%04d: {
	roles: web: {
		endpoint: "127.0.%d.%d:18080"
		config: SHARD: "%d"
	}
	config: VERSION: "%d"
	secrets: DB: "env:DB_PASSWORD"
	retention: keep: 2
}
`, i, 1+i/250, 1+i%250, i, version)
}

const benchImages = `package phoenix

project: "bench"

images: {
	base: {from: "scratch", steps: ["mkdir -p etc"]}
	runtime: {parent: "base", steps: ["mkdir -p bin"]}
	app: {parent: "runtime", steps: ["echo app > bin/app"]}
}
`

const benchRoles = `package phoenix

roles: web: {
	image:   "app"
	command: "bin/app"
	count:   2
}
`

// readAll reads every file of fsys through the fs.FS interface, into a
// MapFS for the compile half of the benchmark.
func readAll(fsys fs.FS) (fstest.MapFS, error) {
	out := fstest.MapFS{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		out[p] = &fstest.MapFile{Data: data, Mode: 0o644}
		return nil
	})
	return out, err
}

// gitPart is what `phoenix diff main pr` does in git: open the repository,
// resolve both revisions, find the merge base, read both spec trees fully.
func gitPart(ctx context.Context, dir string) (base, head fstest.MapFS, err error) {
	repo, err := gitspec.Open(dir)
	if err != nil {
		return nil, nil, err
	}
	defer repo.Close()
	mainTip, err := repo.Resolve("main")
	if err != nil {
		return nil, nil, err
	}
	prTip, err := repo.Resolve("pr")
	if err != nil {
		return nil, nil, err
	}
	mb, err := repo.MergeBase(ctx, mainTip, prTip)
	if err != nil {
		return nil, nil, err
	}
	var trees [2]fstest.MapFS
	for i, c := range []*gitspec.Commit{mb, prTip} {
		fsys, err := repo.FS(c, "environments")
		if err != nil {
			return nil, nil, err
		}
		if trees[i], err = readAll(fsys); err != nil {
			return nil, nil, err
		}
	}
	return trees[0], trees[1], nil
}

var (
	coldOnce    sync.Once
	coldCompile time.Duration
)

// BenchmarkDiffGit measures `phoenix diff` on a repository of 2,000
// commits and 1,000 spec files, split into the git part (resolve both
// revisions, merge base, read both trees through the fs.FS; target under
// 150 ms) and the two compiles, in one run.
func BenchmarkDiffGit(b *testing.B) {
	dir := makeBenchRepo(b)
	ctx := context.Background()
	// The compiler caches files by content for the life of the process,
	// so only the first compile of these specs is what one `phoenix diff`
	// pays (its second compile shares 999 of 1,000 files with the first);
	// report that separately from the warm loop.
	coldOnce.Do(func() {
		base, head, err := gitPart(ctx, dir)
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		for _, fsys := range []fstest.MapFS{base, head} {
			if _, err := compiler.Load(ctx, fsys, compiler.Options{Name: "environments"}); err != nil {
				b.Fatal(err)
			}
		}
		coldCompile = time.Since(t0)
	})
	var gitTime, compileTime time.Duration
	files := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		base, head, err := gitPart(ctx, dir)
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		for _, fsys := range []fstest.MapFS{base, head} {
			if _, err := compiler.Load(ctx, fsys, compiler.Options{Name: "environments"}); err != nil {
				b.Fatal(err)
			}
		}
		t2 := time.Now()
		gitTime += t1.Sub(t0)
		compileTime += t2.Sub(t1)
		files = len(head)
	}
	b.StopTimer()
	if files != benchEnvFiles+2 {
		b.Fatalf("read %d spec files, want %d", files, benchEnvFiles+2)
	}
	ms := func(d time.Duration) float64 { return float64(d) / float64(b.N) / float64(time.Millisecond) }
	b.ReportMetric(ms(gitTime), "git-ms/op")
	b.ReportMetric(ms(compileTime), "compile-warm-ms/op")
	b.ReportMetric(float64(coldCompile)/float64(time.Millisecond), "compile-cold-ms")
	b.ReportMetric(0, "ns/op")
}

// TestBenchRepoMergeBase checks the generated history is what the
// benchmark claims: the merge base of main and pr is main's commit 1990.
func TestBenchRepoMergeBase(t *testing.T) {
	if testing.Short() {
		t.Skip("generates a 2,000-commit repository")
	}
	dir := makeBenchRepo(t)
	repo, err := gitspec.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, _ := repo.Resolve("main")
	p, _ := repo.Resolve("pr")
	mb, err := repo.MergeBase(context.Background(), m, p)
	if err != nil {
		t.Fatal(err)
	}
	want, err := repo.Resolve(fmt.Sprintf("main~%d", benchCommits-benchPRFork))
	if err != nil {
		t.Fatal(err)
	}
	if mb.Hash != want.Hash {
		t.Fatalf("merge base %s, want %s", mb.Short(), want.Short())
	}
	if !strings.HasPrefix(mb.Subject, "bump") {
		t.Fatalf("merge base subject %q", mb.Subject)
	}
}

// BenchmarkSpecChanges walks the 2,000 first-parent commits of the
// generated repository comparing the spec's subtree hashes (what
// `phoenix history` does before it compiles anything).
func BenchmarkSpecChanges(b *testing.B) {
	dir := makeBenchRepo(b)
	ctx := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		repo, err := gitspec.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		head, err := repo.Resolve("main")
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		if err := repo.Changes(ctx, head, "environments", func(gitspec.SpecCommit) error { n++; return nil }); err != nil {
			b.Fatal(err)
		}
		repo.Close()
		if n != benchCommits {
			b.Fatalf("%d changes, want %d", n, benchCommits)
		}
	}
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(time.Millisecond), "ms/op")
	b.ReportMetric(0, "ns/op")
}
