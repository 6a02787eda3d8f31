package render

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/phoenix-gitops/phoenix/planner"
)

// jsonNames lists the JSON names of a struct type's fields, in order, with
// ",omitempty" where the field is left out when empty.
func jsonNames(t reflect.Type) []string {
	var out []string
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "" || tag == "-" {
			out = append(out, "UNTAGGED:"+f.Name)
			continue
		}
		out = append(out, tag)
	}
	return out
}

// The plan's JSON contract keeps its names, order and omissions: a rename
// is a new format_version, not an accident. The goldens in testdata pin
// the bytes of whole plans; this pins every field, even those no golden
// fills.
func TestPlanJSONFieldNames(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{Doc{}, "format_version project,omitempty commit,omitempty clouds,omitempty envs,omitempty now,omitempty steps endpoints,omitempty warnings,omitempty summary changes destructive,omitempty rollback,omitempty simulation,omitempty"},
		{Step{}, "id kind cloud,omitempty env role image build_id,omitempty pool key,omitempty generation,omitempty endpoint,omitempty move_from,omitempty from,omitempty weights,omitempty cool,omitempty reason destructive rollback,omitempty replace,omitempty after watch,omitempty"},
		{Endpoint{}, "cloud,omitempty env role address,omitempty serving,omitempty rollback,omitempty moved_from,omitempty held,omitempty"},
		{Summary{}, "bake create swap prune"},
	} {
		typ := reflect.TypeOf(c.v)
		if got := strings.Join(jsonNames(typ), " "); got != c.want {
			t.Errorf("%s's JSON fields changed (a new format_version?)\n got %s\nwant %s", typ.Name(), got, c.want)
		}
	}
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
