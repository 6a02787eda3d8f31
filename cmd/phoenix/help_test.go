package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestEveryCommandHelpShowsAnExample: a new user learns a command from its
// --help, so each one (or, for `cloud up|down|status`, its parent) shows
// at least one command line to copy.
func TestEveryCommandHelpShowsAnExample(t *testing.T) {
	root := newRootCmd()
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		switch {
		case c == root, c.Hidden, c.Name() == "help", c.Name() == "version",
			c.Name() == "completion", c.HasParent() && c.Parent().Name() == "completion":
			return
		}
		if hasExample(c) || (c.Parent() != root && hasExample(c.Parent())) {
			return
		}
		t.Errorf("%s --help shows no example (set Example, or indent one `  phoenix ...` line in Long)", c.CommandPath())
	}
	walk(root)
}

func hasExample(c *cobra.Command) bool {
	if strings.TrimSpace(c.Example) != "" {
		return true
	}
	for _, line := range strings.Split(c.Long, "\n") {
		if strings.HasPrefix(line, "  phoenix ") {
			return true
		}
	}
	return false
}

// TestWrongArgumentCountShowsUsage: cobra's "accepts 2 arg(s), received 1"
// alone does not say what the arguments are.
func TestWrongArgumentCountShowsUsage(t *testing.T) {
	for _, args := range [][]string{{"logs", "prod"}, {"unlock"}, {"validate", "a", "b"}, {"cloud", "down", "now"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != exitError {
			t.Errorf("phoenix %s: exit %d, want %d", strings.Join(args, " "), code, exitError)
		}
		got := stderr.String()
		want := "usage: phoenix " + strings.Join(args[:1], " ")
		if args[0] == "cloud" {
			want = "usage: phoenix cloud down"
		}
		if !strings.Contains(got, want) || strings.Count(got, "phoenix:") != 1 {
			t.Errorf("phoenix %s: stderr %q, want one error naming %q", strings.Join(args, " "), got, want)
		}
	}
}

// TestAllowDirtyIsListedOnlyWhereItDoesSomething: only apply refuses a
// spec with uncommitted changes, so only apply's --help offers
// --allow-dirty; the others still accept it.
func TestAllowDirtyIsListedOnlyWhereItDoesSomething(t *testing.T) {
	for _, name := range []string{"apply", "plan", "validate", "compile", "status", "graph", "unlock"} {
		var stdout, stderr bytes.Buffer
		if code := run([]string{name, "--help"}, &stdout, &stderr); code != 0 {
			t.Fatalf("phoenix %s --help: exit %d: %s", name, code, stderr.String())
		}
		if listed := strings.Contains(stdout.String(), "--allow-dirty"); listed != (name == "apply") {
			t.Errorf("phoenix %s --help lists --allow-dirty: %v", name, listed)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"validate", "--allow-dirty", t.TempDir() + "/none"}, &stdout, &stderr); strings.Contains(stderr.String(), "unknown flag") {
		t.Errorf("validate --allow-dirty: exit %d, %s", code, stderr.String())
	}
}

// TestEveryCommandHelpSaysItsExitStatus: scripts branch on exit codes, and
// plan and diff agree that 2 means changes.
func TestEveryCommandHelpSaysItsExitStatus(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, sub := range c.Commands() {
			walk(sub)
		}
		if c.Hidden || !c.HasParent() {
			return
		}
		args := append(strings.Fields(strings.TrimPrefix(c.CommandPath(), "phoenix")), "--help")
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != exitOK {
			t.Fatalf("phoenix %s: exit %d: %s", strings.Join(args, " "), code, stderr.String())
		}
		if !strings.Contains(stdout.String(), "\nExit status:\n  0  ") {
			t.Errorf("phoenix %s shows no exit status", strings.Join(args, " "))
		}
		if n := c.Name(); (n == "plan" || n == "diff") && !strings.Contains(stdout.String(), "\n  2  ") {
			t.Errorf("phoenix %s does not say that exit 2 means changes", strings.Join(args, " "))
		}
	}
	walk(newRootCmd())
}
