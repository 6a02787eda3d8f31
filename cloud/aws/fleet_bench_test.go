package aws

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/compiler"
	"github.com/phoenix-gitops/phoenix/executor"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

// fleetSpec is N environments of one role each, every one behind its own
// listener of one load balancer, keeping one cold pool for rollback: a
// config release of every endpoint creates a pool, swaps to it, cools the
// pool that served and prunes the one before.
const fleetSpec = `package phoenix

project: "fleet"
images: app: {from: "ami:%[1]s", steps: ["echo baked > /etc/motd"]}
roles: web: {image: "app", port: 8080, count: 1, health: path: "/"}
_aws: {region: "us-east-1", subnets: [%[2]q, %[3]q], bucket: %[4]q}
environments: {
%[5]s}
`

// fleet compiles fleetSpec for the site's listeners at VERSION v.
func (s site) fleet(tb testing.TB, v string) *model.Desired {
	tb.Helper()
	return s.fleetAt(tb, func(int) string { return v })
}

// fleetAt compiles fleetSpec for the site's listeners, environment i at
// VERSION version(i).
func (s site) fleetAt(tb testing.TB, version func(i int) string) *model.Desired {
	tb.Helper()
	var envs, commit strings.Builder
	for i, l := range s.Listeners {
		fmt.Fprintf(&envs, "\te%03d: {cloud: \"aws\", aws: _aws, retention: {keep: 1, warm: 0}, config: VERSION: %q, roles: web: endpoint: %q}\n", i, version(i), l)
		commit.WriteString("-" + version(i))
	}
	fsys := fstest.MapFS{"spec.cue": {Data: fmt.Appendf(nil, fleetSpec, s.SourceAMI, s.AWS.Subnets[0], s.AWS.Subnets[1], s.AWS.Bucket, envs.String())}}
	d, err := compiler.Load(context.Background(), fsys, compiler.Options{})
	if err != nil {
		tb.Fatalf("compiling the fleet spec: %v", err)
	}
	d.Source, d.Commit = fsys, "fleet"+short(commit.String(), 60)
	return d
}

// fleetRelease observes, plans and applies d with the real executor (which
// re-observes before each swap and prune, as `phoenix apply` does) and
// returns the plan.
func fleetRelease(tb testing.TB, c *Cloud, d *model.Desired) *planner.Plan {
	tb.Helper()
	ctx := context.Background()
	live, p := observeAndPlan(ctx, tb, c, d)
	e := &executor.Executor{Clouds: cloud.Set{Name: c}, Desired: d, Live: live}
	rep, err := e.Apply(ctx, p)
	if err != nil {
		tb.Fatal(err)
	}
	if !rep.OK() {
		var why []string
		for _, f := range rep.Failures() {
			why = append(why, f.Step.ID+": "+f.Err.Error())
		}
		tb.Fatalf("apply failed:\n%s", strings.Join(why, "\n"))
	}
	return p
}

// fleetFigures are the calls one operation made at one fleet size.
type fleetFigures struct {
	n     int
	plan  []OpCount // per no-change plan
	plans int
	rel   []OpCount // per release, but the two kinds below
	// polls are the release's waiter polls (WaiterPolls), look its
	// prunes' second looks (SecondLook), which moto always takes.
	polls, look []OpCount
	rels        int
	relDur      time.Duration
}

// perEndpoint is calls per endpoint of one release.
func (f fleetFigures) perEndpoint(ops []OpCount) float64 {
	return float64(sum(ops)) / float64(max(f.rels, 1)*f.n)
}

// BenchmarkFleet measures what Phoenix costs in AWS calls as the number of
// endpoints grows: N environments × 1 role (N listeners on one load
// balancer) are deployed and released twice to reach the steady state
// (one serving and one cold pool per endpoint), then it counts the calls of
// a no-change plan (Observe + planner.Make) and of a config release of
// every endpoint (Observe, plan and the executor's apply: create, swap,
// cool, prune), per operation and per endpoint, at N = 3, 10 and 30. A
// release's figures leave out and print apart its waiter polls and its
// prunes' second looks, which moto takes where AWS does not (SecondLook).
// From the counts and AWS's documented request rates it prints the
// estimated wall time of both at 20,000 endpoints. Moto answers from
// memory, so ns/op is Phoenix's and moto's own; the call count is what
// carries over.
func BenchmarkFleet(b *testing.B) {
	needMoto(b)
	cfg := motoConfig(b)
	fakeBuilders(b, cfg)
	var figs []fleetFigures
	for _, n := range []int{3, 10, 30} {
		if err := moto.Reset(context.Background()); err != nil {
			b.Fatal(err)
		}
		figs = append(figs, benchFleet(b, cfg, n))
	}
	// Printed, not logged: a benchmark's log shows only with -v.
	fmt.Println("A release's calls per endpoint leave out, and print apart, the waiter polls (as many as the waits last)")
	fmt.Println("and the prunes' second look: the rules of every listener of the load balancer once the pool's own rule")
	fmt.Println("is gone, taken while TargetGroup.LoadBalancerArns still names it. Moto takes it always (it never clears")
	fmt.Println("LoadBalancerArns), AWS only while something else routes to the pool or before it has caught up.")
	for _, f := range figs {
		fmt.Printf("N=%d: no-change plan %d calls (%.2f per endpoint); release %.1f calls per endpoint (+ %.1f waiter polls, + %.1f the prunes' second look on moto)\n",
			f.n, sum(f.plan)/max(f.plans, 1), float64(sum(f.plan))/float64(max(f.plans, 1)*f.n), f.perEndpoint(f.rel), f.perEndpoint(f.polls), f.perEndpoint(f.look))
		for _, oc := range f.rel {
			fmt.Printf("  release at N=%d %-45s %7.2f per endpoint\n", f.n, oc.Op, f.perEndpoint([]OpCount{oc}))
		}
		for _, oc := range f.polls {
			fmt.Printf("  release at N=%d %-45s %7.2f per endpoint (waiter polls)\n", f.n, oc.Op, f.perEndpoint([]OpCount{oc}))
		}
		for _, oc := range f.look {
			fmt.Printf("  release at N=%d %-45s %7.2f per endpoint (second look)\n", f.n, oc.Op, f.perEndpoint([]OpCount{oc}))
		}
	}
	first, last := figs[0], figs[len(figs)-1]
	fmt.Printf("release calls per endpoint at N=%d / N=%d: %.2f× (target at most 1.25×); with the second look moto takes, %.2f×\n",
		last.n, first.n, last.perEndpoint(last.rel)/first.perEndpoint(first.rel),
		(last.perEndpoint(last.rel)+last.perEndpoint(last.look))/(first.perEndpoint(first.rel)+first.perEndpoint(first.look)))
	// What one more endpoint costs, the release's calls once per release
	// (its plan's whole observe, a subnet's VPC) left out: the slope from
	// N=3 to N=30.
	marginal := (float64(sum(last.rel))/float64(max(last.rels, 1)) - float64(sum(first.rel))/float64(max(first.rels, 1))) / float64(last.n-first.n)
	fmt.Printf("a release's calls for one more endpoint (N=%d to N=%d): %.1f (target at most 25); the rest, %.1f, is once per release\n",
		first.n, last.n, marginal, float64(sum(first.rel))/float64(max(first.rels, 1))-marginal*float64(first.n))
	const fleet = 20000
	plan := extrapolate(first.plan, first.plans, first.n, last.plan, last.plans, last.n, fleet)
	rel := extrapolate(first.rel, first.rels, first.n, last.rel, last.rels, last.n, fleet)
	// A release observes the whole project twice (its plan and apply's
	// first observe), a page per hundreds of pools; every other observe
	// is a step's re-check of its own environment (cloud.EnvObserver), a
	// page per listing whatever the fleet's size.
	plan, rel = atFleetScale(plan, rel, 2, fleet)
	fmt.Printf("estimated at %d endpoints: no-change plan %d calls, %s at AWS's documented rates; release %d calls, %s\n",
		fleet, sum(plan), throttledTime(plan).Round(time.Second), sum(rel), throttledTime(rel).Round(time.Second))
	relTime, slowest := slowestBucket(rel)
	fmt.Printf("the release's time is the %s bucket's (%s; waiter polls and second looks left out)\n", slowest, relTime.Round(time.Second))
	for _, oc := range plan {
		fmt.Printf("  plan    %-45s %8d\n", oc.Op, oc.N)
	}
	for _, oc := range rel {
		fmt.Printf("  release %-45s %8d\n", oc.Op, oc.N)
	}
}

// benchFleet deploys N endpoints to the steady state and measures a
// no-change plan and a release there.
func benchFleet(b *testing.B, cfg aws.Config, n int) fleetFigures {
	s := newSite(b, cfg, n)
	counted := cfg.Copy()
	calls := CountCalls(&counted)
	open := func(d *model.Desired) *Cloud {
		c, err := NewFromConfig(counted, d, motoOptions())
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	version := 1
	for ; version <= 3; version++ {
		d := s.fleet(b, fmt.Sprint(version))
		fleetRelease(b, open(d), d)
	}
	f := fleetFigures{n: n}
	b.Run(fmt.Sprintf("N=%d/plan", n), func(b *testing.B) {
		d := s.fleet(b, fmt.Sprint(version-1))
		c := open(d)
		calls.Reset()
		for b.Loop() {
			live, err := c.Observe(context.Background(), d.Project)
			if err != nil {
				b.Fatal(err)
			}
			p, err := planner.Make(d, live, planner.Options{ImageKeep: -1})
			if err != nil {
				b.Fatal(err)
			}
			if !p.Empty() {
				b.Fatalf("no-change plan has %d steps: %+v", len(p.Steps), p.Steps)
			}
		}
		f.plan, f.plans = calls.Calls(), b.N
		b.ReportMetric(float64(calls.Total())/float64(b.N), "calls/op")
		b.ReportMetric(float64(calls.Total())/float64(b.N*n), "calls/endpoint")
	})
	b.Run(fmt.Sprintf("N=%d/release", n), func(b *testing.B) {
		calls.Reset()
		start, runs := time.Now(), 0
		for b.Loop() {
			d := s.fleet(b, fmt.Sprint(version))
			version++
			p := fleetRelease(b, open(d), d)
			if got := countKinds(p); got[planner.Create] != n || got[planner.Swap] != n || got[planner.Prune] != n {
				b.Fatalf("a release of %d endpoints at the steady state planned %v", n, got)
			}
			runs++
		}
		f.rel, f.rels, f.relDur = calls.Calls(), runs, time.Since(start)
		f.polls, f.look = calls.Apart(WaiterPolls), calls.Apart(SecondLook)
		b.ReportMetric(float64(calls.Total())/float64(runs), "calls/op")
		b.ReportMetric(float64(calls.Total())/float64(runs*n), "calls/endpoint")
	})
	return f
}

func countKinds(p *planner.Plan) map[planner.Kind]int {
	n := map[planner.Kind]int{}
	for _, st := range p.Steps {
		n[st.Kind]++
	}
	return n
}

// extrapolate fits calls = a + b·N per operation through two measured
// fleet sizes (per run) and returns the calls at size n.
func extrapolate(lo []OpCount, loRuns, loN int, hi []OpCount, hiRuns, hiN, n int) []OpCount {
	per := func(ops []OpCount, runs int) map[string]float64 {
		m := map[string]float64{}
		for _, o := range ops {
			m[o.Op] = float64(o.N) / float64(max(runs, 1))
		}
		return m
	}
	a, z := per(lo, loRuns), per(hi, hiRuns)
	ops := map[string]bool{}
	for k := range a {
		ops[k] = true
	}
	for k := range z {
		ops[k] = true
	}
	var out []OpCount
	for _, op := range sortedKeys(ops) {
		slope := (z[op] - a[op]) / float64(hiN-loN)
		v := a[op] + slope*float64(n-loN)
		out = append(out, OpCount{Op: op, N: max(int(v+0.5), 0)})
	}
	return out
}

// atFleetScale corrects the straight-line extrapolation where the shape
// of the calls is known: a listing costs a page per 100 groups, 200
// launch templates, 400 target groups (the account's, listed once past a
// few load balancers), and per load balancer, which holds at most 50
// listeners (the ALB quota), while the measured fleets fit in one page;
// every Observe of a release pays those pages (observes of them, or none
// for an executor that re-checks only the step's environment). Listener
// rules are read per endpoint only (create, swap, prune and the two
// re-checks of its environment, whose one listener's rules cost less than
// its load balancer's pages): the prune's second look at every listener
// of its load balancer, taken on AWS only when something else routes to
// the pool (moto takes it always: it never detaches a target group), is
// not in rel, nor are waiter polls. The fleet has two pools per endpoint,
// as the benchmark's steady state.
func atFleetScale(plan, rel []OpCount, observes, n int) ([]OpCount, []OpCount) {
	ceil := func(a, b int) int { return (a + b - 1) / b }
	pages := map[string]int{
		"Auto Scaling.DescribeAutoScalingGroups":         ceil(2*n, 100),
		"EC2.DescribeLaunchTemplates":                    ceil(2*n, 200),
		"Elastic Load Balancing v2.DescribeListeners":    ceil(n, 50),
		"Elastic Load Balancing v2.DescribeTargetGroups": ceil(2*n, 400), // the account's, listed once
	}
	plan, rel = slices.Clone(plan), slices.Clone(rel)
	for i, o := range plan {
		if p, ok := pages[o.Op]; ok {
			plan[i].N = max(o.N, p)
		}
	}
	for i, o := range rel {
		if p, ok := pages[o.Op]; ok {
			rel[i].N += observes * (p - 1)
		}
	}
	return plan, rel
}

// throttledTime is how long calls take at best when each bucket of AWS's
// documented request rates (rates.go) is drained and then refilled at its
// rate; buckets are independent, so the slowest one decides.
func throttledTime(ops []OpCount) time.Duration {
	d, _ := slowestBucket(ops)
	return d
}

// slowestBucket is throttledTime and the bucket that decides it.
func slowestBucket(ops []OpCount) (time.Duration, string) {
	per := map[string]int{}
	for _, o := range ops {
		per[bucketOf(o.Op).name] += o.N
	}
	var worst time.Duration
	slowest := ""
	for _, name := range sortedKeys(per) {
		n, bk := per[name], bucketByName(name)
		if bk.rate <= 0 || n <= bk.burst {
			continue
		}
		if d := time.Duration(float64(n-bk.burst) / bk.rate * float64(time.Second)); d > worst {
			worst, slowest = d, name
		}
	}
	return worst, slowest
}
