package history

import (
	"testing"

	"github.com/phoenix-gitops/phoenix/internal/contracttest"
)

// The JSON of phoenix history --format json keeps its names and omissions
// (scripts read it); the CLI's TestHistoryJSONKeepsItsContract checks the
// values of a real walk.
func TestHistoryJSONFieldNames(t *testing.T) {
	contracttest.Pin(t,
		contracttest.Case{V: History{}, Want: "env dir start changes live notes,omitempty simulation,omitempty"},
		contracttest.Case{V: Change{}, Want: "commit when author subject event,omitempty roles back"},
		contracttest.Case{V: Role{}, Want: "role key,omitempty changed why,omitempty pool,omitempty state,omitempty made_at,omitempty plan,omitempty"},
	)
}
