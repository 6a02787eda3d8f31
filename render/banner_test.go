package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/phoenix-gitops/phoenix/planner"
)

// The destructive banner counts in good English and names only the marks
// the plan below shows: a plan that destroys a pool and detaches nothing
// has no DETACH to look for.
func TestDestructiveBannerNamesOnlyTheMarksShown(t *testing.T) {
	for _, tc := range []struct {
		name string
		keep func(planner.Step) bool
		want string
	}{
		{"both", func(planner.Step) bool { return true },
			"!! 2 destructive steps remove what left the spec (marked DESTROY and DETACH below)."},
		{"destroy only", func(s planner.Step) bool { return s.Kind != planner.Swap || s.Pool != "" },
			"!! 1 destructive step removes what left the spec (marked DESTROY below)."},
		{"detach only", func(s planner.Step) bool { return s.Kind != planner.Prune || !s.Destructive },
			"!! 1 destructive step removes what left the spec (marked DETACH below)."},
	} {
		p := canaryPlan()
		var steps []planner.Step
		for _, s := range p.Steps {
			if tc.keep(s) {
				s.After = nil
				steps = append(steps, s)
			}
		}
		p.Steps = steps
		var b bytes.Buffer
		if err := Text(&b, FromPlan(p, Info{}), TextOptions{}); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), "\n"+tc.want+"\n") {
			t.Errorf("%s: banner missing %q in:\n%s", tc.name, tc.want, b.String())
		}
	}
}
