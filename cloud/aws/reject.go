package aws

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/phoenix-gitops/phoenix/cloud"
)

var _ cloud.Rejecter = (*Cloud)(nil)

// Reject implements cloud.Rejecter: the reason and time go into tags of
// the pool's auto scaling group, where Observe reads every pool's state
// (a tag value is cut to AWS's 256 characters). The first rejection stays.
func (c *Cloud) Reject(ctx context.Context, project, poolID, reason string) error {
	g, err := c.group(ctx, project, poolID)
	if err != nil {
		return fmt.Errorf("rejecting pool %s: %w", poolID, err)
	}
	if g == nil {
		return fmt.Errorf("rejecting pool %s: %w", poolID, cloud.ErrNotFound)
	}
	if asgTagSet(g.Tags)[tagRejected] != "" {
		return nil
	}
	tags := tagSet{tagRejected: reason, tagRejectedAt: stamp(c.opt.Now())}
	if err := c.setTags(ctx, aws.ToString(g.AutoScalingGroupName), tags); err != nil {
		return fmt.Errorf("rejecting pool %s: %w", poolID, err)
	}
	return nil
}
