package awscloud

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

var _ cloud.Preflighter = (*Cloud)(nil)

// Preflight implements cloud.Preflighter: before apply changes anything,
// it checks that the subnets of the pool's environment exist in the region
// and lie in one VPC (the pool's target group is made in the first one's
// VPC and its auto scaling group spans them all). Without it a mistyped
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
		return fmt.Errorf("aws.subnets of %s: %s %s %s not exist in %s (a typo, or an id from another region or account): %w",
			pool.Env, plural(len(missing), "subnet", "subnets"), strings.Join(missing, ", "), doesOrDo(len(missing)), where, cloud.ErrNotFound)
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
	return nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func doesOrDo(n int) string { return plural(n, "does", "do") }
