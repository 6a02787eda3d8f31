package aws

import (
	"context"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/executor"
	"github.com/phoenix-gitops/phoenix/planner"
)

// A token bucket lets its burst through at once and then paces calls at
// its rate, and a waiter gives up when its context ends.
func TestTokenBucketPaces(t *testing.T) {
	now := time.Unix(0, 0)
	var slept time.Duration
	clock := func() time.Time { return now }
	nap := func(_ context.Context, d time.Duration) error { slept += d; now = now.Add(d); return nil }
	b := &tokenBucket{rate: Rate{Burst: 2, PerSecond: 10}, tokens: 2}
	for range 6 {
		if err := b.wait(context.Background(), clock, nap); err != nil {
			t.Fatal(err)
		}
	}
	// Two at once, then four at 10 a second.
	if slept < 390*time.Millisecond || slept > 410*time.Millisecond {
		t.Fatalf("6 calls through a bucket of 2 at 10/s slept %v, want 400ms", slept)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := b.wait(ctx, clock, sleep); err == nil {
		t.Fatal("a waiter with a cancelled context took a token it had to wait for")
	}
	var unlimited *tokenBucket
	if err := unlimited.wait(context.Background(), clock, nap); err != nil {
		t.Fatal(err)
	}
}

// faultyProxy is a reverse proxy on loopback in front of moto that
// throttles a share of the signed API calls, as the service would say it
// (ELB and Auto Scaling: Throttling; EC2: RequestLimitExceeded; S3:
// SlowDown) or with a bare 503: the first 1 to maxBurst attempts of such a
// call (one SDK invocation, by its amz-sdk-invocation-id) are refused, the
// next one passes. A call throttled four times in a row is what a busy
// account does, and more than the SDK's default three attempts.
type faultyProxy struct {
	URL string

	mu       sync.Mutex
	rnd      *rand.Rand
	share    float64
	pending  map[string]int // invocation -> faults still to answer
	seen     map[string]bool
	injected int
	passed   int
}

const maxBurst = 4

var credentialScope = regexp.MustCompile(`Credential=[^/]+/[^/]+/[^/]+/([^/]+)/aws4_request`)

func newFaultyProxy(t *testing.T, target string, share float64) *faultyProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &faultyProxy{rnd: rand.New(rand.NewSource(12)), share: share, pending: map[string]int{}, seen: map[string]bool{}}
	rp := httputil.NewSingleHostReverseProxy(u)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := credentialScope.FindStringSubmatch(r.Header.Get("Authorization"))
		if m == nil || !p.fault(r.Header.Get("amz-sdk-invocation-id")) { // presigned URLs (builders) are never faulted
			rp.ServeHTTP(w, r)
			return
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
		status, body := throttleAnswer(m[1], p.kind())
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	p.URL = srv.URL
	return p
}

// fault decides whether to throttle this attempt of an invocation: a new
// invocation is throttled with the proxy's share, for 1 to maxBurst
// attempts.
func (p *faultyProxy) fault(invocation string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if invocation != "" && !p.seen[invocation] && len(p.seen) < 100000 {
		p.seen[invocation] = true
		if p.rnd.Float64() < p.share {
			p.pending[invocation] = 1 + p.rnd.Intn(maxBurst)
		}
	}
	if p.pending[invocation] > 0 {
		p.pending[invocation]--
		p.injected++
		return true
	}
	p.passed++
	return false
}
func (p *faultyProxy) kind() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rnd.Intn(3)
}

func (p *faultyProxy) counts() (injected, passed int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.injected, p.passed
}

// throttleAnswer is a throttling answer of a service (by its signing
// name): its own error for kinds 0 and 1, a bare 503 for kind 2.
func throttleAnswer(service string, kind int) (int, string) {
	if kind == 2 {
		return http.StatusServiceUnavailable, ""
	}
	switch service {
	case "ec2":
		return http.StatusServiceUnavailable, `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>fault</RequestID></Response>`
	case "s3":
		return http.StatusServiceUnavailable, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`
	}
	return http.StatusBadRequest, `<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error><RequestId>fault</RequestId></ErrorResponse>`
}

// A release of four endpoints converges with a fifth of AWS's calls
// throttled, up to four times in a row: every read and step retries its
// own call (the SDK's default three attempts fail), the next plan is
// empty, and nothing is left behind (the same groups, target groups,
// launch templates, pool rules and running servers as before, one cold
// and one serving pool per endpoint). The client-side limiter runs at
// AWS's documented rates.
func TestReleaseConvergesUnderThrottling(t *testing.T) {
	needMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cy := &cycle{t: t, cfg: motoConfig(t), imageKeep: -1}
	s := newSite(t, cy.cfg, 4)
	fakeBuilders(t, cy.cfg)
	cy.apply(ctx, s.fleet(t, "1"))
	cy.apply(ctx, s.fleet(t, "2"))
	before := inventory(ctx, t, cy.cfg, s, "fleet")

	proxy := newFaultyProxy(t, moto.URL, 0.2)
	faulty := cy.cfg.Copy()
	faulty.BaseEndpoint = aws.String(proxy.URL)
	opt := motoOptions()
	opt.NoRateLimit = false
	// The adaptive retry mode slows the client down after throttles, and
	// waiters count that time: give them what a throttled account needs.
	opt.HealthTimeout, opt.DeleteTimeout = time.Minute, time.Minute
	d := s.fleet(t, "3")
	c, err := NewFromConfig(faulty, d, opt)
	if err != nil {
		t.Fatal(err)
	}
	p, live := cy.plan(ctx, c, d)
	if n := countKinds(p); n[planner.Create] != 4 || n[planner.Swap] != 4 || n[planner.Prune] != 4 {
		t.Fatalf("the release planned %v", n)
	}
	rep, err := (&executor.Executor{Clouds: cloud.Set{Name: c}, Desired: d, Live: live}).Apply(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		for _, f := range rep.Failures() {
			t.Errorf("%s: %v", f.Step.ID, f.Err)
		}
		t.Fatal("the release failed under throttling")
	}
	if next, _ := cy.plan(ctx, c, d); !next.Empty() {
		t.Fatalf("after the release the plan is %+v", next.Steps)
	}
	if after := inventory(ctx, t, cy.cfg, s, "fleet"); after != before {
		t.Fatalf("the release left %s, want %s as before it", after, before)
	}
	injected, passed := proxy.counts()
	t.Logf("%d answers throttled, %d passed", injected, passed)
	if injected < 20 {
		t.Fatalf("only %d answers throttled of %d: the test did not test throttling", injected, injected+passed)
	}
}

// inventory counts what the project has in moto: auto scaling groups,
// Phoenix's target groups, launch templates, pool rules on the site's
// listeners and running servers.
func inventory(ctx context.Context, t *testing.T, cfg aws.Config, s site, project string) string {
	t.Helper()
	tag := "tag:" + tagProject
	groups, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{
		Filters: []asgtypes.Filter{{Name: &tag, Values: []string{project}}}})
	if err != nil {
		t.Fatal(err)
	}
	lb := elb.NewFromConfig(cfg)
	tgs, err := lb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	ours := 0
	for _, tg := range tgs.TargetGroups {
		if strings.HasPrefix(aws.ToString(tg.TargetGroupName), tgPrefix) {
			ours++
		}
	}
	rules := 0
	for _, l := range s.Listeners {
		out, err := lb.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: &l})
		if err != nil {
			t.Fatal(err)
		}
		rules += len(out.Rules) - 1 // the default rule is the listener's
	}
	e := ec2.NewFromConfig(cfg)
	lts, err := e.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{Filters: []ec2types.Filter{{Name: &tag, Values: []string{project}}}})
	if err != nil {
		t.Fatal(err)
	}
	inst, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
		{Name: &tag, Values: []string{project}}, {Name: aws.String("instance-state-name"), Values: []string{"running", "pending"}}}})
	if err != nil {
		t.Fatal(err)
	}
	servers := 0
	for _, r := range inst.Reservations {
		servers += len(r.Instances)
	}
	return fmt.Sprintf("%d groups, %d target groups, %d launch templates, %d pool rules, %d servers",
		len(groups.AutoScalingGroups), ours, len(lts.LaunchTemplates), rules, servers)
}
