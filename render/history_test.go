package render

import (
	"fmt"
	"strings"
	"testing"

	"github.com/phoenix-gitops/phoenix/history"
)

// TestHistoryFooterSaysOnlyWhatIsTrue: a first release that serves now is
// not "an older state that rebuilds", and a release not applied yet that
// changes only config bakes nothing.
func TestHistoryFooterSaysOnlyWhatIsTrue(t *testing.T) {
	for name, tc := range map[string]struct {
		backs []string
		want  string
	}{
		"release 2 pending over a serving release 1": {[]string{"rebuild", "current"},
			"\nc0 is not applied yet: applying it creates new pools (baking only images whose inputs changed).\n"},
		"serving over a pruned release":   {[]string{"current", "rebuild"}, "\nNo older pool can be reused: going back to any of these commits rebuilds.\n"},
		"serving over a retained release": {[]string{"current", "swap"}, "\nRollback is a swap (instant) to: c1. Revert the commits after it; the plan shows swaps only.\n"},
		"only the serving release":        {[]string{"current"}, "\n"},
		// Reusing a pool that never completed a release is no instant rollback.
		"a reusable but unreleased state": {[]string{"current", "release", "rebuild"},
			"\nGoing back to c1 reuses existing pools, but not as an instant rollback (see plan: above).\n"},
		"release pending over a serving release 1": {[]string{"release", "current"},
			"\nc0 is not applied yet: applying it reuses existing pools, but not as an instant rollback (see plan: above).\n"},
		// c0 was applied and its pool failed its smoke check: it is not
		// "not applied yet".
		"release 2 failed over a serving release 1": {[]string{"rebuild", "current"},
			"\nc0 is not serving: its apply failed (api@abb8.1 failed; phoenix status says why); applying it again creates new pools (baking only images whose inputs changed).\n"},
	} {
		var changes []history.Change
		for i, b := range tc.backs {
			changes = append(changes, history.Change{Commit: fmt.Sprintf("c%d", i), Back: b})
		}
		if strings.Contains(name, "failed") {
			changes[0].Roles = []history.Role{{Role: "api", Changed: true, Pool: "staging.api.abb84dd0.1", State: "failed"}}
		}
		var out strings.Builder
		historyFooter(&out, changes)
		if out.String() != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", name, out.String(), tc.want)
		}
	}
}
