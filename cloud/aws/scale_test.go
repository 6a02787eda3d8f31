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
// nine listeners' rules, and the swap listed every group).
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
	p, _ := cy.plan(ctx, c, d)
	if n := countKinds(p); n[planner.Create] != 1 || n[planner.Swap] != 1 || n[planner.Prune] != 1 {
		t.Fatalf("a release of one endpoint planned %v", n)
	}
	calls.Reset()
	if err := plantest.Apply(ctx, cloud.Set{Name: c}, d, p); err != nil {
		t.Fatal(err)
	}
	rules := 0
	for _, oc := range calls.Calls() {
		if oc.Op == "Elastic Load Balancing v2.DescribeRules" {
			rules = oc.N
		}
	}
	// create, the swap's check of the rule and of what served, the prune's
	// own listener, and the prune's second look at the listeners of its
	// load balancer (one here): moto never detaches a target group from a
	// load balancer (TargetGroup.LoadBalancerArns), so the second look is
	// always taken; on AWS only when something else still routes there.
	if rules > 5 {
		t.Errorf("a release of one endpoint read listener rules %d times, want at most 5: %+v", rules, calls.Calls())
	}
	if n := calls.Total(); n > 48 {
		t.Errorf("a release of one endpoint made %d calls, want at most 48 (an Observe for the image included): %+v", n, calls.Calls())
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
