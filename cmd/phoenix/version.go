package main

import (
	"fmt"
	"regexp"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// commit is the commit the binary was built from, for builds that go build
// cannot stamp with it (a git worktree, GOFLAGS=-buildvcs=false): the
// Makefile sets it with -ldflags "-X main.commit=...".
var commit string

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of phoenix and the commit it was built from",
		Long: `Print the version of phoenix and the commit it was built from (also
phoenix --version).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintf(cmd.OutOrStdout(), "phoenix %s\n", version())
			return nil
		},
	}
}

// version is this binary's version, read from what go build embeds.
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = &debug.BuildInfo{}
	}
	return versionOf(bi, commit)
}

// pseudoVersion matches the versions go build makes up from a commit
// (v0.0.0-20261205091215-59b8702abcde): they say no more than the commit.
var pseudoVersion = regexp.MustCompile(`\d{14}-[0-9a-f]{12}(\+dirty)?$`)

// versionOf says which release the build is, or else which commit:
// "v1.2.0 (commit 59b8702abcde)", "devel (commit 59b8702abcde-dirty,
// 2026-12-05T09:10:00Z)". A build that knows neither says so rather than
// printing go's bare "(devel)". fallback is a commit set at link time.
func versionOf(bi *debug.BuildInfo, fallback string) string {
	v := bi.Main.Version
	if v == "" || v == "(devel)" || pseudoVersion.MatchString(v) {
		v = "devel"
	}
	var rev, when string
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.time":
			when = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	switch {
	case rev != "":
		rev = rev[:min(12, len(rev))]
		if dirty {
			rev += "-dirty"
		}
	case fallback != "":
		rev = fallback
	default:
		if v == "devel" {
			return "devel (built without version control information)"
		}
		return v
	}
	details := []string{"commit " + rev}
	if when != "" {
		details = append(details, when)
	}
	return fmt.Sprintf("%s (%s)", v, strings.Join(details, ", "))
}
