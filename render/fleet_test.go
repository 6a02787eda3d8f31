package render

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/planner"
)

// fleetRoles and the environments below are the fleet release of issue
// 15: 8 roles in four staging environments and two prod regions, each
// prod region after all four staging environments. Every role gets a new
// pool and a swap (no bake: the images exist), so the plan has 96 steps;
// drawn step by step, every prod swap waits for every staging swap (512
// of its 560 edges).
var (
	fleetRoles   = []string{"api", "api-gw-v2", "auth", "billing", "search", "web", "worker", "ws-edge"}
	fleetStaging = []string{"staging-eu", "staging-us", "staging-ap", "staging-load"}
	fleetProd    = []string{"prod-eu-west-1", "prod-us-east-1"}
)

func fleetKey(env, role string) string {
	sum := sha256.Sum256([]byte(env + "/" + role))
	return hex.EncodeToString(sum[:])
}

// fleetPlan is that release; prod swaps are canaries (10% → 50% → 100%).
func fleetPlan() *planner.Plan {
	p := &planner.Plan{Project: "fleet", Now: now}
	var stagingSwaps []string
	port := 19000
	add := func(env, role string, after []string, weights []int) string {
		key, old := fleetKey(env, role), fleetKey(env+"-old", role)
		pool, from := cloud.PoolID(env, role, key, 1), cloud.PoolID(env, role, old, 1)
		port++
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		p.Endpoints = append(p.Endpoints, planner.EndpointSummary{Cloud: "local", Env: env, Role: role, Address: addr,
			Serving: []cloud.Backend{{Pool: from, Weight: 100}}})
		create := "create:" + pool
		p.Steps = append(p.Steps,
			planner.Step{ID: create, Kind: planner.Create, Cloud: "local", Env: env, Role: role, Image: role, BuildID: webID,
				Pool: pool, Key: key, Generation: 1, Reason: `config VERSION "1" → "2"`, After: []string{}},
			planner.Step{ID: "swap:" + env + "/" + role, Kind: planner.Swap, Cloud: "local", Env: env, Role: role, Pool: pool, Key: key,
				Generation: 1, Endpoint: addr, From: []cloud.Backend{{Pool: from, Weight: 100}}, Weights: weights,
				Reason: "new pool matches the spec", After: append([]string{create}, after...)})
		return "swap:" + env + "/" + role
	}
	for _, env := range fleetStaging {
		p.Envs = append(p.Envs, env)
		for _, role := range fleetRoles {
			stagingSwaps = append(stagingSwaps, add(env, role, nil, nil))
		}
	}
	for _, env := range fleetProd {
		p.Envs = append(p.Envs, env)
		for _, role := range fleetRoles {
			add(env, role, stagingSwaps, []int{10, 50, 100})
		}
	}
	return p
}

// The fleet release draws: prod's wait on staging is one edge per pair of
// environments (8, not 512), within Mermaid's limits, with every step in
// its environment's box, canary weights on the swaps and names that keep
// their dashes on one line.
func TestFleetGraphDrawsOneEdgePerEnvironmentPair(t *testing.T) {
	d := FromPlan(fleetPlan(), Info{})
	g, why := CommentGraph(d, 150)
	if why != "" {
		t.Fatalf("the fleet graph is left out: %s", why)
	}
	envEdges, stepEdges := 0, 0
	for _, l := range strings.Split(g, "\n") {
		switch {
		case strings.HasPrefix(l, "  env_") && strings.Contains(l, " --> "):
			envEdges++
		case strings.Contains(l, " --> "):
			stepEdges++
		}
	}
	if envEdges != len(fleetStaging)*len(fleetProd) || stepEdges != len(d.Steps)/2 {
		t.Errorf("%d environment edges and %d step edges, want %d and %d", envEdges, stepEdges, len(fleetStaging)*len(fleetProd), len(d.Steps)/2)
	}
	if strings.Count(g, "  subgraph env_") != len(fleetStaging)+len(fleetProd) {
		t.Errorf("want a box per environment:\n%s", g)
	}
	for _, want := range []string{
		"  subgraph env_prod_eu_west_1[\"prod‑eu‑west‑1 · after staging‑ap, staging‑eu, staging‑load, staging‑us\"]\n",
		"[\"swap api‑gw‑v2@",
		" · canary 10% → 50% → 100%\"]:::swap\n",
	} {
		if !strings.Contains(g, want) {
			t.Errorf("graph lacks %q:\n%.2000s", want, g)
		}
	}
	for _, l := range strings.Split(g, "\n") {
		if i := strings.Index(l, `["`); i >= 0 && strings.Contains(l[i:], "-") {
			t.Errorf("a label with a breakable dash: %s", l)
		}
	}
}

// Every golden graph is within what GitHub's Mermaid draws.
func TestGoldenGraphsWithinMermaidLimits(t *testing.T) {
	for _, fx := range fixtures {
		var b bytes.Buffer
		if err := Mermaid(&b, FromPlan(fx.plan(), fx.info)); err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(b.String(), " --> "); n > MermaidMaxEdges || b.Len() > MermaidMaxChars {
			t.Errorf("%s: %d edges, %d characters", fx.name, n, b.Len())
		}
	}
}
