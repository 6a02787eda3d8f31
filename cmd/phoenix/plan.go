package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/executor"
	"github.com/phoenix-gitops/phoenix/history"
	"github.com/phoenix-gitops/phoenix/internal/tty"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planfile"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/render"
)

// planFlags are the options of `phoenix plan`.
type planFlags struct {
	src     specSource
	envs    []string
	format  string
	out     string
	destroy bool
	// retryRejected plans a release again onto a pool release analysis
	// rejected, as apply --retry-rejected does.
	retryRejected bool
}

var planFormats = []string{"text", "json", "markdown"}

func newPlanCmd(cl *clouds) *cobra.Command {
	var f planFlags
	cmd := &cobra.Command{
		Use:   "plan [DIR]",
		Short: "Show what apply would bake, create, swap and prune, and why",
		Long: `Plan compiles the spec in DIR (default "environments"), reads the live
state of its clouds and prints the steps that would take the live state to
the spec: bakes of missing images (parents first), creates of new pools,
swaps of traffic (a swap to a retained pool is an instant rollback) and
prunes of pools past retention. Nothing is changed.

In a git repository, a create (and a rollback) says what moved in the
spec since the commit its endpoint's serving pool was made from, read
from git as phoenix diff reads it: config VERSION "1" → "2".

With --out FILE the plan is saved with fingerprints of the spec and of the
live state it was made from; phoenix apply --plan FILE carries out exactly
that plan, and refuses, naming what changed, if either changed since.`,
		Example: `  phoenix plan                         plan environments/ against its clouds
  phoenix plan --env staging           only staging
  phoenix plan --format json | jq .summary
  phoenix plan --format markdown > comment.md   a pull-request comment
  phoenix plan --out release.plan      review it, then: phoenix apply --plan release.plan
  phoenix plan --destroy               also remove what left the spec
  phoenix plan --retry-rejected        preview releasing a rejected pool again`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.src.Dir = specDir(args)
			return runPlan(cmd.Context(), cl, cmd.OutOrStdout(), cmd.ErrOrStderr(), f)
		},
	}
	addSpecFlags(cmd, &f.src)
	fl := cmd.Flags()
	fl.StringArrayVar(&f.envs, "env", nil, "plan only this environment (repeatable)")
	fl.StringVar(&f.format, "format", "text", "output format: "+strings.Join(planFormats, ", "))
	fl.StringVar(&f.out, "out", "", "save the plan to FILE for phoenix apply --plan FILE")
	fl.BoolVar(&f.destroy, "destroy", false, "also destroy what left the spec (those steps are marked destructive)")
	fl.BoolVar(&f.retryRejected, "retry-rejected", false, "plan releasing again a pool that release analysis rejected, as apply --retry-rejected does (otherwise its environment and role are held)")
	return cmd
}

func runPlan(ctx context.Context, cl *clouds, stdout, stderr io.Writer, f planFlags) error {
	if !slices.Contains(planFormats, f.format) {
		return fmt.Errorf("unknown --format %q: use %s", f.format, strings.Join(planFormats, ", "))
	}
	r, err := makePlan(ctx, cl, f.src, f.envs, planOptions(f.envs, f.destroy, f.retryRejected))
	if err != nil {
		return err
	}
	if r.note != "" {
		fmt.Fprintln(stderr, r.note)
	}
	if f.out != "" {
		saved, err := planfile.New(r.plan, r.desired, r.live, planfile.Options{Envs: f.envs, Destroy: f.destroy})
		if err != nil {
			return err
		}
		if err := planfile.Write(f.out, saved); err != nil {
			return err
		}
	}
	doc := render.FromPlan(r.plan, render.Info{Commit: r.desired.Commit, Clouds: r.clouds, Simulation: r.simulation})
	switch f.format {
	case "json":
		err = render.WriteJSON(stdout, doc)
	case "markdown":
		err = render.Markdown(stdout, doc, render.MarkdownOptions{})
	default:
		err = render.Text(stdout, doc, render.TextOptions{Color: tty.Color(stdout)})
	}
	if err != nil {
		return fmt.Errorf("writing the plan: %w", err)
	}
	if f.out != "" {
		fmt.Fprintf(stderr, "Saved the plan to %s. Apply exactly it with: %s\n", f.out, applySavedCommand(f.src, f.out, r.desired.Commit))
	}
	noteLocks(stderr, r.live, r.plan.Envs)
	if r.plan.Empty() {
		return nil
	}
	return withExitCode(exitChanges, nil)
}

// noteLocks says which environments of the plan an apply holds now: the
// live state is moving under the plan, which nothing else said (the plan
// looked final, and apply then waited for the lock or saw another plan).
// It goes to stderr, so JSON and Markdown on stdout stay clean.
func noteLocks(w io.Writer, live *cloud.Live, envs []string) {
	for _, l := range live.Locks {
		if slices.Contains(envs, l.Env) {
			fmt.Fprintf(w, "note: %s is locked by %s (an apply in progress; lease until %s): this plan may be out of date when it ends.\n",
				l.Env, l.Owner, l.Expires.Local().Format("15:04:05"))
		}
	}
}

// planned is a plan with what it was made from.
type planned struct {
	desired *model.Desired
	live    *cloud.Live
	plan    *planner.Plan
	clouds  []string
	note    string // said on stderr: the local cloud was read while down
	// simulation is true when the clouds were the in-memory simulation.
	simulation bool
}

// makePlan loads the spec, observes its clouds and plans; plan and graph
// share it.
func makePlan(ctx context.Context, cl *clouds, src specSource, envs []string, opts planner.Options) (*planned, error) {
	desired, err := loadSpec(ctx, src)
	if err != nil {
		return nil, err
	}
	// A mistyped --env fails here, before any cloud is opened (opening the
	// local cloud starts its supervisor).
	if _, err := envScope(desired, envs); err != nil {
		return nil, err
	}
	clouds, err := cl.openReadOnly(ctx, desired)
	if err != nil {
		return nil, err
	}
	scopeClouds(clouds, envs)
	live, err := executor.Observe(ctx, clouds, desired.Project)
	if err != nil {
		return nil, err
	}
	opts.Explain, opts.ExplainImage = history.Reasons(ctx, compileAt, src.Dir, desired, live, envs)
	plan, err := planner.Make(desired, live, opts)
	if err != nil {
		return nil, fmt.Errorf("planning: %w", err)
	}
	names := make([]string, 0, len(clouds))
	for n := range clouds {
		names = append(names, n)
	}
	slices.Sort(names)
	return &planned{desired: desired, live: live, plan: plan, clouds: names, note: localDownNote(clouds),
		simulation: simulated(clouds)}, nil
}

// planOptions are the planner options for a command line; plan and apply
// must agree on them or the plan shown is not the plan applied. Both add
// the Explain of history.Reasons, which needs the live state.
func planOptions(envs []string, destroy, retryRejected bool) planner.Options {
	return planner.Options{Envs: envs, Now: time.Now(), Destroy: destroy, ImageKeep: -1, RetryRejected: retryRejected}
}

// applySavedCommand is the apply command that carries out a plan saved to
// file: with the spec's DIR and --rev when they are not the defaults (the
// saved plan is checked against the spec read the same way), and
// --allow-dirty when the spec had uncommitted changes.
func applySavedCommand(src specSource, file, commit string) string {
	words := []string{"phoenix", "apply"}
	if src.Dir != "environments" {
		words = append(words, src.Dir)
	}
	if src.Rev != "" {
		words = append(words, "--rev", src.Rev)
	}
	if strings.HasSuffix(commit, dirtySuffix) {
		words = append(words, "--allow-dirty")
	}
	return shellJoin(append(words, "--plan", file))
}
