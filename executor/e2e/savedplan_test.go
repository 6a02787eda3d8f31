package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSavedPlanAppliesAfterAPause is the review-then-apply flow of the
// README on the local cloud: a plan saved with --out, applied more than a
// second later with nothing changed in between, applies. (It was refused
// as stale because a serving pool reported "now" as its last served time.)
func TestSavedPlanAppliesAfterAPause(t *testing.T) {
	e := newEnv(t, "prod")
	envs := []envSpec{{Name: "prod", Keep: 1, Warm: 1}}
	e.write(release{Version: "1", Leaf: "r1"}, 1, envs...)
	e.mustApply()

	e.write(release{Version: "2", Leaf: "r1"}, 1, envs...)
	saved := filepath.Join(t.TempDir(), "r.plan")
	if out, err := e.phoenix("plan", e.dir, "--out", saved); !strings.Contains(out, "Saved the plan to") {
		t.Fatalf("phoenix plan --out: %v\n%s", err, out)
	}
	time.Sleep(1500 * time.Millisecond)
	out, err := e.phoenix("apply", e.dir, "--plan", saved, "--yes")
	if err != nil {
		t.Fatalf("applying the saved plan after a pause: %v\n%s", err, out)
	}
	if body := get(t, e.ports["prod"]); !strings.Contains(body, "version=2") {
		t.Fatalf("after the saved plan prod answers %q", body)
	}
	if sum, code := e.planSummary(); code != 0 {
		t.Fatalf("plan after the saved plan has changes: %v", sum)
	}
}
