package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestLifecycle is the whole cycle on the local cloud: a first deploy, an
// empty second plan, a config change (create and swap, no bake, no failed
// request under load), a change to the leaf image (one bake), and five
// more releases that leave at most 1+keep pools per endpoint.
func TestLifecycle(t *testing.T) {
	e := newEnv(t, "staging", "prod")
	envs := []envSpec{
		{Name: "staging", Keep: 1, Warm: 1},
		{Name: "prod", After: []string{"staging"}, Keep: 2, Warm: 1},
	}
	keep := map[string]int{"staging": 1, "prod": 2}
	ports := []int{e.ports["staging"], e.ports["prod"]}

	// First deploy.
	e.write(release{Version: "1", Leaf: "r1"}, 2, envs...)
	start := time.Now()
	out := e.mustApply()
	t.Logf("first deploy in %s: %s", time.Since(start).Round(time.Millisecond), lastLine(out))
	if !strings.Contains(out, "Applied: 2 bakes, 2 creates, 2 swaps") {
		t.Fatalf("first deploy:\n%s", out)
	}
	for _, p := range ports {
		if body := get(t, p); !strings.Contains(body, "version=1 release=r1") {
			t.Fatalf("endpoint :%d answers %q", p, body)
		}
	}

	// A second plan is empty.
	if sum, code := e.planSummary(); code != 0 {
		t.Fatalf("second plan has changes: %v", sum)
	}

	// Everything from here runs under load on both endpoints.
	l := startLoad(ports, 4, 3*time.Minute)

	// A config change: a new pool and a swap per environment, no bake.
	e.write(release{Version: "2", Leaf: "r1"}, 2, envs...)
	sum, code := e.planSummary()
	if code != 2 || sum["bake"] != 0 || sum["create"] != 2 || sum["swap"] != 2 {
		t.Fatalf("config change plan: %v (exit %d), want 0 bakes, 2 creates, 2 swaps", sum, code)
	}
	e.mustApply()
	for _, p := range ports {
		if body := get(t, p); !strings.Contains(body, "version=2") {
			t.Fatalf("after the config change :%d answers %q", p, body)
		}
	}
	served, failed, first := l.ok.Load(), l.failed.Load(), ""
	t.Logf("config change under load: %d requests served, %d failed", served, failed)

	// A change to the leaf image bakes that image only.
	e.write(release{Version: "2", Leaf: "r2"}, 2, envs...)
	if sum, _ := e.planSummary(); sum["bake"] != 1 {
		t.Fatalf("leaf change plan: %v, want exactly 1 bake", sum)
	}
	e.mustApply()
	if body := get(t, e.ports["prod"]); !strings.Contains(body, "release=r2") {
		t.Fatalf("after the leaf change prod answers %q", body)
	}

	// Five releases: retention holds, the serving pool is never pruned.
	for i := 3; i <= 7; i++ {
		e.write(release{Version: fmt.Sprint(i), Leaf: "r2"}, 2, envs...)
		e.mustApply()
		e.checkRetention(keep)
		if body := get(t, e.ports["prod"]); !strings.Contains(body, fmt.Sprintf("version=%d", i)) {
			t.Fatalf("release %d: prod answers %q", i, body)
		}
	}
	if sum, code := e.planSummary(); code != 0 {
		t.Fatalf("plan after the releases has changes: %v", sum)
	}
	served, failed, first = l.Stop()
	t.Logf("under load through 7 deploys: %d requests served, %d failed", served, failed)
	if failed != 0 || served == 0 {
		t.Fatalf("%d requests failed (first: %s), %d served", failed, first, served)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(lines[i], "Applied") || strings.HasPrefix(lines[i], "Apply") {
			return lines[i]
		}
	}
	return lines[len(lines)-1]
}
