package aws

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// errNoCredentials says what a user can set when the standard credential
// chain finds nothing usable.
var errNoCredentials = errors.New("no usable AWS credentials: set AWS_PROFILE (run aws sso login first for an SSO profile), " +
	"or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where an instance or task role is available")

// CheckCredentials asks cfg's credential chain for credentials once, before
// the first API call. Without it a machine with none learnt it from the
// first Describe call of a plan, as "describing images: operation error
// EC2: DescribeImages, get identity: get credentials: failed to refresh
// cached credentials, no EC2 IMDS role found, ...", which says neither
// that nothing was found nor what to set. The answer is cached by cfg, so
// the check costs no extra call.
func CheckCredentials(ctx context.Context, cfg aws.Config) error {
	if cfg.Credentials == nil {
		return errNoCredentials
	}
	if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("getting AWS credentials: %w", ctx.Err())
		}
		return fmt.Errorf("%w (the SDK's credential chain said: %v)", errNoCredentials, err)
	}
	return nil
}
