package aws

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// Pool states as tags. Cold is read from a ready group's desired capacity
// of zero: cooling writes no tag. A group being warmed is tagged cold
// until its servers are healthy, then ready (Cloud.warm), so a warm-up
// cut short leaves a pool that reads cold; groups cooled by an older
// Phoenix are tagged cold too.
const (
	stateCreating = string(cloud.PoolCreating)
	stateReady    = string(cloud.PoolReady)
	stateFailed   = string(cloud.PoolFailed)
	stateCold     = string(cloud.PoolCold)
)

// CreatePool makes a launch template, a target group and an auto scaling
// group of Count servers attached to it, off traffic; waits until every
// target is healthy; then runs smoke checks where there is a network path
// (Options.Smoke). Each piece is found again by name if an interrupted run
// made it already. A pool that fails is tagged failed, with the reason, and
// left for the planner to prune.
func (c *Cloud) CreatePool(ctx context.Context, req cloud.CreateRequest) (cloud.Pool, error) {
	p := req.Pool
	env, err := c.env(p.Env)
	if err != nil {
		return cloud.Pool{}, err
	}
	if req.Image.Ref == "" {
		return cloud.Pool{}, fmt.Errorf("image %s has no AMI", req.Image.Name)
	}
	tags := poolTags(req, c.opt.Now())
	tags[tagState] = stateCreating
	vpc, err := c.vpcOf(ctx, env.Subnets[0])
	if err != nil {
		return cloud.Pool{}, err
	}
	lt, err := c.ensureTemplate(ctx, req, tags)
	if err != nil {
		return cloud.Pool{}, err
	}
	tg, err := c.ensureTargetGroup(ctx, req, vpc, tags)
	if err != nil {
		return cloud.Pool{}, err
	}
	// The rule comes before the group, so that the load balancer checks
	// the servers from the moment they are registered.
	rule, _, err := c.ensureRule(ctx, p.Endpoint, req.ID, tg, tags)
	if err != nil {
		return cloud.Pool{}, err
	}
	made, err := c.ensureGroup(ctx, req, lt, tg, tags)
	if err != nil {
		return cloud.Pool{}, err
	}
	if st := asgTagSet(made.Tags)[tagState]; st == stateReady || st == stateCold {
		// Made already by an earlier run: a ready or retained cold pool is
		// returned as it is; one left creating or failed is finished here
		// (each piece above was adopted) and checked again.
		return c.poolOf(ctx, made)
	}
	logf(req.Log, "pool %s: %d × %s from %s, waiting for healthy targets", req.ID, p.Count, c.size(req), req.Image.Ref)
	if err := c.waitHealthy(ctx, tg, p.Count, c.healthDeadline(p), req.Log); err != nil {
		return c.failPool(ctx, req, err)
	}
	if err := c.smoke(ctx, req, tg, rule); err != nil {
		return c.failPool(ctx, req, err)
	}
	ready := tagSet{tagState: stateReady, tagReason: ""}
	if err := c.setTags(ctx, groupName(req.Project, req.ID), ready); err != nil {
		return cloud.Pool{}, err
	}
	// The pool as made, not read again: its group with the tags just set,
	// and every server healthy, as the wait for health and the smoke
	// checks have just seen.
	made.Tags = withTags(made.Tags, groupName(req.Project, req.ID), ready)
	return livePool(made, p.Count, ""), nil
}

// withTags returns a group's tags with t set.
func withTags(tags []asgtypes.TagDescription, group string, t tagSet) []asgtypes.TagDescription {
	all := asgTagSet(tags)
	for k, v := range t {
		all[k] = v
	}
	out := make([]asgtypes.TagDescription, 0, len(all))
	for _, k := range sortedKeys(all) {
		out = append(out, asgtypes.TagDescription{Key: aws.String(k), Value: aws.String(all[k]), ResourceId: aws.String(group)})
	}
	return out
}

func (c *Cloud) size(req cloud.CreateRequest) string {
	if req.Pool.Size != "" {
		return req.Pool.Size
	}
	return c.opt.DefaultSize
}

// failPool tags the pool failed with the reason and returns it with err.
func (c *Cloud) failPool(ctx context.Context, req cloud.CreateRequest, cause error) (cloud.Pool, error) {
	err := cause
	tctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if terr := c.setTags(tctx, groupName(req.Project, req.ID), tagSet{tagState: stateFailed, tagReason: cause.Error()}); terr != nil {
		return cloud.Pool{}, errors.Join(err, terr)
	}
	pool := cloud.Pool{
		Cloud: Name, ID: req.ID, Env: req.Pool.Env, Role: req.Pool.Role, Key: req.Pool.Key,
		Generation: req.Generation, Image: req.Image.Name, BuildID: req.Image.BuildID, Commit: req.Commit,
		CreatedAt: c.opt.Now(), State: cloud.PoolFailed, Count: req.Pool.Count, Reason: cause.Error(),
	}
	if g, gerr := c.group(tctx, req.Project, req.ID); gerr == nil && g != nil {
		if p, perr := c.poolOf(tctx, *g); perr == nil {
			pool = p
		}
	}
	return pool, err
}

// ensureTemplate creates the pool's launch template, or finds the one an
// earlier run made, and returns its id.
func (c *Cloud) ensureTemplate(ctx context.Context, req cloud.CreateRequest, tags tagSet) (string, error) {
	env, _ := c.env(req.Pool.Env)
	userData, err := serverScript(req)
	if err != nil {
		return "", err
	}
	name := templateName(req.Project, req.ID)
	data := &ec2types.RequestLaunchTemplateData{
		ImageId:      aws.String(req.Image.Ref),
		InstanceType: ec2types.InstanceType(c.size(req)),
		UserData:     &userData,
		TagSpecifications: []ec2types.LaunchTemplateTagSpecificationRequest{
			{ResourceType: ec2types.ResourceTypeInstance, Tags: tags.ec2()},
			{ResourceType: ec2types.ResourceTypeVolume, Tags: tags.ec2()},
		},
	}
	if len(env.SecurityGroups) > 0 {
		data.SecurityGroupIds = env.SecurityGroups
	}
	if env.InstanceProfile != "" {
		ip := profile(env.InstanceProfile)
		data.IamInstanceProfile = &ec2types.LaunchTemplateIamInstanceProfileSpecificationRequest{Arn: ip.Arn, Name: ip.Name}
	}
	out, err := c.api.EC2.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: &name,
		LaunchTemplateData: data,
		TagSpecifications:  []ec2types.TagSpecification{{ResourceType: ec2types.ResourceTypeLaunchTemplate, Tags: tags.ec2()}},
	})
	if err == nil {
		return aws.ToString(out.LaunchTemplate.LaunchTemplateId), nil
	}
	if !hasCode(err, "InvalidLaunchTemplateName.AlreadyExistsException") {
		return "", classify("creating launch template "+name, err)
	}
	lt, err := c.template(ctx, req.Project, name)
	if err != nil {
		return "", err
	}
	if lt == nil {
		return "", fmt.Errorf("launch template %s exists without this project's tags; not touching it", name)
	}
	return aws.ToString(lt.LaunchTemplateId), nil
}

// template finds the project's launch template called name.
func (c *Cloud) template(ctx context.Context, project, name string) (*ec2types.LaunchTemplate, error) {
	out, err := c.api.EC2.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{name}})
	if hasCode(err, "InvalidLaunchTemplateName.NotFoundException", "InvalidLaunchTemplateId.NotFound") {
		return nil, nil
	}
	if err != nil {
		return nil, classify("describing launch template "+name, err)
	}
	for i := range out.LaunchTemplates {
		if ec2TagSet(out.LaunchTemplates[i].Tags).owned(project) {
			return &out.LaunchTemplates[i], nil
		}
	}
	return nil, nil
}

// ensureTargetGroup creates the pool's target group (CreateTargetGroup
// returns the existing one for the same name and settings) and returns its
// ARN.
func (c *Cloud) ensureTargetGroup(ctx context.Context, req cloud.CreateRequest, vpc string, tags tagSet) (string, error) {
	p := req.Pool
	name := targetGroupName(req.Project, req.ID)
	port := p.Port
	if port == 0 {
		port = 80
	}
	hpath := p.Health.Path
	if hpath == "" {
		hpath = "/"
	}
	interval := clamp(int(p.Health.Interval/time.Second), 5, 300, 10)
	timeout := clamp(int(p.Health.Timeout/time.Second), 2, 120, 5)
	if timeout >= interval {
		timeout = interval - 1
	}
	out, err := c.api.ELB.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{
		Name:                       &name,
		Protocol:                   elbtypes.ProtocolEnumHttp,
		Port:                       aws.Int32(int32(port)),
		VpcId:                      &vpc,
		TargetType:                 elbtypes.TargetTypeEnumInstance,
		HealthCheckPath:            &hpath,
		HealthCheckIntervalSeconds: aws.Int32(int32(interval)),
		HealthCheckTimeoutSeconds:  aws.Int32(int32(timeout)),
		HealthyThresholdCount:      aws.Int32(2),
		UnhealthyThresholdCount:    aws.Int32(2),
		Tags:                       tags.elb(),
	})
	if hasCode(err, "DuplicateTargetGroupName") {
		tg, ferr := c.targetGroup(ctx, req.Project, name)
		if ferr != nil {
			return "", ferr
		}
		if tg == nil {
			return "", fmt.Errorf("target group %s exists without this project's tags; not touching it", name)
		}
		return aws.ToString(tg.TargetGroupArn), nil
	}
	if err != nil {
		return "", classify("creating target group "+name+" for "+req.ID, err)
	}
	if len(out.TargetGroups) == 0 {
		return "", fmt.Errorf("creating target group %s: none returned", name)
	}
	return aws.ToString(out.TargetGroups[0].TargetGroupArn), nil
}

func clamp(v, lo, hi, def int) int {
	if v == 0 {
		return def
	}
	return max(lo, min(hi, v))
}

// targetGroup finds the target group called name if the project owns it.
func (c *Cloud) targetGroup(ctx context.Context, project, name string) (*elbtypes.TargetGroup, error) {
	out, err := c.api.ELB.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{name}})
	if hasCode(err, "TargetGroupNotFound") {
		return nil, nil
	}
	if err != nil {
		return nil, classify("describing target group "+name, err)
	}
	if len(out.TargetGroups) == 0 {
		return nil, nil
	}
	tg := out.TargetGroups[0]
	tags, err := c.api.ELB.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{aws.ToString(tg.TargetGroupArn)}})
	if err != nil {
		return nil, classify("reading the tags of target group "+name, err)
	}
	for _, d := range tags.TagDescriptions {
		if elbTagSet(d.Tags).owned(project) {
			return &tg, nil
		}
	}
	return nil, nil
}

// ensureGroup creates the pool's auto scaling group in the environment's
// subnets, attached to the target group, or finds the one an earlier run
// made, and returns it: as created (without instances), or as found.
func (c *Cloud) ensureGroup(ctx context.Context, req cloud.CreateRequest, lt, tg string, tags tagSet) (asgtypes.AutoScalingGroup, error) {
	env, _ := c.env(req.Pool.Env)
	name := groupName(req.Project, req.ID)
	n := aws.Int32(int32(req.Pool.Count))
	in := &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName:   &name,
		LaunchTemplate:         &asgtypes.LaunchTemplateSpecification{LaunchTemplateId: &lt, Version: aws.String("$Latest")},
		MinSize:                n,
		MaxSize:                n,
		DesiredCapacity:        n,
		VPCZoneIdentifier:      aws.String(strings.Join(env.Subnets, ",")),
		TargetGroupARNs:        []string{tg},
		HealthCheckType:        aws.String("ELB"),
		HealthCheckGracePeriod: aws.Int32(300),
		Tags:                   tags.asg(name),
	}
	done := c.writingGroups(name)
	_, err := c.api.AutoScaling.CreateAutoScalingGroup(ctx, in)
	done(false, nil) // nothing of it is remembered (a group found existing is described)
	if hasCode(err, "AlreadyExists") {
		g, gerr := c.group(ctx, req.Project, req.ID)
		if gerr != nil {
			return asgtypes.AutoScalingGroup{}, gerr
		}
		if g == nil {
			return asgtypes.AutoScalingGroup{}, fmt.Errorf("auto scaling group %s exists without this project's tags; not touching it", name)
		}
		return *g, nil
	}
	if err != nil {
		return asgtypes.AutoScalingGroup{}, classify("creating auto scaling group "+name, err)
	}
	return asgtypes.AutoScalingGroup{
		AutoScalingGroupName: &name, LaunchTemplate: in.LaunchTemplate, MinSize: n, MaxSize: n, DesiredCapacity: n,
		TargetGroupARNs: in.TargetGroupARNs, Tags: withTags(nil, name, tags),
	}, nil
}

// group returns the project's auto scaling group of poolID, or nil. A
// description of it that this cloud read less than Options.GroupReuse ago
// (the executor's re-check of the environment, a moment before the step
// acts) is used again (groupmem.go); else the group is described, and
// remembered.
func (c *Cloud) group(ctx context.Context, project, poolID string) (*asgtypes.AutoScalingGroup, error) {
	name := groupName(project, poolID)
	if g := c.rememberedGroup(project, name); g != nil {
		return g, nil
	}
	read := c.readingGroups()
	out, err := c.api.AutoScaling.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
	if err != nil {
		read.done(nil)
		return nil, classify("describing auto scaling group "+name, err)
	}
	for i := range out.AutoScalingGroups {
		g := out.AutoScalingGroups[i]
		if aws.ToString(g.AutoScalingGroupName) == name && asgTagSet(g.Tags).owned(project) && !deleting(g) {
			read.done([]asgtypes.AutoScalingGroup{g})
			return &g, nil
		}
	}
	read.done(nil, name)
	return nil, nil
}

// setTags tags a group; what this cloud remembers of it is updated.
func (c *Cloud) setTags(ctx context.Context, group string, t tagSet) error {
	done := c.writingGroups(group)
	_, err := c.api.AutoScaling.CreateOrUpdateTags(ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: t.asg(group)})
	done(err == nil, func(g *asgtypes.AutoScalingGroup) { taggedWith(g, t) })
	return classify("tagging "+group, err)
}

// setManyTags tags several groups in one call.
func (c *Cloud) setManyTags(ctx context.Context, groups map[string]tagSet) error {
	if len(groups) == 0 {
		return nil
	}
	var tags []asgtypes.Tag
	for _, g := range sortedKeys(groups) {
		tags = append(tags, groups[g].asg(g)...)
	}
	done := c.writingGroups(sortedKeys(groups)...)
	_, err := c.api.AutoScaling.CreateOrUpdateTags(ctx, &autoscaling.CreateOrUpdateTagsInput{Tags: tags})
	done(err == nil, func(g *asgtypes.AutoScalingGroup) { taggedWith(g, groups[aws.ToString(g.AutoScalingGroupName)]) })
	return classify("tagging "+strings.Join(sortedKeys(groups), ", "), err)
}

// healthyTargets counts the healthy targets of a target group and says
// why the others are not, if it can.
func (c *Cloud) healthyTargets(ctx context.Context, tg string) (int, string, error) {
	out, err := c.api.ELB.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: &tg})
	if hasCode(err, "TargetGroupNotFound") {
		// Deleted behind Phoenix's back, or by a prune cut short: the pool
		// has no healthy server; one broken pool must not stop a plan.
		return 0, " (its target group is gone)", nil
	}
	if err != nil {
		return 0, "", classify("reading target health", err)
	}
	n, why := countHealthy(out)
	return n, why, nil
}

// countHealthy counts healthy targets. "unused" is never healthy: a target
// group that no listener action uses is not health-checked at all
// (Target.NotInUse), which for a pool means its listener rule is missing;
// the second result says so, or names the other states seen.
func countHealthy(out *elb.DescribeTargetHealthOutput) (int, string) {
	n := 0
	others := map[string]int{}
	for _, d := range out.TargetHealthDescriptions {
		th := d.TargetHealth
		switch {
		case th == nil:
			others["unknown"]++
		case th.State == elbtypes.TargetHealthStateEnumHealthy:
			n++
		case th.State == elbtypes.TargetHealthStateEnumUnused && th.Reason == elbtypes.TargetHealthReasonEnumNotInUse:
			others["unused: no listener rule routes to the target group, so the load balancer does not check it"]++
		case th.Reason != "":
			others[string(th.State)+": "+string(th.Reason)]++
		default:
			others[string(th.State)]++
		}
	}
	return n, countedWhy(others)
}

// countedWhy says how many targets or servers are in each state that is
// not healthy, as " (1 unhealthy; 2 pending)", or "" if none is.
func countedWhy(others map[string]int) string {
	if len(others) == 0 {
		return ""
	}
	var parts []string
	for _, k := range sortedKeys(others) {
		parts = append(parts, fmt.Sprintf("%d %s", others[k], k))
	}
	return " (" + strings.Join(parts, "; ") + ")"
}

// waitHealthy waits with the SDK's target-in-service waiter until want
// targets are healthy. Its own acceptors would pass with no target yet
// registered, so the waiter counts instead.
func (c *Cloud) waitHealthy(ctx context.Context, tg string, want int, deadline time.Duration, log io.Writer) error {
	seen, why, said := 0, "", ""
	w := elb.NewTargetInServiceWaiter(c.api.ELB, func(o *elb.TargetInServiceWaiterOptions) {
		o.MinDelay, o.MaxDelay = c.opt.PollMin, c.opt.PollMax
		o.Retryable = func(ctx context.Context, _ *elb.DescribeTargetHealthInput, out *elb.DescribeTargetHealthOutput, err error) (bool, error) {
			if err != nil {
				if isTransient(err) {
					return true, nil
				}
				return false, err
			}
			seen, why = countHealthy(out)
			// Each change of the targets' health as it comes, so that a
			// health path answering 404 (Target.ResponseCodeMismatch) is
			// seen at once, not at the deadline.
			if now := fmt.Sprintf("%d/%d healthy%s", seen, want, why); now != said && why != "" {
				logf(log, "targets: %s", now)
				said = now
			}
			return seen < want, nil
		}
	})
	err := w.Wait(countedAs(ctx, WaiterPolls), &elb.DescribeTargetHealthInput{TargetGroupArn: &tg}, deadline)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%d of %d targets healthy%s: %w (%v)", seen, want, why, cloud.ErrNotReady, err)
	}
	return nil
}

// healthDeadline is the spec's health deadline for the pool, else the
// cloud's HealthTimeout.
func (c *Cloud) healthDeadline(p *model.Pool) time.Duration {
	if p.Health.Deadline > 0 {
		return p.Health.Deadline
	}
	return c.opt.HealthTimeout
}

// poolOf turns a tagged group into the live pool, reading its target health.
func (c *Cloud) poolOf(ctx context.Context, g asgtypes.AutoScalingGroup) (cloud.Pool, error) {
	healthy, why := 0, ""
	if len(g.TargetGroupARNs) > 0 {
		n, w, err := c.healthyTargets(ctx, g.TargetGroupARNs[0])
		if err != nil {
			return cloud.Pool{}, err
		}
		healthy, why = n, w
	}
	return livePool(g, healthy, why), nil
}

// livePool builds the live pool from a group's tags, its healthy count and
// why the others are not healthy.
func livePool(g asgtypes.AutoScalingGroup, healthy int, why string) cloud.Pool {
	t := asgTagSet(g.Tags)
	count := int(aws.ToInt32(g.MaxSize))
	desired := int(aws.ToInt32(g.DesiredCapacity))
	state := cloud.PoolState(t[tagState])
	switch state {
	case cloud.PoolCreating, cloud.PoolReady, cloud.PoolFailed, cloud.PoolCold:
	default:
		state = cloud.PoolCreating
	}
	if state == cloud.PoolReady && desired == 0 && count > 0 {
		state = cloud.PoolCold
	}
	gen, _ := strconv.Atoi(t[tagGeneration])
	p := cloud.Pool{
		Cloud:      Name,
		ID:         t[tagPool],
		Env:        t[tagEnv],
		Role:       t[tagRole],
		Key:        t[tagKey],
		Generation: gen,
		Image:      t[tagImage],
		BuildID:    t[tagBuildID],
		Commit:     t[tagCommit],
		CreatedAt:  t.time(tagCreatedAt),
		State:      state,
		Servers:    min(healthy, count),
		Count:      count,
		LastServed: t.time(tagLastServed),
		Released:   t.time(tagReleased),
		Rejected:   t[tagRejected],
		RejectedAt: t.time(tagRejectedAt),
		Reason:     t[tagReason],
	}
	p.Drift = drifted(g, t[tagAMI])
	// A failed pool is never healthy, whatever its targets say: it failed a
	// smoke check or its wait and must not take traffic.
	p.Healthy = state != cloud.PoolCold && state != cloud.PoolFailed && desired == count && healthy >= count
	if !p.Healthy && p.Reason == "" && state == cloud.PoolReady {
		p.Reason = fmt.Sprintf("%d of %d servers healthy%s", p.Servers, count, why)
	}
	return p
}

// drifted reports a server that does not match the pool: launched from
// another launch template, or whose root volume now runs another AMI.
func drifted(g asgtypes.AutoScalingGroup, ami string) bool {
	for _, in := range g.Instances {
		if lt := in.LaunchTemplate; lt != nil && lt.LaunchTemplateId != nil && g.LaunchTemplate != nil && g.LaunchTemplate.LaunchTemplateId != nil &&
			*lt.LaunchTemplateId != *g.LaunchTemplate.LaunchTemplateId {
			return true
		}
		if in.ImageId != nil && ami != "" && *in.ImageId != ami {
			return true
		}
	}
	return false
}

// halfMade returns the pool an interrupted CreatePool left as a launch
// template without its auto scaling group (the template is made first and
// deleted last), reported failed so that the planner prunes it.
func halfMade(lt ec2types.LaunchTemplate) cloud.Pool {
	t := ec2TagSet(lt.Tags)
	gen, _ := strconv.Atoi(t[tagGeneration])
	return cloud.Pool{
		Cloud: Name, ID: t[tagPool], Env: t[tagEnv], Role: t[tagRole], Key: t[tagKey], Generation: gen,
		Image: t[tagImage], BuildID: t[tagBuildID], Commit: t[tagCommit], CreatedAt: t.time(tagCreatedAt),
		State: cloud.PoolFailed, Reason: "half-made: a launch template without its auto scaling group (an interrupted create or prune)",
	}
}

// projectTemplates lists the project's launch templates (paginated); with
// envs, only those environments'.
func (c *Cloud) projectTemplates(ctx context.Context, project string, envs ...string) ([]ec2types.LaunchTemplate, error) {
	in := &ec2.DescribeLaunchTemplatesInput{Filters: []ec2types.Filter{{Name: aws.String("tag:" + tagProject), Values: []string{project}}}, MaxResults: aws.Int32(200)}
	if len(envs) > 0 {
		in.Filters = append(in.Filters, ec2types.Filter{Name: aws.String("tag:" + tagEnv), Values: envs})
	}
	var out []ec2types.LaunchTemplate
	p := ec2.NewDescribeLaunchTemplatesPaginator(c.api.EC2, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, classify("describing launch templates", err)
		}
		for _, lt := range page.LaunchTemplates {
			if ec2TagSet(lt.Tags).owned(project) && ec2TagSet(lt.Tags)[tagPool] != "" {
				out = append(out, lt)
			}
		}
	}
	return out, nil
}
