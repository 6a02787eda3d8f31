package executor

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/dag"
)

func graphOf(edges map[string][]string, nodes ...string) *dag.Graph[string] {
	g := dag.New[string]()
	for _, n := range nodes {
		g.Add(n, edges[n]...)
	}
	return g
}

func TestWalkFailureSkipsOnlyDescendantsAndNamesTheRootCause(t *testing.T) {
	//   bake-base -> bake-app -> create-a -> swap-a -> prune-a
	//                         -> create-b -> swap-b
	//   bake-other -> create-c -> swap-c        (independent)
	g := graphOf(map[string][]string{
		"bake-app": {"bake-base"}, "create-a": {"bake-app"}, "swap-a": {"create-a"}, "prune-a": {"swap-a"},
		"create-b": {"bake-app"}, "swap-b": {"create-b"},
		"create-c": {"bake-other"}, "swap-c": {"create-c"},
	}, "bake-base", "bake-app", "create-a", "swap-a", "prune-a", "create-b", "swap-b", "bake-other", "create-c", "swap-c")
	boom := errors.New("smoke check failed")
	var ran sync.Map
	res, err := Walk(context.Background(), g, func(_ context.Context, k string) error {
		ran.Store(k, true)
		if k == "create-a" {
			return boom
		}
		return nil
	}, WalkOptions[string]{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Status{
		"bake-base": Done, "bake-app": Done, "create-a": Failed, "swap-a": Skipped, "prune-a": Skipped,
		"create-b": Done, "swap-b": Done, "bake-other": Done, "create-c": Done, "swap-c": Done,
	}
	for k, s := range want {
		if got := res.Outcomes[k].Status; got != s {
			t.Errorf("%s: status %v, want %v", k, got, s)
		}
	}
	for _, k := range []string{"swap-a", "prune-a"} {
		if _, ok := ran.Load(k); ok {
			t.Errorf("%s ran although it waits for a failed step", k)
		}
		if c := res.Outcomes[k].Cause; c != "create-a" {
			t.Errorf("%s: cause %q, want the root cause create-a", k, c)
		}
	}
	if f := res.With(Failed); len(f) != 1 || f[0] != "create-a" || !errors.Is(res.Outcomes["create-a"].Err, boom) {
		t.Errorf("failed = %v (err %v), want [create-a] with its error", f, res.Outcomes["create-a"].Err)
	}
	if res.OK() || res.Stopped {
		t.Errorf("OK=%v Stopped=%v, want false, false", res.OK(), res.Stopped)
	}
}

func TestWalkStartsAStepAsSoonAsItsOwnDependenciesAreDone(t *testing.T) {
	// slow and fast chains are independent: fast-2 must not wait for slow
	// (no waves by depth or kind).
	g := graphOf(map[string][]string{"slow-2": {"slow"}, "fast-2": {"fast"}}, "slow", "slow-2", "fast", "fast-2")
	res, err := Walk(context.Background(), g, func(_ context.Context, k string) error {
		if k == "slow" {
			time.Sleep(150 * time.Millisecond)
		}
		return nil
	}, WalkOptions[string]{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Outcomes["fast-2"].End.Before(res.Outcomes["slow"].End) {
		t.Fatalf("fast-2 ended at %v, after slow ended at %v: the walker waited for an unrelated step",
			res.Outcomes["fast-2"].End, res.Outcomes["slow"].End)
	}
	if d := res.Outcomes["slow-2"].Start.Sub(res.Outcomes["slow"].End); d > 20*time.Millisecond {
		t.Fatalf("slow-2 started %v after slow ended", d)
	}
}

func TestWalkRespectsGlobalAndPerClassLimits(t *testing.T) {
	g := dag.New[string]()
	for i := range 12 {
		g.Add("bake-" + string(rune('a'+i)))
		g.Add("create-" + string(rune('a'+i)))
	}
	var mu sync.Mutex
	running := map[string]int{}
	peak := map[string]int{}
	total, peakTotal := 0, 0
	class := func(k string) string { return k[:strings.IndexByte(k, '-')] }
	res, err := Walk(context.Background(), g, func(_ context.Context, k string) error {
		mu.Lock()
		running[class(k)]++
		total++
		peak[class(k)] = max(peak[class(k)], running[class(k)])
		peakTotal = max(peakTotal, total)
		mu.Unlock()
		time.Sleep(10 * time.Millisecond)
		mu.Lock()
		running[class(k)]--
		total--
		mu.Unlock()
		return nil
	}, WalkOptions[string]{Parallelism: 5, Class: class, Limits: map[string]int{"bake": 2}})
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() {
		t.Fatalf("not every step succeeded: %v", res.With(Failed))
	}
	if peak["bake"] != 2 || peakTotal != 5 {
		t.Fatalf("peak bakes %d (limit 2), peak total %d (limit 5)", peak["bake"], peakTotal)
	}
}

func TestWalkStartsTheLongestRemainingPathFirst(t *testing.T) {
	// With one slot, "head" (3 steps to go) must run before "lone".
	g := graphOf(map[string][]string{"mid": {"head"}, "tail": {"mid"}}, "lone", "head", "mid", "tail")
	var order []string
	_, err := Walk(context.Background(), g, func(_ context.Context, k string) error {
		order = append(order, k) // Parallelism 1: no concurrent writes
		return nil
	}, WalkOptions[string]{Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	if order[0] != "head" {
		t.Fatalf("order %v: want the head of the longest chain first", order)
	}
}

func TestWalkCancelStopsStartingButLetsInFlightStepsFinish(t *testing.T) {
	g := graphOf(map[string][]string{"b": {"a"}, "c": {"b"}}, "a", "b", "c")
	ctx, cancel := context.WithCancel(context.Background())
	var stepCtxErr atomic.Value
	res, err := Walk(ctx, g, func(sctx context.Context, k string) error {
		if k == "a" {
			cancel()
			time.Sleep(30 * time.Millisecond)
			stepCtxErr.Store(sctx.Err() == nil)
		}
		return nil
	}, WalkOptions[string]{})
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := stepCtxErr.Load().(bool); !ok {
		t.Fatal("the in-flight step's context was cancelled with the walk")
	}
	if res.Outcomes["a"].Status != Done || res.Outcomes["b"].Status != NotStarted || res.Outcomes["c"].Status != NotStarted {
		t.Fatalf("a=%v b=%v c=%v, want done, not started, not started",
			res.Outcomes["a"].Status, res.Outcomes["b"].Status, res.Outcomes["c"].Status)
	}
	if !res.Stopped {
		t.Fatal("Stopped is false after a cancel")
	}
}

func TestWalkReportsEveryEndOnceAndTheCriticalPath(t *testing.T) {
	g := graphOf(map[string][]string{"b": {"a"}, "c": {"a"}, "d": {"b", "c"}}, "a", "b", "c", "d")
	var mu sync.Mutex
	ends := map[string]int{}
	res, err := Walk(context.Background(), g, func(_ context.Context, k string) error {
		if k == "b" {
			time.Sleep(40 * time.Millisecond)
		}
		if k == "c" {
			return errors.New("no")
		}
		return nil
	}, WalkOptions[string]{OnEnd: func(k string, _ *Outcome[string]) { mu.Lock(); ends[k]++; mu.Unlock() }})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"a", "b", "c", "d"} {
		if ends[k] != 1 {
			t.Errorf("OnEnd(%s) called %d times", k, ends[k])
		}
	}
	if res.CriticalPath < 40*time.Millisecond || res.CriticalPath > res.Makespan {
		t.Errorf("critical path %v, makespan %v", res.CriticalPath, res.Makespan)
	}
}

// TestWalkReportsAnEndBeforeItsDependentsStart: progress lines and the
// journal must never show a step started before the step it waits for is
// done, even when that report is slow and many nodes run at once.
func TestWalkReportsAnEndBeforeItsDependentsStart(t *testing.T) {
	edges := map[string][]string{}
	nodes := []string{"root"}
	for i := range 20 {
		mid, leaf := fmt.Sprintf("m%02d", i), fmt.Sprintf("l%02d", i)
		edges[mid], edges[leaf] = []string{"root"}, []string{mid}
		nodes = append(nodes, mid, leaf)
	}
	var mu sync.Mutex
	ended := map[string]bool{}
	var bad []string
	_, err := Walk(context.Background(), graphOf(edges, nodes...), func(context.Context, string) error { return nil },
		WalkOptions[string]{
			Parallelism: 8,
			OnStart: func(k string) {
				mu.Lock()
				defer mu.Unlock()
				for _, d := range edges[k] {
					if !ended[d] {
						bad = append(bad, k+" started before "+d+" was reported done")
					}
				}
			},
			OnEnd: func(k string, _ *Outcome[string]) {
				time.Sleep(time.Millisecond) // a slow writer
				mu.Lock()
				ended[k] = true
				mu.Unlock()
			},
		})
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Errorf("%d out of order, e.g. %s", len(bad), bad[0])
	}
}

func TestWalkRefusesACycle(t *testing.T) {
	g := graphOf(map[string][]string{"a": {"b"}, "b": {"a"}}, "a", "b")
	if _, err := Walk(context.Background(), g, func(context.Context, string) error { return nil }, WalkOptions[string]{}); err == nil {
		t.Fatal("no error for a cycle")
	}
}

func TestWalkTurnsAPanickingStepIntoItsFailure(t *testing.T) {
	g := graphOf(map[string][]string{"b": {"a"}}, "a", "b", "c")
	res, err := Walk(context.Background(), g, func(_ context.Context, k string) error {
		if k == "a" {
			panic("nil map")
		}
		return nil
	}, WalkOptions[string]{})
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Outcomes["a"]; o.Status != Failed || !strings.Contains(o.Err.Error(), "panic: nil map") {
		t.Fatalf("a: %v %v", o.Status, o.Err)
	}
	if res.Outcomes["b"].Status != Skipped || res.Outcomes["c"].Status != Done {
		t.Fatalf("b %v, c %v", res.Outcomes["b"].Status, res.Outcomes["c"].Status)
	}
}

// TestWalkAFailureCancelsNoOtherStep: steps share no context that one
// failure ends (the errgroup is a plain Group, not WithContext).
func TestWalkAFailureCancelsNoOtherStep(t *testing.T) {
	g := graphOf(nil, "fails", "slow")
	started := make(chan struct{})
	var slowCtxErr atomic.Value
	res, err := Walk(context.Background(), g, func(sctx context.Context, k string) error {
		if k == "fails" {
			<-started
			return errors.New("boom")
		}
		close(started)
		time.Sleep(30 * time.Millisecond)
		slowCtxErr.Store(fmt.Sprint(sctx.Err()))
		return nil
	}, WalkOptions[string]{Parallelism: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := slowCtxErr.Load(); got != "<nil>" {
		t.Fatalf("the slow step's context ended with %v after another step failed", got)
	}
	if res.Outcomes["slow"].Status != Done || res.Outcomes["fails"].Status != Failed {
		t.Fatalf("slow %v, fails %v", res.Outcomes["slow"].Status, res.Outcomes["fails"].Status)
	}
}
