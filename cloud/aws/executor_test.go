package aws

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/executor"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

// The example on AWS applied by the real executor, which runs independent
// steps at once (bakes, creates of six pools, swaps of three
// environments) and walks prod's canary: first deploy, a release, and the
// revert, each ending with every endpoint on the spec's pool.
func TestExampleWithExecutor(t *testing.T) {
	needMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := motoConfig(t)
	s := newSite(t, cfg, 6)
	fakeBuilders(t, cfg)
	apply := func(d *model.Desired) *executor.Report {
		t.Helper()
		c, err := NewFromConfig(cfg, d, motoOptions())
		if err != nil {
			t.Fatal(err)
		}
		rep := executorApply(ctx, t, c, d)
		after, err := c.Observe(ctx, d.Project)
		if err != nil {
			t.Fatal(err)
		}
		if p, _ := planner.Make(d, after, planner.Options{ImageKeep: -1}); len(p.Steps) != 0 {
			t.Fatalf("after the apply the plan still has %d steps: %+v", len(p.Steps), p.Steps)
		}
		return rep
	}
	first := apply(s.example(t, "1.4.0"))
	if first.Done(planner.Bake) != 3 || first.Done(planner.Create) != 6 || first.Done(planner.Swap) != 6 {
		t.Fatalf("first deploy: %s", first.Line())
	}
	release := apply(s.example(t, "1.4.1"))
	if release.Done(planner.Bake) != 0 || release.Done(planner.Create) != 6 {
		t.Fatalf("a config release: %s", release.Line())
	}
	// The revert is swaps only where retention kept the old pools
	// (staging, prod); ci keeps none (keep: 0), so its two roles are made
	// again from the image that is still there: no bake.
	revert := apply(s.example(t, "1.4.0"))
	if revert.Done(planner.Bake) != 0 || revert.Done(planner.Create) != 2 || revert.Done(planner.Swap) != 6 {
		t.Fatalf("the revert: %s, want 2 creates (ci) and 6 swaps, no bake", revert.Line())
	}
	for _, st := range revert.Plan.Steps {
		if st.Kind == planner.Create && st.Env != "ci" {
			t.Errorf("the revert creates %s in %s, which retention kept", st.Pool, st.Env)
		}
	}
}

// executorApply observes, plans and applies d on c with the real
// executor, as phoenix apply does, and fails t with every failed step.
func executorApply(ctx context.Context, t *testing.T, c cloud.Cloud, d *model.Desired) *executor.Report {
	t.Helper()
	live, p := observeAndPlan(ctx, t, c, d)
	e := &executor.Executor{Clouds: cloud.Set{Name: c}, Desired: d, Live: live, CanaryHold: 10 * time.Millisecond}
	rep, err := e.Apply(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		var why []string
		for _, f := range rep.Failures() {
			why = append(why, f.Step.ID+": "+f.Err.Error())
		}
		t.Fatalf("apply failed:\n%s", strings.Join(why, "\n"))
	}
	return rep
}
