package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/phoenix-gitops/phoenix/executor"
	"github.com/phoenix-gitops/phoenix/render"
	"github.com/phoenix-gitops/phoenix/status"
)

func newStatusCmd(cl *clouds) *cobra.Command {
	var f statusFlags
	cmd := &cobra.Command{
		Use:   "status [DIR]",
		Short: "Show what serves each endpoint, what is retained, ages, health and commits",
		Long: `Status reads the live cloud and shows, for each (environment, role) of
the spec, the endpoint's address, the pool serving it (with weights during a
canary), that pool's age, health and git commit, and the retained pools
with whether they are warm or cold, and the newest build of each image
(--all lists every build). --format json writes all of it for programs. It changes nothing. Exit 0 when the cloud could be read, 1
otherwise.`,
		Example: `  phoenix status                       every environment of environments/
  phoenix status --env prod --all       and every image build
  phoenix status --format json | jq '.endpoints[] | {env, role, serving}'`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.src.Dir = specDir(args)
			if f.format != "text" && f.format != "json" {
				return fmt.Errorf("unknown --format %q: use text, json", f.format)
			}
			return runStatus(cmd.Context(), cl, cmd.OutOrStdout(), f)
		},
	}
	addSpecFlags(cmd, &f.src)
	cmd.Flags().StringArrayVar(&f.envs, "env", nil, "show only this environment (repeatable)")
	cmd.Flags().StringVar(&f.format, "format", "text", "output format: text or json")
	cmd.Flags().BoolVar(&f.all, "all", false, "list every image build, not only the newest of each image")
	return cmd
}

// statusFlags are the command line of phoenix status.
type statusFlags struct {
	src    specSource
	envs   []string
	format string
	all    bool // every image build in the text
}

func runStatus(ctx context.Context, cl *clouds, w io.Writer, f statusFlags) error {
	src, envs := f.src, f.envs
	desired, err := loadSpec(ctx, src)
	if err != nil {
		return err
	}
	scope, err := envScope(desired, envs)
	if err != nil {
		return err
	}
	clouds, err := cl.openReadOnly(ctx, desired)
	if err != nil {
		return err
	}
	live, err := executor.Observe(ctx, clouds, desired.Project)
	if err != nil {
		return err
	}
	if len(envs) == 0 {
		status.AddLeftEnvs(scope, live)
	}
	doc := status.Build(desired, live, scope)
	doc.Simulation = simulated(clouds)
	if f.format == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(doc)
	}
	if err := render.StatusText(w, doc, render.StatusOptions{Now: time.Now(), AllImages: f.all}); err != nil {
		return err
	}
	if note := localDownNote(clouds); note != "" {
		fmt.Fprintln(w, note)
	}
	return nil
}
