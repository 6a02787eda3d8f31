package executor

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/memory"
	"github.com/phoenix-gitops/phoenix/planner"
)

func TestFreshObserverNeverAnswersWithAnOlderStateAndShares(t *testing.T) {
	var fetches atomic.Int64
	o := &freshObserver{ctx: context.Background(), fetch: func(context.Context) (*cloud.Live, error) {
		fetches.Add(1)
		started := time.Now()
		time.Sleep(5 * time.Millisecond)
		// The observation's start travels in a lock's expiry field.
		return &cloud.Live{Locks: []cloud.LockInfo{{Expires: started}}}, nil
	}}
	var wg sync.WaitGroup
	var stale atomic.Int64
	for i := range 60 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			time.Sleep(time.Duration(i%30) * time.Millisecond)
			asked := time.Now()
			live, err := o.get(context.Background())
			if err != nil || live.Locks[0].Expires.Before(asked) {
				stale.Add(1)
			}
		}()
	}
	wg.Wait()
	if stale.Load() != 0 {
		t.Fatalf("%d callers got a state observed before they asked", stale.Load())
	}
	if n := fetches.Load(); n >= 30 {
		t.Fatalf("%d fetches for 60 callers: not shared", n)
	}
	t.Logf("60 callers over 30 ms shared %d observations", fetches.Load())
}

func TestManyPrunesShareFreshObservations(t *testing.T) {
	mem := memory.New(memory.WithName("memory"), memory.WithHook(func(_ context.Context, op memory.Op, _ string) error {
		if op == memory.OpObserve {
			time.Sleep(10 * time.Millisecond) // a cloud API round trip
		}
		return nil
	}))
	live := &cloud.Live{}
	p := &planner.Plan{Project: project}
	for i := range 200 {
		id := cloud.PoolID("prod", "web", fmt.Sprintf("%08x", i), 1)
		live.Pools = append(live.Pools, cloud.Pool{ID: id, Env: "prod", Role: "web", State: cloud.PoolReady, Healthy: true, Servers: 1, Count: 1})
		p.Steps = append(p.Steps, planner.Step{ID: "prune:" + id, Kind: planner.Prune, Cloud: "memory", Env: "prod", Role: "web", Pool: id})
	}
	mem.Seed(project, live)
	e := &Executor{Clouds: cloud.Set{"memory": mem}, Desired: newFixture(t).desired, Parallelism: 200}
	rep, err := e.Apply(context.Background(), p)
	if err != nil || !rep.OK() {
		t.Fatalf("%v %v", err, rep.Details())
	}
	if n := mem.Calls(memory.OpObserve); n > 10 {
		t.Fatalf("200 prunes made %d observations", n)
	}
	t.Logf("200 prunes re-checked the live state with %d observations", mem.Calls(memory.OpObserve))
}
