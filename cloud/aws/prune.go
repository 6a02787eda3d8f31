package aws

import (
	"context"
	"fmt"
	"slices"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// DeletePool destroys a pool: its listener rule, auto scaling group
// (forced, so its instances go with it), target group and launch template.
// Just before, it refuses with ErrServing if a default action routes to
// the pool's target group, or a rule that is not Phoenix's does. It reads
// what may route there and no more: the rules of the pool's own listener,
// which are checked and its pool rule deleted, and then the target group,
// whose LoadBalancerArns names every load balancer whose default action or
// rule still forwards to it. The pool's own rule does not count (it only
// keeps the pool health-checked); if the target group is still attached
// once it is gone, something else may route to it, and the rules of every
// listener of those load balancers are read (the second look): a default
// action or a rule that is not Phoenix's routing there makes the prune
// refuse, with the pool's rule made again, so a refused delete leaves the
// pool whole. The target group and launch template of a pool with its
// group are the ones the group names (Phoenix made them for it); those of
// a half-made pool are found by name and tags. Pieces already gone are
// skipped, so a half-made pool is pruned like a whole one.
func (c *Cloud) DeletePool(ctx context.Context, project, poolID string) error {
	g, err := c.group(ctx, project, poolID)
	if err != nil {
		return err
	}
	tgARN, err := c.poolTargetGroup(ctx, project, poolID, g)
	if err != nil {
		return err
	}
	var tgs []string
	if g != nil {
		tgs = append(tgs, g.TargetGroupARNs...)
	}
	if tgARN != "" && !slices.Contains(tgs, tgARN) {
		tgs = append(tgs, tgARN)
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
	if tgARN != "" {
		if err := c.stillRouted(ctx, project, poolID, tgARN, tgs, g, own); err != nil {
			return err
		}
	}
	if g != nil {
		if err := c.deleteGroup(ctx, aws.ToString(g.AutoScalingGroupName)); err != nil {
			return err
		}
	}
	if tgARN != "" {
		_, err := c.api.ELB.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: &tgARN}, elbSettle("ResourceInUse"))
		if hasCode(err, "ResourceInUse") { // still in use after the retries: something routes to it
			return fmt.Errorf("its target group is in use: %w", cloud.ErrServing)
		}
		if err != nil && !hasCode(err, "TargetGroupNotFound") {
			return classify("deleting target group of "+poolID, err)
		}
	}
	// The launch template goes last: while it exists, Observe reports what
	// is left of the pool, so an interrupted prune is finished next time.
	name := templateName(project, poolID)
	if lt := poolTemplate(g, name); lt != "" {
		return c.deleteTemplateByID(ctx, name, lt)
	}
	return c.deleteTemplate(ctx, project, name)
}

// poolTargetGroup returns the ARN of a pool's target group, or "" if it
// has none: the one its group names, if it is the pool's by name (Phoenix
// made it for the group, which carries the project's tags), else the
// project's target group of the pool's name, found by name and tags.
func (c *Cloud) poolTargetGroup(ctx context.Context, project, poolID string, g *asgtypes.AutoScalingGroup) (string, error) {
	name := targetGroupName(project, poolID)
	if g != nil {
		for _, arn := range g.TargetGroupARNs {
			if targetGroupNameOf(arn) == name {
				return arn, nil
			}
		}
	}
	tg, err := c.targetGroup(ctx, project, name)
	if err != nil || tg == nil {
		return "", err
	}
	return aws.ToString(tg.TargetGroupArn), nil
}

// poolTemplate returns the id of the launch template a pool's group
// names, if it is the pool's by name (Phoenix made it for the group), or
// "".
func poolTemplate(g *asgtypes.AutoScalingGroup, name string) string {
	if g == nil || g.LaunchTemplate == nil || aws.ToString(g.LaunchTemplate.LaunchTemplateName) != name {
		return ""
	}
	return aws.ToString(g.LaunchTemplate.LaunchTemplateId)
}

// deleteGroup force-deletes a group and waits until it is gone, so the
// target group is free to delete.
func (c *Cloud) deleteGroup(ctx context.Context, name string) error {
	done := c.writingGroups(name)
	_, err := c.api.AutoScaling.DeleteAutoScalingGroup(ctx, &autoscaling.DeleteAutoScalingGroupInput{
		AutoScalingGroupName: &name, ForceDelete: aws.Bool(true),
	})
	done(false, nil) // forgotten, whatever came of it
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

// deleteTemplate deletes the project's launch template called name, if
// there is one.
func (c *Cloud) deleteTemplate(ctx context.Context, project, name string) error {
	lt, err := c.template(ctx, project, name)
	if err != nil || lt == nil {
		return err
	}
	return c.deleteTemplateByID(ctx, name, aws.ToString(lt.LaunchTemplateId))
}

// deleteTemplateByID deletes the launch template id (called name), if it
// is not gone already.
func (c *Cloud) deleteTemplateByID(ctx context.Context, name, id string) error {
	_, err := c.api.EC2.DeleteLaunchTemplate(ctx, &ec2.DeleteLaunchTemplateInput{LaunchTemplateId: &id})
	if err != nil && !hasCode(err, "InvalidLaunchTemplateId.NotFound", "InvalidLaunchTemplateName.NotFoundException") {
		return classify("deleting launch template "+name, err)
	}
	return nil
}

// stillRouted checks, once the pool's own rule is gone, that nothing else
// routes to its target group: if the target group is still attached to a
// load balancer, it reads the rules of all that load balancer's listeners
// (the second look, counted apart: see SecondLook) and refuses with
// ErrServing (making the pool's rule again) if a default action or a rule
// that is not Phoenix's routes there; pool rules of the project found
// there (a half-made pool's, on a listener it did not record) are
// deleted.
func (c *Cloud) stillRouted(ctx context.Context, project, poolID, tg string, tgs []string, g *asgtypes.AutoScalingGroup, own string) error {
	now, err := c.targetGroupsByARN(ctx, []string{tg})
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
			if _, _, rerr := c.ensureRule(context.WithoutCancel(ctx), own, poolID, tg, asgTagSet(g.Tags)); rerr != nil {
				return fmt.Errorf("%w; making its rule again also failed: %v", err, rerr)
			}
		}
		return err
	}
	return c.deletePoolRules(look, project, ls, tgs)
}
