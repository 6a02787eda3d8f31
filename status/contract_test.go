package status

import (
	"reflect"
	"strings"
	"testing"
)

// The JSON of phoenix status --format json keeps its names and omissions
// (scripts read it); the CLI's TestStatusJSONKeepsItsContract checks the
// values after a real apply.
func TestStatusJSONFieldNames(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{Doc{}, "format_version project endpoints pools images simulation,omitempty"},
		{Endpoint{}, "env role cloud address serving in_spec"},
		{Pool{}, "id env role key generation image build_id commit created_at serving weight,omitempty healthy servers count state cloud desired reason,omitempty rejected,omitempty rejected_at,omitzero"},
		{Image{}, "name build_id parent_build_id,omitempty created_at cloud drift,omitempty"},
	} {
		typ := reflect.TypeOf(c.v)
		var names []string
		for f := range typ.Fields() {
			names = append(names, f.Tag.Get("json"))
		}
		if got := strings.Join(names, " "); got != c.want {
			t.Errorf("%s's JSON fields changed (a new format_version?)\n got %s\nwant %s", typ.Name(), got, c.want)
		}
	}
}
