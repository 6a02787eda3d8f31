package main

import (
	"fmt"
	"strings"

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

// exitStatus is what each command's exit code means, for scripts and CI
// jobs. Commands not listed exit 0 on success and 1 on an error. plan and
// diff agree, as terraform plan -detailed-exitcode: 2 means changes.
var exitStatus = map[string]string{
	"phoenix plan": `  0  no changes: the live state matches the spec
  2  the plan has changes
  1  an error (a spec error, an unreachable cloud)`,
	"phoenix diff": `  0  no changes: applying HEAD changes nothing live (with --offline:
     the desired state at HEAD is the merge base's)
  2  changes: the plan has steps (with --offline: the desired state differs)
  1  an error (a bad revision, a spec error, an unreachable cloud)`,
	"phoenix apply": `  0  applied, or nothing to do
  1  an error, a failed step or release, or the apply was cancelled or
     interrupted (what finished stays; run phoenix plan to see the rest)`,
	"phoenix logs": `  0  the logs were printed (with --follow: until interrupted)
  1  no logs for ENV and ROLE (without --follow), or an error`,
	"phoenix validate": `  0  the spec is valid
  1  the spec has errors (each printed with file:line:col)`,
}

// documentExitStatus ends every command's --help with its exit codes, from
// exitStatus, so that no command leaves a script to guess.
func documentExitStatus(cmd *cobra.Command) {
	for _, sub := range cmd.Commands() {
		documentExitStatus(sub)
	}
	if cmd.Hidden || !cmd.HasParent() {
		return
	}
	text, ok := exitStatus[cmd.CommandPath()]
	if !ok {
		text = "  0  success\n  1  an error"
	}
	long := cmd.Long
	if long == "" {
		long = cmd.Short + "."
	}
	cmd.Long = strings.TrimRight(long, "\n") + "\n\nExit status:\n" + text
}
