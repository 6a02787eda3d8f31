// Command phoenix compiles a spec of layered images, roles and environments,
// plans it against the live cloud and applies the plan.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/phoenix-gitops/phoenix/diag"
)

// Exit codes a script can rely on.
const (
	exitOK      = 0
	exitError   = 1
	exitChanges = 2 // plan and diff: there are changes (as terraform -detailed-exitcode)
)

// exitCodeError asks main to exit with a code after printing nothing more
// (the command has said what it had to say).
type exitCodeError struct {
	code int
	err  error // printed if not nil
}

func (e *exitCodeError) Error() string {
	if e.err != nil {
		return e.err.Error()
	}
	return fmt.Sprintf("exit %d", e.code)
}
func (e *exitCodeError) Unwrap() error { return e.err }

// withExitCode makes a command exit with code, printing err if not nil.
func withExitCode(code int, err error) error { return &exitCodeError{code: code, err: err} }

// newRootCmd is phoenix as built: every command, with the clouds this
// build opens (defaultClouds).
func newRootCmd() *cobra.Command { return newRoot(defaultClouds()) }

// newRoot builds the command tree. It lists every command, and hands the
// clouds to the commands that open them, so that what phoenix can run and
// which clouds it reaches are said here, in one place (as cue's
// cmd/cue/cmd/root.go New lists each command).
func newRoot(cl *clouds) *cobra.Command {
	root := &cobra.Command{
		Use:   "phoenix",
		Short: "Plan and apply immutable server deployments from a git repository of CUE specs",
		Long: `Phoenix compiles a directory of CUE files that describe layered machine
images, server roles and environments, reads the live cloud, and plans
bake, create, swap and prune steps. Servers are never changed in place:
a change bakes a new image where its inputs changed, creates a new pool
off traffic, smoke-tests it, swaps traffic onto it atomically and keeps
the last few pools so that a rollback is a swap.

Typical use:
  phoenix validate environments/        check a spec, print errors with file:line:col
  phoenix plan environments/            show what would change (exit 2 if anything)
  phoenix apply environments/ --yes     carry the plan out
  phoenix status environments/          what serves each endpoint, what is retained

Simulation: with PHOENIX_CLOUD_OVERRIDE=memory every cloud the spec names
(local or aws) is an in-memory cloud kept in PHOENIX_HOME between
commands: try a spec, or see an AWS plan, with no account and nothing
started. Nothing in it is real, and every output says so.`,
		Version:       version(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("phoenix {{.Version}}\n")
	root.InitDefaultVersionFlag()
	root.Flags().Lookup("version").Usage = "print the version and the commit phoenix was built from"
	root.AddCommand(
		newValidateCmd(),
		newCompileCmd(),
		newPlanCmd(cl),
		newGraphCmd(cl),
		newDiffCmd(cl),
		newApplyCmd(cl),
		newStatusCmd(cl),
		newHistoryCmd(cl),
		newLogsCmd(),
		newUnlockCmd(cl),
		newCloudCmd(),
		newSuperviseCmd(),
		newVersionCmd(),
	)
	cl.stderr = root.ErrOrStderr
	explainArgs(root)
	documentExitStatus(root)
	return root
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run executes the command line and returns the process exit code. Errors
// are printed here, once.
func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	return report(stderr, err)
}

// report prints err for a person and returns the exit code for it.
func report(stderr io.Writer, err error) int {
	if err == nil {
		return exitOK
	}
	code := exitError
	var ec *exitCodeError
	if errors.As(err, &ec) {
		code = ec.code
		err = ec.err
	}
	if err == nil {
		return code
	}
	var dl diag.List
	if errors.As(err, &dl) {
		fmt.Fprintln(stderr, dl.Error())
		return code
	}
	fmt.Fprintf(stderr, "phoenix: %v\n", err)
	return code
}
