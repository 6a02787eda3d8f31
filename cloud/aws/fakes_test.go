package aws

// Small stand-ins for the consumer interfaces, holding just enough state
// for unit tests to assert end states. Each embeds its interface, so a call
// a test did not expect panics instead of passing silently.

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
)

func apiErr(code string) error { return &smithy.GenericAPIError{Code: code, Message: code} }

// fakeS3 is a bucket with S3's conditional writes.
type fakeS3 struct {
	S3API
	mu      sync.Mutex
	objects map[string][]byte // bucket/key -> body
}

func newFakeS3() *fakeS3 { return &fakeS3{objects: map[string][]byte{}} }

func etag(b []byte) string { s := md5.Sum(b); return `"` + hex.EncodeToString(s[:]) + `"` }

func (f *fakeS3) PutObject(_ context.Context, in *s3.PutObjectInput, _ ...func(*s3.Options)) (*s3.PutObjectOutput, error) {
	body, _ := io.ReadAll(in.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	k := *in.Bucket + "/" + *in.Key
	old, exists := f.objects[k]
	if in.IfNoneMatch != nil && exists {
		return nil, apiErr("PreconditionFailed")
	}
	if in.IfMatch != nil && (!exists || etag(old) != *in.IfMatch) {
		return nil, apiErr("PreconditionFailed")
	}
	f.objects[k] = body
	return &s3.PutObjectOutput{ETag: aws.String(etag(body))}, nil
}

func (f *fakeS3) GetObject(_ context.Context, in *s3.GetObjectInput, _ ...func(*s3.Options)) (*s3.GetObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.objects[*in.Bucket+"/"+*in.Key]
	if !ok {
		return nil, &s3types.NoSuchKey{Message: aws.String("no such key")}
	}
	return &s3.GetObjectOutput{Body: io.NopCloser(bytes.NewReader(b)), ETag: aws.String(etag(b))}, nil
}

func (f *fakeS3) DeleteObject(_ context.Context, in *s3.DeleteObjectInput, _ ...func(*s3.Options)) (*s3.DeleteObjectOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	k := *in.Bucket + "/" + *in.Key
	if old, ok := f.objects[k]; ok && in.IfMatch != nil && etag(old) != *in.IfMatch {
		return nil, apiErr("PreconditionFailed")
	}
	delete(f.objects, k)
	return &s3.DeleteObjectOutput{}, nil
}

func (f *fakeS3) ListObjectsV2(_ context.Context, in *s3.ListObjectsV2Input, _ ...func(*s3.Options)) (*s3.ListObjectsV2Output, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &s3.ListObjectsV2Output{}
	prefix := *in.Bucket + "/" + aws.ToString(in.Prefix)
	for k := range f.objects {
		if strings.HasPrefix(k, prefix) {
			out.Contents = append(out.Contents, s3types.Object{Key: aws.String(strings.TrimPrefix(k, *in.Bucket+"/"))})
		}
	}
	return out, nil
}

// fakeELB holds listeners (their default actions and rules), target
// groups with tags and health. Like a real application load balancer, it
// health-checks only target groups that a listener's default action or a
// rule forwards to: the targets of any other report "unused"
// (Target.NotInUse), which moto does not model.
type fakeELB struct {
	ELBAPI
	mu        sync.Mutex
	listeners map[string][]elbtypes.Action
	rules     map[string][]elbtypes.Rule // listener -> its non-default rules
	ports     map[string]int32           // listener -> port (8080 if unset)
	groups    map[string]string          // arn -> name
	tags      map[string][]elbtypes.Tag
	healthy   map[string]int // arn -> healthy targets
	nextID    int
	// forgetRules makes CreateRule answer as if it made the rule, and
	// make none: a load balancer on which pools are never health-checked.
	forgetRules bool
	// ruleReads counts DescribeRules calls, listenerReads
	// DescribeListeners, groupReads DescribeTargetGroups, tagReads
	// DescribeTags.
	ruleReads, listenerReads, groupReads, tagReads int
}

func newFakeELB() *fakeELB {
	return &fakeELB{listeners: map[string][]elbtypes.Action{}, rules: map[string][]elbtypes.Rule{}, ports: map[string]int32{},
		groups: map[string]string{}, tags: map[string][]elbtypes.Tag{}, healthy: map[string]int{}}
}

// fakeDNS is the DNS name of every stand-in load balancer.
const fakeDNS = "shop-123.us-east-1.elb.amazonaws.com"

func (f *fakeELB) DescribeListeners(_ context.Context, in *elb.DescribeListenersInput, _ ...func(*elb.Options)) (*elb.DescribeListenersOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.listenerReads++
	out := &elb.DescribeListenersOutput{}
	arns := in.ListenerArns
	if in.LoadBalancerArn != nil {
		for arn := range f.listeners {
			if loadBalancerOf(arn) == *in.LoadBalancerArn {
				arns = append(arns, arn)
			}
		}
	}
	for _, arn := range arns {
		a, ok := f.listeners[arn]
		if !ok {
			return nil, apiErr("ListenerNotFound")
		}
		port := f.ports[arn]
		if port == 0 {
			port = 8080
		}
		out.Listeners = append(out.Listeners, elbtypes.Listener{ListenerArn: aws.String(arn), DefaultActions: a,
			Port: aws.Int32(port), Protocol: elbtypes.ProtocolEnumHttp, LoadBalancerArn: aws.String(loadBalancerOf(arn))})
	}
	return out, nil
}

func (f *fakeELB) ModifyListener(_ context.Context, in *elb.ModifyListenerInput, _ ...func(*elb.Options)) (*elb.ModifyListenerOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.listeners[*in.ListenerArn]; !ok {
		return nil, apiErr("ListenerNotFound")
	}
	f.listeners[*in.ListenerArn] = in.DefaultActions
	return &elb.ModifyListenerOutput{}, nil
}

func (f *fakeELB) DescribeLoadBalancers(_ context.Context, in *elb.DescribeLoadBalancersInput, _ ...func(*elb.Options)) (*elb.DescribeLoadBalancersOutput, error) {
	out := &elb.DescribeLoadBalancersOutput{}
	for _, arn := range in.LoadBalancerArns {
		out.LoadBalancers = append(out.LoadBalancers, elbtypes.LoadBalancer{LoadBalancerArn: aws.String(arn), DNSName: aws.String(fakeDNS)})
	}
	return out, nil
}

func (f *fakeELB) DescribeRules(_ context.Context, in *elb.DescribeRulesInput, _ ...func(*elb.Options)) (*elb.DescribeRulesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ruleReads++
	a, ok := f.listeners[aws.ToString(in.ListenerArn)]
	if !ok {
		return nil, apiErr("ListenerNotFound")
	}
	out := &elb.DescribeRulesOutput{Rules: append([]elbtypes.Rule(nil), f.rules[*in.ListenerArn]...)}
	out.Rules = append(out.Rules, elbtypes.Rule{RuleArn: aws.String(*in.ListenerArn + "/default"), IsDefault: aws.Bool(true), Priority: aws.String("default"), Actions: a})
	return out, nil
}

func (f *fakeELB) CreateRule(_ context.Context, in *elb.CreateRuleInput, _ ...func(*elb.Options)) (*elb.CreateRuleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.listeners[*in.ListenerArn]; !ok {
		return nil, apiErr("ListenerNotFound")
	}
	for _, r := range f.rules[*in.ListenerArn] {
		if aws.ToString(r.Priority) == fmt.Sprint(*in.Priority) {
			return nil, apiErr("PriorityInUse")
		}
	}
	f.nextID++
	arn := strings.Replace(*in.ListenerArn, ":listener/", ":listener-rule/", 1) + fmt.Sprintf("/r%d", f.nextID)
	r := elbtypes.Rule{RuleArn: aws.String(arn), Priority: aws.String(fmt.Sprint(*in.Priority)), Conditions: in.Conditions, Actions: in.Actions, IsDefault: aws.Bool(false)}
	if !f.forgetRules {
		f.rules[*in.ListenerArn] = append(f.rules[*in.ListenerArn], r)
		f.tags[arn] = in.Tags
	}
	return &elb.CreateRuleOutput{Rules: []elbtypes.Rule{r}}, nil
}

func (f *fakeELB) DeleteRule(_ context.Context, in *elb.DeleteRuleInput, _ ...func(*elb.Options)) (*elb.DeleteRuleOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for l, rs := range f.rules {
		for i, r := range rs {
			if *r.RuleArn == *in.RuleArn {
				f.rules[l] = append(rs[:i:i], rs[i+1:]...)
				delete(f.tags, *in.RuleArn)
				return &elb.DeleteRuleOutput{}, nil
			}
		}
	}
	return nil, apiErr("RuleNotFound")
}

// poolRules returns the pool rules (header value by target group name).
func (f *fakeELB) poolRules() map[string]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string]string{}
	for _, rs := range f.rules {
		for _, r := range rs {
			if v, ok := poolCondition(r.Conditions); ok {
				for _, w := range forwardTargets(r.Actions) {
					out[f.groups[w.tg]] = v
				}
			}
		}
	}
	return out
}

// targetsOf returns what listener l forwards to: its default action's
// target groups and its rules'.
func (f *fakeELB) targetsOf(l string) []weighted {
	ws := forwardTargets(f.listeners[l])
	for _, r := range f.rules[l] {
		ws = append(ws, forwardTargets(r.Actions)...)
	}
	return ws
}

// balancersOf returns the load balancers whose listeners forward to tg.
func (f *fakeELB) balancersOf(tg string) []string {
	set := map[string]bool{}
	for l := range f.listeners {
		if forwardsTo(f.targetsOf(l), tg) {
			set[loadBalancerOf(l)] = true
		}
	}
	return sortedKeys(set)
}

// inUse reports whether a default action or a rule forwards to tg.
func (f *fakeELB) inUse(tg string) bool {
	for l := range f.listeners {
		if forwardsTo(f.targetsOf(l), tg) {
			return true
		}
	}
	return false
}

func (f *fakeELB) DescribeTargetHealth(_ context.Context, in *elb.DescribeTargetHealthInput, _ ...func(*elb.Options)) (*elb.DescribeTargetHealthOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.groups[*in.TargetGroupArn]; !ok {
		return nil, apiErr("TargetGroupNotFound")
	}
	th := elbtypes.TargetHealth{State: elbtypes.TargetHealthStateEnumHealthy}
	if !f.inUse(*in.TargetGroupArn) {
		th = elbtypes.TargetHealth{State: elbtypes.TargetHealthStateEnumUnused, Reason: elbtypes.TargetHealthReasonEnumNotInUse}
	}
	out := &elb.DescribeTargetHealthOutput{}
	for range f.healthy[*in.TargetGroupArn] {
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, elbtypes.TargetHealthDescription{TargetHealth: &th})
	}
	return out, nil
}

func (f *fakeELB) CreateTargetGroup(_ context.Context, in *elb.CreateTargetGroupInput, _ ...func(*elb.Options)) (*elb.CreateTargetGroupOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, n := range f.groups {
		if n == *in.Name {
			return nil, apiErr("DuplicateTargetGroupName")
		}
	}
	arn := "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/" + *in.Name + "/1"
	f.groups[arn] = *in.Name
	f.tags[arn] = in.Tags
	return &elb.CreateTargetGroupOutput{TargetGroups: []elbtypes.TargetGroup{{TargetGroupArn: &arn, TargetGroupName: in.Name}}}, nil
}

func (f *fakeELB) DescribeTargetGroups(_ context.Context, in *elb.DescribeTargetGroupsInput, _ ...func(*elb.Options)) (*elb.DescribeTargetGroupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.groupReads++
	out := &elb.DescribeTargetGroupsOutput{}
	for _, arn := range sortedKeys(f.groups) {
		if in.LoadBalancerArn != nil && contains(f.balancersOf(arn), *in.LoadBalancerArn) {
			out.TargetGroups = append(out.TargetGroups, elbtypes.TargetGroup{TargetGroupArn: aws.String(arn), TargetGroupName: aws.String(f.groups[arn]),
				LoadBalancerArns: f.balancersOf(arn)})
		}
	}
	for _, arn := range in.TargetGroupArns {
		name, ok := f.groups[arn]
		if !ok {
			return nil, apiErr("TargetGroupNotFound")
		}
		out.TargetGroups = append(out.TargetGroups, elbtypes.TargetGroup{TargetGroupArn: aws.String(arn), TargetGroupName: aws.String(name),
			LoadBalancerArns: f.balancersOf(arn)})
	}
	for arn, name := range f.groups {
		for _, n := range in.Names {
			if n == name {
				out.TargetGroups = append(out.TargetGroups, elbtypes.TargetGroup{TargetGroupArn: aws.String(arn), TargetGroupName: aws.String(name),
					LoadBalancerArns: f.balancersOf(arn)})
			}
		}
	}
	if len(out.TargetGroups) == 0 {
		return nil, apiErr("TargetGroupNotFound")
	}
	return out, nil
}

func (f *fakeELB) DescribeTags(_ context.Context, in *elb.DescribeTagsInput, _ ...func(*elb.Options)) (*elb.DescribeTagsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tagReads++
	out := &elb.DescribeTagsOutput{}
	for _, arn := range in.ResourceArns {
		out.TagDescriptions = append(out.TagDescriptions, elbtypes.TagDescription{ResourceArn: aws.String(arn), Tags: f.tags[arn]})
	}
	return out, nil
}

func (f *fakeELB) DeleteTargetGroup(_ context.Context, in *elb.DeleteTargetGroupInput, _ ...func(*elb.Options)) (*elb.DeleteTargetGroupOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.inUse(*in.TargetGroupArn) {
		return nil, apiErr("ResourceInUse")
	}
	delete(f.groups, *in.TargetGroupArn)
	return &elb.DeleteTargetGroupOutput{}, nil
}

// fakeASG holds auto scaling groups by name.
type fakeASG struct {
	AutoScalingAPI
	mu     sync.Mutex
	groups map[string]*asgtypes.AutoScalingGroup
	elb    *fakeELB
	// reads counts DescribeAutoScalingGroups calls, tagWrites
	// CreateOrUpdateTags calls; failTags makes CreateOrUpdateTags fail
	// (and change nothing).
	reads, tagWrites int
	failTags         bool
}

func newFakeASG() *fakeASG { return &fakeASG{groups: map[string]*asgtypes.AutoScalingGroup{}} }

// CreateAutoScalingGroup makes the group; its servers register with its
// target groups at once (elb is the stand-in load balancer).
func (f *fakeASG) CreateAutoScalingGroup(_ context.Context, in *autoscaling.CreateAutoScalingGroupInput, _ ...func(*autoscaling.Options)) (*autoscaling.CreateAutoScalingGroupOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.groups[*in.AutoScalingGroupName]; ok {
		return nil, apiErr("AlreadyExists")
	}
	var td []asgtypes.TagDescription
	for _, t := range in.Tags {
		td = append(td, asgtypes.TagDescription{Key: t.Key, Value: t.Value, ResourceId: in.AutoScalingGroupName})
	}
	f.groups[*in.AutoScalingGroupName] = &asgtypes.AutoScalingGroup{AutoScalingGroupName: in.AutoScalingGroupName, MinSize: in.MinSize,
		MaxSize: in.MaxSize, DesiredCapacity: in.DesiredCapacity, TargetGroupARNs: in.TargetGroupARNs, Tags: td, LaunchTemplate: in.LaunchTemplate}
	if f.elb != nil {
		f.elb.mu.Lock()
		for _, tg := range in.TargetGroupARNs {
			f.elb.healthy[tg] = int(aws.ToInt32(in.DesiredCapacity))
		}
		f.elb.mu.Unlock()
	}
	return &autoscaling.CreateAutoScalingGroupOutput{}, nil
}

func (f *fakeASG) DescribeAutoScalingGroups(_ context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reads++
	names := make([]string, 0, len(f.groups))
	for n := range f.groups {
		names = append(names, n)
	}
	sort.Strings(names)
	out := &autoscaling.DescribeAutoScalingGroupsOutput{}
	for _, n := range names {
		g := f.groups[n]
		if len(in.AutoScalingGroupNames) > 0 && !contains(in.AutoScalingGroupNames, n) {
			continue
		}
		out.AutoScalingGroups = append(out.AutoScalingGroups, f.withInstances(*g))
	}
	return out, nil
}

// withInstances gives a group without instances of its own as many as
// its desired capacity, as healthy as the load balancer's health checks
// of its target group say (the group uses ELB health checks).
func (f *fakeASG) withInstances(g asgtypes.AutoScalingGroup) asgtypes.AutoScalingGroup {
	if g.Instances != nil || f.elb == nil || len(g.TargetGroupARNs) == 0 {
		return g
	}
	f.elb.mu.Lock()
	healthy := f.elb.healthy[g.TargetGroupARNs[0]]
	f.elb.mu.Unlock()
	for i := range int(aws.ToInt32(g.DesiredCapacity)) {
		status := "Healthy"
		if i >= healthy {
			status = "Unhealthy"
		}
		g.Instances = append(g.Instances, asgtypes.Instance{InstanceId: aws.String(fmt.Sprintf("i-%d", i)),
			LifecycleState: asgtypes.LifecycleStateInService, HealthStatus: aws.String(status)})
	}
	return g
}

func (f *fakeASG) UpdateAutoScalingGroup(_ context.Context, in *autoscaling.UpdateAutoScalingGroupInput, _ ...func(*autoscaling.Options)) (*autoscaling.UpdateAutoScalingGroupOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	g := f.groups[*in.AutoScalingGroupName]
	if in.MinSize != nil {
		g.MinSize = in.MinSize
	}
	if in.DesiredCapacity != nil {
		g.DesiredCapacity = in.DesiredCapacity
	}
	return &autoscaling.UpdateAutoScalingGroupOutput{}, nil
}

func (f *fakeASG) DeleteAutoScalingGroup(_ context.Context, in *autoscaling.DeleteAutoScalingGroupInput, _ ...func(*autoscaling.Options)) (*autoscaling.DeleteAutoScalingGroupOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.groups, *in.AutoScalingGroupName)
	return &autoscaling.DeleteAutoScalingGroupOutput{}, nil
}

func (f *fakeASG) CreateOrUpdateTags(_ context.Context, in *autoscaling.CreateOrUpdateTagsInput, _ ...func(*autoscaling.Options)) (*autoscaling.CreateOrUpdateTagsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tagWrites++
	if f.failTags {
		return nil, apiErr("InternalFailure")
	}
	for _, t := range in.Tags {
		g := f.groups[*t.ResourceId]
		replaced := false
		for i := range g.Tags {
			if *g.Tags[i].Key == *t.Key {
				g.Tags[i].Value, replaced = t.Value, true
			}
		}
		if !replaced {
			g.Tags = append(g.Tags, asgtypes.TagDescription{Key: t.Key, Value: t.Value, ResourceId: t.ResourceId})
		}
	}
	return &autoscaling.CreateOrUpdateTagsOutput{}, nil
}

// fakeEC2 answers image and launch template lookups.
type fakeEC2 struct {
	EC2API
	mu        sync.Mutex
	images    []ec2types.Image
	templates map[string]ec2types.LaunchTemplate // name -> template
}

func (f *fakeEC2) DescribeImages(_ context.Context, in *ec2.DescribeImagesInput, _ ...func(*ec2.Options)) (*ec2.DescribeImagesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &ec2.DescribeImagesOutput{}
	for _, im := range f.images {
		if matchImage(im, in) {
			out.Images = append(out.Images, im)
		}
	}
	return out, nil
}

// matchImage applies the filters Phoenix uses: name (a glob with * at the
// end or the start), is-public, owner self (OwnerId "self" here) and tags.
func matchImage(im ec2types.Image, in *ec2.DescribeImagesInput) bool {
	if len(in.Owners) > 0 && !contains(in.Owners, aws.ToString(im.OwnerId)) {
		return false
	}
	for _, flt := range in.Filters {
		v := flt.Values[0]
		switch name := aws.ToString(flt.Name); {
		case name == "name":
			if !globMatch(v, aws.ToString(im.Name)) {
				return false
			}
		case name == "is-public":
			if aws.ToBool(im.Public) != (v == "true") {
				return false
			}
		case name == "state":
			if string(im.State) != v {
				return false
			}
		case strings.HasPrefix(name, "tag:"):
			if ec2TagSet(im.Tags)[strings.TrimPrefix(name, "tag:")] != v {
				return false
			}
		}
	}
	return true
}

func globMatch(pattern, s string) bool {
	pre, suf, star := strings.Cut(pattern, "*")
	if !star {
		return pattern == s
	}
	return strings.HasPrefix(s, pre) && strings.HasSuffix(s, suf) && len(s) >= len(pre)+len(suf)
}

func (f *fakeEC2) DescribeLaunchTemplates(_ context.Context, in *ec2.DescribeLaunchTemplatesInput, _ ...func(*ec2.Options)) (*ec2.DescribeLaunchTemplatesOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &ec2.DescribeLaunchTemplatesOutput{}
	if len(in.LaunchTemplateNames) == 0 { // a listing by tag filter
		for _, lt := range f.templates {
			if ec2TagSet(lt.Tags)[strings.TrimPrefix(aws.ToString(in.Filters[0].Name), "tag:")] == in.Filters[0].Values[0] {
				out.LaunchTemplates = append(out.LaunchTemplates, lt)
			}
		}
		return out, nil
	}
	for _, n := range in.LaunchTemplateNames {
		if lt, ok := f.templates[n]; ok {
			out.LaunchTemplates = append(out.LaunchTemplates, lt)
		}
	}
	if len(out.LaunchTemplates) == 0 {
		return nil, apiErr("InvalidLaunchTemplateName.NotFoundException")
	}
	return out, nil
}

func (f *fakeEC2) CreateLaunchTemplate(_ context.Context, in *ec2.CreateLaunchTemplateInput, _ ...func(*ec2.Options)) (*ec2.CreateLaunchTemplateOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.templates[*in.LaunchTemplateName]; ok {
		return nil, apiErr("InvalidLaunchTemplateName.AlreadyExistsException")
	}
	lt := ec2types.LaunchTemplate{LaunchTemplateId: aws.String("lt-" + *in.LaunchTemplateName), LaunchTemplateName: in.LaunchTemplateName}
	if len(in.TagSpecifications) > 0 {
		lt.Tags = in.TagSpecifications[0].Tags
	}
	f.templates[*in.LaunchTemplateName] = lt
	return &ec2.CreateLaunchTemplateOutput{LaunchTemplate: &lt}, nil
}

func (f *fakeEC2) DescribeSubnets(_ context.Context, in *ec2.DescribeSubnetsInput, _ ...func(*ec2.Options)) (*ec2.DescribeSubnetsOutput, error) {
	out := &ec2.DescribeSubnetsOutput{}
	for _, id := range in.SubnetIds {
		out.Subnets = append(out.Subnets, ec2types.Subnet{SubnetId: aws.String(id), VpcId: aws.String("vpc-1")})
	}
	return out, nil
}

func (f *fakeEC2) DeleteLaunchTemplate(_ context.Context, in *ec2.DeleteLaunchTemplateInput, _ ...func(*ec2.Options)) (*ec2.DeleteLaunchTemplateOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for n, lt := range f.templates {
		if aws.ToString(lt.LaunchTemplateId) == aws.ToString(in.LaunchTemplateId) {
			delete(f.templates, n)
		}
	}
	return &ec2.DeleteLaunchTemplateOutput{}, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// loadBalancerOf returns the load balancer ARN a listener ARN belongs to
// (arn:…:listener/app/NAME/LB-ID/LISTENER-ID → arn:…:loadbalancer/app/NAME/LB-ID).
func loadBalancerOf(listener string) string {
	i := strings.LastIndex(listener, "/")
	if i < 0 {
		return ""
	}
	return strings.Replace(listener[:i], ":listener/", ":loadbalancer/", 1)
}
