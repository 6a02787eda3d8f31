package aws

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// A machine without credentials is told what to set, with the chain's own
// reason kept; a chain that finds credentials passes.
func TestCheckCredentials(t *testing.T) {
	ctx := context.Background()
	none := aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{}, errors.New("failed to refresh cached credentials, no EC2 IMDS role found")
	}))
	for name, cfg := range map[string]aws.Config{"empty chain": {Credentials: none}, "no provider": {}} {
		err := CheckCredentials(ctx, cfg)
		if err == nil || !strings.Contains(err.Error(), "no usable AWS credentials: set AWS_PROFILE") || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
			t.Errorf("%s: %v, want what to set", name, err)
		}
		if name == "empty chain" && !strings.Contains(err.Error(), "no EC2 IMDS role found") {
			t.Errorf("%s: %v, the chain's reason is lost", name, err)
		}
	}
	some := aws.NewCredentialsCache(aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "AKID", SecretAccessKey: "s", Source: "test"}, nil
	}))
	if err := CheckCredentials(ctx, aws.Config{Credentials: some}); err != nil {
		t.Errorf("with credentials: %v", err)
	}
}
