package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/phoenix-gitops/phoenix/cloud/local"
)

// newSuperviseCmd is the local cloud's supervisor, run detached by the
// first command that needs it. It is hidden: people use `phoenix cloud`.
func newSuperviseCmd() *cobra.Command {
	var home string
	cmd := &cobra.Command{
		Use:    "supervise",
		Short:  "Run the local cloud's supervisor in the foreground (started by phoenix itself)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if home == "" {
				home = localHome()
			}
			err := local.RunSupervisor(cmd.Context(), home)
			if errors.Is(err, local.ErrSupervisorRunning) {
				return nil // another one won the race to start: it serves
			}
			return err
		},
	}
	cmd.Flags().StringVar(&home, "home", "", "PHOENIX_HOME to supervise")
	return cmd
}
