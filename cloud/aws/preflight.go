package aws

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

var _ cloud.Preflighter = (*Cloud)(nil)

// Preflight implements cloud.Preflighter: before apply changes anything,
// it checks that the subnets of the pool's environment exist in the region
// and lie in one VPC (the pool's target group is made in the first one's
// VPC and its auto scaling group spans them all), and that its security
// groups exist in that VPC. Without it a mistyped
// subnet surfaced as a failed create after the bakes, with other
// environments already swapped. Each subnet is looked up once per run.
func (c *Cloud) Preflight(ctx context.Context, pool *model.Pool) error {
	env, err := c.env(pool.Env)
	if err != nil {
		return err
	}
	var missing []string
	bySubnet := map[string]string{}
	for _, sn := range env.Subnets {
		vpc, err := c.vpcOf(ctx, sn)
		if errors.Is(err, cloud.ErrNotFound) {
			missing = append(missing, sn)
			continue
		}
		if err != nil {
			return err
		}
		bySubnet[sn] = vpc
	}
	where := "this region"
	if env.Region != "" {
		where = env.Region
	}
	if len(missing) > 0 {
		return notFound("aws.subnets of %s: %s %s %s not exist in %s (a typo, or an id from another region or account)",
			pool.Env, plural(len(missing), "subnet", "subnets"), strings.Join(missing, ", "), doesOrDo(len(missing)), where)
	}
	vpcs := map[string][]string{}
	for sn, vpc := range bySubnet {
		vpcs[vpc] = append(vpcs[vpc], sn)
	}
	if len(vpcs) > 1 {
		var parts []string
		for _, vpc := range sortedKeys(vpcs) {
			sort.Strings(vpcs[vpc])
			parts = append(parts, strings.Join(vpcs[vpc], ", ")+" in "+vpc)
		}
		return fmt.Errorf("aws.subnets of %s span several VPCs (%s); a pool's servers and its load balancer target group need one", pool.Env, strings.Join(parts, "; "))
	}
	vpc := ""
	for v := range vpcs {
		vpc = v
	}
	return c.checkSecurityGroups(ctx, pool.Env, env, where, vpc)
}

// checkSecurityGroups says which of env's security groups do not exist or
// lie outside the VPC of its subnets: either fails every create of the
// environment at its auto scaling group, after the bakes. Credentials not
// allowed ec2:DescribeSecurityGroups skip the check.
func (c *Cloud) checkSecurityGroups(ctx context.Context, envName string, env *model.AWS, where, vpc string) error {
	var missing, elsewhere []string
	for _, sg := range env.SecurityGroups {
		v, err := c.groupVPC(ctx, sg)
		switch {
		case errors.Is(err, cloud.ErrNotFound):
			missing = append(missing, sg)
		case hasCode(err, "UnauthorizedOperation", "AccessDenied", "AccessDeniedException"):
			return nil
		case err != nil:
			return err
		case vpc != "" && v != "" && v != vpc:
			elsewhere = append(elsewhere, sg+" is in "+v)
		}
	}
	if len(missing) > 0 {
		return notFound("aws.securityGroups of %s: %s %s %s not exist in %s (security groups are named by id, sg-…)",
			envName, plural(len(missing), "security group", "security groups"), strings.Join(missing, ", "), doesOrDo(len(missing)), where)
	}
	if len(elsewhere) > 0 {
		return fmt.Errorf("aws.securityGroups of %s: %s, not in %s, the VPC of its subnets", envName, strings.Join(elsewhere, ", "), vpc)
	}
	return nil
}

// groupVPC returns the VPC of a security group, looked up once.
func (c *Cloud) groupVPC(ctx context.Context, sg string) (string, error) {
	return c.cachedVPC(sg, func() (string, error) {
		out, err := c.api.EC2.DescribeSecurityGroups(ctx, &ec2.DescribeSecurityGroupsInput{GroupIds: []string{sg}})
		if hasCode(err, "InvalidGroup.NotFound", "InvalidGroupId.Malformed", "InvalidGroupId.NotFound") || (err == nil && len(out.SecurityGroups) == 0) {
			return "", fmt.Errorf("security group %s: %w", sg, cloud.ErrNotFound)
		}
		if err != nil {
			return "", classify("describing security group "+sg, err)
		}
		return aws.ToString(out.SecurityGroups[0].VpcId), nil
	})
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func doesOrDo(n int) string { return plural(n, "does", "do") }
