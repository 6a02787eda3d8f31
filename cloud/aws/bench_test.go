package awscloud

import (
	"context"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
)

// BenchmarkNoChangePlan measures what a no-change `phoenix plan` of the
// release spec (2 environments × 2 roles, 2 images) costs against moto once
// it is deployed: AWS calls per plan (calls/op, counted by a middleware on
// the config) and the time of Observe + planner.Make (ns/op). Moto answers
// from memory on this machine, so the time is Phoenix's and moto's
// overhead, not AWS latency; the call count is what carries over to AWS.
func BenchmarkNoChangePlan(b *testing.B) {
	needMoto(b)
	ctx := context.Background()
	cfg := motoConfig(b)
	s := newSite(b, cfg, 4)
	fakeBuilders(b, cfg)
	d := s.release(b, "1")
	setup, err := NewFromConfig(cfg, d, motoOptions())
	if err != nil {
		b.Fatal(err)
	}
	live, err := setup.Observe(ctx, d.Project)
	if err != nil {
		b.Fatal(err)
	}
	p, err := planner.Make(d, live, planner.Options{ImageKeep: -1})
	if err != nil {
		b.Fatal(err)
	}
	if err := plantest.Apply(ctx, cloud.Set{Name: setup}, d, p); err != nil {
		b.Fatal(err)
	}

	counted := cfg.Copy()
	calls := CountCalls(&counted)
	c, err := NewFromConfig(counted, d, motoOptions())
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		live, err := c.Observe(ctx, d.Project)
		if err != nil {
			b.Fatal(err)
		}
		p, err := planner.Make(d, live, planner.Options{ImageKeep: -1})
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Steps) != 0 {
			b.Fatalf("no-change plan has %d steps", len(p.Steps))
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(calls.Total())/float64(b.N), "calls/op")
	if b.N > 0 {
		for _, oc := range calls.Calls() {
			b.Logf("%-45s %6.1f per plan", oc.Op, float64(oc.N)/float64(b.N))
		}
	}
}
