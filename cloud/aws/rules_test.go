package aws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// createReq is a CreatePool request for a web pool of count servers
// behind the stand-in listener.
func createReq(id string, count int) cloud.CreateRequest {
	return cloud.CreateRequest{Project: "shop", ID: id, Generation: 1, Commit: "c1",
		Image: cloud.Image{Name: "app", BuildID: "b1", Ref: "ami-1"},
		Pool: &model.Pool{Env: "prod", Role: "web", Cloud: Name, Endpoint: listenerARN, Count: count, Port: 8080,
			Command: "./server", Health: model.Health{Path: "/healthz"}}}
}

// The stand-in load balancer, like AWS, checks only target groups that a
// listener routes to. A new pool is healthy only because CreatePool gives
// it a rule of its own; without the rule (the fake forgets it) the same
// create fails, saying why.
func TestCreatePoolIsHealthCheckedThroughItsRule(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)

	// A target group nothing routes to: its targets are unused.
	out, err := s.elb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("loose")})
	if err != nil {
		t.Fatal(err)
	}
	loose := *out.TargetGroups[0].TargetGroupArn
	s.elb.healthy[loose] = 2
	n, why, err := s.healthyTargets(ctx, loose)
	if err != nil || n != 0 || !strings.Contains(why, "unused: no listener rule") {
		t.Fatalf("a target group nothing routes to: %d healthy, %q, %v; want 0 and unused", n, why, err)
	}

	p, err := s.CreatePool(ctx, createReq("prod.web.1111.1", 2))
	if err != nil {
		t.Fatalf("creating a pool: %v", err)
	}
	if !p.Healthy || p.State != cloud.PoolReady || p.Servers != 2 {
		t.Fatalf("created %+v, want a ready healthy pool of 2", p)
	}
	tgName := targetGroupName("shop", "prod.web.1111.1")
	value, ok := s.elb.poolRules()[tgName]
	if !ok || !strings.HasPrefix(value, "prod.web.1111.1/") || len(value) <= len("prod.web.1111.1/") {
		t.Fatalf("pool rules %v: want one for %s whose header value is the pool id and a token", s.elb.poolRules(), tgName)
	}
	if got := s.routes(); got != "" {
		t.Fatalf("creating a pool changed the default action to %q", got)
	}
	ruleARN := s.elb.rules[listenerARN][0].RuleArn
	if tags := elbTagSet(s.elb.tags[*ruleARN]); !tags.owned("shop") || tags[tagPool] != "prod.web.1111.1" || tags[tagRole] != "web" {
		t.Fatalf("the pool rule is tagged %v", tags)
	}

	// The same create on a load balancer that forgets the rule never gets
	// a healthy target.
	s.elb.forgetRules = true
	_, err = s.CreatePool(ctx, createReq("prod.web.2222.1", 2))
	if !errors.Is(err, cloud.ErrNotReady) || !strings.Contains(err.Error(), "unused") {
		t.Fatalf("create without a rule: %v, want ErrNotReady saying the targets are unused", err)
	}
	s.elb.forgetRules = false

	// A rule deleted by hand: Observe says why the pool is not healthy,
	// and warming it (or a swap to it) makes the rule again.
	if _, err := s.elb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: ruleARN}); err != nil {
		t.Fatal(err)
	}
	if got := observed(t, s, "prod.web.1111.1"); got.Healthy || !strings.Contains(got.Reason, "no listener rule") {
		t.Fatalf("a pool without its rule is observed as %+v, want unhealthy with the reason", got)
	}
	if err := swapTo(s, cloud.Backend{Pool: "prod.web.1111.1", Weight: 100}); err != nil {
		t.Fatalf("swap to a pool that lost its rule: %v", err)
	}
	if _, ok := s.elb.poolRules()[tgName]; !ok {
		t.Fatal("the swap did not make the pool's rule again")
	}
	if got := observed(t, s, "prod.web.1111.1"); !got.Healthy {
		t.Fatalf("after the swap the pool is %+v", got)
	}
}

// ObserveEnv of an environment behind one listener reads that listener's
// rules, one call, instead of its load balancer's listeners and used
// target groups (two): what the default action serves, and which pools
// the load balancer health-checks (a rule or an action forwards to them).
// A pool whose rule was deleted by hand reads unhealthy, saying why, as
// in Observe.
func TestObserveEnvReadsItsListenersRules(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	for _, id := range []string{"prod.web.1111.1", "prod.web.2222.1"} {
		if _, err := s.CreatePool(ctx, createReq(id, 2)); err != nil {
			t.Fatal(err)
		}
	}
	if err := swapTo(s, cloud.Backend{Pool: "prod.web.1111.1", Weight: 100}); err != nil {
		t.Fatal(err)
	}
	envObserved := func() map[string]cloud.Pool {
		t.Helper()
		rules, listeners, groups := s.elb.ruleReads, s.elb.listenerReads, s.elb.groupReads
		live, err := s.ObserveEnv(ctx, "shop", "prod")
		if err != nil {
			t.Fatal(err)
		}
		if s.elb.ruleReads != rules+1 || s.elb.listenerReads != listeners || s.elb.groupReads != groups {
			t.Errorf("ObserveEnv read rules %d times, listeners %d, target groups %d; want the rules once and nothing else",
				s.elb.ruleReads-rules, s.elb.listenerReads-listeners, s.elb.groupReads-groups)
		}
		if len(live.Endpoints) != 1 || len(live.Endpoints[0].Backends) != 1 || live.Endpoints[0].Backends[0].Pool != "prod.web.1111.1" {
			t.Errorf("ObserveEnv reports endpoints %+v, want prod/web on prod.web.1111.1", live.Endpoints)
		}
		pools := map[string]cloud.Pool{}
		for _, p := range live.Pools {
			pools[p.ID] = p
		}
		return pools
	}
	for id, p := range envObserved() {
		if !p.Healthy {
			t.Errorf("ObserveEnv reports pool %s %+v, want healthy", id, p)
		}
	}
	value := s.elb.poolRules()[targetGroupName("shop", "prod.web.2222.1")]
	for _, r := range s.elb.rules[listenerARN] {
		if v, _ := poolCondition(r.Conditions); v == value {
			if _, err := s.elb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: r.RuleArn}); err != nil {
				t.Fatal(err)
			}
		}
	}
	got := envObserved()["prod.web.2222.1"]
	if got.Healthy || !strings.Contains(got.Reason, "no listener rule") {
		t.Fatalf("ObserveEnv reports a pool without its rule as %+v, want unhealthy with the reason", got)
	}
	if o := observed(t, s, "prod.web.2222.1"); o.Healthy != got.Healthy || o.Reason != got.Reason {
		t.Errorf("Observe reports the pool as %+v, ObserveEnv as %+v", o, got)
	}
	if !envObserved()["prod.web.1111.1"].Healthy {
		t.Error("the serving pool reads unhealthy")
	}
}

// A swap reads its listener's rules once: the check of the new pool's
// rule and the record of what served until now share the read, and the
// pool that served is found from its rule (its header value begins with
// the pool id, which names its target group), not from its target
// group's tags. Both pools are tagged as having served. A pool that has
// to be warmed first is waited for, and the listener read again after.
func TestSwapReadsItsListenerOnce(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	for _, id := range []string{"prod.web.1111.1", "prod.web.2222.1"} {
		if _, err := s.CreatePool(ctx, createReq(id, 2)); err != nil {
			t.Fatal(err)
		}
	}
	if err := swapTo(s, cloud.Backend{Pool: "prod.web.1111.1", Weight: 100}); err != nil {
		t.Fatal(err)
	}
	s.advance(time.Minute)
	rules, tags := s.elb.ruleReads, s.elb.tagReads
	if err := swapTo(s, cloud.Backend{Pool: "prod.web.2222.1", Weight: 100}); err != nil {
		t.Fatal(err)
	}
	if s.elb.ruleReads != rules+1 || s.elb.tagReads != tags {
		t.Errorf("a swap read the listener's rules %d times and tags %d times, want once and none", s.elb.ruleReads-rules, s.elb.tagReads-tags)
	}
	for _, id := range []string{"prod.web.1111.1", "prod.web.2222.1"} {
		if got := observed(t, s, id); !got.LastServed.Equal(s.now) {
			t.Errorf("pool %s last served %v, want the swap's time %v", id, got.LastServed, s.now)
		}
	}
	if err := s.SetWarm(ctx, "shop", "prod.web.1111.1", false); err != nil {
		t.Fatal(err)
	}
	rules = s.elb.ruleReads
	if err := swapTo(s, cloud.Backend{Pool: "prod.web.1111.1", Weight: 100}); err != nil {
		t.Fatal(err)
	}
	if s.elb.ruleReads != rules+2 {
		t.Errorf("a swap to a cold pool read the listener's rules %d times, want twice (before and after warming it)", s.elb.ruleReads-rules)
	}
	if got := observed(t, s, "prod.web.2222.1"); !got.LastServed.Equal(s.now) {
		t.Errorf("the pool that served before the swap back last served %v, want %v", got.LastServed, s.now)
	}
}

// Creating a pool id again (an apply run again after a crash) returns a
// retained cold pool as it is, found when its group turns out to exist
// (CreatePool no longer reads the group first): it is not warmed, waited
// for or marked failed, and gets no second rule.
func TestCreatePoolAgainKeepsAColdPool(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	for _, id := range []string{"prod.web.1111.1", "prod.web.2222.1"} {
		if _, err := s.CreatePool(ctx, createReq(id, 2)); err != nil {
			t.Fatal(err)
		}
		if err := swapTo(s, cloud.Backend{Pool: id, Weight: 100}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SetWarm(ctx, "shop", "prod.web.1111.1", false); err != nil {
		t.Fatal(err)
	}
	p, err := s.CreatePool(ctx, createReq("prod.web.1111.1", 2))
	if err != nil || p.State != cloud.PoolCold {
		t.Fatalf("creating the cold pool again: %+v, %v; want it as it is, cold", p, err)
	}
	if g := s.asg.groups[groupName("shop", "prod.web.1111.1")]; aws.ToInt32(g.DesiredCapacity) != 0 {
		t.Fatalf("creating the cold pool again scaled it to %d", aws.ToInt32(g.DesiredCapacity))
	}
	if n := len(s.elb.rules[listenerARN]); n != 2 {
		t.Fatalf("the listener has %d rules, want the two pools' own", n)
	}
	if got := observed(t, s, "prod.web.1111.1"); got.State != cloud.PoolCold || got.Reason != "" {
		t.Fatalf("the pool created again is observed as %+v", got)
	}
}

// observed returns the pool id as Observe reports it.
func observed(t *testing.T, s *standIn, id string) cloud.Pool {
	t.Helper()
	live, err := s.Observe(context.Background(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range live.Pools {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("pool %s not observed in %+v", id, live.Pools)
	return cloud.Pool{}
}

// A pool rule never counts as serving: the pool that lost traffic keeps
// its rule (so it stays healthy and a rollback candidate), is cooled and
// warmed, and its prune deletes its rule first. Only the default action,
// or a rule that is not Phoenix's, blocks a prune.
func TestPoolRulesThroughSwapCoolAndPrune(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	for _, id := range []string{"prod.web.aaaa.1", "prod.web.bbbb.1"} {
		if _, err := s.CreatePool(ctx, createReq(id, 2)); err != nil {
			t.Fatal(err)
		}
	}
	if err := swapTo(s, cloud.Backend{Pool: "prod.web.aaaa.1", Weight: 100}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePool(ctx, "shop", "prod.web.aaaa.1"); !errors.Is(err, cloud.ErrServing) {
		t.Fatalf("deleting the serving pool: %v, want ErrServing", err)
	}
	if len(s.elb.poolRules()) != 2 {
		t.Fatalf("a refused delete touched the rules: %v", s.elb.poolRules())
	}
	if err := swapTo(s, cloud.Backend{Pool: "prod.web.bbbb.1", Weight: 100}); err != nil {
		t.Fatal(err)
	}
	if a := observed(t, s, "prod.web.aaaa.1"); !a.Healthy {
		t.Fatalf("the pool that served before is %+v, want healthy (a rollback candidate)", a)
	}
	if err := s.SetWarm(ctx, "shop", "prod.web.aaaa.1", false); err != nil {
		t.Fatal(err)
	}
	if err := s.SetWarm(ctx, "shop", "prod.web.aaaa.1", true); err != nil {
		t.Fatalf("warming the cold pool: %v", err)
	}
	if a := observed(t, s, "prod.web.aaaa.1"); !a.Healthy || a.State != cloud.PoolReady {
		t.Fatalf("the warmed pool is %+v", a)
	}

	// Someone else's rule forwarding to the pool keeps it.
	tgA := aTG(s, targetGroupName("shop", "prod.web.aaaa.1"))
	s.elb.rules[listenerARN] = append(s.elb.rules[listenerARN], elbtypes.Rule{RuleArn: aws.String(listenerARN + "/theirs"), Priority: aws.String("900"),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/beta/*"}}},
		Actions:    []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: &tgA}}})
	if err := s.DeletePool(ctx, "shop", "prod.web.aaaa.1"); !errors.Is(err, cloud.ErrServing) {
		t.Fatalf("deleting a pool an operator's rule routes to: %v, want ErrServing", err)
	}
	rs := s.elb.rules[listenerARN]
	s.elb.rules[listenerARN] = rs[:len(rs)-1]

	if err := s.DeletePool(ctx, "shop", "prod.web.aaaa.1"); err != nil {
		t.Fatalf("deleting the retired pool: %v", err)
	}
	if _, ok := s.elb.poolRules()[targetGroupName("shop", "prod.web.aaaa.1")]; ok || aTG(s, targetGroupName("shop", "prod.web.aaaa.1")) != "" {
		t.Fatalf("the pruned pool left its rule or target group: %v", s.elb.poolRules())
	}
	if _, ok := s.elb.poolRules()[targetGroupName("shop", "prod.web.bbbb.1")]; !ok {
		t.Fatal("pruning one pool deleted another's rule")
	}
}

// A rule and target group left without their pool (group and template
// gone) show as a failed pool, which a prune removes; a pool rule of
// another project on the same listener is neither reported nor touched.
func TestOrphanRuleIsReportedAndPruned(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	if _, err := s.CreatePool(ctx, createReq("prod.web.cccc.1", 1)); err != nil {
		t.Fatal(err)
	}
	delete(s.asg.groups, groupName("shop", "prod.web.cccc.1"))
	delete(s.ec2.templates, templateName("shop", "prod.web.cccc.1"))
	theirs := "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/theirs/1"
	s.elb.groups[theirs] = "theirs"
	if _, err := s.elb.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: aws.String(listenerARN), Priority: aws.Int32(77),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("http-header"), HttpHeaderConfig: &elbtypes.HttpHeaderConditionConfig{HttpHeaderName: aws.String(poolHeader), Values: []string{"x/y"}}}},
		Actions:    []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: &theirs}},
		Tags:       tagSet{tagProject: "someone-else", tagPool: "prod.web.cccc.1"}.elb()}); err != nil {
		t.Fatal(err)
	}
	p := observed(t, s, "prod.web.cccc.1")
	if p.State != cloud.PoolFailed || p.Env != "prod" || p.Role != "web" || !strings.Contains(p.Reason, "listener rule") {
		t.Fatalf("an orphan rule is observed as %+v, want a failed half-made pool", p)
	}
	if err := s.DeletePool(ctx, "shop", "prod.web.cccc.1"); err != nil {
		t.Fatal(err)
	}
	rules := s.elb.poolRules()
	if _, ok := rules[targetGroupName("shop", "prod.web.cccc.1")]; ok || aTG(s, targetGroupName("shop", "prod.web.cccc.1")) != "" {
		t.Fatalf("the prune left the orphan's rule or target group: %v", rules)
	}
	if _, ok := rules["theirs"]; !ok {
		t.Fatal("the prune deleted another project's rule")
	}
	if live, err := s.Observe(ctx, "shop"); err != nil || len(live.Pools) != 0 {
		t.Fatalf("after the prune: %+v, %v", live, err)
	}
}

// A listener deleted by hand that only a pool's tag still names is left
// out (Observe and prunes go on); a listener the spec names that is gone
// is an error naming it.
func TestMissingListener(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	s.addPool("prod.web.dddd.1", 1, 1)
	gone := "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/old/9/9"
	g := s.asg.groups[groupName("shop", "prod.web.dddd.1")]
	g.Tags = append(g.Tags, asgtypes.TagDescription{Key: aws.String(tagEndpoint), Value: aws.String(gone)})
	live, err := s.Observe(ctx, "shop")
	if err != nil {
		t.Fatalf("Observe with a pool behind a deleted listener: %v", err)
	}
	if len(live.Endpoints) != 1 || live.Endpoints[0].Address != listenerARN {
		t.Fatalf("endpoints %+v, want only the spec's listener", live.Endpoints)
	}
	if err := s.DeletePool(ctx, "shop", "prod.web.dddd.1"); err != nil {
		t.Fatalf("pruning a pool behind a deleted listener: %v", err)
	}

	delete(s.elb.listeners, listenerARN)
	_, err = s.Observe(ctx, "shop")
	if !errors.Is(err, cloud.ErrNotFound) || !strings.Contains(err.Error(), listenerARN) || !strings.Contains(err.Error(), "prod/web") {
		t.Fatalf("Observe without the spec's listener: %v, want ErrNotFound naming %s and prod/web", err, listenerARN)
	}
	if strings.HasSuffix(err.Error(), ": not found") {
		t.Errorf("a message that says what does not exist ends with the sentinel's text: %v", err)
	}
}

// Smoke checks and warm-up requests go to the load balancer's DNS name and
// the listener's port with the pool's header, which only the new pool's
// rule matches; each runs once per server.
func TestSmokeThroughTheBalancer(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	tgName := targetGroupName("shop", "prod.web.eeee.1")
	var (
		mu   sync.Mutex
		seen []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Host+r.URL.Path)
		mu.Unlock()
		// The load balancer: the header routes to the pool whose rule
		// carries it; anything else gets the default action's 503.
		if v := s.elb.poolRules()[tgName]; v == "" || r.Header.Get(poolHeader) != v {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	defer srv.Close()
	s.opt.HTTP = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}}}
	req := createReq("prod.web.eeee.1", 2)
	req.Pool.Smoke = []model.Smoke{{Path: "/healthz", Contains: "ok"}}
	req.Pool.Warm = []string{"/"}
	var log strings.Builder
	req.Log = &log
	if _, err := s.CreatePool(ctx, req); err != nil {
		t.Fatalf("create with smoke checks through the balancer: %v", err)
	}
	host := fakeDNS + ":8080"
	want := []string{host + "/healthz", host + "/", host + "/healthz", host + "/"}
	if fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Fatalf("requests %v, want %v", seen, want)
	}
	if !strings.Contains(log.String(), "passed 2 times through http://"+host) {
		t.Errorf("log: %s", log.String())
	}

	// A check the pool fails fails the create.
	req = createReq("prod.web.ffff.1", 1)
	req.Pool.Smoke = []model.Smoke{{Path: "/healthz"}}
	if _, err := s.CreatePool(ctx, req); err == nil || !strings.Contains(err.Error(), "status 503") {
		t.Fatalf("a smoke check answered 503: %v", err)
	}
}

// A pool's rule on a listener that neither the spec nor the pool's tags
// name any more (the role moved to another listener) is still found,
// through the load balancers its target group is attached to, and deleted
// with the pool.
func TestPruneFindsRuleOnAForgottenListener(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	if _, err := s.CreatePool(ctx, createReq("prod.web.abcd.1", 1)); err != nil {
		t.Fatal(err)
	}
	moved := strings.TrimSuffix(listenerARN, "/2") + "/3" // same load balancer
	s.elb.listeners[moved] = []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse}}
	delete(s.listeners, listenerARN)
	s.listeners[moved] = endpointRef{env: "prod", role: "web"}
	g := s.asg.groups[groupName("shop", "prod.web.abcd.1")]
	for i := range g.Tags {
		if *g.Tags[i].Key == tagEndpoint {
			g.Tags[i].Value = aws.String(moved)
		}
	}
	if err := s.DeletePool(ctx, "shop", "prod.web.abcd.1"); err != nil {
		t.Fatalf("pruning a pool whose rule is on a forgotten listener: %v", err)
	}
	if len(s.elb.rules[listenerARN]) != 0 || aTG(s, targetGroupName("shop", "prod.web.abcd.1")) != "" {
		t.Fatalf("the prune left rules %v or the target group", s.elb.rules[listenerARN])
	}
}

// A smoke check that gets no answer (the balancer's name does not resolve
// here, or nothing listens) says that this machine cannot reach the load
// balancer and which PHOENIX_AWS_SMOKE modes help; an answer the pool
// gave gets no such hint.
func TestSmokeUnreachableSaysWhatToDo(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	s.opt.HTTP = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: addr, IsNotFound: true}}
	}}}
	req := createReq("prod.web.eeee.1", 1)
	req.Pool.Smoke = []model.Smoke{{Path: "/healthz"}}
	_, err := s.CreatePool(ctx, req)
	if err == nil || !strings.Contains(err.Error(), "no such host") ||
		!strings.Contains(err.Error(), "the load balancer is not reachable from here") || !strings.Contains(err.Error(), "PHOENIX_AWS_SMOKE=direct") {
		t.Fatalf("smoke with no route to the balancer: %v", err)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	defer srv.Close()
	s.opt.HTTP = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, srv.Listener.Addr().String())
	}}}
	req = createReq("prod.web.ffff.1", 1)
	req.Pool.Smoke = []model.Smoke{{Path: "/healthz"}}
	_, err = s.CreatePool(ctx, req)
	if err == nil || !strings.Contains(err.Error(), "status 503") || strings.Contains(err.Error(), "not reachable") {
		t.Fatalf("smoke answered 503: %v", err)
	}
}

// A prune reads the rules of its own listener only, however many
// listeners share its load balancer, when nothing else routes to the
// pool: with its rule gone the target group is attached to no load
// balancer. When a rule of another listener (not Phoenix's) still routes
// to it, every listener of the load balancer is read, the prune refuses,
// and the pool is left whole, its rule made again.
func TestPruneReadsItsOwnListenerUnlessSomethingElseRoutes(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	base := strings.TrimSuffix(listenerARN, "/2")
	for i := range 8 {
		s.elb.listeners[fmt.Sprintf("%s/%d", base, 10+i)] = []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse}}
	}
	for _, id := range []string{"prod.web.0001.1", "prod.web.0002.1"} {
		if _, err := s.CreatePool(ctx, createReq(id, 1)); err != nil {
			t.Fatal(err)
		}
	}
	s.elb.ruleReads = 0
	if err := s.DeletePool(ctx, "shop", "prod.web.0001.1"); err != nil {
		t.Fatal(err)
	}
	if s.elb.ruleReads != 1 {
		t.Errorf("a prune read listener rules %d times with 9 listeners on its load balancer, want 1 (its own)", s.elb.ruleReads)
	}

	tg := aTG(s, targetGroupName("shop", "prod.web.0002.1"))
	other := base + "/13"
	if _, err := s.elb.CreateRule(ctx, &elb.CreateRuleInput{ListenerArn: aws.String(other), Priority: aws.Int32(5),
		Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{"/old/*"}}},
		Actions:    []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: &tg}}}); err != nil {
		t.Fatal(err)
	}
	s.elb.ruleReads = 0
	if err := s.DeletePool(ctx, "shop", "prod.web.0002.1"); !errors.Is(err, cloud.ErrServing) {
		t.Fatalf("prune of a pool another listener's rule routes to: %v, want ErrServing", err)
	}
	if s.elb.ruleReads < 9 {
		t.Errorf("the refused prune read rules %d times, want every listener of the load balancer", s.elb.ruleReads)
	}
	if _, ok := s.elb.poolRules()[targetGroupName("shop", "prod.web.0002.1")]; !ok {
		t.Error("the refused prune left the pool without its rule")
	}
	if s.asg.groups[groupName("shop", "prod.web.0002.1")] == nil || aTG(s, targetGroupName("shop", "prod.web.0002.1")) == "" {
		t.Error("the refused prune deleted part of the pool")
	}
}
