package aws

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/executor"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

// applyChecked applies p as `phoenix apply` does: the preflight and the
// quota check first, and the steps only if both pass. It returns what the
// check skipped and its refusal, or the failed steps.
func applyChecked(ctx context.Context, t *testing.T, c *Cloud, d *model.Desired, live *cloud.Live, p *planner.Plan) ([]string, error) {
	t.Helper()
	e := &executor.Executor{Clouds: cloud.Set{Name: c}, Desired: d, Live: live, CanaryHold: 10 * time.Millisecond}
	if err := e.Preflight(ctx, p); err != nil {
		return nil, err
	}
	skipped, err := e.Quotas(ctx, p)
	if err != nil {
		return skipped, err
	}
	rep, err := e.Apply(ctx, p)
	if err != nil {
		return skipped, err
	}
	var why []string
	for _, f := range rep.Failures() {
		why = append(why, f.Step.ID+": "+f.Err.Error())
	}
	if len(why) > 0 {
		return skipped, fmt.Errorf("apply failed:\n%s", strings.Join(why, "\n"))
	}
	return skipped, nil
}

// On moto, whose load balancers take 100 rules (DescribeAccountLimits),
// a first deploy of four pools onto a load balancer that holds 97 of the
// operator's rules is refused before anything is baked or made, naming
// the quota; with one rule fewer it lands exactly on the limit and is
// applied. Moto does not implement autoscaling DescribeAccountLimits:
// that check is skipped with a warning, not failed.
func TestQuotaRefusesAReleaseBeforeAnyBakeOnMoto(t *testing.T) {
	needMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := motoConfig(t)
	s := newSite(t, cfg, 4)
	fakeBuilders(t, cfg)
	lb := elb.NewFromConfig(cfg)
	opRules := operatorRules(ctx, t, lb, s.Listeners[0], 97)

	d := s.release(t, "1")
	c, err := NewFromConfig(cfg, d, motoOptions())
	if err != nil {
		t.Fatal(err)
	}
	live, p := observeAndPlan(ctx, t, c, d)
	if s := p.Summary(); s.Bake != 2 || s.Create != 4 {
		t.Fatalf("the first deploy plans %+v, want 2 bakes and 4 creates", s)
	}
	skipped, err := applyChecked(ctx, t, c, d, live, p)
	want := fmt.Sprintf("quota: rules of load balancer %s (excluding default rules): 97 in use + 4 this release adds (+1 on port 8080, +1 on port 8081, +1 on port 8082, +1 on port 8083) = 101 > the account's limit of 100 (elasticloadbalancing DescribeAccountLimits rules-per-application-load-balancer)",
		balancerName(s.LB))
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("applying past the rule quota: %v\nwant %s", err, want)
	}
	if len(skipped) != 1 || !strings.HasPrefix(skipped[0], "quota: auto scaling groups not checked: reading the auto scaling limits: ") {
		t.Errorf("skipped %q, want the auto scaling groups' limit, which moto does not tell", skipped)
	}
	t.Logf("refused: %v\nskipped: %s", err, skipped)
	nothingMade(ctx, t, cfg, s, 97)

	// One rule fewer: 96 + 4 = 100, the limit itself, which a release may reach.
	if _, err := lb.DeleteRule(ctx, &elb.DeleteRuleInput{RuleArn: &opRules[0]}); err != nil {
		t.Fatal(err)
	}
	live, p = observeAndPlan(ctx, t, c, d)
	if _, err := applyChecked(ctx, t, c, d, live, p); err != nil {
		t.Fatalf("a release up to the limit: %v", err)
	}
	if n := nonDefaultRules(ctx, t, lb, s.Listeners...); n != 100 {
		t.Fatalf("after the release the load balancer holds %d rules, want 100", n)
	}
}

// operatorRules puts n rules of the operator's (no Phoenix tags) on a
// listener and returns their ARNs.
func operatorRules(ctx context.Context, t *testing.T, lb *elb.Client, listener string, n int) []string {
	t.Helper()
	var arns []string
	for i := range n {
		out, err := lb.CreateRule(ctx, &elb.CreateRuleInput{
			ListenerArn: &listener, Priority: aws.Int32(int32(1000 + i)),
			Conditions: []elbtypes.RuleCondition{{Field: aws.String("path-pattern"), Values: []string{fmt.Sprintf("/op-%d", i)}}},
			Actions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse,
				FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("404")}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		arns = append(arns, *out.Rules[0].RuleArn)
	}
	return arns
}

// nothingMade checks that the account holds no image, auto scaling group,
// target group, launch template, builder or pool rule: only the site and
// the operator's rules.
func nothingMade(ctx context.Context, t *testing.T, cfg aws.Config, s site, rules int) {
	t.Helper()
	e := ec2.NewFromConfig(cfg)
	ims, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"}})
	if err != nil {
		t.Fatal(err)
	}
	groups, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{})
	if err != nil {
		t.Fatal(err)
	}
	lb := elb.NewFromConfig(cfg)
	tgs, err := lb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{})
	if err != nil && !hasCode(err, "TargetGroupNotFound") {
		t.Fatal(err)
	}
	n := 0
	if tgs != nil {
		n = len(tgs.TargetGroups)
	}
	lts, err := e.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{})
	if err != nil {
		t.Fatal(err)
	}
	builders, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{{Name: aws.String("tag-key"), Values: []string{tagBuilder}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ims.Images) != 0 || len(groups.AutoScalingGroups) != 0 || n != 0 || len(lts.LaunchTemplates) != 0 || len(builders.Reservations) != 0 {
		t.Fatalf("a refused release left %d images, %d auto scaling groups, %d target groups, %d launch templates, %d builders",
			len(ims.Images), len(groups.AutoScalingGroups), n, len(lts.LaunchTemplates), len(builders.Reservations))
	}
	if got := nonDefaultRules(ctx, t, lb, s.Listeners...); got != rules {
		t.Fatalf("a refused release left %d rules, want the operator's %d", got, rules)
	}
}

// nonDefaultRules counts the rules of listeners that are not default rules.
func nonDefaultRules(ctx context.Context, t *testing.T, lb *elb.Client, listeners ...string) int {
	t.Helper()
	n := 0
	for _, l := range listeners {
		p := elb.NewDescribeRulesPaginator(lb, &elb.DescribeRulesInput{ListenerArn: &l})
		for p.HasMorePages() {
			page, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range page.Rules {
				if !aws.ToBool(r.IsDefault) {
					n++
				}
			}
		}
	}
	return n
}
