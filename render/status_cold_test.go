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

// TestStatusTextColdServingPool: after `phoenix cloud down` the serving
// pool of the local cloud is cold. Status says so in HEALTH (was 0/2, as
// if its servers had crashed), says its endpoint answers 503 and why, and
// points at phoenix cloud up.
func TestStatusTextColdServingPool(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	key := strings.Repeat("6", 64)
	id := cloud.PoolID("ci", "web", key, 1)
	d := &model.Desired{Project: "demo", Pools: []*model.Pool{{Env: "ci", Role: "web", Key: key, Endpoint: "127.0.0.1:17081"}}}
	live := &cloud.Live{
		Pools: []cloud.Pool{{ID: id, Env: "ci", Role: "web", Key: key, Generation: 1, State: cloud.PoolCold, Count: 2,
			Reason: "stopped by phoenix cloud down", Cloud: model.CloudLocal, Commit: "abcdef0123", CreatedAt: now.Add(-time.Hour)}},
		Endpoints: []cloud.Endpoint{{Env: "ci", Role: "web", Address: "127.0.0.1:17081", Backends: []cloud.Backend{{Pool: id, Weight: 100}}}},
	}
	out := statusText(t, d, live, map[string]string{"ci": "local"}, now)
	wantInStatus(t, out,
		"ci   web   127.0.0.1:17081  web@6666.1  1h   cold    abcdef0  -",
		"ci/web: serving pool web@6666.1 is cold, so its endpoint answers 503: stopped by phoenix cloud down.",
		"Start what served with phoenix cloud up (phoenix apply --yes starts it too).",
	)
}

// TestStatusTextFailedPoolSaysWhy: a pool whose smoke check failed is
// listed as "(failed)" among the retained pools; status also says why it
// failed and where its servers' output is (was: only "(failed)", the
// reason was in --format json alone).
func TestStatusTextFailedPoolSaysWhy(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	serving, bad := strings.Repeat("1", 64), strings.Repeat("a", 64)
	d := &model.Desired{Project: "demo", Pools: []*model.Pool{{Env: "staging", Role: "api", Key: bad, Endpoint: "127.0.0.1:17084"}}}
	live := &cloud.Live{
		Pools: []cloud.Pool{
			{ID: cloud.PoolID("staging", "api", serving, 1), Env: "staging", Role: "api", Key: serving, Generation: 1, State: cloud.PoolReady,
				Healthy: true, Servers: 1, Count: 1, Cloud: model.CloudLocal, Commit: "abcdef0123", CreatedAt: now.Add(-time.Hour)},
			{ID: cloud.PoolID("staging", "api", bad, 2), Env: "staging", Role: "api", Key: bad, Generation: 2, State: cloud.PoolFailed, Count: 1,
				Reason: "smoke check GET /version on server 0: status 404, want 200", Cloud: model.CloudLocal, Commit: "bcdef01234", CreatedAt: now.Add(-time.Minute)},
		},
		Endpoints: []cloud.Endpoint{{Env: "staging", Role: "api", Address: "127.0.0.1:17084",
			Backends: []cloud.Backend{{Pool: cloud.PoolID("staging", "api", serving, 1), Weight: 100}}}},
	}
	out := statusText(t, d, live, map[string]string{"staging": "local"}, now)
	wantInStatus(t, out,
		"api@1111.1  1h   1/1     abcdef0  api@aaaa.2 (failed)",
		"staging/api: pool api@aaaa.2 failed: smoke check GET /version on server 0: status 404, want 200.",
		"What their servers wrote: phoenix logs staging api --pool api@aaaa.2",
	)
}

// TestStatusTextColdPoolOfALeftEnvironment: a cold pool whose environment
// left the spec is not one that "phoenix apply --yes starts" (apply plans
// only the spec); status names its endpoint as left the spec instead.
func TestStatusTextColdPoolOfALeftEnvironment(t *testing.T) {
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	key := strings.Repeat("7", 64)
	id := cloud.PoolID("ci", "web", key, 1)
	d := &model.Desired{Project: "demo", Environments: map[string]*model.Environment{"prod": {Name: "prod", Cloud: model.CloudLocal}}}
	live := &cloud.Live{
		Pools: []cloud.Pool{{ID: id, Env: "ci", Role: "web", Key: key, Generation: 1, State: cloud.PoolCold, Count: 1,
			Reason: "stopped by phoenix cloud down", Cloud: model.CloudLocal, CreatedAt: now.Add(-time.Hour)}},
		Endpoints: []cloud.Endpoint{{Env: "ci", Role: "web", Cloud: model.CloudLocal, Address: "127.0.0.1:17081", Backends: []cloud.Backend{{Pool: id, Weight: 100}}}},
	}
	scope := map[string]string{"prod": model.CloudLocal}
	status.AddLeftEnvs(scope, live)
	out := statusText(t, d, live, scope, now)
	if !strings.Contains(out, "ci   web (not in spec)  127.0.0.1:17081  web@7777.1  1h   cold") ||
		!strings.Contains(out, "Left the spec, but their endpoints and pools remain: ci/web.") {
		t.Errorf("status does not show ci/web as left the spec:\n%s", out)
	}
	if strings.Contains(out, "starts it") {
		t.Errorf("status says apply starts a pool that left the spec:\n%s", out)
	}
}

// statusText is the text `phoenix status` prints for live against d, in
// the environments of scope, at now.
func statusText(t *testing.T, d *model.Desired, live *cloud.Live, scope map[string]string, now time.Time) string {
	t.Helper()
	var b bytes.Buffer
	if err := StatusText(&b, status.Build(d, live, scope), StatusOptions{Now: now}); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// wantInStatus fails the test unless the status text out holds each of
// wants.
func wantInStatus(t *testing.T, out string, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}
