package planner_test

import (
	"context"
	"slices"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/memory"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
)

// world is a memory cloud with a clock, planned and applied step by step.
type world struct {
	t      *testing.T
	mem    *memory.Cloud
	clouds cloud.Set
}

func newWorld(t *testing.T) *world {
	mem := memory.New(memory.WithNow(now))
	return &world{t: t, mem: mem, clouds: cloud.Set{"memory": mem}}
}

func (w *world) plan(d *model.Desired, opts planner.Options) *planner.Plan {
	w.t.Helper()
	live, err := w.clouds.Observe(context.Background(), d.Project)
	if err != nil {
		w.t.Fatal(err)
	}
	opts.Now = w.mem.Now()
	return mustPlan(w.t, d, live, opts)
}

// apply plans, applies and checks that planning again finds nothing to do.
func (w *world) apply(d *model.Desired, opts planner.Options) *planner.Plan {
	w.t.Helper()
	p := w.plan(d, opts)
	if err := plantest.Apply(context.Background(), w.clouds, d, p); err != nil {
		w.t.Fatalf("apply: %v\n%s", err, dump(p))
	}
	if again := w.plan(d, opts); !again.Empty() {
		w.t.Fatalf("not converged after apply:\n%s", dump(again))
	}
	return p
}

func (w *world) serving(d *model.Desired, env, role string) string {
	w.t.Helper()
	live, err := w.clouds.Observe(context.Background(), d.Project)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, e := range live.Endpoints {
		if e.Env == env && e.Role == role && len(e.Backends) == 1 {
			return e.Backends[0].Pool
		}
	}
	return ""
}

// TestLifecycleOnTheMemoryCloud walks a spec through the life the design
// describes: first deploy, a change, a revert that is a rollback (a swap
// only), a phoenix recreation past maxAge, a rebake past the image's
// maxAge, a canary, and the destruction of an environment that left.
func TestLifecycleOnTheMemoryCloud(t *testing.T) {
	w := newWorld(t)
	v1 := shop().Env("prod", plantest.After("staging"), plantest.MaxAge(7*day)).Env("pr-7").Role("pr-7", "web", "web", 1)
	d1 := v1.Desired()
	p := w.apply(d1, planner.Options{})
	if s := p.Summary(); s != (planner.Summary{Bake: 2, Create: 3, Swap: 3}) {
		t.Fatalf("first deploy %+v:\n%s", s, dump(p))
	}
	gen1 := cloud.PoolID("prod", "web", pool(d1, "prod", "web").Key, 1)

	w.mem.Advance(day)
	d2 := v1.Image("web", "base", "install web", "v2").Desired()
	p = w.apply(d2, planner.Options{})
	if s := p.Summary(); s != (planner.Summary{Bake: 1, Create: 3, Swap: 3}) {
		t.Fatalf("change %+v:\n%s", s, dump(p))
	}

	w.mem.Advance(day)
	d3 := v1.Image("web", "base", "install web").Desired() // git revert
	p = w.apply(d3, planner.Options{})
	if s := p.Summary(); s != (planner.Summary{Swap: 3}) || !step(t, p, "swap:prod/web").Rollback {
		t.Fatalf("revert must be swaps only %+v:\n%s", s, dump(p))
	}
	if got := w.serving(d3, "prod", "web"); got != gen1 {
		t.Fatalf("prod serves %s, want %s", got, gen1)
	}

	// Past the environment's maxAge the same key gets a new generation.
	w.mem.Advance(8 * day)
	p = w.apply(d3, planner.Options{Envs: []string{"prod"}})
	gen2 := cloud.PoolID("prod", "web", pool(d3, "prod", "web").Key, 2)
	v2 := cloud.PoolID("prod", "web", pool(d2, "prod", "web").Key, 1) // too old to roll back to
	wantIDs(t, p, "create:"+gen2, "swap:prod/web", "prune:"+gen1, "prune:"+v2)
	wantReason(t, p, "create:"+gen2, "serving pool older than maxAge 7d")

	// Past the base image's maxAge: rebake the chain, recreate every pool.
	w.mem.Advance(day)
	d4 := v1.ImageMaxAge("base", 10*day).Image("web", "base", "install web").Desired()
	p = w.apply(d4, planner.Options{})
	if s := p.Summary(); s.Bake != 2 || s.Create != 3 {
		t.Fatalf("rebake %+v:\n%s", s, dump(p))
	}

	// A canary walks its weights.
	w.mem.Advance(day)
	d5 := v1.Env("staging", plantest.Canary(25, 100)).Image("web", "base", "install web", "v3").Desired()
	p = w.apply(d5, planner.Options{})
	if got := step(t, p, "swap:staging/web").Weights; !slices.Equal(got, []int{25, 100}) {
		t.Fatalf("canary weights %v", got)
	}

	// pr-7 leaves the spec: a warning, then destruction with the flag.
	d6 := v1.Drop("pr-7", "").Desired()
	p = w.plan(d6, planner.Options{})
	if !p.Empty() || len(p.Warnings) != 1 {
		t.Fatalf("want only a warning:\n%s", dump(p))
	}
	p = w.apply(d6, planner.Options{Destroy: true})
	if s := p.Summary(); s.Swap != 1 || s.Prune < 1 {
		t.Fatalf("destroy %+v:\n%s", s, dump(p))
	}
	if w.serving(d6, "pr-7", "web") != "" {
		t.Fatalf("pr-7 still served")
	}
}
