package render

import (
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// TestStatusTextSaysWhichReleaseWasRejected: a pool rejected by release
// analysis is retained next to the serving one; status says it was
// rejected, why, when, and what releases it.
func TestStatusTextSaysWhichReleaseWasRejected(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	good, bad := strings.Repeat("1", 64), strings.Repeat("b", 64)
	d := &model.Desired{Project: "demo", Pools: []*model.Pool{{Env: "prod", Role: "web", Key: bad, Endpoint: "127.0.0.1:17085"}}}
	live := &cloud.Live{
		Pools: []cloud.Pool{
			{ID: cloud.PoolID("prod", "web", good, 1), Env: "prod", Role: "web", Key: good, Generation: 1, State: cloud.PoolReady,
				Healthy: true, Servers: 1, Count: 1, Cloud: model.CloudLocal, Commit: "abcdef0123", CreatedAt: now.Add(-time.Hour)},
			{ID: cloud.PoolID("prod", "web", bad, 1), Env: "prod", Role: "web", Key: bad, Generation: 1, State: cloud.PoolReady,
				Healthy: true, Servers: 1, Count: 1, Cloud: model.CloudLocal, Commit: "bcdef01234", CreatedAt: now.Add(-time.Minute),
				Rejected: "canary 25%: 5xx 33.8% of 212 requests > 1%", RejectedAt: now.Add(-30 * time.Second)},
		},
		Endpoints: []cloud.Endpoint{{Env: "prod", Role: "web", Address: "127.0.0.1:17085",
			Backends: []cloud.Backend{{Pool: cloud.PoolID("prod", "web", good, 1), Weight: 100}}}},
	}
	out := statusText(t, d, live, map[string]string{"prod": "local"}, now)
	wantInStatus(t, out,
		"prod/web: release web@bbbb.1 (commit bcdef01) was rejected by release analysis at 2026-05-01T11:59:30Z: canary 25%: 5xx 33.8% of 212 requests > 1%.",
		"phoenix apply --retry-rejected",
	)
}
