package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/phoenix-gitops/phoenix/model"
)

func newValidateCmd() *cobra.Command {
	var src specSource
	cmd := &cobra.Command{
		Use:   "validate [DIR]",
		Short: "Check a spec and print every error with file:line:col",
		Long: `Validate compiles the spec in DIR (default "environments") and reports
every problem at once, each with the position of the offending value.
It runs nothing and reads no cloud. Exit 0 when the spec is valid, 1
otherwise.`,
		Example: `  phoenix validate                     the spec in environments/
  phoenix validate specs/shop          another spec directory
  phoenix validate --rev main          the spec as committed on main (no checkout)`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			src.Dir = specDir(args)
			d, err := loadSpec(cmd.Context(), src)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: valid · project %s · %s\n", dirLabel(src.Dir), d.Project, compiledSummary(d))
			return nil
		},
	}
	addSpecFlags(cmd, &src)
	return cmd
}

// compiledSummary counts what a compiled spec holds: "3 images, 3
// environments, 6 pools".
func compiledSummary(d *model.Desired) string {
	return fmt.Sprintf("%s, %s, %s",
		countOf(len(d.Images), "image"), countOf(len(d.Environments), "environment"), countOf(len(d.Pools), "pool"))
}

// countOf writes n words, in the plural unless n is 1.
func countOf(n int, word string) string {
	return fmt.Sprintf("%d %s", n, plural(n, word, word+"s"))
}

// plural picks the word (or verb form) that agrees with n: one when n is
// 1, else many.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
