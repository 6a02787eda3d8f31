package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// watchedRelease is one version of a spec whose prod releases are watched
// on their own traffic (traffic is the CUE of prod's traffic block).
type watchedRelease struct {
	Version     string
	FailPercent int // srv's FAIL_PERCENT: the share of / answered with 500
	SlowMS      int // srv's SLOW_MS: how long / takes to answer
	Traffic     string
}

// writeWatched writes a spec with one environment, prod, one server per
// pool, keep 2 warm 1.
func (e *env) writeWatched(r watchedRelease) {
	e.t.Helper()
	spec := fmt.Sprintf(`package phoenix

project: %q
images: app: {from: "scratch", files: "bin/srv": "srv", steps: ["chmod 755 bin/srv", "mkdir -p etc", "echo r1 > etc/release"]}
roles: web: {
	image:   "app"
	command: "bin/srv"
	count:   1
	health: {path: "/healthz", interval: "200ms", timeout: "1s"}
	smoke: [{path: "/", status: 200, contains: "pool="}]
}
environments: prod: {
	roles: web: endpoint: "127.0.0.1:%d"
	config: {VERSION: %q, FAIL_PERCENT: "%d", SLOW_MS: "%d"}
	retention: {keep: 2, warm: 1}
	traffic: %s
}
`, e.project, e.ports["prod"], r.Version, r.FailPercent, r.SlowMS, r.Traffic)
	if err := os.WriteFile(filepath.Join(e.dir, "spec.cue"), []byte(spec), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// applyFails runs apply and wants it to exit 1; it returns the output.
func (e *env) applyFails(args ...string) string {
	e.t.Helper()
	out, err := e.phoenix(append([]string{"apply", e.dir, "--yes"}, args...)...)
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		e.t.Fatalf("apply exited with %v, want status 1\n%s", err, out)
	}
	return out
}

// heldPlan asserts that a plain plan changes nothing and says prod/web is
// held, with the reason.
func (e *env) heldPlan(reason string) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := e.command(ctx, "plan", e.dir, "--format", "json").Output()
	if err != nil {
		e.t.Fatalf("plan after a rejection: %v (want exit 0: no changes)\n%s", err, out)
	}
	var doc struct {
		Changes   bool
		Endpoints []struct{ Held string }
		Warnings  []string
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		e.t.Fatal(err)
	}
	if doc.Changes || len(doc.Endpoints) != 1 || !strings.Contains(doc.Endpoints[0].Held, reason) ||
		len(doc.Warnings) == 0 || !strings.Contains(doc.Warnings[0], "prod/web is held") {
		e.t.Fatalf("plan after a rejection: %s", out)
	}
}

var rollbackTime = regexp.MustCompile(`traffic is back on \S+ \(in ([0-9.]+[µnm]?s)\)`)

// A canary of a release that fails 30% of its requests is caught at its
// first weight under a bounded load, all traffic goes back to the previous
// pool and the pool is rejected; a plain plan and a re-apply leave it out;
// the next good commit goes out through the same watch.
func TestABadCanaryIsCaughtAndRolledBack(t *testing.T) {
	e := newEnv(t, "prod")
	traffic := `{strategy: "canary", steps: [25, 50], pause: "2s", analysis: {maxErrorRate: 1, minRequests: 10}}`
	e.writeWatched(watchedRelease{Version: "1", Traffic: traffic})
	e.mustApply()

	l := startLoad([]int{e.ports["prod"]}, 2, 2*time.Minute)
	defer l.Stop()
	e.writeWatched(watchedRelease{Version: "2", FailPercent: 30, Traffic: traffic})
	out := e.applyFails()
	served, failed, _ := l.Stop()
	for _, want := range []string{"environment prod", "rejected by release analysis at canary 25%", "5xx", "window 1 of"} {
		if !strings.Contains(out, want) {
			t.Errorf("apply output does not say %q:\n%s", want, out)
		}
	}
	if body := get(t, e.ports["prod"]); !strings.Contains(body, "version=1") {
		t.Fatalf("after the rejection the endpoint answers %q, want the previous pool", body)
	}
	share := float64(failed) / float64(max(served+failed, 1))
	t.Logf("caught bad canary: %d of %d requests failed (%.2f%%; bound weight 25%% x error rate 30%% = 7.5%% during the window)",
		failed, served+failed, 100*share)
	if share > 0.075 {
		t.Errorf("%.2f%% of requests failed, more than weight x error rate", 100*share)
	}
	if m := rollbackTime.FindStringSubmatch(out); m != nil {
		t.Logf("time from the failing window's verdict to all traffic back: %s", m[1])
	} else {
		t.Errorf("the apply did not say how long the way back took:\n%s", out)
	}

	e.heldPlan("5xx")
	if again := e.mustApply(); !strings.Contains(again, "held") {
		t.Errorf("a plain re-apply does not say prod/web is held:\n%s", again)
	}
	if body := get(t, e.ports["prod"]); !strings.Contains(body, "version=1") {
		t.Fatalf("a plain re-apply put the rejected release back: %q", body)
	}

	l = startLoad([]int{e.ports["prod"]}, 2, 2*time.Minute)
	defer l.Stop()
	e.writeWatched(watchedRelease{Version: "3", Traffic: traffic})
	out = e.mustApply()
	if _, failed, first := l.Stop(); failed > 0 {
		t.Errorf("%d requests failed during a good release: %s", failed, first)
	}
	if !strings.Contains(out, "passed") {
		t.Errorf("the good release's windows were not judged:\n%s", out)
	}
	if body := get(t, e.ports["prod"]); !strings.Contains(body, "version=3") {
		t.Fatalf("after the good release the endpoint answers %q", body)
	}
}

// A blue-green release that fails in its bake window swaps back in one
// step to the previous pool, still warm, and is held afterwards.
func TestABadBlueGreenReleaseIsCaughtInItsBake(t *testing.T) {
	e := newEnv(t, "prod")
	traffic := `{bake: "2s", analysis: {maxErrorRate: 1, minRequests: 10}}`
	e.writeWatched(watchedRelease{Version: "1", Traffic: traffic})
	e.mustApply()

	l := startLoad([]int{e.ports["prod"]}, 2, 2*time.Minute)
	defer l.Stop()
	e.writeWatched(watchedRelease{Version: "2", FailPercent: 30, Traffic: traffic})
	out := e.applyFails()
	served, failed, _ := l.Stop()
	if !strings.Contains(out, "rejected by release analysis at bake") {
		t.Errorf("apply output:\n%s", out)
	}
	if body := get(t, e.ports["prod"]); !strings.Contains(body, "version=1") {
		t.Fatalf("after the rejection the endpoint answers %q", body)
	}
	t.Logf("caught bad blue-green release: %d of %d requests failed (%.2f%%)", failed, served+failed, 100*float64(failed)/float64(max(served+failed, 1)))
	e.heldPlan("bake")
}

// A canary whose every answer takes 300 ms is caught by maxLatency: the
// p99 the proxy measures is above 150 ms, all traffic goes back.
func TestASlowCanaryIsCaughtByItsLatency(t *testing.T) {
	e := newEnv(t, "prod")
	traffic := `{strategy: "canary", steps: [50], pause: "2s", analysis: {maxLatency: "150ms", minRequests: 5}}`
	e.writeWatched(watchedRelease{Version: "1", Traffic: traffic})
	e.mustApply()

	l := startLoad([]int{e.ports["prod"]}, 4, 2*time.Minute)
	defer l.Stop()
	e.writeWatched(watchedRelease{Version: "2", SlowMS: 300, Traffic: traffic})
	out := e.applyFails()
	l.Stop()
	if !strings.Contains(out, "rejected by release analysis at canary 50%: p99 500ms") || !strings.Contains(out, "> 150ms") {
		t.Errorf("apply output does not reject on latency:\n%s", out)
	}
	if body := get(t, e.ports["prod"]); !strings.Contains(body, "version=1") {
		t.Fatalf("after the rejection the endpoint answers %q", body)
	}
	e.heldPlan("p99")
}
