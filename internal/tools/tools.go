//go:build tools

// Package tools pins dependencies that packages will import as they are
// written, so that parallel work does not race on go.mod. A pin that no
// package came to import goes (the AWS ssm and secretsmanager clients:
// servers read their secrets with their instance profile, Phoenix never
// does), so that go.mod lists what the build uses.
package tools

import (
	_ "cuelang.org/go/cue"
	_ "github.com/aws/aws-sdk-go-v2/config"
	_ "github.com/aws/aws-sdk-go-v2/service/autoscaling"
	_ "github.com/aws/aws-sdk-go-v2/service/ec2"
	_ "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	_ "github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/go-git/go-git/v5"
	_ "github.com/rogpeppe/go-internal/testscript"
	_ "github.com/spf13/cobra"
	_ "go.etcd.io/bbolt"
	_ "golang.org/x/sync/errgroup"
	_ "golang.org/x/term"
	_ "pgregory.net/rapid"
)
