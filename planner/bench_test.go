package planner_test

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
)

const benchRoles = 200

// benchWorld builds n desired pools (n/200 environments of 200 roles, each
// role with its own image on a shared base) and a live state of 3n pools
// and n/4 images, where most endpoints need nothing and every tenth
// changed its image (bake, create, swap, prune), every twentieth rolls
// back, and every twentieth serves an unhealthy pool.
func benchWorld(n int, changes bool) (*model.Desired, *cloud.Live) {
	envs := n / benchRoles
	s := plantest.NewSpec("bench").Image("base", "", "os")
	for r := range benchRoles {
		s.Image(fmt.Sprintf("img%03d", r), "base", "app")
	}
	for e := range envs {
		env := fmt.Sprintf("env%04d", e)
		var opts []plantest.EnvOption
		if e > 0 {
			opts = append(opts, plantest.After(fmt.Sprintf("env%04d", e-1)))
		}
		s.Env(env, opts...)
		for r := range benchRoles {
			s.Role(env, fmt.Sprintf("role%03d", r), fmt.Sprintf("img%03d", r), 2)
		}
	}
	d := s.Desired()

	live := &cloud.Live{}
	for _, name := range d.ImageNames() {
		if name != "img000" || !changes { // one image changed: its roles bake
			live.Images = append(live.Images, plantest.ImageFor(d, "memory", name, now.Add(-10*day)))
		}
	}
	oldBuilds := n/4 - len(live.Images)
	for i := range oldBuilds {
		live.Images = append(live.Images, cloud.Image{
			Cloud: "memory", Name: fmt.Sprintf("img%03d", i%benchRoles), BuildID: fmt.Sprintf("%064x", i+1),
			ParentBuildID: d.Images["base"].BuildID, CreatedAt: now.Add(-20 * day),
		})
	}
	for i, p := range d.Pools {
		serving := plantest.PoolFor(p, 1, now.Add(-5*day))
		old1 := plantest.PoolFor(p, 1, now.Add(-6*day))
		old2 := plantest.PoolFor(p, 1, now.Add(-7*day))
		old1.Key, old2.Key = fmt.Sprintf("%08x", i*2+1)+"aa", fmt.Sprintf("%08x", i*2+2)+"bb"
		old1.BuildID, old2.BuildID = live.Images[len(live.Images)-1-i%oldBuilds].BuildID, live.Images[len(live.Images)-1-(i+7)%oldBuilds].BuildID
		old1.ID, old2.ID = cloud.PoolID(p.Env, p.Role, old1.Key, 1), cloud.PoolID(p.Env, p.Role, old2.Key, 1)
		old1.LastServed, old2.LastServed = now.Add(-5*day), now.Add(-6*day)
		switch {
		case !changes:
		case p.Image == "img000": // image changed: serving pool has another key
			serving, old1 = old1, serving
			serving.ID, old1.ID = old1.ID, serving.ID
			serving.Key, old1.Key = old1.Key, serving.Key
			serving.BuildID, old1.BuildID = old1.BuildID, serving.BuildID
			old1.Key, old1.ID = fmt.Sprintf("%08x", i*2+3)+"cc", cloud.PoolID(p.Env, p.Role, fmt.Sprintf("%08x", i*2+3)+"cc", 1)
		case i%20 == 1: // rollback: a retained pool has the key
			serving, old1 = old1, serving
		case i%20 == 2: // unhealthy serving pool
			serving.Healthy, serving.Servers = false, 1
		}
		live.Pools = append(live.Pools, serving, old1, old2)
		live.Endpoints = append(live.Endpoints, cloud.Endpoint{
			Cloud: "memory", Env: p.Env, Role: p.Role, Address: p.Endpoint,
			Backends: []cloud.Backend{{Pool: serving.ID, Weight: 100}},
		})
	}
	return d, live
}

// BenchmarkPlan plans 20,000 desired pools against 60,000 live pools and
// 5,000 images (the figure; target under 200 ms), and the same
// shape at 2,000 / 20,000 / 200,000 pools to show linear growth in ns per
// desired pool; then a first deploy of 20,000 pools (see benchFirstDeploy).
func BenchmarkPlan(b *testing.B) {
	for _, n := range []int{2000, 20000, 200000} {
		b.Run(fmt.Sprintf("pools=%d", n), func(b *testing.B) {
			d, live := benchWorld(n, true)
			opts := planner.Options{Now: now, ImageKeep: -1}
			p, err := planner.Make(d, live, opts)
			if err != nil {
				b.Fatal(err)
			}
			s := p.Summary()
			b.ReportAllocs()
			cpu0 := cpuTime()
			b.ResetTimer()
			for b.Loop() {
				if _, err := planner.Make(d, live, opts); err != nil {
					b.Fatal(err)
				}
			}
			elapsed := b.Elapsed()
			// CPU time of the process (planner and its GC) tells the cost
			// apart from waiting for a core on a shared machine.
			cpu := cpuTime() - cpu0
			b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/op")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N)/float64(n), "cpu-ns/pool")
			b.ReportMetric(float64(elapsed.Microseconds())/1000/float64(b.N), "ms/op")
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(b.N)/float64(n), "ns/pool")
			b.ReportMetric(float64(len(live.Pools)), "live-pools")
			b.ReportMetric(float64(len(live.Images)), "live-images")
			b.ReportMetric(float64(len(p.Steps)), "steps")
			_ = s
		})
	}
	b.Run("no-change=20000", benchNoChange)
	b.Run("first-deploy=20000", benchFirstDeploy)
	b.Run("first-deploy-after-all=4000", benchAfterAll)
}

// cpuTime is the user+system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchNoChange plans 20,000 desired pools against 60,000 live pools that
// already match: the steady state, an empty plan.
func benchNoChange(b *testing.B) {
	d, live := benchWorld(20000, false)
	opts := planner.Options{Now: now, ImageKeep: -1}
	if p, err := planner.Make(d, live, opts); err != nil || !p.Empty() {
		b.Fatalf("want an empty plan: %v", err)
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		if _, err := planner.Make(d, live, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
}

// benchFirstDeploy plans 20,000 desired pools against an empty cloud: every
// pool is created and swapped, and each environment's 200 swaps wait for
// the 200 of the environment before it (`after`): 99 x 200 x 200 = 3.96
// million of its 4 million dependencies. Each swap of an environment
// waits for each of the one before, as the DAG has no step that stands for
// "all swaps of an environment"; fewer would need such a step in the plan.
func benchFirstDeploy(b *testing.B) {
	d, _ := benchWorld(20000, true)
	p, err := planner.Make(d, &cloud.Live{}, planner.Options{Now: now, ImageKeep: -1})
	if err != nil {
		b.Fatal(err)
	}
	benchEmptyCloud(b, d, p)
}

// benchAfterAll plans a first deploy of 20 environments of 200 roles where
// each environment lists every earlier one in `after` (prod after staging
// and qa, qa after staging): its swaps need to wait only for the
// environment just before it, which waits for the rest.
func benchAfterAll(b *testing.B) {
	s := plantest.NewSpec("bench").Image("base", "", "os")
	for r := range benchRoles {
		s.Image(fmt.Sprintf("img%03d", r), "base", "app")
	}
	var earlier []string
	for e := range 20 {
		env := fmt.Sprintf("env%04d", e)
		s.Env(env, plantest.After(earlier...))
		for r := range benchRoles {
			s.Role(env, fmt.Sprintf("role%03d", r), fmt.Sprintf("img%03d", r), 2)
		}
		earlier = append(earlier, env)
	}
	d := s.Desired()
	p, err := planner.Make(d, &cloud.Live{}, planner.Options{Now: now, ImageKeep: -1})
	if err != nil {
		b.Fatal(err)
	}
	benchEmptyCloud(b, d, p)
}

// benchEmptyCloud times planning d against an empty cloud and reports the
// size of p, the plan it makes.
func benchEmptyCloud(b *testing.B, d *model.Desired, p *planner.Plan) {
	opts := planner.Options{Now: now, ImageKeep: -1}
	edges := 0
	for _, s := range p.Steps {
		edges += len(s.After)
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for b.Loop() {
		if _, err := planner.Make(d, &cloud.Live{}, opts); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/1000/float64(b.N), "cpu-ms/op")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/1000/float64(b.N), "ms/op")
	b.ReportMetric(float64(len(p.Steps)), "steps")
	b.ReportMetric(float64(edges), "dependencies")
}
