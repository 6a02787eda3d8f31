package aws

import (
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
)

// settleAttempts bounds the retries of a call that AWS refuses for a while
// after a related change (eventual consistency): with the standard
// retryer's backoff (at most 20s between attempts) that is a minute or two.
const settleAttempts = 8

// Some AWS errors mean "not yet" right after a related change: a snapshot
// stays in use for a moment after its AMI is deregistered, a target group
// for a moment after its auto scaling group is deleted. The SDK's own
// retryer handles them, told which codes to retry for that one call, so no
// code here sleeps.

func ec2Settle(codes ...string) func(*ec2.Options) {
	return func(o *ec2.Options) {
		o.Retryer = retry.AddWithMaxAttempts(retry.AddWithErrorCodes(o.Retryer, codes...), settleAttempts)
	}
}

func elbSettle(codes ...string) func(*elb.Options) {
	return func(o *elb.Options) {
		o.Retryer = retry.AddWithMaxAttempts(retry.AddWithErrorCodes(o.Retryer, codes...), settleAttempts)
	}
}
