package main

import (
	"context"
	"fmt"
	"os"

	"github.com/aws/aws-sdk-go-v2/config"

	"github.com/phoenix-gitops/phoenix/cloud"
	awscloud "github.com/phoenix-gitops/phoenix/cloud/aws"
	"github.com/phoenix-gitops/phoenix/model"
)

// openAWS opens the AWS cloud for the spec's AWS environments with the
// standard credential chain and settings (AWS_PROFILE, AWS_ENDPOINT_URL,
// ...). Each environment's calls go to its own aws.region, as its
// aws.assumeRole when it names one (awscloud.Open); AWS_REGION is used
// only when the spec names no region. With an endpoint URL (an emulator, a VPC endpoint) S3 uses
// path-style addressing. Smoke checks go through the endpoint's load
// balancer with the new pool's rule header; PHOENIX_AWS_SMOKE=direct sends
// them to the servers' private addresses instead (Phoenix inside the VPC),
// PHOENIX_AWS_SMOKE=off skips them.
func openAWS(ctx context.Context, d *model.Desired) (cloud.Cloud, error) {
	var opts []func(*config.LoadOptions) error
	if r := awscloud.Region(d); r != "" {
		opts = append(opts, config.WithRegion(r))
	}
	// Observe and the waiters make bursts of Describe calls: give the SDK's
	// retryer room for throttling unless the user chose (AWS_MAX_ATTEMPTS).
	if os.Getenv("AWS_MAX_ATTEMPTS") == "" {
		opts = append(opts, config.WithRetryMaxAttempts(8))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("loading AWS configuration: %w", err)
	}
	smoke, err := awscloud.ParseSmokeMode(os.Getenv("PHOENIX_AWS_SMOKE"))
	if err != nil {
		return nil, fmt.Errorf("PHOENIX_AWS_SMOKE: %w", err)
	}
	return awscloud.Open(ctx, cfg, d, awscloud.Options{Smoke: smoke})
}
