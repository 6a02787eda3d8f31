package memory_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/cloudtest"
	"github.com/phoenix-gitops/phoenix/cloud/memory"
	"github.com/phoenix-gitops/phoenix/model"
)

func spec() *model.Desired {
	return cloudtest.Spec(cloudtest.SpecOptions{Cloud: "memory", From: "scratch", Endpoint: "127.0.0.1:18081"})
}

func TestConformance(t *testing.T) {
	cloudtest.Run(t, cloudtest.Harness{
		New:     func(t *testing.T) cloud.Cloud { return memory.New() },
		Desired: func(t *testing.T) *model.Desired { return spec() },
		KillServer: func(t *testing.T, c cloud.Cloud, project, poolID string) {
			if err := c.(*memory.Cloud).KillServers(project, poolID, 1); err != nil {
				t.Fatal(err)
			}
		},
		Foreign: func(t *testing.T, c cloud.Cloud, d *model.Desired) func(t *testing.T) error {
			m := c.(*memory.Cloud)
			p := d.Pools[0]
			id := cloud.PoolID(p.Env, p.Role, p.Key, 1) // the same id as ours, in someone else's project
			seed := &cloud.Live{
				Images: []cloud.Image{{Name: p.Image, BuildID: p.BuildID}},
				Pools: []cloud.Pool{{ID: id, Env: p.Env, Role: p.Role, Key: p.Key, Generation: 1,
					BuildID: p.BuildID, State: cloud.PoolReady, Healthy: true, Servers: 1, Count: 1}},
				Endpoints: []cloud.Endpoint{{Env: p.Env, Role: p.Role, Backends: []cloud.Backend{{Pool: id, Weight: 100}}}},
			}
			m.Seed("someone-else", seed)
			return func(t *testing.T) error {
				l, err := m.Observe(context.Background(), "someone-else")
				if err != nil {
					return err
				}
				if len(l.Pools) != 1 || len(l.Images) != 1 || len(l.Endpoints) != 1 || l.Endpoints[0].Backends[0].Pool != id {
					return fmt.Errorf("someone else's state changed: %+v", l)
				}
				return nil
			}
		},
		Advance: func(t *testing.T, c cloud.Cloud, d time.Duration) { c.(*memory.Cloud).Advance(d) },
		DriftImage: func(t *testing.T, c cloud.Cloud, project string, im cloud.Image) {
			if err := c.(*memory.Cloud).SetImageDrift(project, im.BuildID, true); err != nil {
				t.Fatal(err)
			}
		},
		FailCreate: func(t *testing.T, c cloud.Cloud, p *model.Pool) {
			c.(*memory.Cloud).FailCreate(p.Env, p.Role, "smoke check / answered 500")
		},
	})
}

// fixture is a memory cloud with the spec's chain baked and one pool made.
type fixture struct {
	ctx  context.Context
	c    *memory.Cloud
	d    *model.Desired
	app  cloud.Image
	pool *model.Pool
}

func newFixture(t *testing.T, opts ...memory.Option) *fixture {
	t.Helper()
	f := &fixture{ctx: context.Background(), c: memory.New(opts...), d: spec()}
	f.pool = f.d.Pools[0]
	base, err := f.c.Bake(f.ctx, cloud.BakeRequest{Project: "p", Image: f.d.Images["base"]})
	if err != nil {
		t.Fatal(err)
	}
	f.app, err = f.c.Bake(f.ctx, cloud.BakeRequest{Project: "p", Image: f.d.Images["app"], Parent: &base})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) create(gen int) (cloud.Pool, error) {
	return f.c.CreatePool(f.ctx, cloud.CreateRequest{Project: "p", Pool: f.pool, Generation: gen,
		ID: cloud.PoolID(f.pool.Env, f.pool.Role, f.pool.Key, gen), Image: f.app, Commit: "abc"})
}

func (f *fixture) observe(t *testing.T) *cloud.Live {
	t.Helper()
	l, err := f.c.Observe(f.ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestFailCreateLeavesFailedPool(t *testing.T) {
	f := newFixture(t)
	f.c.FailCreate("test", "web", "smoke check /healthz: status 500")
	p, err := f.create(1)
	if err == nil || !strings.Contains(err.Error(), "status 500") {
		t.Fatalf("create with a failure knob: err %v", err)
	}
	l := f.observe(t)
	if len(l.Pools) != 1 || l.Pools[0].State != cloud.PoolFailed || l.Pools[0].Reason == "" || l.Pools[0].Healthy {
		t.Fatalf("a failed create must leave a failed pool with a reason: %+v", l.Pools)
	}
	if err := f.c.Swap(f.ctx, cloud.SwapRequest{Project: "p", Env: "test", Role: "web", Backends: []cloud.Backend{{Pool: p.ID, Weight: 100}}}); !errors.Is(err, cloud.ErrNotReady) {
		t.Fatalf("swap to a failed pool: %v", err)
	}
	f.c.FailCreate("test", "web", "")
	if _, err := f.create(2); err != nil {
		t.Fatalf("create after clearing the knob: %v", err)
	}
	if err := f.c.DeletePool(f.ctx, "p", p.ID); err != nil {
		t.Fatalf("deleting the failed pool: %v", err)
	}
	if l := f.observe(t); len(l.Pools) != 1 || l.Pools[0].Generation != 2 {
		t.Fatalf("want only generation 2 left: %+v", l.Pools)
	}
}

func TestFailBakeLeavesNoImage(t *testing.T) {
	c := memory.New()
	d := spec()
	c.FailBake("base", "step 1 exited 2")
	_, err := c.Bake(context.Background(), cloud.BakeRequest{Project: "p", Image: d.Images["base"]})
	if err == nil || !strings.Contains(err.Error(), "exited 2") {
		t.Fatalf("bake with a failure knob: %v", err)
	}
	l, _ := c.Observe(context.Background(), "p")
	if len(l.Images) != 0 {
		t.Fatalf("a failed bake left images: %+v", l.Images)
	}
}

func TestBakeNeedsLiveParent(t *testing.T) {
	c := memory.New()
	d := spec()
	ghost := cloud.Image{Name: "base", BuildID: d.Images["base"].BuildID}
	if _, err := c.Bake(context.Background(), cloud.BakeRequest{Project: "p", Image: d.Images["app"], Parent: &ghost}); !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("bake on a parent that was never baked: %v", err)
	}
	if _, err := c.Bake(context.Background(), cloud.BakeRequest{Project: "p", Image: d.Images["app"]}); err == nil {
		t.Fatal("bake of a child image without its parent succeeded")
	}
}

func TestTransientErrorsChangeNothing(t *testing.T) {
	f := newFixture(t)
	f.c.InjectTransient(memory.OpCreatePool, 2)
	for i := range 2 {
		if _, err := f.create(1); !cloud.IsTransient(err) {
			t.Fatalf("call %d: want a transient error, got %v", i, err)
		}
	}
	if l := f.observe(t); len(l.Pools) != 0 {
		t.Fatalf("a transient failure created a pool: %+v", l.Pools)
	}
	if _, err := f.create(1); err != nil {
		t.Fatalf("third call: %v", err)
	}
	if got := f.c.Calls(memory.OpCreatePool); got != 3 {
		t.Fatalf("calls counted %d, want 3", got)
	}
}

func TestKillServersAndDrift(t *testing.T) {
	f := newFixture(t)
	p, _ := f.create(1)
	if err := f.c.KillServers("p", p.ID, 1); err != nil {
		t.Fatal(err)
	}
	if err := f.c.SetDrift("p", p.ID, true); err != nil {
		t.Fatal(err)
	}
	got := f.observe(t).Pools[0]
	if got.Healthy || got.Servers != got.Count-1 || !got.Drift || got.Reason == "" {
		t.Fatalf("after killing one server and drift: %+v", got)
	}
	if err := f.c.Heal("p", p.ID); err != nil {
		t.Fatal(err)
	}
	if got := f.observe(t).Pools[0]; !got.Healthy || got.Servers != got.Count {
		t.Fatalf("after heal: %+v", got)
	}
}

func TestClockAgesAndLeases(t *testing.T) {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	f := newFixture(t, memory.WithNow(start))
	f.c.Advance(48 * time.Hour)
	p, _ := f.create(1)
	if !p.CreatedAt.Equal(start.Add(48 * time.Hour)) {
		t.Fatalf("created at %v, want the cloud clock", p.CreatedAt)
	}
	if err := f.c.Lock(f.ctx, cloud.LockRequest{Project: "p", Env: "test", Owner: "a", Lease: time.Minute}); err != nil {
		t.Fatal(err)
	}
	f.c.Advance(2 * time.Minute)
	if l := f.observe(t); len(l.Locks) != 0 {
		t.Fatalf("an expired lock is still reported: %+v", l.Locks)
	}
}

func TestObserveReturnsCopies(t *testing.T) {
	f := newFixture(t)
	p, _ := f.create(1)
	_ = f.c.Swap(f.ctx, cloud.SwapRequest{Project: "p", Env: "test", Role: "web", Backends: []cloud.Backend{{Pool: p.ID, Weight: 100}}})
	l := f.observe(t)
	l.Pools[0].Healthy = false
	l.Endpoints[0].Backends[0].Pool = "mutated"
	l2 := f.observe(t)
	if !l2.Pools[0].Healthy || l2.Endpoints[0].Backends[0].Pool != p.ID {
		t.Fatal("editing an observed state changed the cloud")
	}
}

func TestSwapChecksBackends(t *testing.T) {
	f := newFixture(t)
	a, _ := f.create(1)
	b, _ := f.create(2)
	swap := func(bs ...cloud.Backend) error {
		return f.c.Swap(f.ctx, cloud.SwapRequest{Project: "p", Env: "test", Role: "web", Endpoint: "127.0.0.1:1", Backends: bs})
	}
	for _, bad := range [][]cloud.Backend{
		{{Pool: a.ID, Weight: 60}, {Pool: b.ID, Weight: 30}}, // sums to 90
		{{Pool: a.ID, Weight: 100}, {Pool: a.ID, Weight: 0}}, // twice
		{{Pool: a.ID, Weight: 120}},
	} {
		if err := swap(bad...); err == nil {
			t.Errorf("swap %v accepted", bad)
		}
	}
	if l := f.observe(t); len(l.Endpoints) != 0 {
		t.Fatalf("refused swaps changed endpoints: %+v", l.Endpoints)
	}
	other := *f.pool
	other.Role = "api"
	api, _ := f.c.CreatePool(f.ctx, cloud.CreateRequest{Project: "p", Pool: &other, Generation: 1, ID: cloud.PoolID("test", "api", other.Key, 1), Image: f.app})
	if err := swap(cloud.Backend{Pool: api.ID, Weight: 100}); err == nil {
		t.Fatal("swapping web to an api pool succeeded")
	}
	if err := swap(cloud.Backend{Pool: a.ID, Weight: 100}); err != nil {
		t.Fatal(err)
	}
	if err := swap(); err != nil {
		t.Fatalf("detaching: %v", err)
	}
	l := f.observe(t)
	if len(l.Endpoints) != 0 {
		t.Fatalf("swap with no backends should detach: %+v", l.Endpoints)
	}
	if err := f.c.DeletePool(f.ctx, "p", a.ID); err != nil {
		t.Fatalf("deleting a pool of a detached endpoint: %v", err)
	}
}

func TestSeedAndMutate(t *testing.T) {
	c := memory.New(memory.WithName("local"))
	c.Seed("p", &cloud.Live{Pools: []cloud.Pool{{ID: "x.web.1.1", Env: "x", Role: "web", State: cloud.PoolCreating}}})
	c.Mutate("p", func(l *cloud.Live) { l.Pools[0].State = cloud.PoolFailed })
	l, _ := c.Observe(context.Background(), "p")
	if len(l.Pools) != 1 || l.Pools[0].State != cloud.PoolFailed || l.Pools[0].Cloud != "local" {
		t.Fatalf("seed+mutate: %+v", l.Pools)
	}
}

func TestHookAndLatency(t *testing.T) {
	block := errors.New("blocked by test")
	c := memory.New(memory.WithLatency(5*time.Millisecond), memory.WithHook(func(ctx context.Context, op memory.Op, target string) error {
		if op == memory.OpDeletePool {
			return block
		}
		return nil
	}))
	start := time.Now()
	if err := c.DeletePool(context.Background(), "p", "x"); !errors.Is(err, block) {
		t.Fatalf("hook error not returned: %v", err)
	}
	if _, err := c.Bake(context.Background(), cloud.BakeRequest{Project: "p", Image: spec().Images["base"]}); err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 5*time.Millisecond {
		t.Fatal("latency not applied")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Observe(ctx, "p"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v", err)
	}
}
