package executor

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/memory"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

// quotaCloud is the memory cloud with an account limit of pools: it
// refuses a release whose creates pass it, and records in calls what was
// asked of it, quota checks and bakes alike, in order.
type quotaCloud struct {
	*memory.Cloud
	limit int
	mu    sync.Mutex
	calls []string
}

func (c *quotaCloud) record(s string) { c.mu.Lock(); c.calls = append(c.calls, s); c.mu.Unlock() }

func (c *quotaCloud) CheckQuotas(_ context.Context, creates []*model.Pool) ([]string, error) {
	var names []string
	for _, p := range creates {
		names = append(names, p.Env+"/"+p.Role)
	}
	c.record("quotas " + strings.Join(names, " "))
	skipped := []string{"quota: servers not checked: AccessDenied"}
	if len(creates) > c.limit {
		return skipped, errors.New("quota: pools: 0 in use + 2 this release adds = 2 > the account's limit of 1")
	}
	return skipped, nil
}

func (c *quotaCloud) Bake(ctx context.Context, req cloud.BakeRequest) (cloud.Image, error) {
	c.record("bake " + req.Image.Name)
	return c.Cloud.Bake(ctx, req)
}

// Quotas asks each cloud once with every pool the plan creates there, in
// plan order, and a refusal names the cloud and the limit, passes on what
// the cloud could not check, and comes before any step: nothing is baked
// or made. A release within the limit is then applied as planned.
func TestQuotasRefuseBeforeAnyStep(t *testing.T) {
	f := newFixture(t)
	c := &quotaCloud{Cloud: f.mem, limit: 1}
	e := f.executor(nil)
	e.Clouds = cloud.Set{"memory": c}
	p := f.firstDeploy()
	skipped, err := e.Quotas(context.Background(), p)
	if err == nil || err.Error() != "memory cloud: quota: pools: 0 in use + 2 this release adds = 2 > the account's limit of 1" {
		t.Fatalf("Quotas = %v, want the memory cloud's limit named", err)
	}
	if strings.Join(skipped, "|") != "quota: servers not checked: AccessDenied" {
		t.Errorf("skipped %q, want the cloud's line passed on", skipped)
	}
	if got := strings.Join(c.calls, "; "); got != "quotas staging/web prod/web" {
		t.Errorf("calls %q, want one quota check with both creates and no bake", got)
	}
	if l := f.live(t); len(l.Pools) != 0 || len(l.Images) != 0 || len(l.Endpoints) != 0 {
		t.Errorf("the quota check changed the cloud: %d pools, %d images, %d endpoints", len(l.Pools), len(l.Images), len(l.Endpoints))
	}

	// Within the limit: asked, then applied.
	c.limit, c.calls = 2, nil
	if _, err := e.Quotas(context.Background(), p); err != nil {
		t.Fatalf("Quotas within the limit = %v", err)
	}
	e.Live = f.live(t)
	rep, err := e.Apply(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("apply: %s", rep.Line())
	}
	if c.calls[0] != "quotas staging/web prod/web" || len(c.calls) != 3 || !strings.HasPrefix(c.calls[1], "bake ") {
		t.Errorf("calls %q, want the quota check and then the two bakes", c.calls)
	}
}

// A plan that creates nothing (swaps, prunes, bakes) asks no cloud: there
// is nothing to count.
func TestQuotasAskNothingWithoutCreates(t *testing.T) {
	f := newFixture(t)
	c := &quotaCloud{Cloud: f.mem}
	e := f.executor(nil)
	e.Clouds = cloud.Set{"memory": c}
	p := f.firstDeploy()
	var rest []planner.Step
	for _, s := range p.Steps {
		if s.Kind != planner.Create {
			rest = append(rest, s)
		}
	}
	p.Steps = rest
	if skipped, err := e.Quotas(context.Background(), p); err != nil || skipped != nil || len(c.calls) != 0 {
		t.Fatalf("Quotas = %q, %v after calls %q; want nothing asked", skipped, err, c.calls)
	}
}
