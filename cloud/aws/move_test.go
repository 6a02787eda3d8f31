package aws

import (
	"context"
	"slices"
	"testing"
	"time"

	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
)

// An endpoint moved to another listener (rule 7) on moto: the plan is one
// destructive swap naming the old listener; after it the new listener
// forwards to the serving pool, the old one answers a fixed 503 (detached,
// as a removed environment's endpoint is), and the next plan is empty.
func TestEndpointMoveOnMoto(t *testing.T) {
	needMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cy := &cycle{t: t, cfg: motoConfig(t), imageKeep: -1}
	s := newSite(t, cy.cfg, 5)
	fakeBuilders(t, cy.cfg)
	v1 := s.release(t, "1")
	cy.apply(ctx, v1)
	before := cy.serving(ctx, v1)

	moved := s
	moved.Listeners = slices.Clone(s.Listeners)
	moved.Listeners[2] = s.Listeners[4] // prod/web
	d := moved.release(t, "1")
	p, _ := cy.plan(ctx, cy.open(d), d)
	if len(p.Steps) != 1 || p.Steps[0].Kind != "swap" || p.Steps[0].MoveFrom != s.Listeners[2] || !p.Steps[0].Destructive {
		t.Fatalf("plan of a moved listener: %+v", p.Steps)
	}
	wantSteps(t, "move", cy.apply(ctx, d), 0, 0, 1, 0)
	after := cy.serving(ctx, d)
	if after["prod/web"] != before["prod/web"] {
		t.Errorf("the move changed the serving pool: %s -> %s", before["prod/web"], after["prod/web"])
	}
	lb := elb.NewFromConfig(cy.cfg)
	out, err := lb.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{s.Listeners[2], s.Listeners[4]}})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range out.Listeners {
		a := l.DefaultActions[0]
		switch *l.ListenerArn {
		case s.Listeners[2]:
			if a.Type != elbtypes.ActionTypeEnumFixedResponse {
				t.Errorf("the old listener still %s after the move", a.Type)
			}
		case s.Listeners[4]:
			if a.Type != elbtypes.ActionTypeEnumForward {
				t.Errorf("the new listener %s after the move, want a forward", a.Type)
			}
		}
	}
	if p, live := cy.plan(ctx, cy.open(d), d); !p.Empty() {
		t.Fatalf("plan after the move is not empty: %+v\nlive endpoints %+v", p.Steps, live.Endpoints)
	}
}

// ObserveEnv reads one environment's pools and endpoints, whatever the
// cloud's Scope: the executor's re-check before a swap or prune costs that
// environment's reads only, three pages (groups, listeners, used target
// groups), and no images, locks or launch templates, which it does not
// need (it read all four, five calls and more).
func TestObserveEnvReadsOneEnvironment(t *testing.T) {
	needMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cy := &cycle{t: t, cfg: motoConfig(t), imageKeep: -1}
	s := newSite(t, cy.cfg, 4)
	fakeBuilders(t, cy.cfg)
	d := s.release(t, "1")
	cy.apply(ctx, d)
	counted := cy.cfg.Copy()
	calls := CountCalls(&counted)
	c, err := NewFromConfig(counted, d, motoOptions())
	if err != nil {
		t.Fatal(err)
	}
	whole, err := c.Observe(ctx, d.Project)
	if err != nil {
		t.Fatal(err)
	}
	calls.Reset()
	one, err := c.ObserveEnv(ctx, d.Project, "staging")
	if err != nil {
		t.Fatal(err)
	}
	if n := calls.Total(); n > 3 {
		t.Errorf("ObserveEnv made %d calls, want at most 3: %+v", n, calls.Calls())
	}
	if len(one.Images) != 0 || len(one.Locks) != 0 {
		t.Errorf("ObserveEnv reports %d images and %d locks, which the re-checks do not read", len(one.Images), len(one.Locks))
	}
	want := 0
	for _, p := range whole.Pools {
		if p.Env == "staging" {
			want++
		}
	}
	if len(one.Pools) != want || want == 0 {
		t.Errorf("ObserveEnv reports %d pools, staging has %d", len(one.Pools), want)
	}
	for _, p := range one.Pools {
		if p.Env != "staging" {
			t.Errorf("ObserveEnv(staging) reports pool %s of %s", p.ID, p.Env)
		}
	}
	for _, e := range one.Endpoints {
		if e.Env != "staging" {
			t.Errorf("ObserveEnv(staging) reports the endpoint of %s/%s", e.Env, e.Role)
		}
	}
	if len(one.Endpoints) != 2 {
		t.Errorf("ObserveEnv(staging) reports %d endpoints, want staging's 2", len(one.Endpoints))
	}
	// A wider read afterwards still sees every environment.
	again, err := c.Observe(ctx, d.Project)
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Pools) != len(whole.Pools) || len(again.Endpoints) != len(whole.Endpoints) {
		t.Errorf("after ObserveEnv, Observe reports %d pools and %d endpoints, before %d and %d", len(again.Pools), len(again.Endpoints), len(whole.Pools), len(whole.Endpoints))
	}
}
