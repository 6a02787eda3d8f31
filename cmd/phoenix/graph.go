package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/phoenix-gitops/phoenix/render"
)

var graphFormats = []string{"dot", "mermaid"}

func newGraphCmd(cl *clouds) *cobra.Command {
	var (
		src     specSource
		envs    []string
		format  string
		destroy bool
	)
	cmd := &cobra.Command{
		Use:   "graph [DIR]",
		Short: "Print the plan's steps and what each waits for, as DOT or Mermaid",
		Long: `Graph makes the same plan as phoenix plan and prints its DAG: one node per
step (bake, create, swap, prune) and an edge from each step to the steps
that wait for it. Apply runs every step as soon as its predecessors are
done, so the graph shows what runs in parallel and what is on the critical
path. Node ids are derived from step ids, so the same plan gives the same
graph.`,
		Example: `  phoenix graph | dot -Tsvg > plan.svg
  phoenix graph --format mermaid       paste into a Markdown file or a pull request
  phoenix graph --env prod`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src.Dir = specDir(args)
			return runGraph(cmd.Context(), cl, cmd.OutOrStdout(), src, envs, format, destroy)
		},
	}
	addSpecFlags(cmd, &src)
	fl := cmd.Flags()
	fl.StringArrayVar(&envs, "env", nil, "graph only this environment's plan (repeatable)")
	fl.StringVar(&format, "format", "dot", "output format: "+strings.Join(graphFormats, ", "))
	fl.BoolVar(&destroy, "destroy", false, "plan as with --destroy (what left the spec is destroyed)")
	return cmd
}

func runGraph(ctx context.Context, cl *clouds, stdout io.Writer, src specSource, envs []string, format string, destroy bool) error {
	if !slices.Contains(graphFormats, format) {
		return fmt.Errorf("unknown --format %q: use %s", format, strings.Join(graphFormats, ", "))
	}
	r, err := makePlan(ctx, cl, src, envs, planOptions(envs, destroy, false))
	if err != nil {
		return err
	}
	doc := render.FromPlan(r.plan, render.Info{Commit: r.desired.Commit, Clouds: r.clouds, Simulation: r.simulation})
	if format == "mermaid" {
		return render.Mermaid(stdout, doc)
	}
	return render.DOT(stdout, doc)
}
