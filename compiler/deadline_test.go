package compiler

import (
	"strings"
	"testing"
	"time"
)

// A health deadline bounds the create step's wait, not a server: setting
// it must not replace every pool of the role.
func TestHealthDeadlineIsNotInTheKey(t *testing.T) {
	before := mustLoad(t, chainFS(chainSpec))
	after := mustLoad(t, chainFS(strings.Replace(chainSpec, `config: V: "1"}`, `config: V: "1", health: deadline: "40s"}`, 1)))
	assertChanged(t, "pool keys", changed(poolKeys(before), poolKeys(after)))
	for _, p := range after.Pools {
		want := time.Duration(0)
		if p.Role == "web" {
			want = 40 * time.Second
		}
		if p.Health.Deadline != want {
			t.Errorf("pool %s/%s: health deadline %s, want %s", p.Env, p.Role, p.Health.Deadline, want)
		}
	}
}
