package aws

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/executor"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
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
	live, p := observeAndPlan(ctx, t, c, d)
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

// A release of one endpoint costs that endpoint's calls, whatever the
// project's size: its create, swap, cooling and prune read the rules of
// its own listener and of the listeners of its own load balancer only,
// and find the pools that served by name. Here the endpoint has a load
// balancer of its own beside eight other endpoints on another one, whose
// listeners it must not read (before: the cooling and the prune read all
// nine listeners' rules, and the swap listed every group). The release is
// applied by the executor, whose swap and prune re-check the environment
// first (ObserveEnv). Every read is pinned: the create reads its listener's
// rules and nothing else of its pool (it was: the group twice and the
// target health once more); the swap reads the pool's health and
// listener rules once (it was: the rules twice and the old pool's target
// group tags), and the cooling the old pool's target group and its load
// balancer's listeners; the prune reads its listener's rules, its rule's
// tags and its target group (it was: also the target group by name with
// its tags, the load balancer's listeners and the launch template); each
// re-check reads the environment's groups and the listener's rules (it
// was: also images, locks, launch templates and both load balancer
// listings), and the swap, the cooling and the prune use the groups their
// re-check read a moment before (they read them again: Options.GroupReuse).
// Cooling writes no cold tag (it did). Waiter polls
// and the prune's second look (moto never clears LoadBalancerArns) are
// counted apart, the second look reading the one listener of its load
// balancer.
func TestReleaseOfOneEndpointReadsItsOwn(t *testing.T) {
	needMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cy := &cycle{t: t, cfg: motoConfig(t), imageKeep: -1}
	s := newSite(t, cy.cfg, 9)
	fakeBuilders(t, cy.cfg)
	s.Listeners[0] = newBalancer(t, cy.cfg, s, "solo")
	cy.apply(ctx, s.fleet(t, "1"))
	cy.apply(ctx, s.fleet(t, "2"))

	d := s.fleetAt(t, func(i int) string { return map[bool]string{true: "3", false: "2"}[i == 0] })
	counted := cy.cfg.Copy()
	calls := CountCalls(&counted)
	c, err := NewFromConfig(counted, d, motoOptions())
	if err != nil {
		t.Fatal(err)
	}
	p, live := cy.plan(ctx, c, d)
	if n := countKinds(p); n[planner.Create] != 1 || n[planner.Swap] != 1 || n[planner.Prune] != 1 {
		t.Fatalf("a release of one endpoint planned %v", n)
	}
	calls.Reset()
	e := &executor.Executor{Clouds: cloud.Set{Name: c}, Desired: d, Live: live}
	rep, err := e.Apply(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("the release failed: %v", rep.Failures())
	}
	const (
		asg = "Auto Scaling."
		ec2 = "EC2."
		elb = "Elastic Load Balancing v2."
	)
	// The most calls of each operation; those not named are not made.
	want := map[string]int{
		// Mutations: create (template, target group, rule, group, tag
		// ready), swap (listener, tag served), cooling (scale), prune
		// (rule, group, target group, template).
		ec2 + "CreateLaunchTemplate": 1, elb + "CreateTargetGroup": 1, elb + "CreateRule": 1, asg + "CreateAutoScalingGroup": 1,
		asg + "CreateOrUpdateTags": 2, elb + "ModifyListener": 1, asg + "UpdateAutoScalingGroup": 1,
		elb + "DeleteRule": 1, asg + "DeleteAutoScalingGroup": 1, elb + "DeleteTargetGroup": 1, ec2 + "DeleteLaunchTemplate": 1,
		// Reads: the create's subnet (once per cloud); the environment's
		// groups at the two re-checks (the swap, the cooling and the
		// prune use them); the listener's rules at the create, the swap,
		// the prune and the two re-checks; the load balancer's listeners
		// and the cooled pool's target group at the cooling, the pruned
		// pool's target group at the prune; the new pool's health at the
		// swap; the pruned pool's rule's tags.
		ec2 + "DescribeSubnets": 1, asg + "DescribeAutoScalingGroups": 2, elb + "DescribeRules": 5,
		elb + "DescribeListeners": 1, elb + "DescribeTargetGroups": 2, elb + "DescribeTargetHealth": 1, elb + "DescribeTags": 1,
	}
	for _, oc := range calls.Calls() {
		if oc.N > want[oc.Op] {
			t.Errorf("a release of one endpoint called %s %d times, want at most %d", oc.Op, oc.N, want[oc.Op])
		}
	}
	if n := calls.Total(); n > 25 {
		t.Errorf("a release of one endpoint made %d calls, want at most 25: %+v", n, calls.Calls())
	}
	polls := map[string]int{}
	for _, oc := range calls.Apart(WaiterPolls) {
		polls[oc.Op] = oc.N
	}
	if polls[elb+"DescribeTargetHealth"] == 0 || polls[asg+"DescribeAutoScalingGroups"] == 0 {
		t.Errorf("the waits for the new pool's health and the old group's deletion polled %v, counted apart", polls)
	}
	for _, oc := range calls.Apart(SecondLook) {
		if oc.Op != elb+"DescribeListeners" && oc.Op != elb+"DescribeRules" || oc.N > 1 {
			t.Errorf("the prune's second look called %s %d times, want the listeners of its load balancer once and its one listener's rules", oc.Op, oc.N)
		}
	}
	if p, _ := cy.plan(ctx, cy.open(d), d); !p.Empty() {
		t.Fatalf("after the release the plan is %+v", p.Steps)
	}
}

// newBalancer makes another load balancer in the site's subnets with one
// listener, and returns the listener.
func newBalancer(t *testing.T, cfg aws.Config, s site, name string) string {
	t.Helper()
	ctx := context.Background()
	lb := elb.NewFromConfig(cfg)
	out, err := lb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: &name, Subnets: s.AWS.Subnets})
	if err != nil {
		t.Fatal(err)
	}
	l, err := lb.CreateListener(ctx, &elb.CreateListenerInput{
		LoadBalancerArn: out.LoadBalancers[0].LoadBalancerArn, Port: aws.Int32(9000), Protocol: elbtypes.ProtocolEnumHttp,
		DefaultActions: []elbtypes.Action{detached},
	})
	if err != nil {
		t.Fatal(err)
	}
	return *l.Listeners[0].ListenerArn
}

// The serving check at prune time holds under the scoped reads: a
// retained pool whose target group an operator attached by hand to a
// second listener, by a rule or as its default action, is refused with
// ErrServing and left whole; once detached it is pruned.
func TestPruneRefusesATargetGroupAttachedByHand(t *testing.T) {
	needMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cy := &cycle{t: t, cfg: motoConfig(t), imageKeep: -1}
	s := newSite(t, cy.cfg, 3)
	fakeBuilders(t, cy.cfg)
	spare := s.Listeners[2]
	s.Listeners = s.Listeners[:2]
	cy.apply(ctx, s.fleet(t, "1"))
	d := s.fleet(t, "2")
	cy.apply(ctx, d)
	c := cy.open(d)
	live, err := c.Observe(ctx, d.Project)
	if err != nil {
		t.Fatal(err)
	}
	retained := ""
	for _, p := range live.Pools {
		if p.Env == "e000" && p.State == cloud.PoolCold {
			retained = p.ID
		}
	}
	tg, err := c.targetGroup(ctx, d.Project, targetGroupName(d.Project, retained))
	if retained == "" || err != nil || tg == nil {
		t.Fatalf("no retained pool of e000 with its target group: %q, %v", retained, err)
	}
	lb := elb.NewFromConfig(cy.cfg)
	forward := []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: tg.TargetGroupArn}}
	rule, err := lb.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: &spare, Priority: aws.Int32(7), Actions: forward,
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/old/*"}}}})
	if err != nil {
		t.Fatal(err)
	}
	refused := func(how string) {
		t.Helper()
		if err := c.DeletePool(ctx, d.Project, retained); !errors.Is(err, cloud.ErrServing) {
			t.Fatalf("prune of a pool %s: %v, want ErrServing", how, err)
		}
		if g, err := c.group(ctx, d.Project, retained); err != nil || g == nil {
			t.Fatalf("a refused prune (%s) left no group: %v", how, err)
		}
		l, err := c.readListener(ctx, s.Listeners[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := l.ruleFor(aws.ToString(tg.TargetGroupArn)); !ok {
			t.Fatalf("a refused prune (%s) left the pool without its rule", how)
		}
	}
	refused("a rule of another listener routes to")
	if _, err := lb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: rule.Rules[0].RuleArn}); err != nil {
		t.Fatal(err)
	}
	if _, err := lb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: &spare, DefaultActions: forward}); err != nil {
		t.Fatal(err)
	}
	refused("another listener's default action routes to")
	if _, err := lb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: &spare, DefaultActions: []elbtypes.Action{detached}}); err != nil {
		t.Fatal(err)
	}
	if err := c.DeletePool(ctx, d.Project, retained); err != nil {
		t.Fatalf("prune once detached: %v", err)
	}
}

// Scoped by environment (`--env`): Observe of a cloud scoped to one
// environment of six reads that environment's pools and endpoint only,
// with the same few calls as for the whole project; a release of it
// planned and applied in scope changes it alone, and the whole project's
// next plan is empty.
func TestScopedObserveReadsOneEnvironment(t *testing.T) {
	needMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cy := &cycle{t: t, cfg: motoConfig(t), imageKeep: -1}
	s := newSite(t, cy.cfg, 6)
	fakeBuilders(t, cy.cfg)
	cy.apply(ctx, s.fleet(t, "1"))

	d := s.fleetAt(t, func(i int) string { return map[bool]string{true: "2", false: "1"}[i == 1] })
	counted := cy.cfg.Copy()
	calls := CountCalls(&counted)
	c, err := NewFromConfig(counted, d, motoOptions())
	if err != nil {
		t.Fatal(err)
	}
	c.Scope([]string{"e001"})
	live, err := c.Observe(ctx, d.Project)
	if err != nil {
		t.Fatal(err)
	}
	if len(live.Pools) != 1 || live.Pools[0].Env != "e001" || len(live.Endpoints) != 1 || live.Endpoints[0].Env != "e001" {
		t.Fatalf("a scoped Observe read pools %+v and endpoints %+v, want e001's only", live.Pools, live.Endpoints)
	}
	// A page each, and once per cloud the tags of the other environments'
	// target groups on the shared load balancer (20 a call).
	if n := calls.Total(); n > 7 {
		t.Errorf("a scoped Observe made %d calls: %+v", n, calls.Calls())
	}
	p, err := planner.Make(d, live, planner.Options{Envs: []string{"e001"}, ImageKeep: -1})
	if err != nil {
		t.Fatal(err)
	}
	if n := countKinds(p); n[planner.Create] != 1 || n[planner.Swap] != 1 || len(p.Steps) != 2 {
		t.Fatalf("a scoped release planned %+v", p.Steps)
	}
	if err := plantest.Apply(ctx, cloud.Set{Name: c}, d, p); err != nil {
		t.Fatal(err)
	}
	if next, _ := cy.plan(ctx, cy.open(d), d); !next.Empty() {
		t.Fatalf("after the scoped release the project's plan is %+v", next.Steps)
	}
}

// With endpoints on many load balancers (a fleet: an ALB holds at most 50
// listeners), Observe lists the account's target groups once, in pages,
// instead of once per load balancer, and still sees every pool healthy.
func TestObserveOfManyBalancersListsTargetGroupsOnce(t *testing.T) {
	needMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cy := &cycle{t: t, cfg: motoConfig(t), imageKeep: -1}
	s := newSite(t, cy.cfg, 0)
	fakeBuilders(t, cy.cfg)
	for i := range perBalancerListings + 2 {
		s.Listeners = append(s.Listeners, newBalancer(t, cy.cfg, s, fmt.Sprintf("lb%02d", i)))
	}
	d := s.fleet(t, "1")
	cy.apply(ctx, d)

	counted := cy.cfg.Copy()
	calls := CountCalls(&counted)
	c, err := NewFromConfig(counted, d, motoOptions())
	if err != nil {
		t.Fatal(err)
	}
	p, live := cy.plan(ctx, c, d)
	if !p.Empty() || len(live.Pools) != len(s.Listeners) || len(live.Endpoints) != len(s.Listeners) {
		t.Fatalf("observed %d pools and %d endpoints, plan %+v", len(live.Pools), len(live.Endpoints), p.Steps)
	}
	for _, pool := range live.Pools {
		if !pool.Healthy {
			t.Errorf("pool %s observed %+v, want healthy", pool.ID, pool)
		}
	}
	for _, oc := range calls.Calls() {
		if oc.Op == "Elastic Load Balancing v2.DescribeTargetGroups" && oc.N != 1 {
			t.Errorf("Observe of %d load balancers listed target groups %d times, want once", len(s.Listeners), oc.N)
		}
	}
}
