package render

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

// watchedPlan is a canary release in staging, watched, and prod held by a
// rejected release: what the planner makes of traffic.analysis.
func watchedPlan() *planner.Plan {
	next, cur := pid("staging", keyNew, 2), pid("staging", keyCur, 1)
	watch := &planner.Watch{Pause: 30 * time.Second, Bake: 5 * time.Minute,
		Analysis: &model.Analysis{MaxErrorRate: 1, MaxLatency: 300 * time.Millisecond, MinRequests: 20}}
	weights := []int{25, 50, 100}
	held := "release web@9e01.2 (commit c0ffee0) was rejected by release analysis at 2026-11-22 11:10 UTC: bake: 5xx 33.8% of 212 requests > 1%"
	return &planner.Plan{
		Project: "shop", Envs: []string{"prod", "staging"}, Now: now,
		Endpoints: []planner.EndpointSummary{
			{Cloud: "local", Env: "prod", Role: "web", Address: "127.0.0.1:18082", Serving: []cloud.Backend{{Pool: pid("prod", keyPrd, 1), Weight: 100}}, Held: held},
			{Cloud: "local", Env: "staging", Role: "web", Address: "127.0.0.1:18081", Serving: []cloud.Backend{{Pool: cur, Weight: 100}}},
		},
		Warnings: []string{"prod/web is held: " + held},
		Steps: []planner.Step{
			{ID: "create:" + next, Kind: planner.Create, Cloud: "local", Env: "staging", Role: "web", Image: "web", BuildID: webID, Pool: next, Key: keyNew, Generation: 2, Reason: "config changed", After: []string{}},
			{ID: "swap:staging/web", Kind: planner.Swap, Cloud: "local", Env: "staging", Role: "web", Image: "web", BuildID: webID, Pool: next, Key: keyNew, Generation: 2,
				Endpoint: "127.0.0.1:18081", From: []cloud.Backend{{Pool: cur, Weight: 100}}, Weights: weights, Watch: watch,
				Reason: "put new pool web@7d2e.2 in service (canary 25% → 50% → 100%); " + watch.Describe(weights), After: []string{"create:" + next}},
		},
	}
}

func TestTheWatchIsSaidInEveryRendering(t *testing.T) {
	d := FromPlan(watchedPlan(), Info{Commit: "3f2a1c9"})
	said := "canary 25% → 50% → 100%, each watched 30s (5xx < 1%, p99 < 300ms, ≥ 20 requests), then a 5m bake"
	var text, md, js bytes.Buffer
	if err := Text(&text, d, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := Markdown(&md, d, MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, d); err != nil {
		t.Fatal(err)
	}
	for name, out := range map[string]string{"text": text.String(), "markdown": md.String(), "json": js.String()} {
		for _, want := range []string{said, "prod/web is held", "5xx 33.8% of 212 requests > 1%"} {
			if !strings.Contains(out, want) {
				t.Errorf("%s rendering does not say %q:\n%s", name, want, out)
			}
		}
	}
	back, err := ReadJSON(&js)
	if err != nil {
		t.Fatal(err)
	}
	var sw Step
	for _, s := range back.Steps {
		if s.Kind == "swap" {
			sw = s
		}
	}
	if sw.Watch == nil || sw.Watch.Bake != 5*time.Minute || sw.Watch.Analysis.MaxLatency != 300*time.Millisecond || back.Endpoints[0].Held == "" {
		b, _ := json.Marshal(sw)
		t.Errorf("the JSON plan does not carry the watch and the hold: %s", b)
	}
}
