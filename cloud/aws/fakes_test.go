package awscloud

// Small stand-ins for the consumer interfaces, holding just enough state
// for unit tests to assert end states. Each embeds its interface, so a call
// a test did not expect panics instead of passing silently.

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
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

// fakeELB holds listeners (their default actions), target groups with
// tags and health.
type fakeELB struct {
	ELBAPI
	mu        sync.Mutex
	listeners map[string][]elbtypes.Action
	groups    map[string]string // arn -> name
	tags      map[string][]elbtypes.Tag
	healthy   map[string]int // arn -> healthy targets
}

func newFakeELB() *fakeELB {
	return &fakeELB{listeners: map[string][]elbtypes.Action{}, groups: map[string]string{}, tags: map[string][]elbtypes.Tag{}, healthy: map[string]int{}}
}

func (f *fakeELB) DescribeListeners(_ context.Context, in *elb.DescribeListenersInput, _ ...func(*elb.Options)) (*elb.DescribeListenersOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &elb.DescribeListenersOutput{}
	for _, arn := range in.ListenerArns {
		a, ok := f.listeners[arn]
		if !ok {
			return nil, apiErr("ListenerNotFound")
		}
		out.Listeners = append(out.Listeners, elbtypes.Listener{ListenerArn: aws.String(arn), DefaultActions: a})
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

func (f *fakeELB) DescribeTargetHealth(_ context.Context, in *elb.DescribeTargetHealthInput, _ ...func(*elb.Options)) (*elb.DescribeTargetHealthOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.groups[*in.TargetGroupArn]; !ok {
		return nil, apiErr("TargetGroupNotFound")
	}
	out := &elb.DescribeTargetHealthOutput{}
	for range f.healthy[*in.TargetGroupArn] {
		out.TargetHealthDescriptions = append(out.TargetHealthDescriptions, elbtypes.TargetHealthDescription{TargetHealth: &elbtypes.TargetHealth{State: elbtypes.TargetHealthStateEnumHealthy}})
	}
	return out, nil
}

func (f *fakeELB) DescribeTargetGroups(_ context.Context, in *elb.DescribeTargetGroupsInput, _ ...func(*elb.Options)) (*elb.DescribeTargetGroupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := &elb.DescribeTargetGroupsOutput{}
	for arn, name := range f.groups {
		for _, n := range in.Names {
			if n == name {
				out.TargetGroups = append(out.TargetGroups, elbtypes.TargetGroup{TargetGroupArn: aws.String(arn), TargetGroupName: aws.String(name)})
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
	out := &elb.DescribeTagsOutput{}
	for _, arn := range in.ResourceArns {
		out.TagDescriptions = append(out.TagDescriptions, elbtypes.TagDescription{ResourceArn: aws.String(arn), Tags: f.tags[arn]})
	}
	return out, nil
}

func (f *fakeELB) DeleteTargetGroup(_ context.Context, in *elb.DeleteTargetGroupInput, _ ...func(*elb.Options)) (*elb.DeleteTargetGroupOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, acts := range f.listeners {
		for _, w := range forwardTargets(acts) {
			if w.tg == *in.TargetGroupArn {
				return nil, apiErr("ResourceInUse")
			}
		}
	}
	delete(f.groups, *in.TargetGroupArn)
	return &elb.DeleteTargetGroupOutput{}, nil
}

// fakeASG holds auto scaling groups by name.
type fakeASG struct {
	AutoScalingAPI
	mu     sync.Mutex
	groups map[string]*asgtypes.AutoScalingGroup
}

func newFakeASG() *fakeASG { return &fakeASG{groups: map[string]*asgtypes.AutoScalingGroup{}} }

func (f *fakeASG) DescribeAutoScalingGroups(_ context.Context, in *autoscaling.DescribeAutoScalingGroupsInput, _ ...func(*autoscaling.Options)) (*autoscaling.DescribeAutoScalingGroupsOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
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
		out.AutoScalingGroups = append(out.AutoScalingGroups, *g)
	}
	return out, nil
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
