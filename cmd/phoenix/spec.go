package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/spf13/cobra"

	"github.com/phoenix-gitops/phoenix/compiler"
	"github.com/phoenix-gitops/phoenix/gitspec"
	"github.com/phoenix-gitops/phoenix/model"
)

// specSource says where a command reads its spec: a directory in the work
// tree, or (with Rev) a path inside the repository at a git revision.
type specSource struct {
	Dir string // default "environments"
	Rev string // git revision; empty reads the work tree
	// RequireClean refuses a work tree with uncommitted changes to the spec
	// (apply), unless AllowDirty.
	RequireClean bool
	AllowDirty   bool
}

// dirtySuffix marks the commit of a spec read from a work tree that
// differs from it (--allow-dirty): model.DirtySuffix.
const dirtySuffix = model.DirtySuffix

// addSpecFlags adds the flags that choose the spec's source to cmd.
func addSpecFlags(cmd *cobra.Command, src *specSource) {
	cmd.Flags().StringVar(&src.Rev, "rev", "",
		"read the spec at a git revision (branch, tag, commit, HEAD~1) from the repository's objects, without a checkout")
	cmd.Flags().BoolVar(&src.AllowDirty, "allow-dirty", false,
		"accept a spec with uncommitted changes (pools record HEAD's commit marked -dirty)")
	if cmd.Name() != "apply" {
		// Only apply refuses a dirty spec; elsewhere the flag does nothing,
		// and listed in --help it said that plan or validate refuse one.
		// Hidden, not removed, so scripts that pass it everywhere still run.
		_ = cmd.Flags().MarkHidden("allow-dirty")
	}
}

// specDir returns the spec directory from the positional arguments. With
// none it is environments/ when that exists, else the current directory
// when it holds the spec (as terraform and cue read the directory they are
// run in), else environments/, whose absence the error then names.
func specDir(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	if info, err := os.Stat("environments"); err == nil && info.IsDir() {
		return "environments"
	}
	files, _ := filepath.Glob("*.cue")
	for _, f := range files {
		if b, err := os.ReadFile(f); err == nil && specPackage.Match(b) {
			return "."
		}
	}
	return "environments"
}

// specPackage finds the package clause of a spec file.
var specPackage = regexp.MustCompile(`(?m)^package\s+phoenix\s*$`)

// loadSpec reads and compiles the spec. Spec errors come back as a
// diag.List that main prints with positions. The result's Commit is the
// commit the spec came from: the revision's with Rev, HEAD's for a work
// tree inside a repository (marked -dirty if the spec differs from it),
// empty outside any repository.
func loadSpec(ctx context.Context, src specSource) (*model.Desired, error) {
	if src.Dir == "" {
		src.Dir = "environments"
	}
	if src.Rev != "" {
		repo, err := gitspec.Open(src.Dir)
		if err != nil {
			return nil, fmt.Errorf("reading the spec at %s: %w", src.Rev, err)
		}
		c, err := repo.Resolve(src.Rev)
		if err != nil {
			return nil, err
		}
		rel, err := repo.SpecDir(src.Dir, c)
		if err != nil {
			return nil, err
		}
		return compileAt(ctx, repo, c, rel, src.Dir)
	}
	commit, err := workTreeCommit(ctx, src)
	if err != nil {
		return nil, err
	}
	d, err := compiler.LoadDir(ctx, src.Dir)
	if err != nil {
		return nil, err
	}
	d.Commit = commit
	return d, nil
}

// openSpecRepo opens the repository holding dir and returns dir's path
// inside it.
func openSpecRepo(dir string) (*gitspec.Repo, string, error) {
	repo, err := gitspec.Open(dir)
	if err != nil {
		return nil, "", err
	}
	rel, err := repo.RelPath(dir)
	if err != nil {
		return nil, "", err
	}
	return repo, rel, nil
}

// compileAt compiles the spec at rel in commit c, read from git objects.
// Diagnostics name files as git does, by their path inside the repository
// whatever the current directory ("3f2a1c9:environments/web.cue", which
// `git show` takes as it is).
func compileAt(ctx context.Context, repo *gitspec.Repo, c *gitspec.Commit, rel, dir string) (*model.Desired, error) {
	fsys, err := repo.FS(c, rel)
	if err != nil {
		return nil, err
	}
	name := rel
	if name == "" {
		name = filepath.ToSlash(filepath.Clean(dir))
	}
	d, err := compiler.Load(ctx, fsys, compiler.Options{Name: c.Short() + ":" + name})
	if err != nil {
		return nil, err
	}
	d.Source = fsys
	d.Commit = c.Hash.String()
	return d, nil
}

// workTreeCommit returns HEAD's hash for a spec in a work tree ("" outside
// a repository), refusing uncommitted changes to the spec when src asks
// for a clean tree.
func workTreeCommit(ctx context.Context, src specSource) (string, error) {
	repo, rel, err := openSpecRepo(src.Dir)
	if errors.Is(err, gitspec.ErrNotRepo) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the spec's git commit: %w", err)
	}
	defer repo.Close()
	strict := src.RequireClean && !src.AllowDirty
	head, err := repo.Head()
	if err != nil {
		return "", err
	}
	if head == nil {
		if strict {
			return "", fmt.Errorf("the spec in %s is not committed yet (the repository has no commits): commit it, or pass --allow-dirty", dirLabel(src.Dir))
		}
		return "", nil
	}
	changes, err := repo.Dirty(ctx, rel)
	if err != nil {
		return "", err
	}
	if len(changes) == 0 {
		return head.Hash.String(), nil
	}
	if strict {
		return "", fmt.Errorf("the spec in %s has uncommitted changes: %s; commit them, or pass --allow-dirty", dirLabel(src.Dir), describeChanges(changes))
	}
	return head.Hash.String() + dirtySuffix, nil
}

// describeChanges lists the first few changes for an error message.
func describeChanges(changes []gitspec.Change) string {
	const show = 5
	var parts []string
	for i, c := range changes {
		if i == show {
			parts = append(parts, fmt.Sprintf("and %d more", len(changes)-show))
			break
		}
		parts = append(parts, c.String())
	}
	return strings.Join(parts, ", ")
}

func dirLabel(dir string) string {
	return strings.TrimSuffix(filepath.ToSlash(dir), "/") + "/"
}
