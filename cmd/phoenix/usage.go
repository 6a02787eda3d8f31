package main

import (
	"fmt"

	"github.com/spf13/cobra"
)

// explainArgs makes every command's argument check say how the command
// is called: cobra's own message ("accepts 2 arg(s), received 1") does not,
// and usage is silenced for every other error.
func explainArgs(cmd *cobra.Command) {
	if check := cmd.Args; check != nil {
		cmd.Args = func(c *cobra.Command, args []string) error {
			if err := check(c, args); err != nil {
				return fmt.Errorf("%v\n    usage: %s", err, c.UseLine())
			}
			return nil
		}
	}
	for _, sub := range cmd.Commands() {
		explainArgs(sub)
	}
}
