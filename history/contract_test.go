package history

import (
	"reflect"
	"strings"
	"testing"
)

// The JSON of phoenix history --format json keeps its names and omissions
// (scripts read it); the CLI's TestHistoryJSONKeepsItsContract checks the
// values of a real walk.
func TestHistoryJSONFieldNames(t *testing.T) {
	for _, c := range []struct {
		v    any
		want string
	}{
		{History{}, "env dir start changes live notes,omitempty simulation,omitempty"},
		{Change{}, "commit when author subject event,omitempty roles back"},
		{Role{}, "role key,omitempty changed why,omitempty pool,omitempty state,omitempty made_at,omitempty plan,omitempty"},
	} {
		typ := reflect.TypeOf(c.v)
		var names []string
		for f := range typ.Fields() {
			names = append(names, f.Tag.Get("json"))
		}
		if got := strings.Join(names, " "); got != c.want {
			t.Errorf("%s's JSON fields changed\n got %s\nwant %s", typ.Name(), got, c.want)
		}
	}
}
