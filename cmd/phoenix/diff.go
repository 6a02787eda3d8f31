package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/executor"
	"github.com/phoenix-gitops/phoenix/gitspec"
	"github.com/phoenix-gitops/phoenix/history"
	"github.com/phoenix-gitops/phoenix/internal/tty"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/render"
	"github.com/phoenix-gitops/phoenix/specdiff"
)

// diffCommentMarker opens every pull-request comment (render.CommentMarker).
const diffCommentMarker = render.CommentMarker

// diffOptions are the inputs of `phoenix diff`.
type diffOptions struct {
	Base, Head string // revisions
	Dir        string
	Envs       []string
	Offline    bool
	Now        time.Time
}

// diffResult is what `phoenix diff` found (render.Diff, which renders it).
type diffResult = render.Diff

// cloudOpener opens the clouds a spec uses; tests pass an in-memory one.
type cloudOpener func(ctx context.Context, d *model.Desired) (cloud.Set, error)

func newDiffCmd(cl *clouds) *cobra.Command {
	var o diffOptions
	var format string
	cmd := &cobra.Command{
		Use:   "diff BASE HEAD [DIR]",
		Short: "What merging HEAD into BASE changes: the desired-state diff and the plan (a pull request's preview)",
		Long: `Diff compares the spec in DIR (default "environments") at the merge base
of BASE and HEAD with the spec at HEAD, as a pull request shows a change,
reading both straight from git objects (no checkout; the work tree is not
read). It prints:

  - the desired-state diff: images whose build ids change and why (steps,
    files, env, a rebaked parent), pools whose keys change and which
    settings moved, environments added or removed, retention and traffic;
  - the plan that applying HEAD would make against the live cloud now.

--format markdown is the pull-request comment (a one-line verdict, a
table, the plan graph and details collapsed, capped under GitHub's
comment size); it starts with the line ` + diffCommentMarker + ` so a
CI job can update its comment in place; when the diff fails, it is a
comment that says so, with the error in a code block, and the exit code
is still 1. Text from the spec or an error is escaped: a config value
cannot mention anyone, load an image, disguise a link or add HTML.

--offline skips the live cloud and prints the desired-state diff only: it
needs no cloud credentials (a pull request from a fork gets none). Secret
values never appear: a spec holds only references.

A pull request's spec is untrusted input, so its evaluation is bounded:
a compile that runs longer than PHOENIX_EVAL_TIMEOUT (default 1m) or
grows the heap past PHOENIX_EVAL_MEMORY (default 1GiB) stops with a
diagnostic naming the limit. Set them to raise or lower the limits, as
in PHOENIX_EVAL_MEMORY=2GiB phoenix diff main HEAD.`,
		Example: `  phoenix diff main HEAD                            what this branch does, as text
  phoenix diff origin/main HEAD --format markdown   the pull-request comment
  phoenix diff main HEAD --offline                  the desired-state diff only, no cloud
  phoenix diff v1.4 v1.5 deploy/specs --env prod    another spec folder, one environment`,
		Args: cobra.RangeArgs(2, 3),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "text" && format != "markdown" && format != "json" {
				return fmt.Errorf("unknown --format %q: use text, markdown, json", format)
			}
			o.Base, o.Head = args[0], args[1]
			o.Dir = specDir(args[2:])
			o.Now = time.Now()
			res, err := computeDiff(cmd.Context(), o, cl.openReadOnly)
			if err != nil && format == "markdown" {
				// The comment says why, and the command still fails.
				_ = render.FailureComment(cmd.OutOrStdout(), err)
			}
			if err != nil {
				return err
			}
			if err := writeDiff(cmd.OutOrStdout(), res, format); err != nil {
				return err
			}
			if res.Changes() {
				return withExitCode(exitChanges, nil)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "text", "output format: text, markdown or json")
	cmd.Flags().StringArrayVar(&o.Envs, "env", nil, "limit the plan to these environments (repeatable)")
	cmd.Flags().BoolVar(&o.Offline, "offline", false, "do not read the live cloud: print the desired-state diff only")
	return cmd
}

// computeDiff resolves both revisions and their merge base, compiles the
// spec at the merge base and at HEAD (at once), compares them and, unless
// offline, plans HEAD against the live state.
func computeDiff(ctx context.Context, o diffOptions, open cloudOpener) (*diffResult, error) {
	repo, err := gitspec.Open(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("diff: %w", err)
	}
	baseC, err := repo.Resolve(o.Base)
	if err != nil {
		return nil, err
	}
	headC, err := repo.Resolve(o.Head)
	if err != nil {
		return nil, err
	}
	mb, err := repo.MergeBase(ctx, baseC, headC)
	if err != nil {
		return nil, fmt.Errorf("finding the merge base of %s and %s: %w", o.Base, o.Head, err)
	}
	// The spec must be at HEAD or at the base: a change may add it, or
	// remove it (which compiling HEAD then reports).
	rel, err := repo.SpecDir(o.Dir, headC, mb)
	if err != nil {
		return nil, err
	}
	var baseD, headD *model.Desired
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		var err error
		baseD, err = history.Compiler(compileAt).IfPresent(gctx, repo, mb, rel, o.Dir) // nil: the pull request adds the spec
		return err
	})
	g.Go(func() error {
		var err error
		headD, err = compileAt(gctx, repo, headC, rel, o.Dir)
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	res := &diffResult{
		BaseRev: o.Base, HeadRev: o.Head, Base: baseC.Hash.String(), MergeBase: mb.Hash.String(),
		Head: headC.Hash.String(), Dir: rel, Desired: specdiff.Compare(baseD, headD).Only(o.Envs),
	}
	if o.Offline {
		return res, nil
	}
	clouds, err := open(ctx, headD)
	if err != nil {
		return nil, err
	}
	live, err := executor.Observe(ctx, clouds, headD.Project)
	if err != nil {
		return nil, err
	}
	p, err := planner.Make(headD, live, planner.Options{Envs: o.Envs, Now: o.Now, ImageKeep: -1,
		Explain: res.Desired.Reason, ExplainImage: res.Desired.ImageReason})
	if err != nil {
		return nil, err
	}
	res.Plan = render.FromPlan(p, render.Info{Commit: headD.Commit, Simulation: simulated(clouds)})
	return res, nil
}

// writeDiff picks the view of --format.
func writeDiff(w io.Writer, res *diffResult, format string) error {
	switch format {
	case "json":
		return render.WriteDiffJSON(w, res)
	case "markdown":
		return render.Comment(w, res)
	}
	return render.DiffText(w, res, tty.Color(w))
}
