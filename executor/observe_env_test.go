package executor

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/memory"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
)

// envCloud is the memory cloud as a cloud that reads one environment
// alone (as AWS does by tags), counting whole and per-environment reads.
type envCloud struct {
	*memory.Cloud
	mu    sync.Mutex
	whole int
	envs  []string
}

func (c *envCloud) Observe(ctx context.Context, project string) (*cloud.Live, error) {
	c.mu.Lock()
	c.whole++
	c.mu.Unlock()
	return c.Cloud.Observe(ctx, project)
}

func (c *envCloud) ObserveEnv(ctx context.Context, project, env string) (*cloud.Live, error) {
	c.mu.Lock()
	c.envs = append(c.envs, env)
	c.mu.Unlock()
	all, err := c.Cloud.Observe(ctx, project)
	if err != nil {
		return nil, err
	}
	out := &cloud.Live{} // no images: the re-checks do not read them
	for _, p := range all.Pools {
		if p.Env == env {
			out.Pools = append(out.Pools, p)
		}
	}
	for _, e := range all.Endpoints {
		if e.Env == env {
			out.Endpoints = append(out.Endpoints, e)
		}
	}
	return out, nil
}

// A release's swaps, canary holds and prunes re-check only their own
// environment when the cloud can read one alone: the reads of a release
// do not grow with the number of environments of the project.
func TestStepsReadTheirOwnEnvironment(t *testing.T) {
	spec := func(v int) *plantest.Spec {
		s := plantest.NewSpec("shop").Image("web", "", "install web")
		for i := range 4 {
			env := fmt.Sprintf("env%d", i)
			s.Env(env, plantest.Keep(0, 0), plantest.Canary(50, 100)).Role(env, "web", "web", 1, fmt.Sprintf("VERSION=%d", v))
		}
		return s
	}
	ctx := context.Background()
	c := &envCloud{Cloud: memory.New()}
	set := cloud.Set{"memory": c}
	for v := 1; v <= 2; v++ {
		d := spec(v).Desired()
		live, err := set.Observe(ctx, d.Project)
		if err != nil {
			t.Fatal(err)
		}
		p, err := planner.Make(d, live, planner.Options{Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		c.whole, c.envs = 0, nil
		c.mu.Unlock()
		e := &Executor{Clouds: set, Desired: d, Live: live, CanaryHold: time.Millisecond}
		rep, err := e.Apply(ctx, p)
		if err != nil || !rep.OK() {
			t.Fatalf("release %d: %v %v", v, err, rep.Err())
		}
		if v == 1 {
			continue // the first deploy has nothing to re-check
		}
		if c.whole != 0 {
			t.Errorf("a release of 4 environments read the whole project %d times", c.whole)
		}
		slices.Sort(c.envs)
		if got := slices.Compact(slices.Clone(c.envs)); !slices.Equal(got, []string{"env0", "env1", "env2", "env3"}) {
			t.Errorf("environments read: %v", c.envs)
		}
	}
}
