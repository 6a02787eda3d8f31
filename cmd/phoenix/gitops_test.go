package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/memory"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
	"github.com/phoenix-gitops/phoenix/render"
)

// gitopsRepo is a real repository, made with the git CLI, holding a small
// spec in environments/ with a file copied into an image.
type gitopsRepo struct {
	t   *testing.T
	dir string
}

func newGitopsRepo(t *testing.T) *gitopsRepo {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git CLI not installed")
	}
	r := &gitopsRepo{t: t, dir: t.TempDir()}
	r.git("init", "-q", "-b", "main")
	return r
}

func (r *gitopsRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = r.dir
	cmd.Env = append(os.Environ(),
		"GIT_AUTHOR_NAME=Ana", "GIT_AUTHOR_EMAIL=ana@example.com",
		"GIT_COMMITTER_NAME=Ana", "GIT_COMMITTER_EMAIL=ana@example.com",
		"GIT_CONFIG_NOSYSTEM=1", "HOME="+r.dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func (r *gitopsRepo) write(name, body string) {
	r.t.Helper()
	p := filepath.Join(r.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		r.t.Fatal(err)
	}
}

func (r *gitopsRepo) commit(msg string) string {
	r.t.Helper()
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

// specVersion writes the spec with the given config VERSION per
// environment and prod's web count.
func (r *gitopsRepo) specVersion(staging, prod string, prodCount int) {
	r.write("environments/images.cue", `package phoenix

project: "shop"

images: {
	base: {from: "scratch", steps: ["mkdir -p etc"]}
	web: {
		parent: "base"
		files: "srv/app": "app"
		steps: ["ls srv/app"]
	}
}

roles: web: {image: "web", command: "srv/app/run", count: 1}
`)
	r.write("environments/app/run", "#!/bin/sh\necho hello\n")
	r.write("environments/staging.cue", `package phoenix

environments: staging: {
	roles: web: endpoint: "127.0.0.1:18181"
	config: VERSION: "`+staging+`"
	secrets: DB: "env:DB_PASSWORD"
}
`)
	r.write("environments/prod.cue", `package phoenix

environments: prod: {
	after: ["staging"]
	roles: web: {endpoint: "127.0.0.1:18182", count: `+strconv.Itoa(prodCount)+`}
	config: VERSION: "`+prod+`"
	retention: {keep: 2, warm: 1}
}
`)
}

func (r *gitopsRepo) spec() string { return filepath.Join(r.dir, "environments") }

func poolConfig(t *testing.T, d *model.Desired, env, key string) string {
	t.Helper()
	for _, p := range d.Pools {
		if p.Env == env {
			return p.Config[key]
		}
	}
	t.Fatalf("no pool in %s", env)
	return ""
}

func TestLoadSpecAtRevisionWhileWorkTreeDiffers(t *testing.T) {
	r := newGitopsRepo(t)
	ctx := context.Background()
	r.specVersion("1", "1", 2)
	v1 := r.commit("v1")
	r.specVersion("2", "1", 2)
	v2 := r.commit("v2")

	// Clean: the work tree and HEAD's objects give the same ids (files
	// and modes hash alike from disk and from git).
	wt, err := loadSpec(ctx, specSource{Dir: r.spec(), RequireClean: true})
	if err != nil {
		t.Fatal(err)
	}
	at, err := loadSpec(ctx, specSource{Dir: r.spec(), Rev: "HEAD"})
	if err != nil {
		t.Fatal(err)
	}
	if wt.Commit != v2 || at.Commit != v2 {
		t.Fatalf("commits: work tree %q, --rev HEAD %q, want %s", wt.Commit, at.Commit, v2)
	}
	for i := range wt.Pools {
		if wt.Pools[i].Key != at.Pools[i].Key || wt.Pools[i].BuildID != at.Pools[i].BuildID {
			t.Fatalf("pool %s/%s differs between work tree and git objects", wt.Pools[i].Env, wt.Pools[i].Role)
		}
	}

	// The work tree moves on, uncommitted.
	r.specVersion("3", "1", 2)
	old, err := loadSpec(ctx, specSource{Dir: r.spec(), Rev: "HEAD~1"})
	if err != nil {
		t.Fatal(err)
	}
	if old.Commit != v1 || poolConfig(t, old, "staging", "VERSION") != "1" {
		t.Fatalf("--rev HEAD~1: commit %s, VERSION %s", old.Commit, poolConfig(t, old, "staging", "VERSION"))
	}
	if b, err := os.ReadFile(filepath.Join(r.spec(), "staging.cue")); err != nil || !strings.Contains(string(b), `"3"`) {
		t.Fatalf("reading a revision must not touch the work tree: %s %v", b, err)
	}

	// A dirty spec: refused where a clean one is required, marked otherwise.
	_, err = loadSpec(ctx, specSource{Dir: r.spec(), RequireClean: true})
	if err == nil || !strings.Contains(err.Error(), "has uncommitted changes: modified environments/staging.cue") ||
		!strings.Contains(err.Error(), "--allow-dirty") {
		t.Fatalf("dirty spec with RequireClean: %v", err)
	}
	dirty, err := loadSpec(ctx, specSource{Dir: r.spec(), RequireClean: true, AllowDirty: true})
	if err != nil {
		t.Fatal(err)
	}
	if dirty.Commit != v2+dirtySuffix || poolConfig(t, dirty, "staging", "VERSION") != "3" {
		t.Fatalf("--allow-dirty: commit %q", dirty.Commit)
	}
	// An untracked file under the spec is a change too.
	r.git("checkout", "-q", "--", ".")
	r.write("environments/extra.cue", "package phoenix\n")
	if _, err := loadSpec(ctx, specSource{Dir: r.spec(), RequireClean: true}); err == nil || !strings.Contains(err.Error(), "added environments/extra.cue") {
		t.Fatalf("untracked file: %v", err)
	}

	// From a subdirectory, DIR relative to it.
	t.Chdir(filepath.Join(r.dir, "environments", "app"))
	sub, err := loadSpec(ctx, specSource{Dir: "..", Rev: "main~1"})
	if err != nil || sub.Commit != v1 {
		t.Fatalf("from a subdirectory: %v, %v", sub, err)
	}
}

func TestLoadSpecOutsideARepository(t *testing.T) {
	r := newGitopsRepo(t)
	r.specVersion("1", "1", 2)
	if err := os.RemoveAll(filepath.Join(r.dir, ".git")); err != nil {
		t.Fatal(err)
	}
	d, err := loadSpec(context.Background(), specSource{Dir: r.spec(), RequireClean: true})
	if err != nil || d.Commit != "" {
		t.Fatalf("outside git: commit %q, %v", d.Commit, err)
	}
	if _, err := loadSpec(context.Background(), specSource{Dir: r.spec(), Rev: "HEAD"}); err == nil || !strings.Contains(err.Error(), "not a git repository") {
		t.Fatalf("--rev outside git: %v", err)
	}
}

func TestDiffAcrossAMergeUsesTheMergeBase(t *testing.T) {
	r := newGitopsRepo(t)
	r.specVersion("1", "1", 2)
	r.commit("v1")
	r.git("checkout", "-q", "-b", "pr")
	r.specVersion("2", "1", 2)
	r.commit("staging: VERSION 2")
	r.git("checkout", "-q", "main")
	r.specVersion("1", "1", 3)
	mainTip := r.commit("prod: 3 servers")
	r.git("checkout", "-q", "pr")
	r.git("merge", "-q", "--no-edit", "main")
	r.git("checkout", "-q", "main")

	res, err := computeDiff(context.Background(), diffOptions{Base: "main", Head: "pr", Dir: r.spec(), Offline: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.MergeBase != mainTip {
		t.Fatalf("merge base %s, want main's tip %s (the pull request merged main)", res.MergeBase, mainTip)
	}
	// Only the pull request's own change shows: prod's count came from
	// main and is not the pull request's doing.
	if len(res.Desired.Pools) != 1 || res.Desired.Pools[0].Env != "staging" || res.Desired.Pools[0].Why() != `config VERSION "1" → "2"` {
		t.Fatalf("desired diff: %+v", res.Desired.Pools)
	}
	var md bytes.Buffer
	if err := writeDiff(&md, res, "markdown"); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(md.String(), diffCommentMarker) || !strings.Contains(md.String(), "VERSION") {
		t.Fatalf("markdown:\n%s", md.String())
	}
}

// memoryClouds opens one in-memory cloud as "local" for every command.
func memoryClouds(c *memory.Cloud) cloudOpener {
	return func(context.Context, *model.Desired) (cloud.Set, error) {
		return cloud.Set{model.CloudLocal: c}, nil
	}
}

// applyRev plans the spec at rev against the cloud and applies it.
func applyRev(t *testing.T, c *memory.Cloud, dir, rev string) *planner.Plan {
	t.Helper()
	ctx := context.Background()
	d, err := loadSpec(ctx, specSource{Dir: dir, Rev: rev})
	if err != nil {
		t.Fatal(err)
	}
	p := planRev(t, c, d)
	if err := plantest.Apply(ctx, cloud.Set{model.CloudLocal: c}, d, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func planRev(t *testing.T, c *memory.Cloud, d *model.Desired) *planner.Plan {
	t.Helper()
	live, err := c.Observe(context.Background(), d.Project)
	if err != nil {
		t.Fatal(err)
	}
	p, err := planner.Make(d, live, planner.Options{Now: time.Now(), ImageKeep: -1})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRevertPlansSwapsOnlyAndHistoryShowsRetainedPools(t *testing.T) {
	r := newGitopsRepo(t)
	ctx := context.Background()
	c := memory.New(memory.WithName(model.CloudLocal))
	r.specVersion("1", "1", 2)
	a := r.commit("release 1")
	applyRev(t, c, r.spec(), "HEAD")
	r.specVersion("2", "2", 2)
	b := r.commit("release 2")
	applyRev(t, c, r.spec(), "HEAD")
	r.git("revert", "--no-edit", "HEAD")
	revert := r.git("rev-parse", "HEAD")

	// History before the revert is applied: release 2 serves, release 1's
	// pools are retained, so the revert (back to release 1) is a swap.
	h, err := computeHistory(ctx, historyOptions{Env: "prod", Dir: r.spec(), Rev: "HEAD", Limit: 10}, memoryClouds(c))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, hc := range h.Changes {
		got[hc.Commit] = hc.Back + " " + hc.Roles[0].State
	}
	want := map[string]string{
		revert: "swap retained (warm)",
		b:      "current serving",
		a:      "swap retained (warm)",
	}
	if len(h.Changes) != 3 || got[revert] != want[revert] || got[b] != want[b] || got[a] != want[a] {
		t.Fatalf("history = %v, want %v", got, want)
	}
	if h.Changes[0].Commit != revert || h.Changes[0].Roles[0].MadeAt != a[:7] {
		t.Fatalf("newest first, and the revert reuses release 1's pool: %+v", h.Changes[0])
	}
	var text bytes.Buffer
	render.HistoryText(&text, h)
	if !strings.Contains(text.String(), "swap (instant)") || !strings.Contains(text.String(), "retained (warm)") {
		t.Fatalf("history text:\n%s", text.String())
	}

	// The revert's plan: swaps to the retained pools, nothing else.
	d, err := loadSpec(ctx, specSource{Dir: r.spec(), Rev: "HEAD"})
	if err != nil {
		t.Fatal(err)
	}
	p := planRev(t, c, d)
	if len(p.Steps) == 0 {
		t.Fatal("the revert plans nothing")
	}
	for _, s := range p.Steps {
		if s.Kind != planner.Swap || !s.Rollback {
			t.Fatalf("a revert to retained pools must plan rollback swaps only, got %s %s (%s)", s.Kind, s.ID, s.Reason)
		}
	}
	doc := render.FromPlan(p, render.Info{Commit: d.Commit})
	var txt, md, js bytes.Buffer
	if err := render.Text(&txt, doc, render.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := render.Markdown(&md, doc, render.MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := render.WriteJSON(&js, doc); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"text": txt.String(), "markdown": md.String(), "json": js.String()} {
		if !strings.Contains(strings.ToLower(out), "rollback") {
			t.Errorf("the %s plan does not say rollback:\n%s", name, out)
		}
	}

	// The pull-request view of the revert says the same.
	res, err := computeDiff(ctx, diffOptions{Base: "HEAD~1", Head: "HEAD", Dir: r.spec(), Now: time.Now()}, memoryClouds(c))
	if err != nil {
		t.Fatal(err)
	}
	if s := res.Plan.Summary; s.Bake+s.Create+s.Prune != 0 || s.Swap != 2 || len(res.Plan.Rollback) != 2 {
		t.Fatalf("diff of the revert: summary %+v rollback %v", s, res.Plan.Rollback)
	}
	for _, s := range res.Plan.Steps { // the plan data, as JSON prints it, says what the rollback undoes
		if !strings.Contains(s.Reason, `config VERSION "2" → "1"`) {
			t.Errorf("diff's plan step %s: reason %q", s.ID, s.Reason)
		}
	}
	var comment bytes.Buffer
	if err := writeDiff(&comment, res, "markdown"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(comment.String(), "**Rollback: swaps only**") || !strings.Contains(comment.String(), "#### prod · rollback (swaps only)") ||
		!strings.Contains(comment.String(), `config VERSION "2" → "1"`) {
		t.Fatalf("comment:\n%s", comment.String())
	}

	// Applied: the pools serving are release 1's, recording its commit.
	if err := plantest.Apply(ctx, cloud.Set{model.CloudLocal: c}, d, p); err != nil {
		t.Fatal(err)
	}
	h, err = computeHistory(ctx, historyOptions{Env: "prod", Dir: r.spec(), Rev: "HEAD", Limit: 10}, memoryClouds(c))
	if err != nil {
		t.Fatal(err)
	}
	if h.Changes[0].Back != "current" || h.Changes[1].Back != "swap" || h.Changes[2].Back != "current" {
		t.Fatalf("after the revert: %+v", h.Changes)
	}
}

func TestDiffOfAPullRequestThatAddsTheSpec(t *testing.T) {
	r := newGitopsRepo(t)
	r.write("README.md", "shop\n")
	r.commit("readme")
	r.specVersion("1", "1", 2)
	r.commit("add the spec")
	res, err := computeDiff(context.Background(), diffOptions{Base: "HEAD~1", Head: "HEAD", Dir: r.spec(), Offline: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := res.Desired
	if len(d.Envs) != 2 || len(d.Pools) != 2 || len(d.Images) != 2 || d.Envs[0].Status != "added" {
		t.Fatalf("a new spec adds everything: %+v", d)
	}
}

// TestMarkLive: what going back to each commit takes is the planner's
// decision, with the live pool it rests on; a retained pool with the key
// that the planner would not reuse (drift) is a rebuild, with the
// planner's reason.
