package render

import (
	"reflect"
	"slices"
	"testing"

	"github.com/phoenix-gitops/phoenix/internal/contracttest"
	"github.com/phoenix-gitops/phoenix/planner"
)

// The plan's JSON contract keeps its names, order and omissions: a rename
// is a new format_version, not an accident. The goldens in testdata pin
// the bytes of whole plans; this pins every field, even those no golden
// fills.
func TestPlanJSONFieldNames(t *testing.T) {
	contracttest.Pin(t,
		contracttest.Case{V: Doc{}, Want: "format_version project,omitempty commit,omitempty clouds,omitempty envs,omitempty now,omitempty steps endpoints,omitempty warnings,omitempty summary changes destructive,omitempty rollback,omitempty simulation,omitempty"},
		contracttest.Case{V: Step{}, Want: "id kind cloud,omitempty env role image build_id,omitempty pool key,omitempty generation,omitempty endpoint,omitempty move_from,omitempty from,omitempty weights,omitempty cool,omitempty reason destructive rollback,omitempty replace,omitempty after watch,omitempty"},
		contracttest.Case{V: Endpoint{}, Want: "cloud,omitempty env role address,omitempty serving,omitempty rollback,omitempty moved_from,omitempty held,omitempty"},
		contracttest.Case{V: Summary{}, Want: "bake create swap prune"},
		contracttest.Case{V: Diff{}, Want: "base_rev head_rev base merge_base head dir desired plan,omitempty"},
	)
}

// Step is converted from planner.Step, not copied field by field: this
// fails to compile when the two part ways, and the check below says which
// names differ should the conversion ever be replaced.
func TestStepIsThePlannersStep(t *testing.T) {
	_ = Step(planner.Step{})
	var a, b []string
	for f := range reflect.TypeFor[Step]().Fields() {
		a = append(a, f.Name)
	}
	for f := range reflect.TypeFor[planner.Step]().Fields() {
		b = append(b, f.Name)
	}
	if !slices.Equal(a, b) {
		t.Errorf("render.Step has %v, planner.Step %v", a, b)
	}
}
