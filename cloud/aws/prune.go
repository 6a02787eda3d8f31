package awscloud

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// DeletePool destroys a pool: its listener rule, auto scaling group
// (forced, so its instances go with it), target group and launch template.
// Just before, it re-reads the rules of every listener that may route to
// the pool, those of the load balancers its target group is attached to
// (TargetGroup.LoadBalancerArns: whatever forwards to it, by default
// action or rule, is among them), and refuses with ErrServing if a
// default action routes to the pool's target group, or a rule that is not
// Phoenix's does. The check costs the pool's own load balancers, not the
// project's listeners. The pool's own rule does not count (it only keeps
// the pool health-checked) and is deleted first, once the check passed, so
// a refused delete leaves the pool whole. Pieces already gone are skipped,
// so a half-made pool is pruned like a whole one.
func (c *Cloud) DeletePool(ctx context.Context, project, poolID string) error {
	g, err := c.group(ctx, project, poolID)
	if err != nil {
		return err
	}
	tg, err := c.targetGroup(ctx, project, targetGroupName(project, poolID))
	if err != nil {
		return err
	}
	var tgs []string
	var described []elbtypes.TargetGroup
	if g != nil {
		tgs = append(tgs, g.TargetGroupARNs...)
	}
	if tg != nil {
		tgs = append(tgs, aws.ToString(tg.TargetGroupArn))
		described = append(described, *tg)
	}
	routing, err := c.routingListeners(ctx, described)
	if err != nil {
		return err
	}
	if err := servesByDefault(poolID, routing, tgs); err != nil {
		return err
	}
	ls, err := c.servingCheck(ctx, poolID, tgs, sortedKeys(routing), true)
	if err != nil {
		return err
	}
	if err := c.deletePoolRules(ctx, project, ls, tgs); err != nil {
		return err
	}
	if g != nil {
		if err := c.deleteGroup(ctx, aws.ToString(g.AutoScalingGroupName)); err != nil {
			return err
		}
	}
	if tg != nil {
		_, err := c.api.ELB.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: tg.TargetGroupArn}, elbSettle("ResourceInUse"))
		if hasCode(err, "ResourceInUse") { // still in use after the retries: something routes to it
			return fmt.Errorf("its target group is in use: %w", cloud.ErrServing)
		}
		if err != nil && !hasCode(err, "TargetGroupNotFound") {
			return classify("deleting target group of "+poolID, err)
		}
	}
	// The launch template goes last: while it exists, Observe reports what
	// is left of the pool, so an interrupted prune is finished next time.
	return c.deleteTemplate(ctx, project, templateName(project, poolID))
}

// deleteGroup force-deletes a group and waits until it is gone, so the
// target group is free to delete.
func (c *Cloud) deleteGroup(ctx context.Context, name string) error {
	_, err := c.api.AutoScaling.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{
		AutoScalingGroupName: &name, ForceDelete: aws.Bool(true),
	})
	switch {
	case err == nil:
	case hasCode(err, "ResourceInUse", "ScalingActivityInProgress"):
		return &cloud.TransientError{Err: fmt.Errorf("deleting auto scaling group %s: %w", name, err)}
	case hasCode(err, "ValidationError"): // "not found": gone already
		return nil
	default:
		return classify("deleting auto scaling group "+name, err)
	}
	w := autoscaling.NewGroupNotExistsWaiter(c.api.AutoScaling, func(o *autoscaling.GroupNotExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = c.opt.PollMin, c.opt.PollMax
	})
	in := &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}}
	return classify("waiting for "+name+" to go", w.Wait(ctx, in, c.opt.DeleteTimeout))
}

func (c *Cloud) deleteTemplate(ctx context.Context, project, name string) error {
	lt, err := c.template(ctx, project, name)
	if err != nil || lt == nil {
		return err
	}
	_, err = c.api.EC2.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: lt.LaunchTemplateId})
	if err != nil && !hasCode(err, "InvalidLaunchTemplateId.NotFound", "InvalidLaunchTemplateName.NotFoundException") {
		return classify("deleting launch template "+name, err)
	}
	return nil
}
