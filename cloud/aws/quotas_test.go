package aws

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/phoenix-gitops/phoenix/model"
)

// quotaELB is the stand-in load balancer with the account's limits and
// the region's other target groups (another project's), which a listing
// of every target group counts.
type quotaELB struct {
	*fakeELB
	limits     map[string]int
	limitsErr  error
	rulesErr   error
	otherTGs   int
	limitReads int
}

func (f *quotaELB) DescribeAccountLimits(_ context.Context, in *elb.DescribeAccountLimitsInput, _ ...func(*elb.Options)) (*elb.DescribeAccountLimitsOutput, error) {
	f.limitReads++
	if f.limitsErr != nil {
		return nil, f.limitsErr
	}
	out := &elb.DescribeAccountLimitsOutput{}
	for _, name := range sortedKeys(f.limits) {
		out.Limits = append(out.Limits, elbtypes.Limit{Name: aws.String(name), Max: aws.String(fmt.Sprint(f.limits[name]))})
	}
	return out, nil
}

func (f *quotaELB) DescribeTargetGroups(ctx context.Context, in *elb.DescribeTargetGroupsInput, opts ...func(*elb.Options)) (*elb.DescribeTargetGroupsOutput, error) {
	if in.LoadBalancerArn != nil || len(in.TargetGroupArns) > 0 || len(in.Names) > 0 {
		return f.fakeELB.DescribeTargetGroups(ctx, in, opts...)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &elb.DescribeTargetGroupsOutput{}
	for _, arn := range sortedKeys(f.groups) {
		out.TargetGroups = append(out.TargetGroups, elbtypes.TargetGroup{TargetGroupArn: aws.String(arn)})
	}
	for i := range f.otherTGs {
		out.TargetGroups = append(out.TargetGroups, elbtypes.TargetGroup{TargetGroupArn: aws.String(fmt.Sprintf("arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/other-%d/1", i))})
	}
	return out, nil
}

func (f *quotaELB) DescribeRules(ctx context.Context, in *elb.DescribeRulesInput, opts ...func(*elb.Options)) (*elb.DescribeRulesOutput, error) {
	if f.rulesErr != nil {
		return nil, f.rulesErr
	}
	return f.fakeELB.DescribeRules(ctx, in, opts...)
}

// quotaASG is the stand-in auto scaling with the account's group limit
// and use.
type quotaASG struct {
	*fakeASG
	max, inUse int
	err        error
	reads      int
}

func (f *quotaASG) DescribeAccountLimits(context.Context, *autoscaling.DescribeAccountLimitsInput, ...func(*autoscaling.Options)) (*autoscaling.DescribeAccountLimitsOutput, error) {
	f.reads++
	if f.err != nil {
		return nil, f.err
	}
	return &autoscaling.DescribeAccountLimitsOutput{MaxNumberOfAutoScalingGroups: aws.Int32(int32(f.max)), NumberOfAutoScalingGroups: aws.Int32(int32(f.inUse))}, nil
}

// secondListener is another listener of the load balancer of listenerARN.
const secondListener = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/1/3"

type quotaStandIn struct {
	*Cloud
	elb *quotaELB
	asg *quotaASG
}

// newQuotaStandIn is an account with AWS's default limits, an ALB with
// two listeners (ports 8080 and 8081) and one pool of the project on the
// first, and nothing else.
func newQuotaStandIn(t *testing.T) *quotaStandIn {
	t.Helper()
	fe := newFakeELB()
	fe.listeners[listenerARN] = []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse}}
	fe.listeners[secondListener] = []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse}}
	fe.ports[secondListener] = 8081
	q := &quotaStandIn{
		elb: &quotaELB{fakeELB: fe, limits: map[string]int{
			"target-groups": 3000, "rules-per-application-load-balancer": 100,
			"target-groups-per-application-load-balancer": 100, "listeners-per-application-load-balancer": 50,
		}},
		asg: &quotaASG{fakeASG: newFakeASG(), max: 200},
	}
	q.asg.elb = fe
	// One pool of the project serves on the first listener: its target
	// group, its rule, its group.
	tg := "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/px-live/1"
	fe.groups[tg] = "px-live"
	fe.rules[listenerARN] = append(fe.rules[listenerARN], poolRuleOn(listenerARN, 1, tg))
	q.asg.inUse = 1
	d := &model.Desired{
		Project: "shop",
		Environments: map[string]*model.Environment{"prod": {Name: "prod", Cloud: Name,
			AWS: &model.AWS{Region: "us-east-1", Subnets: []string{"subnet-1"}, Bucket: "locks"}}},
	}
	c, err := New(Clients{EC2: &fakeEC2{}, AutoScaling: q.asg, ELB: q.elb, S3: newFakeS3()}, d, Options{})
	if err != nil {
		t.Fatal(err)
	}
	q.Cloud = c
	return q
}

// poolRuleOn is a rule forwarding to tg at priority prio.
func poolRuleOn(listener string, prio int, tg string) elbtypes.Rule {
	return elbtypes.Rule{RuleArn: aws.String(fmt.Sprintf("%s/rule-%d", listener, prio)), Priority: aws.String(fmt.Sprint(prio)),
		IsDefault: aws.Bool(false), Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(tg)}}}
}

// operatorRules puts n of the operator's rules (fixed responses) on a
// listener.
func (q *quotaStandIn) operatorRules(listener string, n int) {
	for i := range n {
		q.elb.rules[listener] = append(q.elb.rules[listener], elbtypes.Rule{RuleArn: aws.String(fmt.Sprintf("%s/op-%d", listener, i)),
			Priority: aws.String(fmt.Sprint(1000 + i)), IsDefault: aws.Bool(false),
			Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse}}})
	}
}

// creates are n new pools, alternating between the two listeners.
func creates(n int) []*model.Pool {
	var out []*model.Pool
	for i := range n {
		l := listenerARN
		if i%2 == 1 {
			l = secondListener
		}
		out = append(out, &model.Pool{Env: "prod", Role: fmt.Sprintf("r%d", i), Cloud: Name, Endpoint: l, Count: 2})
	}
	return out
}

// A release that passes limits is refused with each limit named: which
// quota, its use, what the release adds, the limit, where it was read and
// how to raise it; the limits it fits are not mentioned.
func TestCheckQuotasNamesEveryLimitPassed(t *testing.T) {
	q := newQuotaStandIn(t)
	q.asg.inUse = 198
	q.operatorRules(listenerARN, 96) // 97 rules with the pool's
	skipped, err := q.CheckQuotas(context.Background(), creates(4))
	if len(skipped) != 0 {
		t.Errorf("skipped %q, want every limit checked", skipped)
	}
	if err == nil {
		t.Fatal("CheckQuotas passed a release past two limits")
	}
	want := []string{
		"quota: auto scaling groups: 198 in use + 4 this release adds = 202 > the account's limit of 200 (autoscaling DescribeAccountLimits MaxNumberOfAutoScalingGroups); ask AWS to raise it (Service Quotas: \"Auto Scaling groups per region\") or prune first",
		"quota: rules of load balancer app/shop/1 (excluding default rules): 97 in use + 4 this release adds (+2 on port 8080, +2 on port 8081) = 101 > the account's limit of 100 (elasticloadbalancing DescribeAccountLimits rules-per-application-load-balancer); ask AWS to raise it (Service Quotas: \"Rules per Application Load Balancer\") or prune first",
	}
	if got := strings.Split(err.Error(), "\n"); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("CheckQuotas =\n%s\nwant\n%s", err, strings.Join(want, "\n"))
	}
}

// The region's target groups (any project's) and the load balancer's
// count too; a release that lands exactly on a limit is not refused.
func TestCheckQuotasTargetGroupsAndTheEdge(t *testing.T) {
	q := newQuotaStandIn(t)
	q.elb.otherTGs = 2996 // 2997 with the project's one
	skipped, err := q.CheckQuotas(context.Background(), creates(3))
	if err != nil || len(skipped) != 0 {
		t.Fatalf("3000 of 3000 target groups: CheckQuotas = %q, %v; want it to pass", skipped, err)
	}
	_, err = q.CheckQuotas(context.Background(), creates(4))
	if err == nil || !strings.Contains(err.Error(), "quota: target groups: 2997 in use + 4 this release adds = 3001 > the account's limit of 3000 (elasticloadbalancing DescribeAccountLimits target-groups)") {
		t.Fatalf("3001 of 3000 target groups: CheckQuotas = %v", err)
	}
	q.elb.otherTGs = 0
	q.elb.limits["target-groups-per-application-load-balancer"] = 3
	_, err = q.CheckQuotas(context.Background(), creates(3))
	if err == nil || !strings.Contains(err.Error(), "quota: target groups of load balancer app/shop/1: 1 in use + 3 this release adds = 4 > the account's limit of 3") ||
		!strings.Contains(err.Error(), "AWS does not raise it") {
		t.Fatalf("4 of 3 target groups on the load balancer: CheckQuotas = %v", err)
	}
}

// A limit the account does not tell, or that the credentials may not
// read, is skipped with one line each, never an error; the others are
// still checked.
func TestCheckQuotasSkipsWhatItCannotRead(t *testing.T) {
	q := newQuotaStandIn(t)
	q.asg.err = apiErr("AccessDenied")
	q.elb.rulesErr = apiErr("AccessDenied")
	q.elb.otherTGs = 2999
	skipped, err := q.CheckQuotas(context.Background(), creates(2))
	if len(skipped) != 2 || !strings.HasPrefix(skipped[0], "quota: auto scaling groups not checked: reading the auto scaling limits: ") ||
		!strings.HasPrefix(skipped[1], "quota: rules of load balancer app/shop/1 not checked: reading the rules of listener ") {
		t.Errorf("skipped %q, want the groups' and the rules' limits, a line each", skipped)
	}
	for _, s := range skipped {
		if strings.Contains(s, "\n") {
			t.Errorf("skipped line %q is not one line", s)
		}
	}
	if err == nil || !strings.Contains(err.Error(), "quota: target groups: 3000 in use + 2") {
		t.Fatalf("with two limits unread, the target groups' is still checked: %v", err)
	}

	q = newQuotaStandIn(t)
	q.asg.err = apiErr("AccessDenied")
	q.elb.limitsErr = apiErr("UnsupportedOperation")
	skipped, err = q.CheckQuotas(context.Background(), creates(2))
	if err != nil || len(skipped) != 2 || !strings.Contains(skipped[1], "quota: target groups and load balancer rules not checked: reading the load balancing limits: api error UnsupportedOperation") {
		t.Fatalf("nothing told: CheckQuotas = %q, %v; want two warnings and no error", skipped, err)
	}
}

// The check costs the same few calls for 2 creates or 40: one
// describe-limits call per service, a listing of target groups, and per
// load balancer the release adds to its listeners and their rules.
func TestCheckQuotasCallsDoNotGrowWithPools(t *testing.T) {
	calls := func(n int) [3]int {
		q := newQuotaStandIn(t)
		if _, err := q.CheckQuotas(context.Background(), creates(n)); err != nil {
			t.Fatal(err)
		}
		return [3]int{q.asg.reads, q.elb.limitReads, q.elb.ruleReads}
	}
	if a, b := calls(2), calls(40); a != b || a != [3]int{1, 1, 2} {
		t.Fatalf("calls (asg limits, elb limits, DescribeRules) for 2 creates %v, for 40 %v; want {1 1 2} for both", a, b)
	}
	q := newQuotaStandIn(t)
	if skipped, err := q.CheckQuotas(context.Background(), nil); err != nil || skipped != nil || q.asg.reads+q.elb.limitReads != 0 {
		t.Fatalf("no creates: CheckQuotas = %q, %v after %d calls; want nothing asked", skipped, err, q.asg.reads+q.elb.limitReads)
	}
}
