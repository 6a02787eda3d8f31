package executor

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

// watchedPlan is canaryPlan with a watch: each weight for 5ms, then a
// bake window, judged against analysis; then a prune of the old pool.
func watchedPlan(f *fixture, weights []int, bake time.Duration, a *model.Analysis) (*planner.Plan, string) {
	p, next := canaryPlan(f, weights)
	old := f.poolID("staging", 1)
	p.Steps[1].From = []cloud.Backend{{Pool: old, Weight: 100}}
	p.Steps[1].Cool = nil
	p.Steps[1].Watch = &planner.Watch{Pause: 5 * time.Millisecond, Bake: bake, Analysis: a}
	p.Steps = append(p.Steps, planner.Step{ID: "prune:" + old, Kind: planner.Prune, Cloud: "memory", Env: "staging", Role: "web",
		Pool: old, After: []string{"swap:staging/web"}})
	return p, next
}

// logLines collects the executor's log lines.
type logLines struct {
	NopHooks
	mu    sync.Mutex
	lines []string
}

func (l *logLines) Log(_ *planner.Step, line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, line)
}

func (l *logLines) has(sub string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, x := range l.lines {
		if strings.Contains(x, sub) {
			return true
		}
	}
	return false
}

func (f *fixture) applyWith(t *testing.T, p *planner.Plan, h Hooks) *Report {
	t.Helper()
	e := f.executor(h)
	e.CanaryHold = 0 // the plan's pause
	rep, err := e.Apply(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

var strict = &model.Analysis{MaxErrorRate: 1, MaxLatency: 300 * time.Millisecond, MinRequests: 20}

func TestAFailingCanaryWindowGoesBackAndRejectsThePool(t *testing.T) {
	f := newFixture(t)
	f.apply(t, f.firstDeploy())
	p, next := watchedPlan(f, []int{25, 50, 100}, 0, strict)
	f.mem.SetTraffic(map[string]cloud.TrafficFigures{next: {Requests: 212, Failures: 72, P99: 20 * time.Millisecond}})
	logs := &logLines{}
	rep := f.applyWith(t, p, logs)
	o := rep.Result.Outcomes["swap:staging/web"]
	if o.Status != Failed {
		t.Fatalf("swap %v, want failed", o.Status)
	}
	for _, want := range []string{"environment staging", "commit 3f2a1c9", "5xx 34.0% of 212 requests > 1%", "canary 25%", "traffic is back on " + f.poolID("staging", 1)} {
		if !strings.Contains(o.Err.Error(), want) {
			t.Errorf("error %q does not say %q", o.Err, want)
		}
	}
	l := f.live(t)
	if got := servingOf(l, "staging"); len(got) != 1 || got[0].Pool != f.poolID("staging", 1) || got[0].Weight != 100 {
		t.Fatalf("staging serves %v, want all traffic on the previous pool", got)
	}
	pl := poolOf(l, next)
	if pl == nil || !strings.Contains(pl.Rejected, "5xx 34.0% of 212 requests > 1%") || pl.RejectedAt.IsZero() {
		t.Fatalf("new pool %+v, want it rejected with the figures", pl)
	}
	if old := poolOf(l, f.poolID("staging", 1)); old == nil || old.State != cloud.PoolReady {
		t.Fatalf("previous pool %+v, want kept warm (its prune waits for the watch)", old)
	}
	if rep.Result.Outcomes["prune:"+f.poolID("staging", 1)].Status == Done {
		t.Fatal("the previous pool was pruned after a failed watch")
	}
	if !logs.has("canary 25%: window 1 of web@stag.2") || !logs.has("212 requests, 5xx 34.0%, p99 20ms") {
		t.Errorf("the window's figures were not logged: %q", logs.lines)
	}
}

func TestAPassingWatchFinishesTheRelease(t *testing.T) {
	f := newFixture(t)
	f.apply(t, f.firstDeploy())
	p, next := watchedPlan(f, []int{25, 100}, 5*time.Millisecond, strict)
	f.mem.SetTraffic(map[string]cloud.TrafficFigures{next: {Requests: 500, Failures: 2, P99: 40 * time.Millisecond}})
	logs := &logLines{}
	rep := f.applyWith(t, p, logs)
	if !rep.OK() {
		t.Fatalf("apply: %v", rep.Details())
	}
	l := f.live(t)
	if got := servingOf(l, "staging"); len(got) != 1 || got[0].Pool != next {
		t.Fatalf("staging serves %v, want the new pool", got)
	}
	if pl := poolOf(l, next); pl.Rejected != "" {
		t.Fatalf("a passing release was rejected: %s", pl.Rejected)
	}
	if !logs.has("bake: window 1") || !logs.has("passed") {
		t.Errorf("bake window not logged: %q", logs.lines)
	}
}

func TestABlueGreenBakeFailureSwapsBackInOneStep(t *testing.T) {
	f := newFixture(t)
	f.apply(t, f.firstDeploy())
	p, next := watchedPlan(f, nil, 5*time.Millisecond, strict)
	f.mem.SetTraffic(map[string]cloud.TrafficFigures{next: {Requests: 100, P99: 750 * time.Millisecond}})
	swapsBefore := f.mem.Calls("swap")
	rep := f.applyWith(t, p, nil)
	o := rep.Result.Outcomes["swap:staging/web"]
	if o.Status != Failed || !strings.Contains(o.Err.Error(), "p99 750ms of 100 requests > 300ms") {
		t.Fatalf("swap: %v %v", o.Status, o.Err)
	}
	if n := f.mem.Calls("swap") - swapsBefore; n != 2 {
		t.Errorf("%d swaps, want 2: the release, and one back", n)
	}
	l := f.live(t)
	if got := servingOf(l, "staging"); len(got) != 1 || got[0].Pool != f.poolID("staging", 1) {
		t.Fatalf("staging serves %v, want the previous pool", got)
	}
	if poolOf(l, f.poolID("staging", 1)) == nil {
		t.Fatal("the previous pool was pruned")
	}
}

func TestAnInconclusiveWatchIsExtendedThreeTimesThenStops(t *testing.T) {
	f := newFixture(t)
	f.apply(t, f.firstDeploy())
	p, next := watchedPlan(f, []int{50, 100}, 0, strict)
	var mu sync.Mutex
	reads := 0
	f.mem.ScriptTraffic(func(pl cloud.Pool, since, _ time.Time) cloud.TrafficFigures {
		mu.Lock()
		defer mu.Unlock()
		reads++
		return cloud.TrafficFigures{Since: since, Requests: int64(3 * reads)}
	})
	rep := f.applyWith(t, p, nil)
	o := rep.Result.Outcomes["swap:staging/web"]
	if o.Status != Failed || !strings.Contains(o.Err.Error(), "only 12 requests") || !strings.Contains(o.Err.Error(), "minRequests") {
		t.Fatalf("swap: %v %v", o.Status, o.Err)
	}
	if reads != 1+MaxExtensions {
		t.Errorf("%d windows judged, want %d", reads, 1+MaxExtensions)
	}
	l := f.live(t)
	if got := servingOf(l, "staging"); len(got) != 1 || got[0].Pool != f.poolID("staging", 1) {
		t.Fatalf("staging serves %v, want the previous pool", got)
	}
	if pl := poolOf(l, next); !strings.HasPrefix(pl.Rejected, "canary 50%: inconclusive: 12 requests") {
		t.Fatalf("rejected %q", pl.Rejected)
	}
}

func TestAnInconclusiveWindowThatFillsUpPasses(t *testing.T) {
	f := newFixture(t)
	f.apply(t, f.firstDeploy())
	p, next := watchedPlan(f, []int{50, 100}, 0, strict)
	var mu sync.Mutex
	reads := 0
	f.mem.ScriptTraffic(func(pl cloud.Pool, since, _ time.Time) cloud.TrafficFigures {
		mu.Lock()
		defer mu.Unlock()
		reads++
		return cloud.TrafficFigures{Since: since, Requests: int64(10 * reads), P99: time.Millisecond}
	})
	rep := f.applyWith(t, p, nil)
	if !rep.OK() || reads != 2 {
		t.Fatalf("apply: %v after %d windows, want OK after 2", rep.Details(), reads)
	}
	if got := servingOf(f.live(t), "staging"); got[0].Pool != next {
		t.Fatalf("staging serves %v", got)
	}
}

func TestWithoutAnalysisNoTrafficIsNoFailure(t *testing.T) {
	f := newFixture(t)
	f.apply(t, f.firstDeploy())
	p, next := watchedPlan(f, []int{50, 100}, 5*time.Millisecond, nil)
	rep := f.applyWith(t, p, nil)
	if !rep.OK() {
		t.Fatalf("apply: %v", rep.Details())
	}
	if got := servingOf(f.live(t), "staging"); got[0].Pool != next {
		t.Fatalf("staging serves %v", got)
	}
}
