package executor

import (
	"testing"

	"github.com/phoenix-gitops/phoenix/planner"
)

// TestDefaultLimitsIsACopy: changing the map one caller got leaves the
// defaults of every other caller alone.
func TestDefaultLimitsIsACopy(t *testing.T) {
	m := DefaultLimits()
	m[planner.Bake] = 1000
	delete(m, planner.Create)
	if got := DefaultLimits(); got[planner.Bake] != 4 || got[planner.Create] != 8 {
		t.Fatalf("DefaultLimits changed through a caller's copy: %v", got)
	}
}
