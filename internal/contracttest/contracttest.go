// Package contracttest pins the JSON names of the Go types behind a JSON
// contract (plan, status, history), in order and with their omissions, so
// that renaming or dropping a field fails a test: scripts read these names,
// and changing one takes a new format_version.
package contracttest

import (
	"reflect"
	"strings"
	"testing"
)

// Case is a value of a contract's type and its JSON tags, space-separated
// in field order ("id kind,omitempty ...").
type Case struct {
	V    any
	Want string
}

// Pin fails t for each case whose type's JSON tags differ from Want.
func Pin(t testing.TB, cases ...Case) {
	t.Helper()
	for _, c := range cases {
		typ := reflect.TypeOf(c.V)
		if got := Names(typ); got != c.Want {
			t.Errorf("%s's JSON fields changed (a new format_version?)\n got %s\nwant %s", typ.Name(), got, c.Want)
		}
	}
}

// Names lists the JSON tags of a struct type's fields in order; a field
// without one shows as UNTAGGED:Name.
func Names(typ reflect.Type) string {
	var out []string
	for f := range typ.Fields() {
		tag := f.Tag.Get("json")
		if tag == "" {
			tag = "UNTAGGED:" + f.Name
		}
		out = append(out, tag)
	}
	return strings.Join(out, " ")
}
