package status

import (
	"testing"

	"github.com/phoenix-gitops/phoenix/internal/contracttest"
)

// The JSON of phoenix status --format json keeps its names and omissions
// (scripts read it); the CLI's TestStatusJSONKeepsItsContract checks the
// values after a real apply.
func TestStatusJSONFieldNames(t *testing.T) {
	contracttest.Pin(t,
		contracttest.Case{V: Doc{}, Want: "format_version project endpoints pools images simulation,omitempty"},
		contracttest.Case{V: Endpoint{}, Want: "env role cloud address serving in_spec"},
		contracttest.Case{V: Pool{}, Want: "id env role key generation image build_id commit created_at serving weight,omitempty healthy servers count state cloud desired reason,omitempty rejected,omitempty rejected_at,omitzero"},
		contracttest.Case{V: Image{}, Want: "name build_id parent_build_id,omitempty created_at cloud drift,omitempty"},
	)
}
