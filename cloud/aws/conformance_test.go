package aws

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/cloudtest"
	"github.com/phoenix-gitops/phoenix/model"
)

// TestConformance runs the cloud conformance suite against moto.
func TestConformance(t *testing.T) {
	needMoto(t)
	cfg := motoConfig(t)
	var (
		mu     sync.Mutex
		s      site
		offset time.Duration // the cloud's clock runs ahead by this (lock leases)
	)
	now := func() time.Time { mu.Lock(); defer mu.Unlock(); return time.Now().Add(offset) }
	cloudtest.Run(t, cloudtest.Harness{
		// Desired runs first for every subtest: a clean moto and a fresh
		// identity layer, which the spec names.
		Desired: func(t *testing.T) *model.Desired {
			if err := moto.Reset(context.Background()); err != nil {
				t.Fatal(err)
			}
			s = newSite(t, cfg, 1)
			fakeBuilders(t, cfg)
			mu.Lock()
			offset = 0
			mu.Unlock()
			a := s.AWS
			return cloudtest.Spec(cloudtest.SpecOptions{
				Cloud: Name, From: "ami:" + s.SourceAMI, Endpoint: s.Listeners[0], Port: 8080, AWS: &a,
			})
		},
		New: func(t *testing.T) cloud.Cloud {
			opt := motoOptions()
			opt.Now = now
			c, err := NewFromConfig(cfg, cloudtest.Spec(cloudtest.SpecOptions{Cloud: Name, From: "ami:" + s.SourceAMI, Endpoint: s.Listeners[0], AWS: &s.AWS}), opt)
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
		Advance: func(t *testing.T, c cloud.Cloud, d time.Duration) {
			mu.Lock()
			offset += d
			mu.Unlock()
		},
		KillServer: func(t *testing.T, c cloud.Cloud, project, poolID string) {
			killServer(t, cfg, project, poolID)
		},
		// moto starts no servers and reports every target healthy, so the
		// failure is a smoke check that cannot connect: smoke checks are
		// turned on for this cloud (through the load balancer, as in
		// production) with a client that is refused at once, as it would
		// be by a server that does not listen. moto's load balancers have
		// DNS names but serve no HTTP, so this is all the smoke path moto
		// can test; the request shape is tested on the stand-ins.
		FailCreate: func(t *testing.T, c cloud.Cloud, p *model.Pool) {
			ac := c.(*Cloud)
			ac.opt.Smoke = SmokeBalancer
			ac.opt.HTTP = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return nil, errors.New("connection refused (no server in moto)")
			}}}
			p.Smoke = []model.Smoke{{Path: "/healthz"}}
		},
		Foreign: func(t *testing.T, c cloud.Cloud, d *model.Desired) func(t *testing.T) error {
			return foreignGroup(t, cfg, s)
		},
		Timeout: time.Minute,
	})
}

// killServer terminates one instance of a pool, as a crash would, and
// plays what the load balancer's health checks then do, which moto does
// not: the group replaces the instance at once, but the replacement is
// not registered with the target group and is not healthy yet (the group
// uses ELB health checks).
func killServer(t *testing.T, cfg aws.Config, project, poolID string) {
	ctx := context.Background()
	asg := autoscaling.NewFromConfig(cfg)
	name := groupName(project, poolID)
	instances := func() []string {
		out, err := asg.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
		if err != nil || len(out.AutoScalingGroups) == 0 {
			t.Fatalf("reading the group of %s: %v", poolID, err)
		}
		var ids []string
		for _, in := range out.AutoScalingGroups[0].Instances {
			ids = append(ids, *in.InstanceId)
		}
		return ids
	}
	before := instances()
	if len(before) == 0 {
		t.Fatalf("no instance to kill in %s", poolID)
	}
	if _, err := ec2.NewFromConfig(cfg).TerminateInstances(ctx, &ec2.TerminateInstancesInput{InstanceIds: before[:1]}); err != nil {
		t.Fatal(err)
	}
	for _, id := range instances() {
		if slices.Contains(before, id) {
			continue
		}
		if _, err := asg.SetInstanceHealth(ctx, &autoscaling.SetInstanceHealthInput{InstanceId: &id, HealthStatus: aws.String("Unhealthy")}); err != nil {
			t.Fatal(err)
		}
	}
}

// foreignGroup makes an auto scaling group Phoenix does not own (a launch
// template and group without the project's tags) and returns a check that
// it is still there, unchanged.
func foreignGroup(t testing.TB, cfg aws.Config, s site) func(t *testing.T) error {
	ctx := context.Background()
	e := ec2.NewFromConfig(cfg)
	lt, err := e.CreateLaunchTemplate(ctx, &ec2.CreateLaunchTemplateInput{
		LaunchTemplateName: aws.String("someone-elses"),
		LaunchTemplateData: &ec2types.RequestLaunchTemplateData{ImageId: &s.SourceAMI, InstanceType: "t3.micro"},
	})
	if err != nil {
		t.Fatal(err)
	}
	as := autoscaling.NewFromConfig(cfg)
	name := "someone-elses-asg"
	if _, err := as.CreateAutoScalingGroup(ctx, &autoscaling.CreateAutoScalingGroupInput{
		AutoScalingGroupName: &name, MinSize: aws.Int32(1), MaxSize: aws.Int32(1), DesiredCapacity: aws.Int32(1),
		LaunchTemplate:    &asgtypes.LaunchTemplateSpecification{LaunchTemplateId: lt.LaunchTemplate.LaunchTemplateId, Version: aws.String("$Latest")},
		VPCZoneIdentifier: aws.String(s.AWS.Subnets[0]),
		Tags:              []asgtypes.Tag{{ResourceId: &name, ResourceType: aws.String("auto-scaling-group"), Key: aws.String("team"), Value: aws.String("other")}},
	}); err != nil {
		t.Fatal(err)
	}
	return func(t *testing.T) error {
		out, err := as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{name}})
		if err != nil {
			return err
		}
		if len(out.AutoScalingGroups) != 1 || aws.ToInt32(out.AutoScalingGroups[0].DesiredCapacity) != 1 {
			return fmt.Errorf("the foreign group %s is gone or resized: %+v", name, out.AutoScalingGroups)
		}
		return nil
	}
}
