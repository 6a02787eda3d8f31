package aws

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/phoenix-gitops/phoenix/cloud/aws/internal/motoserver"
	"github.com/phoenix-gitops/phoenix/model"
)

// moto is the emulator shared by this package's integration tests,
// started by the first test that needs it, or nil when it is not installed
// (motoErr says why).
var (
	moto      *motoserver.Server
	motoErr   error
	motoOnce  sync.Once
	motoMu    sync.Mutex // one integration test at a time: they reset moto
	motoReset func()     // restores the environment moto's settings replaced
)

func TestMain(m *testing.M) {
	code := m.Run()
	if moto != nil {
		motoReset()
		moto.Stop()
	}
	os.Exit(code)
}

// needMoto skips t without moto and otherwise gives it a clean emulator.
func needMoto(t testing.TB) {
	t.Helper()
	motoOnce.Do(func() {
		if os.Getenv("PHOENIX_SKIP_MOTO") != "" {
			motoErr = fmt.Errorf("PHOENIX_SKIP_MOTO is set")
			return
		}
		moto, motoErr = motoserver.Start(context.Background())
		if moto != nil {
			motoReset = moto.Env()
		}
	})
	if moto == nil {
		t.Skipf("integration test needs moto: %v", motoErr)
	}
	motoMu.Lock()
	t.Cleanup(motoMu.Unlock)
	if err := moto.Reset(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// motoConfig is an SDK config pointed at moto with dummy credentials.
func motoConfig(t testing.TB) aws.Config {
	t.Helper()
	cfg, err := config.LoadDefaultConfig(context.Background(), config.WithRegion("us-east-1"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.BaseEndpoint == nil {
		cfg.BaseEndpoint = aws.String(moto.URL)
	}
	return cfg
}

// motoOptions are waits fit for moto, where everything is instant.
func motoOptions() Options {
	return Options{
		PollMin: 20 * time.Millisecond, PollMax: 100 * time.Millisecond,
		BakeTimeout: 30 * time.Second, ImageTimeout: 10 * time.Second,
		HealthTimeout: 5 * time.Second, DeleteTimeout: 10 * time.Second,
		// moto's load balancers serve no HTTP and its servers run nothing.
		Smoke: SmokeOff,
		// moto does not throttle; what it costs in calls is counted.
		NoRateLimit: true, MaxBackoff: 200 * time.Millisecond,
	}
}

// site is the identity layer a test makes in moto, as the spec names it:
// VPC, two subnets, an ALB with listeners, a bucket and a source AMI.
type site struct {
	AWS       model.AWS
	Listeners []string // one per (env, role) the test needs
	SourceAMI string
	LB        string
}

func newSite(t testing.TB, cfg aws.Config, listeners int) site {
	t.Helper()
	return newSiteAt(t, cfg, listeners, "phoenix-test")
}

// newSiteAt makes the identity layer in cfg's region and account, with
// its lock bucket called bucket.
func newSiteAt(t testing.TB, cfg aws.Config, listeners int, bucket string) site {
	t.Helper()
	ctx := context.Background()
	e := ec2.NewFromConfig(cfg)
	vpc, err := e.CreateVpc(ctx, &ec2.CreateVpcInput{CidrBlock: aws.String("10.0.0.0/16")})
	if err != nil {
		t.Fatal(err)
	}
	var subnets []string
	for i, az := range []string{cfg.Region + "a", cfg.Region + "b"} {
		sn, err := e.CreateSubnet(ctx, &ec2.CreateSubnetInput{VpcId: vpc.Vpc.VpcId, CidrBlock: aws.String(fmt.Sprintf("10.0.%d.0/24", i+1)), AvailabilityZone: aws.String(az)})
		if err != nil {
			t.Fatal(err)
		}
		subnets = append(subnets, *sn.Subnet.SubnetId)
	}
	lb := elb.NewFromConfig(cfg)
	alb, err := lb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("shop"), Subnets: subnets})
	if err != nil {
		t.Fatal(err)
	}
	s := site{AWS: model.AWS{Region: cfg.Region, Subnets: subnets, Bucket: bucket}, LB: *alb.LoadBalancers[0].LoadBalancerArn}
	for i := range listeners {
		l, err := lb.CreateListener(ctx, &elb.CreateListenerInput{
			LoadBalancerArn: alb.LoadBalancers[0].LoadBalancerArn, Port: aws.Int32(int32(8080 + i)), Protocol: elbtypes.ProtocolEnumHttp,
			DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{StatusCode: aws.String("503")}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		s.Listeners = append(s.Listeners, *l.Listeners[0].ListenerArn)
	}
	in := &s3.CreateBucketInput{Bucket: &s.AWS.Bucket}
	if cfg.Region != "us-east-1" {
		in.CreateBucketConfiguration = &s3types.CreateBucketConfiguration{LocationConstraint: s3types.BucketLocationConstraint(cfg.Region)}
	}
	if _, err := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true }).CreateBucket(ctx, in); err != nil {
		t.Fatal(err)
	}
	// One of moto's stock public AMIs, looked up by id: listing them all
	// takes moto seconds.
	ims, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{motoAMI}})
	if err != nil || len(ims.Images) == 0 {
		t.Fatalf("moto has no source AMI %s: %v", motoAMI, err)
	}
	s.SourceAMI = *ims.Images[0].ImageId
	return s
}

// motoAMI is a public AMI every moto has (its EXAMPLE_AMI_ID).
const motoAMI = "ami-12c6146b"

// builderRecord is what fakeBuilders saw of the builders it played: each
// one's InstanceInitiatedShutdownBehavior, read before stopping it.
type builderRecord struct {
	mu       sync.Mutex
	shutdown map[string]string // instance id -> behavior
}

func (r *builderRecord) behaviors() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]string{}
	for k, v := range r.shutdown {
		out[k] = v
	}
	return out
}

// fakeBuilders plays the part of bake builders, which moto cannot run:
// every running instance tagged phoenix:builder reports its result to the
// presigned URL in its user data ("failed" when a step says exit 1, as a
// real builder would) and is stopped. It runs until the test ends.
func fakeBuilders(t testing.TB, cfg aws.Config) *builderRecord {
	rec := &builderRecord{shutdown: map[string]string{}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	e := ec2.NewFromConfig(cfg)
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			out, err := e.DescribeInstances(ctx, &ec2.DescribeInstancesInput{Filters: []ec2types.Filter{
				{Name: aws.String("tag-key"), Values: []string{tagBuilder}},
				{Name: aws.String("instance-state-name"), Values: []string{"running"}},
			}})
			if err != nil {
				continue
			}
			for _, r := range out.Reservations {
				for _, i := range r.Instances {
					if a, err := e.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: i.InstanceId,
						Attribute: ec2types.InstanceAttributeNameInstanceInitiatedShutdownBehavior}); err == nil && a.InstanceInitiatedShutdownBehavior != nil {
						rec.mu.Lock()
						rec.shutdown[*i.InstanceId] = aws.ToString(a.InstanceInitiatedShutdownBehavior.Value)
						rec.mu.Unlock()
					}
					playBuilder(ctx, t, e, *i.InstanceId)
				}
			}
		}
	}()
	return rec
}

var resultURL = regexp.MustCompile(`-X PUT -T /var/tmp/phoenix-result '([^']+)'`)

func playBuilder(ctx context.Context, t testing.TB, e *ec2.Client, id string) {
	attr, err := e.DescribeInstanceAttribute(ctx, &ec2.DescribeInstanceAttributeInput{InstanceId: &id, Attribute: ec2types.InstanceAttributeNameUserData})
	if err != nil || attr.UserData == nil {
		return
	}
	script, _ := base64.StdEncoding.DecodeString(aws.ToString(attr.UserData.Value))
	status := "ok"
	if strings.Contains(string(script), "exit 1") {
		status = "failed"
	}
	if m := resultURL.FindStringSubmatch(string(script)); m != nil {
		url := strings.ReplaceAll(m[1], `'\''`, `'`)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, url, strings.NewReader(status+"\n+ step 1 (played by the test)\n"))
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Logf("fake builder: result upload: %s", resp.Status)
			}
		}
	}
	_, _ = e.StopInstances(ctx, &ec2.StopInstancesInput{InstanceIds: []string{id}})
}
