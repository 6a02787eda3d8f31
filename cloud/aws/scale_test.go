package awscloud

import (
	"context"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/planner"
)

// A no-change plan costs pages, not resources: with twelve endpoints on
// one load balancer and a pool behind each, Observe reads the groups, the
// launch templates, the images and the locks a page each, and the load
// balancer's listeners and used target groups a page each, and still
// sees every pool healthy and every endpoint served. Nothing is read per
// listener (DescribeRules) or per pool (DescribeTargetHealth): that was
// 2 calls an endpoint, 28 in all.
func TestNoChangePlanReadsPages(t *testing.T) {
	needMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := motoConfig(t)
	s := newSite(t, cfg, 12)
	fakeBuilders(t, cfg)
	d := s.fleet(t, "1")
	setup, err := NewFromConfig(cfg, d, motoOptions())
	if err != nil {
		t.Fatal(err)
	}
	deploy(t, setup, d)

	counted := cfg.Copy()
	calls := CountCalls(&counted)
	c, err := NewFromConfig(counted, d, motoOptions())
	if err != nil {
		t.Fatal(err)
	}
	live, err := c.Observe(ctx, d.Project)
	if err != nil {
		t.Fatal(err)
	}
	p, err := planner.Make(d, live, planner.Options{ImageKeep: -1})
	if err != nil {
		t.Fatal(err)
	}
	if !p.Empty() {
		t.Fatalf("a no-change plan has steps: %+v", p.Steps)
	}
	if len(live.Endpoints) != 12 || len(live.Pools) != 12 {
		t.Fatalf("observed %d endpoints and %d pools, want 12 of each", len(live.Endpoints), len(live.Pools))
	}
	for _, pool := range live.Pools {
		if !pool.Healthy || pool.Servers != pool.Count {
			t.Errorf("pool %s observed %+v, want healthy with all its servers", pool.ID, pool)
		}
	}
	for _, oc := range calls.Calls() {
		switch oc.Op {
		case "Elastic Load Balancing v2.DescribeRules", "Elastic Load Balancing v2.DescribeTargetHealth":
			t.Errorf("Observe called %s %d times: it is read per listener or per pool", oc.Op, oc.N)
		}
	}
	if n := calls.Total(); n > 7 {
		t.Errorf("a no-change plan of 12 endpoints made %d calls, want at most 7: %+v", n, calls.Calls())
	}
}
