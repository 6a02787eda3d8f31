package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/phoenix-gitops/phoenix/compiler"
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

// addSpecFlags adds the flags that choose the spec's source to cmd.
func addSpecFlags(cmd *cobra.Command, src *specSource) {
	// --rev and --allow-dirty come with git support.
	_ = cmd
	_ = src
}

// specDir returns the spec directory from the positional arguments.
func specDir(args []string) string {
	if len(args) > 0 {
		return args[0]
	}
	return "environments"
}

// loadSpec reads and compiles the spec. Spec errors come back as a
// diag.List that main prints with positions.
func loadSpec(ctx context.Context, src specSource) (*model.Desired, error) {
	if src.Dir == "" {
		src.Dir = "environments"
	}
	return compiler.LoadDir(ctx, src.Dir)
}
