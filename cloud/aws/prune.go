package aws

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// DeletePool destroys a pool: its listener rule, auto scaling group
// (forced, so its instances go with it), target group and launch template.
// Just before, it refuses with ErrServing if a default action routes to
// the pool's target group, or a rule that is not Phoenix's does. It reads
// what may route there and no more: the default actions of the load
// balancers the target group is attached to (TargetGroup.LoadBalancerArns
// names every load balancer whose default action or rule forwards to it)
// and the rules of the pool's own listener. The pool's own rule does not
// count (it only keeps the pool health-checked) and is deleted then; if
// the target group is still attached after that, something else may route
// to it, and the rules of every listener of its load balancers are read:
// a rule that routes there makes the prune refuse, with the pool's rule
// made again, so a refused delete leaves the pool whole. Pieces already
// gone are skipped, so a half-made pool is pruned like a whole one.
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
	own := ""
	if g != nil {
		own = c.poolListener(*g)
	}
	if own != "" {
		ls, err := c.servingCheck(ctx, poolID, tgs, []string{own}, true)
		if err != nil {
			return err
		}
		if err := c.deletePoolRules(ctx, project, ls, tgs); err != nil {
			return err
		}
	}
	if tg != nil {
		if err := c.stillRouted(ctx, project, poolID, *tg, tgs, g, own); err != nil {
			return err
		}
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
	return classify("waiting for "+name+" to go", w.Wait(countedAs(ctx, WaiterPolls), in, c.opt.DeleteTimeout))
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

// stillRouted checks, once the pool's own rule is gone, that nothing else
// routes to its target group: if the target group is still attached to a
// load balancer, it reads the rules of all that load balancer's listeners
// (the second look, counted apart: see SecondLook) and refuses with ErrServing (making the pool's rule again) if a default
// action or a rule that is not Phoenix's routes there; pool rules of the
// project found there (a half-made pool's, on a listener it did not
// record) are deleted.
func (c *Cloud) stillRouted(ctx context.Context, project, poolID string, tg elbtypes.TargetGroup, tgs []string, g *asgtypes.AutoScalingGroup, own string) error {
	now, err := c.targetGroupsByARN(ctx, []string{aws.ToString(tg.TargetGroupArn)})
	if err != nil || len(now) == 0 || len(now[0].LoadBalancerArns) == 0 {
		return err
	}
	look := countedAs(ctx, SecondLook)
	routing, err := c.routingListeners(look, now)
	if err != nil {
		return err
	}
	ls, err := c.servingCheck(look, poolID, tgs, sortedKeys(routing), true)
	if err != nil {
		if g != nil && own != "" {
			if _, _, rerr := c.ensureRule(context.WithoutCancel(ctx), own, poolID, aws.ToString(tg.TargetGroupArn), asgTagSet(g.Tags)); rerr != nil {
				return fmt.Errorf("%w; making its rule again also failed: %v", err, rerr)
			}
		}
		return err
	}
	return c.deletePoolRules(look, project, ls, tgs)
}
