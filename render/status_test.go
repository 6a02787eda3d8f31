package render

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/status"
)

// TestStatusTextShowsCanariesAndRetainedPools checks the table of UX.md on
// a live state no CLI script reaches easily: a canary split between two
// pools, a warm, a cold and a failed retained pool, and an endpoint whose
// role left the spec.
func TestStatusTextShowsCanariesAndRetainedPools(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	key := func(c byte) string { return strings.Repeat(string(c), 64) }
	d := &model.Desired{Project: "shop", Pools: []*model.Pool{{Env: "prod", Role: "web", Key: key('5'), Endpoint: "127.0.0.1:18082"}}}
	pool := func(k byte, gen int, state cloud.PoolState, healthy bool, age time.Duration) cloud.Pool {
		return cloud.Pool{ID: cloud.PoolID("prod", "web", key(k), gen), Env: "prod", Role: "web", Key: key(k), Generation: gen,
			State: state, Healthy: healthy, Servers: 3, Count: 3, Commit: "a81b2c0ffee-dirty", CreatedAt: now.Add(-age)}
	}
	live := &cloud.Live{
		Pools: []cloud.Pool{
			pool('5', 2, cloud.PoolReady, true, 14*24*time.Hour),
			pool('9', 1, cloud.PoolReady, true, 20*24*time.Hour),
			pool('7', 1, cloud.PoolCold, false, 30*24*time.Hour),
			pool('0', 3, cloud.PoolFailed, false, time.Hour),
		},
		Endpoints: []cloud.Endpoint{
			{Env: "prod", Role: "web", Address: "127.0.0.1:18082", Backends: []cloud.Backend{
				{Pool: cloud.PoolID("prod", "web", key('5'), 2), Weight: 25}, {Pool: cloud.PoolID("prod", "web", key('9'), 1), Weight: 75}}},
			{Env: "prod", Role: "api", Address: "127.0.0.1:18083"},
		},
	}
	doc := status.Build(d, live, map[string]string{"prod": "local"})
	var b bytes.Buffer
	if err := StatusText(&b, doc, StatusOptions{Now: now}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	wantInStatus(t, out,
		"prod  api (not in spec)  127.0.0.1:18083  -",
		"web@5555.2 25%, web@9999.1 75%  14d  3/3     a81b2c0-dirty  web@7777.1 (cold), web@0000.3 (failed)",
	)
	served := 0
	for _, p := range doc.Pools {
		if p.Serving {
			served++
		}
		if p.Key == key('5') && !p.Desired {
			t.Error("the pool with the spec's key is not marked desired")
		}
	}
	if served != 2 {
		t.Errorf("%d pools marked serving, want the two of the canary", served)
	}
}
