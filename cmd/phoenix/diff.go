package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/gitspec"
	"github.com/phoenix-gitops/phoenix/internal/tty"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/render"
	"github.com/phoenix-gitops/phoenix/specdiff"
)

func init() { register(newDiffCmd) }

// diffCommentMarker opens every pull-request comment so that CI can find
// its previous comment and update it in place.
const diffCommentMarker = "<!-- phoenix:diff -->"

// diffOptions are the inputs of `phoenix diff`.
type diffOptions struct {
	Base, Head string // revisions
	Dir        string
	Envs       []string
	Offline    bool
	Now        time.Time
}

// diffResult is what `phoenix diff` found.
type diffResult struct {
	BaseRev   string         `json:"base_rev"`
	HeadRev   string         `json:"head_rev"`
	Base      string         `json:"base"`       // the commit BASE names
	MergeBase string         `json:"merge_base"` // what HEAD is compared with
	Head      string         `json:"head"`
	Dir       string         `json:"dir"` // the spec's path in the repository
	Desired   *specdiff.Diff `json:"desired"`
	Plan      *render.Doc    `json:"plan,omitempty"` // nil with --offline
}

// cloudOpener opens the clouds a spec uses; tests pass an in-memory one.
type cloudOpener func(ctx context.Context, d *model.Desired) (cloud.Set, error)

func newDiffCmd() *cobra.Command {
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
			res, err := computeDiff(cmd.Context(), o, openCloudsReadOnly)
			if err != nil && format == "markdown" {
				// The comment says why, and the command still fails.
				_ = writeFailureComment(cmd.OutOrStdout(), err)
			}
			if err != nil {
				return err
			}
			if err := writeDiff(cmd.OutOrStdout(), res, format); err != nil {
				return err
			}
			if res.changes() {
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
		baseD, err = compileIfPresent(gctx, repo, mb, rel, o.Dir)
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
	live, err := clouds.Observe(ctx, headD.Project)
	if err != nil {
		return nil, err
	}
	p, err := planner.Make(headD, live, planner.Options{Envs: o.Envs, Now: o.Now, ImageKeep: -1,
		Explain: res.Desired.Reason, ExplainImage: res.Desired.ImageReason})
	if err != nil {
		return nil, err
	}
	res.Plan = render.FromPlan(p, render.Info{Commit: headD.Commit})
	return res, nil
}

// changes reports whether applying HEAD changes anything: the plan has
// steps, as phoenix plan's exit code says; with --offline (no plan), the
// desired state differs.
func (res *diffResult) changes() bool {
	if res.Plan != nil {
		return res.Plan.Changes
	}
	return !res.Desired.Empty()
}

// compileIfPresent compiles the spec at c, or returns nil when the spec
// directory does not exist there (a pull request that adds the spec).
func compileIfPresent(ctx context.Context, repo *gitspec.Repo, c *gitspec.Commit, rel, dir string) (*model.Desired, error) {
	if _, ok, err := repo.SubtreeHash(c, rel); err != nil || !ok {
		return nil, err
	}
	return compileAt(ctx, repo, c, rel, dir)
}

func writeDiff(w io.Writer, res *diffResult, format string) error {
	switch format {
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			FormatVersion string `json:"format_version"`
			*diffResult
		}{planner.FormatVersion, res})
	case "markdown":
		return writeDiffMarkdown(w, res)
	}
	return writeDiffText(w, res)
}

// header names what is compared: "main…HEAD · 3f2a1c9 → 7d2e0a1 · environments/".
func (res *diffResult) header() string {
	return fmt.Sprintf("%s…%s · spec %s at %s → %s", res.BaseRev, res.HeadRev, dirLabel(orRoot(res.Dir)),
		shortID(res.MergeBase), shortID(res.Head))
}

func orRoot(dir string) string {
	if dir == "" {
		return "."
	}
	return dir
}

func writeDiffText(w io.Writer, res *diffResult) error {
	color := tty.Color(w)
	fmt.Fprintf(w, "Phoenix diff · %s\n", res.header())
	if res.MergeBase != res.Base {
		fmt.Fprintf(w, "(compared with the merge base %s of %s and %s, as a pull request shows it)\n", shortID(res.MergeBase), res.BaseRev, res.HeadRev)
	}
	fmt.Fprintln(w)
	res.Desired.Text(w)
	if res.Plan == nil {
		return nil
	}
	fmt.Fprintln(w)
	return render.Text(w, res.Plan, render.TextOptions{Color: color, Title: "Plan if " + res.HeadRev + " is applied"})
}

// desiredVerdict counts what the spec change touches, for an offline diff.
func desiredVerdict(d *specdiff.Diff) string {
	rebakes, pools := 0, 0
	for _, im := range d.Images {
		if im.Rebake {
			rebakes++
		}
	}
	for _, p := range d.Pools {
		if p.KeyChanged {
			pools++
		}
	}
	return fmt.Sprintf("%s with a new build id, %s with a new key, %s changed",
		countOf(rebakes, "image"), countOf(pools, "pool"), countOf(len(d.Envs), "environment"))
}

// cutLines cuts s to at most n bytes at a line boundary.
func cutLines(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[:i+1]
	}
	return s
}
