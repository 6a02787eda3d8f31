package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/memory"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
)

// TestHistoryVerdictIsThePlans is the property that history and plan
// agree: over random sequences of commits (config changes that come back
// to earlier keys, canary and blue-green, some applied and some not) and
// random damage to the live pools (drift, unhealthy, short, past maxAge,
// failed, never served), what history says going back to each commit takes equals what
// `plan --rev COMMIT --env prod` plans against the same live state.
func TestHistoryVerdictIsThePlans(t *testing.T) {
	seen := map[string]int{}
	for seed := uint64(1); seed <= 10; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { historyAgreesWithPlan(t, seed, seen) })
	}
	// The walk must reach every verdict, or the property proves little.
	for _, v := range []string{"current", "swap", "rebuild"} {
		if seen[v] == 0 {
			t.Errorf("no commit judged %q over all seeds: %v", v, seen)
		}
	}
	t.Logf("verdicts checked: %v", seen)
}

func historyAgreesWithPlan(t *testing.T, seed uint64, seen map[string]int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	r := newGitopsRepo(t)
	ctx := context.Background()
	c := memory.New(memory.WithName(model.CloudLocal), memory.WithNow(time.Now().UTC().Truncate(time.Second)))
	for i := range 7 {
		r.historySpec(1+rng.IntN(3), 1+rng.IntN(2), rng.IntN(4) == 0)
		r.git("add", "-A")
		r.git("commit", "-q", "--allow-empty", "-m", fmt.Sprintf("change %d", i)) // history skips a commit that changes nothing
		if rng.IntN(4) > 0 {
			applyAt(t, c, r.spec(), c.Now())
		}
		c.Advance(time.Hour)
	}
	damage(c, rng)
	now := c.Now()
	h, err := computeHistory(ctx, historyOptions{Env: "prod", Dir: r.spec(), Rev: "HEAD", Limit: 50, Now: now}, memoryClouds(c))
	if err != nil {
		t.Fatal(err)
	}
	live, err := c.Observe(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	for _, hc := range h.Changes {
		if hc.Event == "environment removed" {
			continue
		}
		d, err := loadSpec(ctx, specSource{Dir: r.spec(), Rev: hc.Commit})
		if err != nil {
			t.Fatal(err)
		}
		p, err := planner.Make(d, live, planner.Options{Envs: []string{"prod"}, Now: now, ImageKeep: -1})
		if err != nil {
			t.Fatal(err)
		}
		if want := planVerdict(p); hc.Back != want {
			t.Errorf("commit %s %q: history says %q, plan --rev says %q:\n%s", shortID(hc.Commit), hc.Subject, hc.Back, want, stepLines(p))
		}
		seen[hc.Back]++
	}
}

// planVerdict classifies a plan of one environment the way a person reads
// it: a create is a rebuild; swaps only, each a rollback moving all
// traffic at once, an instant swap; other swaps without creates a
// release; nothing at all, current.
func planVerdict(p *planner.Plan) string {
	creates, swaps, instant := 0, 0, true
	for _, s := range p.Steps {
		switch {
		case s.Kind == planner.Create:
			creates++
		case s.Kind == planner.Swap:
			swaps++
			instant = instant && s.Rollback && len(s.Weights) == 0
		}
	}
	switch {
	case creates > 0:
		return "rebuild"
	case swaps == 0:
		return "current"
	case instant:
		return "swap"
	}
	return "release"
}

func stepLines(p *planner.Plan) string {
	var out string
	for _, s := range p.Steps {
		out += fmt.Sprintf("  %s rollback=%v weights=%v: %s\n", s.ID, s.Rollback, s.Weights, s.Reason)
	}
	return out
}

// historySpec writes a spec whose prod runs web (config VERSION web, two
// servers) and api (VERSION api), both kept three deep, with maxAge 30d.
func (r *gitopsRepo) historySpec(web, api int, canary bool) {
	traffic := ""
	if canary {
		traffic = `traffic: {strategy: "canary", steps: [50]}`
	}
	r.write("environments/spec.cue", `package phoenix

project: "shop"
images: web: {from: "scratch", steps: ["mkdir -p bin"]}
roles: {
	web: {image: "web", count: 2}
	api: {image: "web", count: 1}
}
`)
	r.write("environments/prod.cue", fmt.Sprintf(`package phoenix

environments: prod: {
	roles: {
		web: {endpoint: "127.0.0.1:18682", config: VERSION: "%d"}
		api: {endpoint: "127.0.0.1:18683", config: VERSION: "%d"}
	}
	retention: {keep: 3, warm: 2}
	maxAge: "30d"
	%s
}
`, web, api, traffic))
}

// applyAt plans the spec at HEAD against the cloud at time now and
// applies it.
func applyAt(t *testing.T, c *memory.Cloud, dir string, now time.Time) {
	t.Helper()
	ctx := context.Background()
	d, err := loadSpec(ctx, specSource{Dir: dir, Rev: "HEAD"})
	if err != nil {
		t.Fatal(err)
	}
	live, err := c.Observe(ctx, d.Project)
	if err != nil {
		t.Fatal(err)
	}
	p, err := planner.Make(d, live, planner.Options{Now: now, ImageKeep: -1})
	if err != nil {
		t.Fatal(err)
	}
	if err := plantest.Apply(ctx, cloud.Set{model.CloudLocal: c}, d, p); err != nil {
		t.Fatal(err)
	}
}

// damage hurts some live pools the way servers go wrong: each pool, at
// random, drifts, turns unhealthy, loses a server, ages past maxAge,
// fails, forgets it ever served, or stays as it is (half do).
func damage(c *memory.Cloud, rng *rand.Rand) {
	c.Mutate("shop", func(live *cloud.Live) {
		for i := range live.Pools {
			p := &live.Pools[i]
			switch rng.IntN(10) {
			case 0:
				p.Drift = true
			case 1:
				p.Healthy = false
			case 2:
				p.Servers = max(p.Count-1, 0)
			case 3:
				p.CreatedAt = p.CreatedAt.Add(-40 * 24 * time.Hour)
			case 4:
				p.State, p.Healthy = cloud.PoolFailed, false
			case 5: // made, but its swap never completed
				p.LastServed, p.Released = time.Time{}, time.Time{}
			}
		}
	})
}

// historyContract is the JSON of `phoenix history --format json` that
// scripts may rely on: each key present, with a value of the kind given.
var historyContract = struct{ top, change, role map[string]string }{
	top:    map[string]string{"env": "string", "dir": "string", "start": "string", "live": "bool"},
	change: map[string]string{"commit": "string", "when": "time", "author": "string", "subject": "string", "back": "string"},
	role:   map[string]string{"role": "string", "key": "string", "changed": "bool", "pool": "string", "state": "string"},
}

// TestHistoryJSONKeepsItsContract pins history's JSON keys and the values
// of back, now that the planner decides them.
func TestHistoryJSONKeepsItsContract(t *testing.T) {
	r := newGitopsRepo(t)
	c := memory.New(memory.WithName(model.CloudLocal), memory.WithNow(time.Now().UTC().Truncate(time.Second)))
	for v := 1; v <= 2; v++ {
		r.historySpec(v, 1, false)
		r.commit(fmt.Sprintf("release %d", v))
		applyAt(t, c, r.spec(), c.Now())
	}
	h, err := computeHistory(context.Background(), historyOptions{Env: "prod", Dir: r.spec(), Rev: "HEAD", Now: c.Now()}, memoryClouds(c))
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	hasKeys(t, "history", doc, historyContract.top)
	changes, _ := doc["changes"].([]any)
	if len(changes) != 2 {
		t.Fatalf("changes: %s", b)
	}
	backs := []string{}
	for _, ch := range changes {
		obj, _ := ch.(map[string]any)
		hasKeys(t, "change", obj, historyContract.change)
		backs = append(backs, fmt.Sprint(obj["back"]))
		roles, _ := obj["roles"].([]any)
		if len(roles) == 0 {
			t.Fatalf("change without roles: %v", obj)
		}
		for _, ro := range roles {
			role, _ := ro.(map[string]any)
			hasKeys(t, "role", role, historyContract.role)
		}
	}
	if want := []string{"current", "swap"}; !slices.Equal(backs, want) {
		t.Errorf("back %v, want %v", backs, want)
	}
}

func hasKeys(t *testing.T, what string, obj map[string]any, keys map[string]string) {
	t.Helper()
	for key, kind := range keys {
		if v, ok := obj[key]; !ok || !ofKind(v, kind) {
			t.Errorf("%s.%s = %#v, want a %s: %v", what, key, v, kind, obj)
		}
	}
}
