package render

import (
	"fmt"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/planner"
)

// Hand-made plans, shaped like the planner's, for golden renderings.

var now = time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)

const (
	baseID = "8c1f02e4a9b3c7d1e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c"
	webID  = "41aa9b3f0e1d2c3b4a5968778695a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7"
	oldWeb = "0a11ff00aa11bb22cc33dd44ee55ff6677889900aabbccddeeff001122334455"
	keyNew = "7d2e1a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f7"
	keyCur = "3b9c0d1e2f3a4b5c6d7e8f9001a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c"
	keyOld = "0a11b2c3d4e5f60718293a4b5c6d7e8f9001a2b3c4d5e6f708192a3b4c5d6e7f"
	keyPrd = "9e01aa22bb33cc44dd55ee66ff7788990011223344556677889900aabbccddee"
	keyRbk = "5c4d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b"
)

func pid(env, key string, gen int) string { return cloud.PoolID(env, "web", key, gen) }

// uxPlan is the plan sketched in UX.md: a config change in staging and a
// rollback in prod.
func uxPlan() *planner.Plan {
	return &planner.Plan{
		Project: "shop",
		Envs:    []string{"prod", "staging"},
		Now:     now,
		Endpoints: []planner.EndpointSummary{
			{Cloud: "local", Env: "prod", Role: "web", Address: "127.0.0.1:18082", Serving: []cloud.Backend{{Pool: pid("prod", keyPrd, 1), Weight: 100}}, Rollback: true},
			{Cloud: "local", Env: "staging", Role: "web", Address: "127.0.0.1:18081", Serving: []cloud.Backend{{Pool: pid("staging", keyCur, 1), Weight: 100}}},
		},
		Steps: []planner.Step{
			{ID: "bake:local:base:" + baseID[:8], Kind: planner.Bake, Cloud: "local", Image: "base", BuildID: baseID, Reason: "image base: steps changed", After: []string{}},
			{ID: "bake:local:web:" + webID[:8], Kind: planner.Bake, Cloud: "local", Image: "web", BuildID: webID, Reason: "image web: parent base was rebaked", After: []string{"bake:local:base:" + baseID[:8]}},
			{ID: "create:" + pid("staging", keyNew, 1), Kind: planner.Create, Cloud: "local", Env: "staging", Role: "web", Image: "web", BuildID: webID,
				Pool: pid("staging", keyNew, 1), Key: keyNew, Generation: 1, Reason: `config VERSION "1" → "2"`, After: []string{"bake:local:web:" + webID[:8]}},
			{ID: "swap:staging/web", Kind: planner.Swap, Cloud: "local", Env: "staging", Role: "web", Pool: pid("staging", keyNew, 1), Key: keyNew, Generation: 1,
				Endpoint: "127.0.0.1:18081", From: []cloud.Backend{{Pool: pid("staging", keyCur, 1), Weight: 100}},
				Reason: "spec changed", After: []string{"create:" + pid("staging", keyNew, 1)}},
			{ID: "swap:prod/web", Kind: planner.Swap, Cloud: "local", Env: "prod", Role: "web", Pool: pid("prod", keyRbk, 2), Key: keyRbk, Generation: 2,
				Endpoint: "127.0.0.1:18082", From: []cloud.Backend{{Pool: pid("prod", keyPrd, 1), Weight: 100}}, Rollback: true,
				Reason: "rollback: retained pool matches the spec (warm)", After: []string{"swap:staging/web"}},
			{ID: "prune:" + pid("staging", keyOld, 1), Kind: planner.Prune, Cloud: "local", Env: "staging", Role: "web", Pool: pid("staging", keyOld, 1), Key: keyOld, Generation: 1,
				Reason: "past retention (keep 2)", After: []string{"swap:staging/web"}},
		},
	}
}

// emptyPlan changes nothing but carries a warning.
func emptyPlan() *planner.Plan {
	return &planner.Plan{
		Project: "shop", Envs: []string{"prod", "staging"}, Now: now,
		Endpoints: []planner.EndpointSummary{
			{Cloud: "local", Env: "prod", Role: "web", Address: "127.0.0.1:18082", Serving: []cloud.Backend{{Pool: pid("prod", keyPrd, 1), Weight: 100}}},
			{Cloud: "local", Env: "staging", Role: "web", Address: "127.0.0.1:18081", Serving: []cloud.Backend{{Pool: pid("staging", keyCur, 1), Weight: 100}}},
		},
		Warnings: []string{"environment qa left the spec; run with --destroy to remove its 2 pools"},
	}
}

// canaryPlan mixes clouds, a canary with cooling, an environment that left
// the spec (destroyed), an image prune and an untouched endpoint.
func canaryPlan() *planner.Plan {
	return &planner.Plan{
		Project: "shop", Envs: []string{"prod", "qa"}, Now: now,
		Endpoints: []planner.EndpointSummary{
			{Cloud: "aws", Env: "prod", Role: "api", Address: "arn:aws:elasticloadbalancing:us-east-1:123:listener/app/api/1/2",
				Serving: []cloud.Backend{{Pool: "prod.api.11112222.1", Weight: 100}}},
			{Cloud: "aws", Env: "prod", Role: "web", Address: "arn:aws:elasticloadbalancing:us-east-1:123:listener/app/web/3/4",
				Serving: []cloud.Backend{{Pool: pid("prod", keyPrd, 1), Weight: 100}}},
		},
		Steps: []planner.Step{
			{ID: "bake:aws:web:" + webID[:8], Kind: planner.Bake, Cloud: "aws", Image: "web", BuildID: webID, Reason: "image web: older than maxAge 30d", Replace: true, After: []string{}},
			{ID: "create:" + pid("prod", keyPrd, 2), Kind: planner.Create, Cloud: "aws", Env: "prod", Role: "web", Image: "web", BuildID: webID,
				Pool: pid("prod", keyPrd, 2), Key: keyPrd, Generation: 2, Reason: "pool older than maxAge 7d", After: []string{"bake:aws:web:" + webID[:8]}},
			{ID: "swap:prod/web", Kind: planner.Swap, Cloud: "aws", Env: "prod", Role: "web", Pool: pid("prod", keyPrd, 2), Key: keyPrd, Generation: 2,
				Endpoint: "arn:aws:elasticloadbalancing:us-east-1:123:listener/app/web/3/4",
				From:     []cloud.Backend{{Pool: pid("prod", keyPrd, 1), Weight: 100}}, Weights: []int{10, 50, 100},
				Cool: []string{pid("prod", keyOld, 1)}, Reason: "phoenix: replace the aged pool", After: []string{"create:" + pid("prod", keyPrd, 2)}},
			{ID: "swap:qa/web", Kind: planner.Swap, Cloud: "local", Env: "qa", Role: "web", Endpoint: "127.0.0.1:18090",
				From:   []cloud.Backend{{Pool: "qa.web.abcdef01.3", Weight: 100}},
				Reason: "environment qa left the spec: detach the endpoint", Destructive: true, After: []string{}},
			{ID: "prune:qa.web.abcdef01.3", Kind: planner.Prune, Cloud: "local", Env: "qa", Role: "web", Pool: "qa.web.abcdef01.3", Key: "abcdef01", Generation: 3,
				Reason: "environment qa left the spec", Destructive: true, After: []string{"swap:qa/web"}},
			{ID: "prune-image:local:" + oldWeb[:8], Kind: planner.Prune, Cloud: "local", Image: "web", BuildID: oldWeb,
				Reason: "image web: unused, past image retention (keep 3)", After: []string{"prune:qa.web.abcdef01.3"}},
		},
		Warnings: []string{"pool prod.web.9e01aa22.1 shows drift: 1 server does not match its image"},
	}
}

// bigPlan has n endpoints each with a create, a swap and two prunes.
func bigPlan(n int) *planner.Plan {
	p := &planner.Plan{Project: "huge", Now: now}
	p.Steps = append(p.Steps, planner.Step{ID: "bake:local:web:" + webID[:8], Kind: planner.Bake, Cloud: "local", Image: "web", BuildID: webID, Reason: "new image", After: []string{}})
	for i := range n {
		env := fmt.Sprintf("pr-%04d", i)
		p.Envs = append(p.Envs, env)
		c := "create:" + pid(env, keyNew, 1)
		s := "swap:" + env + "/web"
		p.Steps = append(p.Steps,
			planner.Step{ID: c, Kind: planner.Create, Cloud: "local", Env: env, Role: "web", Image: "web", BuildID: webID, Pool: pid(env, keyNew, 1), Key: keyNew, Generation: 1,
				Reason: "config VERSION changed", After: []string{"bake:local:web:" + webID[:8]}},
			planner.Step{ID: s, Kind: planner.Swap, Cloud: "local", Env: env, Role: "web", Pool: pid(env, keyNew, 1), Key: keyNew, Generation: 1,
				From: []cloud.Backend{{Pool: pid(env, keyCur, 1), Weight: 100}}, Reason: "spec changed", After: []string{c}},
			planner.Step{ID: "prune:" + pid(env, keyOld, 1), Kind: planner.Prune, Cloud: "local", Env: env, Role: "web", Pool: pid(env, keyOld, 1), Key: keyOld, Generation: 1,
				Reason: "past retention (keep 2)", After: []string{s}},
			planner.Step{ID: "prune:" + pid(env, keyOld, 2), Kind: planner.Prune, Cloud: "local", Env: env, Role: "web", Pool: pid(env, keyOld, 2), Key: keyOld, Generation: 2,
				Reason: "failed: smoke check / returned 500", After: []string{s}},
		)
	}
	return p
}
