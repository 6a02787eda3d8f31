// Package aws is Phoenix's AWS cloud: images are AMIs baked by a
// builder instance, pools are a launch template, a target group and an
// auto scaling group, endpoints are existing ALB listeners that a swap
// points at a pool's target group, and locks are objects in a bucket
// written with conditional puts. Everything goes through aws-sdk-go-v2 with
// the standard credential chain; nothing shells out.
//
// Phoenix manages the volatile layer only. The VPC, subnets, load balancer,
// listeners and bucket are named by the spec and never created or deleted
// here. Live state is read back from the tags Phoenix puts on what it
// creates, and nothing without the project's tags is ever touched.
package aws

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// Name is the spec's name for this cloud.
const Name = model.CloudAWS

// Options tune waits and defaults. The zero value is production's choice;
// tests against moto shorten the polling delays.
type Options struct {
	// BuilderType is the instance type of bake builders (t3.small).
	BuilderType string
	// DefaultSize is the instance type of a role without a size (t3.micro).
	DefaultSize string
	// BakeTimeout bounds a builder's run, from launch to stopped (1h).
	BakeTimeout time.Duration
	// ImageTimeout bounds the wait for a new AMI to be available (1h).
	ImageTimeout time.Duration
	// HealthTimeout bounds the wait for a pool's targets to be healthy (15m).
	HealthTimeout time.Duration
	// DeleteTimeout bounds the wait for an auto scaling group to go (15m).
	DeleteTimeout time.Duration
	// PollMin and PollMax are the delays of the SDK waiters (15s, 2m).
	PollMin, PollMax time.Duration
	// Smoke says how a pool's smoke checks and warm-up requests reach it:
	// through the load balancer with the pool's rule header (the zero
	// value), directly to the servers' private addresses, or not at all.
	Smoke SmokeMode
	// HTTP is the client of smoke checks (http.DefaultClient).
	HTTP *http.Client
	// Now is the clock (time.Now).
	Now func() time.Time
	// Rates replaces the client-side request rates of some buckets:
	// "elb-describe", "elb-mutate", "ec2-describe", "ec2-mutate",
	// "asg-describe", "asg-mutate" (defaults: AWS's documented rates,
	// rates.go). Raise them where AWS raised the account's limits.
	Rates map[string]Rate
	// NoRateLimit turns the client-side rate limit off (an emulator).
	NoRateLimit bool
	// MaxAttempts is how often one call is tried (the config's
	// RetryMaxAttempts if set, else DefaultMaxAttempts).
	MaxAttempts int
	// MaxBackoff bounds the delay between two attempts of a call (20s).
	MaxBackoff time.Duration
	// GroupReuse is how long a description of an auto scaling group that
	// this cloud read (a re-check's page of an environment's groups, or
	// the group itself) is used again instead of describing the group
	// once more, by the swap, cooling, prune or rejection of its pool
	// (1s; negative: never). Listener rules, listeners, target groups and
	// target health are never reused: they are the action-time checks.
	// See groupMemory.
	GroupReuse time.Duration
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	if o.BuilderType == "" {
		o.BuilderType = "t3.small"
	}
	if o.DefaultSize == "" {
		o.DefaultSize = "t3.micro"
	}
	def(&o.BakeTimeout, time.Hour)
	def(&o.ImageTimeout, time.Hour)
	def(&o.HealthTimeout, 15*time.Minute)
	def(&o.DeleteTimeout, 15*time.Minute)
	def(&o.PollMin, 15*time.Second)
	def(&o.PollMax, 2*time.Minute)
	if o.PollMax < o.PollMin {
		o.PollMax = o.PollMin
	}
	if o.HTTP == nil {
		o.HTTP = http.DefaultClient
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	def(&o.MaxBackoff, 20*time.Second)
	if o.GroupReuse == 0 {
		o.GroupReuse = time.Second
	}
	return o
}

// Cloud is the AWS cloud of one spec. It is safe for concurrent use.
type Cloud struct {
	api  Clients
	opt  Options
	envs map[string]*model.AWS // environment -> its AWS settings
	// listeners maps the listener ARNs the spec names to their (env, role):
	// the endpoints Observe reads and prunes check. Endpoints of pools whose
	// environment left the spec are found from the pools' tags.
	listeners map[string]endpointRef
	// bakeEnv is the environment whose bucket and first subnet bakes use:
	// images are shared by environments, builders need one place to run.
	bakeEnv string

	vpcMu sync.Mutex
	vpcs  map[string]string // subnet id -> VPC id

	// groups are the group descriptions this cloud's reads returned, for
	// Cloud.group to reuse for Options.GroupReuse (groupmem.go).
	groups groupMemory

	foreignMu sync.Mutex
	foreign   map[string]bool   // target groups found to be another project's
	tgEnv     map[string]string // target groups of this project -> their environment

	// scope are the environments Observe reads (all if empty).
	scope []string
	// noImages: Observe does not read images here (a Multi's placement
	// other than the one images are baked in).
	noImages bool
}

type endpointRef struct{ env, role string }

// NewFromConfig opens the AWS cloud for the environments of d that run on
// it, with clients made from cfg, paced and retrying as throttle.go says.
// S3 uses path-style addressing when cfg has an explicit endpoint (moto,
// MinIO, a VPC endpoint).
func NewFromConfig(cfg aws.Config, d *model.Desired, opt Options) (*Cloud, error) {
	return New(clientsFor(cfg, opt), d, opt)
}

// clientsFor makes the clients of one (region, credentials) from cfg,
// with their own client-side rate limits.
func clientsFor(cfg aws.Config, opt Options) Clients {
	if opt.MaxAttempts <= 0 && cfg.RetryMaxAttempts > 0 {
		opt.MaxAttempts = cfg.RetryMaxAttempts // AWS_MAX_ATTEMPTS, or the caller's choice
	}
	cfg = throttled(cfg, opt.withDefaults())
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if cfg.BaseEndpoint != nil {
			o.UsePathStyle = true
		}
		// Lock objects are tiny JSON read whole; a missing response
		// checksum is not worth a log line on every read.
		o.DisableLogOutputChecksumValidationSkipped = true
	})
	return Clients{
		EC2:         ec2.NewFromConfig(cfg),
		AutoScaling: autoscaling.NewFromConfig(cfg),
		ELB:         elb.NewFromConfig(cfg),
		S3:          s3c,
		Presign:     s3.NewPresignClient(s3c),
		CloudWatch:  cloudwatch.NewFromConfig(cfg),
	}
}

// New opens the AWS cloud with the given clients. It refuses a spec whose
// AWS environments lack a bucket or subnets, or span several regions or
// roles (one Cloud talks to one account and region; Open makes a Multi
// for several).
func New(api Clients, d *model.Desired, opt Options) (*Cloud, error) {
	if ps := placementsOf(d); len(ps) > 1 {
		a, b := ps[0], ps[1]
		return nil, fmt.Errorf("environment %s (%s) and environment %s (%s) are in different places; one client set serves one (region, role): open them with Open",
			a.envs[0], a.key, b.envs[0], b.key)
	}
	return newCloud(api, d, opt, nil)
}

// newCloud opens the AWS cloud of the environments in only (every AWS
// environment of d if nil), which share one (region, role).
func newCloud(api Clients, d *model.Desired, opt Options, only []string) (*Cloud, error) {
	c := &Cloud{
		api:       api,
		opt:       opt.withDefaults(),
		envs:      map[string]*model.AWS{},
		listeners: map[string]endpointRef{},
		vpcs:      map[string]string{},
		foreign:   map[string]bool{},
		tgEnv:     map[string]string{},
	}
	for _, name := range d.EnvNames() {
		e := d.Environments[name]
		if e.Cloud != Name || (only != nil && !slices.Contains(only, name)) {
			continue
		}
		if e.AWS == nil || e.AWS.Bucket == "" || len(e.AWS.Subnets) == 0 {
			return nil, fmt.Errorf("environment %s: aws needs a bucket and at least one subnet", name)
		}
		c.envs[name] = e.AWS
		if c.bakeEnv == "" {
			c.bakeEnv = name
		}
	}
	for _, p := range d.Pools {
		if _, ok := c.envs[p.Env]; ok && p.Cloud == Name && p.Endpoint != "" {
			if err := sameRegion(p, c.envs[p.Env]); err != nil {
				return nil, err
			}
			c.listeners[p.Endpoint] = endpointRef{env: p.Env, role: p.Role}
		}
	}
	return c, nil
}

// sameRegion refuses a listener ARN of another region than the
// environment's: the cloud talks to one region, where such a listener
// "does not exist", which sends the user looking for a deleted listener.
func sameRegion(p *model.Pool, env *model.AWS) error {
	parts := strings.SplitN(p.Endpoint, ":", 6) // arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE
	if env == nil || env.Region == "" || len(parts) < 6 || parts[3] == "" || parts[3] == env.Region {
		return nil
	}
	return fmt.Errorf("environment %s, role %s: endpoint %s is a listener in %s, but aws.region of %s is %s; a listener of another region cannot serve it",
		p.Env, p.Role, p.Endpoint, parts[3], p.Env, env.Region)
}

// Region returns the region of the spec's first AWS environment (where
// images are baked), or "" if none names one.
func Region(d *model.Desired) string {
	if ps := placementsOf(d); len(ps) > 0 {
		return ps[0].key.region
	}
	return ""
}

// Name implements cloud.Cloud.
func (c *Cloud) Name() string { return Name }

var _ cloud.Cloud = (*Cloud)(nil)

func (c *Cloud) env(name string) (*model.AWS, error) {
	e, ok := c.envs[name]
	if !ok {
		return nil, fmt.Errorf("environment %s is not an aws environment of this spec", name)
	}
	return e, nil
}

// bakeSite returns where builders run and artifacts go.
func (c *Cloud) bakeSite() (*model.AWS, error) {
	if c.bakeEnv == "" {
		return nil, fmt.Errorf("no aws environment in the spec to bake in")
	}
	return c.envs[c.bakeEnv], nil
}

// specListeners returns the listener ARNs the spec names for the
// environments in scope, sorted.
func (c *Cloud) specListeners(scope []string) []string {
	var out []string
	for _, arn := range sortedKeys(c.listeners) {
		if inScope(scope, c.listeners[arn].env) {
			out = append(out, arn)
		}
	}
	return out
}

// Scope limits what Observe reads to the resources of these
// environments, by tag filters (groups, launch templates) and their
// endpoints' load balancers, so that applying one environment costs the
// same in a project of 3 environments or 1,000 (`--env`). Images and
// locks are still read whole: images are shared, and a plan limited to
// environments prunes none. No environments means all. Call it before the
// cloud is used.
func (c *Cloud) Scope(envs []string) {
	c.scope = slices.Sorted(slices.Values(envs))
}

// inScope reports whether an environment is one a read limited to scope
// (all when empty) covers.
func inScope(scope []string, env string) bool {
	return len(scope) == 0 || slices.Contains(scope, env)
}

// vpcOf returns the VPC of a subnet, looked up once.
func (c *Cloud) vpcOf(ctx context.Context, subnet string) (string, error) {
	return c.cachedVPC(subnet, func() (string, error) {
		out, err := c.api.EC2.DescribeSubnets(ctx, &ec2.DescribeSubnetsInput{SubnetIds: []string{subnet}})
		if hasCode(err, "InvalidSubnetID.NotFound", "InvalidSubnetID.Malformed") {
			return "", notFound("subnet %s does not exist in this region", subnet)
		}
		if err != nil {
			return "", classify("describing subnet "+subnet, err)
		}
		if len(out.Subnets) == 0 || out.Subnets[0].VpcId == nil {
			return "", notFound("subnet %s does not exist in this region", subnet)
		}
		return *out.Subnets[0].VpcId, nil
	})
}

// cachedVPC returns the VPC of a subnet or security group id, asking
// lookup only until it once succeeds: neither moves between VPCs. Lookups
// wait for one another, so pools created at once ask once.
func (c *Cloud) cachedVPC(id string, lookup func() (string, error)) (string, error) {
	c.vpcMu.Lock()
	defer c.vpcMu.Unlock()
	if v, ok := c.vpcs[id]; ok {
		return v, nil
	}
	v, err := lookup()
	if err != nil {
		return "", err
	}
	c.vpcs[id] = v
	return v, nil
}

// isForeign reports whether a target group was found to be another
// project's: its tags are not read again.
func (c *Cloud) isForeign(arn string) bool {
	c.foreignMu.Lock()
	defer c.foreignMu.Unlock()
	return c.foreign[arn]
}

// outOfScope reports whether a target group is known to belong to an
// environment that a read limited to scope does not cover: its tags are
// not read again for such a read (a wider one does not ask, as the group
// is then a pool's).
func (c *Cloud) outOfScope(arn string, scope []string) bool {
	c.foreignMu.Lock()
	defer c.foreignMu.Unlock()
	env, ok := c.tgEnv[arn]
	return ok && !inScope(scope, env)
}

func (c *Cloud) markEnv(arn, env string) {
	c.foreignMu.Lock()
	c.tgEnv[arn] = env
	c.foreignMu.Unlock()
}

func (c *Cloud) markForeign(arn string) {
	c.foreignMu.Lock()
	c.foreign[arn] = true
	c.foreignMu.Unlock()
}

// logf writes one progress line to w if there is one.
func logf(w io.Writer, format string, args ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", args...)
	}
}
