package aws

import (
	"context"
	"fmt"
	"testing"
	"testing/fstest"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/compiler"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
)

// exampleSpec is the repository's example (environments/: three image
// layers, web and api in ci, staging and prod with their counts, retention
// and canary) moved to AWS: the root image from an AMI, each (environment,
// role) behind its own listener.
const exampleSpec = `package phoenix

project: "demo"
images: {
	base: {from: "ami:%[1]s", steps: ["mkdir -p /etc/demo", "echo rebuilt > /etc/motd"], maxAge: "30d"}
	runtime: {parent: "base", steps: ["mkdir -p /srv/app/bin"]}
	app: {parent: "runtime", files: "/srv/app/src": "app", env: CGO_ENABLED: "0", steps: ["cd /srv/app/src && go build -o ../bin/app ."]}
}
roles: {
	web: {image: "app", command: "/srv/app/bin/app web", count: 2, port: 8080, health: {path: "/healthz", interval: "5s", timeout: "2s"},
		smoke: [{path: "/healthz", contains: "ok"}], warm: ["/"], config: GREETING: "Hello"}
	api: {image: "app", command: "/srv/app/bin/app api", count: 1, health: path: "/healthz"}
}
_aws: {region: "us-east-1", subnets: [%[2]q, %[3]q], bucket: %[4]q}
environments: {
	ci: {cloud: "aws", aws: _aws, retention: keep: 0, maxAge: "1d",
		config: VERSION: "%[11]s-ci", secrets: API_TOKEN: "ssm:/demo/api-token",
		roles: {web: {count: 1, endpoint: %[5]q}, api: endpoint: %[6]q}}
	staging: {cloud: "aws", aws: _aws, retention: {keep: 1, warm: 1}, maxAge: "7d",
		config: VERSION: %[11]q, secrets: API_TOKEN: "ssm:/demo/api-token",
		roles: {web: endpoint: %[7]q, api: endpoint: %[8]q}}
	prod: {cloud: "aws", aws: _aws, after: ["staging"], retention: {keep: 2, warm: 1}, maxAge: "14d",
		traffic: {strategy: "canary", steps: [25, 50]},
		config: VERSION: %[11]q, secrets: API_TOKEN: "ssm:/demo/api-token",
		roles: {web: {count: 3, endpoint: %[9]q}, api: {count: 2, endpoint: %[10]q}}}
}
`

// example compiles the example at version v.
func (s site) example(tb testing.TB, v string) *model.Desired {
	tb.Helper()
	fsys := fstest.MapFS{
		"spec.cue":    {Data: fmt.Appendf(nil, exampleSpec, s.SourceAMI, s.AWS.Subnets[0], s.AWS.Subnets[1], s.AWS.Bucket, s.Listeners[0], s.Listeners[1], s.Listeners[2], s.Listeners[3], s.Listeners[4], s.Listeners[5], v)},
		"app/main.go": {Data: []byte("package main\n\nfunc main() {}\n")},
	}
	d, err := compiler.Load(context.Background(), fsys, compiler.Options{})
	if err != nil {
		tb.Fatalf("compiling the example: %v", err)
	}
	d.Source, d.Commit = fsys, "example-"+v
	return d
}

// observeAndPlan observes c and plans d against it, as phoenix plan does
// (every image kept), failing the test on an error.
func observeAndPlan(ctx context.Context, tb testing.TB, c cloud.Cloud, d *model.Desired) (*cloud.Live, *planner.Plan) {
	tb.Helper()
	live, err := c.Observe(ctx, d.Project)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := planner.Make(d, live, planner.Options{ImageKeep: -1})
	if err != nil {
		tb.Fatal(err)
	}
	return live, p
}

// deploy plans and applies d with the reference applier.
func deploy(tb testing.TB, c *Cloud, d *model.Desired) {
	tb.Helper()
	ctx := context.Background()
	_, p := observeAndPlan(ctx, tb, c, d)
	if err := plantest.Apply(ctx, cloud.Set{Name: c}, d, p); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkNoChangePlan measures what a no-change `phoenix plan` of the
// example on AWS costs against moto: AWS calls per plan (calls/op, counted
// by a middleware on the config) and the time of Observe + planner.Make
// (ns/op). "first-deploy" is right after the first apply (6 pools);
// "steady" is after three releases, with the pools retention keeps (12,
// some cold). Moto answers from memory on this machine, so the time is
// Phoenix's and moto's own; the call count is what carries over to AWS.
func BenchmarkNoChangePlan(b *testing.B) {
	needMoto(b)
	cfg := motoConfig(b)
	s := newSite(b, cfg, 6)
	fakeBuilders(b, cfg)
	run := func(b *testing.B, d *model.Desired) {
		counted := cfg.Copy()
		calls := CountCalls(&counted)
		c, err := NewFromConfig(counted, d, motoOptions())
		if err != nil {
			b.Fatal(err)
		}
		pools := 0
		for b.Loop() {
			live, err := c.Observe(context.Background(), d.Project)
			if err != nil {
				b.Fatal(err)
			}
			p, err := planner.Make(d, live, planner.Options{ImageKeep: -1})
			if err != nil {
				b.Fatal(err)
			}
			if len(p.Steps) != 0 {
				b.Fatalf("no-change plan has %d steps: %+v", len(p.Steps), p.Steps)
			}
			pools = len(live.Pools)
		}
		b.ReportMetric(float64(calls.Total())/float64(b.N), "calls/op")
		b.ReportMetric(float64(pools), "pools")
		for _, oc := range calls.Calls() {
			b.Logf("%-45s %5.1f per plan", oc.Op, float64(oc.N)/float64(b.N))
		}
	}
	setup, err := NewFromConfig(cfg, s.example(b, "1.4.0"), motoOptions())
	if err != nil {
		b.Fatal(err)
	}
	deploy(b, setup, s.example(b, "1.4.0"))
	b.Run("first-deploy", func(b *testing.B) { run(b, s.example(b, "1.4.0")) })
	for _, v := range []string{"1.4.1", "1.4.2", "1.4.3"} {
		deploy(b, setup, s.example(b, v))
	}
	b.Run("steady", func(b *testing.B) { run(b, s.example(b, "1.4.3")) })
}
