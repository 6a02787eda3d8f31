package aws

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// On moto: apply's preflight refuses an environment whose subnets do not
// exist or span two VPCs, naming them, and passes the site's own subnets.
func TestPreflightChecksSubnetsOnMoto(t *testing.T) {
	needMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := motoConfig(t)
	s := newSite(t, cfg, 1)
	preflight := func(subnets ...string) error {
		t.Helper()
		return preflightWith(ctx, t, cfg, s, func(a *model.AWS) { a.Subnets = subnets })
	}

	if err := preflight(s.AWS.Subnets...); err != nil {
		t.Errorf("the site's subnets: %v", err)
	}
	err := preflight(s.AWS.Subnets[0], "subnet-0000000000000dead")
	if !errors.Is(err, cloud.ErrNotFound) || !strings.Contains(err.Error(), "aws.subnets of prod: subnet subnet-0000000000000dead does not exist in us-east-1") ||
		strings.Contains(err.Error(), s.AWS.Subnets[0]) {
		t.Errorf("a subnet that does not exist: %v", err)
	}

	e := ec2.NewFromConfig(cfg)
	vpc, err := e.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String("10.1.1.0/24"), AvailabilityZone: aws.String("us-east-1c")})
	if err != nil {
		t.Fatal(err)
	}
	err = preflight(s.AWS.Subnets[0], *other.Subnet.SubnetId)
	if err == nil || !strings.Contains(err.Error(), "span several VPCs") || !strings.Contains(err.Error(), *vpc.Vpc.VpcId) {
		t.Errorf("subnets of two VPCs: %v", err)
	}
}

// On moto: apply's preflight refuses security groups that do not exist or
// lie in another VPC than the environment's subnets, naming them.
func TestPreflightChecksSecurityGroupsOnMoto(t *testing.T) {
	needMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := motoConfig(t)
	s := newSite(t, cfg, 1)
	e := ec2.NewFromConfig(cfg)
	sub, err := e.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: s.AWS.Subnets[:1]})
	if err != nil {
		t.Fatal(err)
	}
	mine, err := e.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("web"), VpcId: sub.Subnets[0].VpcId})
	if err != nil {
		t.Fatal(err)
	}
	vpc, err := e.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.1.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	theirs, err := e.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String("web"), Description: aws.String("web"), VpcId: vpc.Vpc.VpcId})
	if err != nil {
		t.Fatal(err)
	}
	preflight := func(groups ...string) error {
		t.Helper()
		return preflightWith(ctx, t, cfg, s, func(a *model.AWS) { a.SecurityGroups = groups })
	}
	if err := preflight(*mine.GroupId); err != nil {
		t.Errorf("the subnets' VPC's group: %v", err)
	}
	err = preflight(*mine.GroupId, "sg-0123456789abcdef0")
	if !errors.Is(err, cloud.ErrNotFound) || !strings.Contains(err.Error(), "aws.securityGroups of prod: security group sg-0123456789abcdef0 does not exist in us-east-1") {
		t.Errorf("a group that does not exist: %v", err)
	}
	err = preflight(*theirs.GroupId)
	if err == nil || !strings.Contains(err.Error(), *theirs.GroupId+" is in "+*vpc.Vpc.VpcId) {
		t.Errorf("a group of another VPC: %v", err)
	}
}

// preflightWith runs Preflight for prod/web on a fresh cloud whose spec
// is the site's with its aws settings changed by edit (s is a copy).
func preflightWith(ctx context.Context, t *testing.T, cfg aws.Config, s site, edit func(*model.AWS)) error {
	t.Helper()
	edit(&s.AWS)
	c, err := NewFromConfig(cfg, webSpec(s, s.Listeners[0]), motoOptions())
	if err != nil {
		t.Fatal(err)
	}
	return c.Preflight(ctx, &model.Pool{Env: "prod", Role: "web", Cloud: Name, Endpoint: s.Listeners[0]})
}
