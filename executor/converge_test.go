package executor

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/memory"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

// TestPlannerAndExecutorConverge drives the real planner and the executor
// together on the memory cloud through releases of every kind (config
// change, image change, rollback, canary) and checks after each that the
// next plan is empty, retention holds and the serving pool is the spec's.
// It pins the contract between the planner's steps and the executor.
func TestPlannerAndExecutorConverge(t *testing.T) {
	f := newFixture(t)
	mem := memory.New(memory.WithName("memory"))
	f.mem = mem
	for _, p := range f.desired.Pools {
		p.Retention = model.Retention{Keep: 2, Warm: 1}
		p.Command = "bin/web"
		f.desired.Environments[p.Env].Retention = p.Retention
	}
	prod := f.pool("prod")
	prod.Traffic = model.Traffic{Strategy: "canary", Steps: []int{25, 50}}
	f.desired.Environments["prod"].Traffic = prod.Traffic

	release := func(version string, webBuild string) {
		f.desired.Images["web"].BuildID = webBuild
		for _, p := range f.desired.Pools {
			p.BuildID = webBuild
			p.Key = fmt.Sprintf("%-64s", p.Env+"-"+version+"-"+webBuild[:4])
			p.Key = strings.ReplaceAll(p.Key, " ", "0")
		}
	}
	step := func(name string) {
		t.Helper()
		live := f.live(t)
		plan, err := planner.Make(f.desired, live, planner.Options{Now: time.Now()})
		if err != nil {
			t.Fatalf("%s: planning: %v", name, err)
		}
		e := f.executor(nil)
		e.Live = live
		rep, err := e.Apply(context.Background(), plan)
		if err != nil || !rep.OK() {
			t.Fatalf("%s: apply: %v %v", name, err, rep.Details())
		}
		again, err := planner.Make(f.desired, f.live(t), planner.Options{Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if !again.Empty() {
			var ids []string
			for _, s := range again.Steps {
				ids = append(ids, s.ID+" ("+s.Reason+")")
			}
			t.Fatalf("%s: after applying %d steps the next plan is not empty: %v", name, len(plan.Steps), ids)
		}
		l := f.live(t)
		for _, env := range []string{"staging", "prod"} {
			n := 0
			for _, p := range l.Pools {
				if p.Env == env {
					n++
				}
			}
			if n > 3 {
				t.Errorf("%s: %s keeps %d pools, want at most 1+keep = 3", name, env, n)
			}
			got := servingOf(l, env)
			if len(got) != 1 || poolOf(l, got[0].Pool) == nil || poolOf(l, got[0].Pool).Key != f.pool(env).Key {
				t.Errorf("%s: %s serves %v, want the spec's pool", name, env, got)
			}
		}
		t.Logf("%s: %s", name, rep.Line())
	}

	w1, w2 := strings.Repeat("1", 64), strings.Repeat("2", 64)
	release("v1", w1)
	step("first deploy")
	release("v2", w1)
	step("config change")
	release("v3", w2)
	step("image change")
	release("v4", w2)
	step("config change again")
	release("v2", w1)
	step("rollback to v2")
	if n := mem.Calls(memory.OpBake); n != 3 {
		t.Errorf("%d bakes over the releases, want base + web twice (a rollback bakes nothing)", n)
	}
	for i := 5; i <= 9; i++ {
		release(fmt.Sprintf("v%d", i), w2)
		step(fmt.Sprintf("release v%d", i))
	}
	// Every pool left is either serving or retained warm or cold.
	for _, p := range f.live(t).Pools {
		if p.State != cloud.PoolReady && p.State != cloud.PoolCold {
			t.Errorf("pool %s left %s", p.ID, p.State)
		}
	}
}
