package aws

// What Phoenix needs in an AWS account
//
// The identity layer is the operator's: a VPC with subnets, an application
// load balancer with one listener per (environment, role) the spec names
// by ARN, a bucket for artifacts and locks, and optionally security groups
// and an instance profile for the servers (it needs read access to the
// secrets their references name: ssm:GetParameter, secretsmanager:
// GetSecretValue). Phoenix never creates or deletes any of these.
//
// The credentials Phoenix runs with need, on resources it tags
// (phoenix:project) or that the spec names:
//
//	ec2:   RunInstances, DescribeInstances, TerminateInstances, CreateImage,
//	       DescribeImages, DeregisterImage, DeleteSnapshot, CreateTags,
//	       CreateLaunchTemplate, DescribeLaunchTemplates,
//	       DeleteLaunchTemplate, DescribeSubnets, DescribeSecurityGroups
//	       (apply's preflight; skipped without it), and iam:PassRole for an
//	       instance profile
//	autoscaling: CreateAutoScalingGroup, DescribeAutoScalingGroups,
//	       UpdateAutoScalingGroup, DeleteAutoScalingGroup, CreateOrUpdateTags,
//	       DescribeAccountLimits (apply's quota check; skipped without it)
//	elasticloadbalancing: CreateTargetGroup, DescribeTargetGroups,
//	       DeleteTargetGroup, DescribeTargetHealth, DescribeTags, AddTags,
//	       DescribeListeners, ModifyListener, DescribeRules, CreateRule,
//	       DeleteRule, DescribeLoadBalancers, DescribeAccountLimits (apply's
//	       quota check; skipped without it)
//	s3:    GetObject, PutObject, DeleteObject, ListBucket on the bucket
//
// A spec of several regions or accounts (multi.go) also needs, of the
// credentials Phoenix runs as: sts:AssumeRole on every role an
// environment's aws.assumeRole names, sts:GetCallerIdentity, and in the
// image account ec2:CopyImage and ec2:ModifyImageAttribute (copies into
// other regions, launch permissions for other accounts); each assumed
// role needs the list above in its own account. Images are unencrypted
// or use a key the other accounts may use: a shared AMI whose snapshots
// are encrypted with the account's default key cannot be launched
// elsewhere.
//
// Every pool has a listener rule of its own on its endpoint's listener
// (rules.go): a forward to its target group for requests with the header
// X-Phoenix-Pool set to the pool id and a random token, tagged like the
// pool. Without it the load balancer would not health-check a pool that
// does not serve. The rules take the lowest free priorities, so smoke
// checks reach the new pool even past the operator's catch-all rules;
// they count against the load balancer's rule quota (100 by default), one
// per live pool (serving, retained or cold). Phoenix never changes rules
// without its tags. Apply refuses, before its first step, a release that
// would pass that quota or the account's limits of auto scaling groups and
// target groups (quotas.go).
//
// AWS throttles per account and region, in buckets every client of the
// account shares. Phoenix reads in pages (a plan is a page per 100 auto
// scaling groups and 200 launch templates, one listing of images, and two
// calls per load balancer, whatever the number of endpoints), each step of
// a release reads its own endpoint and pool and uses the groups the
// executor's re-check of its environment read a moment before
// (Options.GroupReuse; rules, listeners, target groups and target health
// are always read fresh), so that a release costs 24 calls an endpoint,
// 12 of them changes, plus the release's own observe (7 calls) and waiter
// polls, at any number of endpoints (BenchmarkFleet: about 26 an
// endpoint at 3 endpoints, 24.5 at 30), its calls are paced by
// client-side token buckets at AWS's documented rates (throttle.go;
// Options.Rates raises them where AWS raised the account's limits), and a
// call that is throttled anyway is retried where it happened, in the SDK's
// adaptive retry mode with 10 attempts (AWS_MAX_ATTEMPTS overrides).
// With --env, Observe reads only those environments' groups, templates and
// listeners (Cloud.Scope).
//
// Builders need no credentials: they fetch their artifact and upload their
// result through presigned URLs that live as long as a bake may. They do
// need a way out to S3 (a NAT gateway or an S3 gateway endpoint in the
// subnet) and curl, tar and a shell in the source AMI.
//
// A presigned URL is only as good as the credentials that signed it: with
// temporary credentials (an assumed role, SSO) the builder's result upload
// fails once they expire, and a bake longer than the session fails with
// "stopped without reporting a result". Run long bakes with credentials
// that outlive them.
