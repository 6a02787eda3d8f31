package main

import (
	"runtime/debug"
	"testing"
)

// The version line names a release when there is one, and the commit
// (with -dirty for uncommitted changes, as pools record it) otherwise.
func TestVersionOf(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.time", Value: "2026-12-05T09:10:00Z"}, {Key: "vcs.modified", Value: modified}}
	}
	const rev = "59b8702abcdef0123456789abcdef0123456789a"
	for _, tc := range []struct {
		name     string
		version  string
		settings []debug.BuildSetting
		fallback string
		want     string
	}{
		{"release", "v1.2.0", vcs(rev, "false"), "", "v1.2.0 (commit 59b8702abcde, 2026-12-05T09:10:00Z)"},
		{"pseudo-version", "v0.0.0-20261205091000-59b8702abcde+dirty", vcs(rev, "true"), "", "devel (commit 59b8702abcde-dirty, 2026-12-05T09:10:00Z)"},
		{"devel with vcs", "(devel)", vcs(rev, "false"), "", "devel (commit 59b8702abcde, 2026-12-05T09:10:00Z)"},
		{"linked commit", "(devel)", nil, "59b8702abcde-dirty", "devel (commit 59b8702abcde-dirty)"},
		{"release without vcs", "v1.2.0", nil, "", "v1.2.0"},
		{"nothing known", "(devel)", nil, "", "devel (built without version control information)"},
	} {
		bi := &debug.BuildInfo{Main: debug.Module{Version: tc.version}, Settings: tc.settings}
		if got := versionOf(bi, tc.fallback); got != tc.want {
			t.Errorf("%s: versionOf = %q, want %q", tc.name, got, tc.want)
		}
	}
}
