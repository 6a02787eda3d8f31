package aws

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// standIn is a cloud over stand-in clients with a clock the test moves.
type standIn struct {
	*Cloud
	s3  *fakeS3
	elb *fakeELB
	asg *fakeASG
	ec2 *fakeEC2
	mu  sync.Mutex
	now time.Time
}

const listenerARN = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/1/2"

func newStandIn(t *testing.T) *standIn {
	t.Helper()
	s := &standIn{s3: newFakeS3(), elb: newFakeELB(), asg: newFakeASG(), ec2: &fakeEC2{templates: map[string]ec2types.LaunchTemplate{}},
		now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	s.asg.elb = s.elb
	s.elb.listeners[listenerARN] = []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse}}
	d := &model.Desired{
		Project: "shop",
		Environments: map[string]*model.Environment{"prod": {Name: "prod", Cloud: Name,
			AWS: &model.AWS{Region: "us-east-1", Subnets: []string{"subnet-1"}, Bucket: "locks"}}},
		Pools: []*model.Pool{{Env: "prod", Role: "web", Cloud: Name, Endpoint: listenerARN}},
	}
	c, err := New(Clients{EC2: s.ec2, AutoScaling: s.asg, ELB: s.elb, S3: s.s3}, d, Options{
		PollMin: time.Millisecond, PollMax: 5 * time.Millisecond, HealthTimeout: 50 * time.Millisecond,
		Now: func() time.Time { s.mu.Lock(); defer s.mu.Unlock(); return s.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	s.Cloud = c
	return s
}

func (s *standIn) advance(d time.Duration) { s.mu.Lock(); s.now = s.now.Add(d); s.mu.Unlock() }

// addPool puts a tagged pool of count servers (healthy of them healthy)
// into the stand-ins, as CreatePool would have left it.
func (s *standIn) addPool(id string, count, healthy int) {
	name := groupName("shop", id)
	tg := "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/" + targetGroupName("shop", id) + "/1"
	tags := tagSet{tagProject: "shop", tagEnv: "prod", tagRole: "web", tagPool: id, tagState: stateReady, tagBuildID: "b-" + id}
	var td []asgtypes.TagDescription
	for _, k := range sortedKeys(tags) {
		td = append(td, asgtypes.TagDescription{Key: aws.String(k), Value: aws.String(tags[k]), ResourceId: &name})
	}
	s.asg.groups[name] = &asgtypes.AutoScalingGroup{AutoScalingGroupName: &name, MaxSize: aws.Int32(int32(count)),
		MinSize: aws.Int32(int32(count)), DesiredCapacity: aws.Int32(int32(count)), TargetGroupARNs: []string{tg}, Tags: td}
	s.elb.groups[tg] = targetGroupName("shop", id)
	s.elb.tags[tg] = tags.elb()
	s.elb.healthy[tg] = healthy
	lt := templateName("shop", id)
	s.ec2.templates[lt] = ec2types.LaunchTemplate{LaunchTemplateId: aws.String("lt-" + id), LaunchTemplateName: &lt, Tags: tags.ec2()}
}

// routes is the listener's forward targets as "tg=weight", read from the
// stand-in load balancer.
func (s *standIn) routes() string {
	var parts []string
	for _, w := range forwardTargets(s.elb.listeners[listenerARN]) {
		parts = append(parts, fmt.Sprintf("%s=%d", s.elb.groups[w.tg], w.weight))
	}
	return strings.Join(parts, ",")
}

func swapTo(s *standIn, backends ...cloud.Backend) error {
	return s.Swap(context.Background(), cloud.SwapRequest{Project: "shop", Env: "prod", Role: "web", Endpoint: listenerARN, Backends: backends})
}

func TestSwapAndPruneWithStandIns(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	s.addPool("prod.web.aaaa.1", 2, 2)
	s.addPool("prod.web.bbbb.1", 2, 2)
	s.addPool("prod.web.dead.1", 2, 1)
	tgA, tgB := targetGroupName("shop", "prod.web.aaaa.1"), targetGroupName("shop", "prod.web.bbbb.1")

	if err := swapTo(s, cloud.Backend{Pool: "prod.web.aaaa.1", Weight: 100}); err != nil {
		t.Fatal(err)
	}
	if got := s.routes(); got != tgA+"=100" {
		t.Fatalf("after the swap the listener routes %q, want %s=100", got, tgA)
	}
	if err := s.DeletePool(ctx, "shop", "prod.web.aaaa.1"); !errors.Is(err, cloud.ErrServing) {
		t.Fatalf("deleting the serving pool: %v, want ErrServing", err)
	}
	if err := s.SetWarm(ctx, "shop", "prod.web.aaaa.1", false); !errors.Is(err, cloud.ErrServing) {
		t.Fatalf("cooling the serving pool: %v, want ErrServing", err)
	}
	if s.asg.groups[groupName("shop", "prod.web.aaaa.1")] == nil || aws.ToInt32(s.asg.groups[groupName("shop", "prod.web.aaaa.1")].DesiredCapacity) != 2 {
		t.Fatal("a refused delete or cool changed the serving pool")
	}

	// Unhealthy and unknown backends are refused; the listener stays.
	if err := swapTo(s, cloud.Backend{Pool: "prod.web.dead.1", Weight: 100}); !errors.Is(err, cloud.ErrNotReady) {
		t.Fatalf("swap to a pool with 1/2 healthy: %v, want ErrNotReady", err)
	}
	if err := swapTo(s, cloud.Backend{Pool: "prod.web.gone.1", Weight: 100}); !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("swap to an unknown pool: %v, want ErrNotFound", err)
	}
	if err := swapTo(s, cloud.Backend{Pool: "prod.web.aaaa.1", Weight: 60}); err == nil {
		t.Fatal("weights that do not sum to 100 were accepted")
	}
	if got := s.routes(); got != tgA+"=100" {
		t.Fatalf("refused swaps changed the listener to %q", got)
	}

	// A canary step, then all traffic on b.
	if err := swapTo(s, cloud.Backend{Pool: "prod.web.aaaa.1", Weight: 90}, cloud.Backend{Pool: "prod.web.bbbb.1", Weight: 10}); err != nil {
		t.Fatal(err)
	}
	if got := s.routes(); got != tgA+"=90,"+tgB+"=10" {
		t.Fatalf("canary step routes %q", got)
	}
	s.advance(time.Minute)
	if err := swapTo(s, cloud.Backend{Pool: "prod.web.bbbb.1", Weight: 100}, cloud.Backend{Pool: "prod.web.aaaa.1", Weight: 0}); err != nil {
		t.Fatal(err)
	}
	if got := s.routes(); got != tgB+"=100" {
		t.Fatalf("final step routes %q, want %s=100 (a weight-0 backend is not referenced)", got, tgB)
	}
	live, err := s.Observe(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range live.Pools {
		if p.ID == "prod.web.aaaa.1" && !p.LastServed.Equal(s.now) {
			t.Errorf("pool a stopped serving at %v but last served says %v", s.now, p.LastServed)
		}
	}
	if len(live.Endpoints) != 1 || fmt.Sprint(live.Endpoints[0].Backends) != "[{prod.web.bbbb.1 100}]" {
		t.Errorf("observed endpoints %+v", live.Endpoints)
	}

	if err := s.DeletePool(ctx, "shop", "prod.web.aaaa.1"); err != nil {
		t.Fatalf("deleting the retired pool: %v", err)
	}
	if s.asg.groups[groupName("shop", "prod.web.aaaa.1")] != nil || s.elb.groups[aTG(s, tgA)] != "" || s.ec2.templates[templateName("shop", "prod.web.aaaa.1")].LaunchTemplateId != nil {
		t.Fatal("the retired pool left its group, target group or launch template")
	}
	if err := s.DeletePool(ctx, "shop", "prod.web.aaaa.1"); err != nil {
		t.Fatalf("deleting it again: %v", err)
	}
	if s.asg.groups[groupName("shop", "prod.web.bbbb.1")] == nil {
		t.Fatal("deleting a pool touched another")
	}
}

// A pool whose servers do not match it is reported drifted and refused
// traffic; a pool whose target group vanished is reported unhealthy
// without breaking Observe.
func TestDriftAndMissingTargetGroup(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	s.addPool("prod.web.ffff.1", 1, 1)
	s.addPool("prod.web.gggg.1", 1, 1)
	g := s.asg.groups[groupName("shop", "prod.web.ffff.1")]
	g.LaunchTemplate = &asgtypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-ffff")}
	g.Instances = []asgtypes.Instance{{InstanceId: aws.String("i-1"), LaunchTemplate: &asgtypes.LaunchTemplateSpecification{LaunchTemplateId: aws.String("lt-other")}}}
	tg := aTG(s, targetGroupName("shop", "prod.web.gggg.1"))
	delete(s.elb.groups, tg)

	live, err := s.Observe(ctx, "shop")
	if err != nil {
		t.Fatalf("Observe with a vanished target group: %v", err)
	}
	for _, p := range live.Pools {
		switch p.ID {
		case "prod.web.ffff.1":
			if !p.Drift {
				t.Errorf("pool %s runs a server from another template but is not drifted", p.ID)
			}
		case "prod.web.gggg.1":
			if p.Healthy || p.Servers != 0 {
				t.Errorf("pool %s without its target group is %+v", p.ID, p)
			}
		}
	}
	if err := swapTo(s, cloud.Backend{Pool: "prod.web.ffff.1", Weight: 100}); !errors.Is(err, cloud.ErrNotReady) {
		t.Fatalf("swap to a drifted pool: %v, want ErrNotReady", err)
	}
	if got := s.routes(); got != "" {
		t.Fatalf("a refused swap changed the listener to %q", got)
	}
}

func aTG(s *standIn, name string) string {
	for arn, n := range s.elb.groups {
		if n == name {
			return arn
		}
	}
	return ""
}

// A group with the pool's name but without the project's tags is never
// touched.
func TestUntaggedGroupUntouched(t *testing.T) {
	s := newStandIn(t)
	name := groupName("shop", "prod.web.cccc.1")
	s.asg.groups[name] = &asgtypes.AutoScalingGroup{AutoScalingGroupName: &name, MaxSize: aws.Int32(1), DesiredCapacity: aws.Int32(1)}
	if err := s.DeletePool(context.Background(), "shop", "prod.web.cccc.1"); err != nil {
		t.Fatal(err)
	}
	if err := s.SetWarm(context.Background(), "shop", "prod.web.cccc.1", false); !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("cooling an untagged group: %v, want ErrNotFound", err)
	}
	if g := s.asg.groups[name]; g == nil || aws.ToInt32(g.DesiredCapacity) != 1 {
		t.Fatal("an untagged group was deleted or resized")
	}
	if live, _ := s.Observe(context.Background(), "shop"); len(live.Pools) != 0 {
		t.Fatalf("an untagged group shows as a pool: %+v", live.Pools)
	}
}

// A prune deletes the launch template its pool's group names without
// looking it up when it is the pool's by name, and never one the group
// was pointed at by hand: that one stays, and the pool's own template,
// found by name and tags, goes.
func TestPruneDeletesOnlyThePoolsTemplate(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	for _, id := range []string{"prod.web.aaaa.1", "prod.web.bbbb.1"} {
		s.addPool(id, 1, 1)
	}
	own := templateName("shop", "prod.web.aaaa.1")
	s.asg.groups[groupName("shop", "prod.web.aaaa.1")].LaunchTemplate = &asgtypes.LaunchTemplateSpecification{
		LaunchTemplateId: s.ec2.templates[own].LaunchTemplateId, LaunchTemplateName: &own}
	s.ec2.templates["theirs"] = ec2types.LaunchTemplate{LaunchTemplateId: aws.String("lt-theirs"), LaunchTemplateName: aws.String("theirs")}
	s.asg.groups[groupName("shop", "prod.web.bbbb.1")].LaunchTemplate = &asgtypes.LaunchTemplateSpecification{
		LaunchTemplateId: aws.String("lt-theirs"), LaunchTemplateName: aws.String("theirs")}
	for _, id := range []string{"prod.web.aaaa.1", "prod.web.bbbb.1"} {
		if err := s.DeletePool(ctx, "shop", id); err != nil {
			t.Fatal(err)
		}
	}
	if len(s.ec2.templates) != 1 || s.ec2.templates["theirs"].LaunchTemplateId == nil {
		t.Fatalf("after the prunes the launch templates are %v, want only theirs", s.ec2.templates)
	}
}

// A launch template left without its group (a create or prune cut short)
// shows as a failed pool, and pruning it removes what is left.
func TestHalfMadePoolIsReportedAndPruned(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	s.addPool("prod.web.eeee.1", 1, 1)
	delete(s.asg.groups, groupName("shop", "prod.web.eeee.1"))
	live, err := s.Observe(ctx, "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(live.Pools) != 1 || live.Pools[0].ID != "prod.web.eeee.1" || live.Pools[0].State != cloud.PoolFailed {
		t.Fatalf("a half-made pool is observed as %+v, want one failed pool", live.Pools)
	}
	if err := s.DeletePool(ctx, "shop", "prod.web.eeee.1"); err != nil {
		t.Fatal(err)
	}
	if len(s.ec2.templates) != 0 || len(s.elb.groups) != 0 {
		t.Fatalf("pruning the half-made pool left %v and %v", s.ec2.templates, s.elb.groups)
	}
	if live, _ := s.Observe(ctx, "shop"); len(live.Pools) != 0 {
		t.Fatalf("after the prune Observe reports %+v", live.Pools)
	}
}

func TestLockWithStandIns(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	lock := func(owner string, lease time.Duration) error {
		return s.Lock(ctx, cloud.LockRequest{Project: "shop", Env: "prod", Owner: owner, Lease: lease})
	}
	holder := func() string {
		l, _, err := s.readLease(ctx, "locks", lockKey("shop", "prod"))
		if err != nil || l == nil {
			return ""
		}
		return l.Owner
	}
	if err := lock("alice", time.Minute); err != nil {
		t.Fatal(err)
	}
	err := lock("bob", time.Minute)
	var le *cloud.LockedError
	if !errors.As(err, &le) || le.Owner != "alice" || !errors.Is(err, cloud.ErrLocked) {
		t.Fatalf("bob's lock: %v, want a LockedError naming alice", err)
	}
	if err := lock("alice", time.Hour); err != nil {
		t.Fatalf("alice renews: %v", err)
	}
	s.advance(30 * time.Minute) // inside the renewed lease
	if err := lock("bob", time.Minute); !errors.Is(err, cloud.ErrLocked) {
		t.Fatalf("bob inside alice's renewed lease: %v", err)
	}
	if err := s.Unlock(ctx, "shop", "prod", "bob"); !errors.Is(err, cloud.ErrLocked) || holder() != "alice" {
		t.Fatalf("bob's unlock of alice's lock: %v, holder %q", err, holder())
	}

	// The lease expires; of several takers exactly one wins.
	s.advance(time.Hour)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = lock(fmt.Sprintf("taker-%d", i), time.Minute) }()
	}
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
			if holder() != fmt.Sprintf("taker-%d", i) {
				t.Errorf("taker-%d won but the lock names %q", i, holder())
			}
		case !errors.Is(err, cloud.ErrLocked):
			t.Errorf("taker-%d: %v", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d takers won an expired lease, want exactly 1", won)
	}
	live, err := s.Observe(ctx, "shop")
	if err != nil || len(live.Locks) != 1 || live.Locks[0].Owner != holder() {
		t.Fatalf("observed locks %+v (%v), want the winner's", live.Locks, err)
	}
	if err := s.Unlock(ctx, "shop", "prod", ""); err != nil || holder() != "" {
		t.Fatalf("forced unlock: %v, holder %q", err, holder())
	}
	if err := s.Unlock(ctx, "shop", "prod", "anyone"); err != nil {
		t.Fatalf("unlocking what is not locked: %v", err)
	}
}

func TestSourceAMINewestSelfOrPublic(t *testing.T) {
	s := newStandIn(t)
	img := func(id, name, owner, date string, public bool, state ec2types.ImageState) ec2types.Image {
		return ec2types.Image{ImageId: aws.String(id), Name: aws.String(name), OwnerId: aws.String(owner),
			CreationDate: aws.String(date), Public: aws.Bool(public), State: state}
	}
	s.ec2.images = []ec2types.Image{
		img("ami-old", "debian-12-amd64-20240101", "136693071363", "2024-01-01T00:00:00.000Z", true, ec2types.ImageStateAvailable),
		img("ami-new", "debian-12-amd64-20240601", "136693071363", "2024-06-01T00:00:00.000Z", true, ec2types.ImageStateAvailable),
		img("ami-pending", "debian-12-amd64-20250101", "136693071363", "2025-01-01T00:00:00.000Z", true, ec2types.ImageStatePending),
		img("ami-shared", "debian-12-amd64-20260101", "999999999999", "2026-01-01T00:00:00.000Z", false, ec2types.ImageStateAvailable),
		img("ami-other", "ubuntu-24-amd64-20260101", "136693071363", "2026-01-01T00:00:00.000Z", true, ec2types.ImageStateAvailable),
	}
	ctx := context.Background()
	got, err := s.sourceAMI(ctx, "ami-name:debian-12-amd64-*")
	if err != nil || got != "ami-new" {
		t.Fatalf("newest debian: %q, %v; want ami-new (not pending, not merely shared)", got, err)
	}
	s.ec2.images = append(s.ec2.images, img("ami-mine", "debian-12-amd64-20250301", "self", "2025-03-01T00:00:00.000Z", false, ec2types.ImageStateAvailable))
	if got, _ := s.sourceAMI(ctx, "ami-name:debian-12-amd64-*"); got != "ami-mine" {
		t.Fatalf("newest with an own image: %q, want ami-mine", got)
	}
	if _, err := s.sourceAMI(ctx, "ami-name:centos-*"); !errors.Is(err, cloud.ErrNotFound) {
		t.Fatalf("no match: %v, want ErrNotFound", err)
	}
	if got, _ := s.sourceAMI(ctx, "ami:ami-0123"); got != "ami-0123" {
		t.Fatalf("ami: source gave %q", got)
	}
	for _, bad := range []string{"scratch", "dir:base", "ami:debian"} {
		if _, err := s.sourceAMI(ctx, bad); err == nil {
			t.Errorf("source %q accepted", bad)
		}
	}
}

func TestNamesFitAWSLimits(t *testing.T) {
	long := strings.Repeat("project-with-a-long-name", 10)
	tgName := regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,30}[A-Za-z0-9])?$`)
	ltName := regexp.MustCompile(`^[A-Za-z0-9().\-/_]{3,128}$`)
	seen := map[string]string{}
	for _, project := range []string{"shop", "shop-2", long, "weird name/ü"} {
		for _, id := range []string{"prod.web.7d2e1a3b.1", "prod.web.7d2e1a3b.2", "pr-1234.api.00000000.10"} {
			tg := targetGroupName(project, id)
			if !tgName.MatchString(tg) {
				t.Errorf("target group name %q (%d chars) breaks AWS's rules", tg, len(tg))
			}
			if other, dup := seen[tg]; dup {
				t.Errorf("target group name %q for %s/%s and %s", tg, project, id, other)
			}
			seen[tg] = project + "/" + id
			if lt := templateName(project, id); !ltName.MatchString(lt) {
				t.Errorf("launch template name %q breaks AWS's rules", lt)
			}
			if g := groupName(project, id); len(g) > 255 || strings.Contains(g, ":") {
				t.Errorf("group name %q breaks AWS's rules", g)
			}
		}
	}
	if n := amiName(long, "app", strings.Repeat("f", 64)); len(n) > 128 {
		t.Errorf("AMI name is %d chars", len(n))
	}
}

// Config values survive shell quoting: what the instance sources is what
// the spec says.
func TestShellAssignmentsRoundTrip(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	vals := map[string]string{
		"PLAIN": "1", "QUOTE": `it's "quoted"`, "DOLLAR": "$HOME `id` $(id)", "NEWLINE": "a\nb", "EMPTY": "",
		"BACKSLASH": `C:\path\`, "HEREDOC": "PHOENIX_EOF_000000000000\nEOF",
	}
	body, err := shellAssignments(vals)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(f, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	for k, want := range vals {
		out, err := exec.Command(sh, "-c", `. "$1"; printf %s "$`+k+`"`, "sh", f).Output()
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		if string(out) != want {
			t.Errorf("%s round-trips as %q, want %q", k, out, want)
		}
	}
	if _, err := shellAssignments(map[string]string{"NOT-A-NAME": "x"}); err == nil {
		t.Error("a config name that is not a shell variable was accepted")
	}
}

// The server script carries config and secret references, never values,
// and fits EC2's limit.
func TestServerScript(t *testing.T) {
	req := cloud.CreateRequest{Project: "shop", ID: "prod.web.7d2e1a3b.1", Image: cloud.Image{BuildID: "b1"},
		Pool: &model.Pool{Env: "prod", Role: "web", Port: 8080, Command: "./server",
			Config: map[string]string{"VERSION": "2"}, Secrets: map[string]string{"DB_PASSWORD": "ssm:/shop/db"}}}
	enc, err := serverScript(req)
	if err != nil {
		t.Fatal(err)
	}
	script := decode(t, enc)
	for _, want := range []string{"VERSION='2'", "PORT='8080'", "PHOENIX_POOL='prod.web.7d2e1a3b.1'", "DB_PASSWORD='ssm:/shop/db'", "/etc/phoenix/secret-refs", "exec /bin/sh -c './server'"} {
		if !strings.Contains(script, want) {
			t.Errorf("server script lacks %q:\n%s", want, script)
		}
	}
	req.Pool.Config["BIG"] = strings.Repeat("x", maxUserData)
	if _, err := serverScript(req); err == nil {
		t.Error("user data over EC2's limit was accepted")
	}
}

func decode(t *testing.T, enc string) string {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestArtifactPacksFilesAtTheirDestinations(t *testing.T) {
	src := fstest.MapFS{
		"app/index.html":    {Data: []byte("<h1>hi</h1>"), Mode: 0o644},
		"app/static/app.js": {Data: []byte("js"), Mode: 0o644},
		"bin/run.sh":        {Data: []byte("#!/bin/sh\n"), Mode: 0o755},
		"not-packed/secret": {Data: []byte("no")},
	}
	data, err := artifact(cloud.BakeRequest{Source: src, Image: &model.Image{Name: "app", Files: []model.File{
		{Dest: "/srv/www", Source: "app"}, {Dest: "/usr/local/bin/run", Source: "bin/run.sh"},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	gz, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	got := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		got[h.Name] = fmt.Sprintf("%s %o", b, h.Mode)
	}
	want := map[string]string{
		"srv/www/": " 755", "srv/www/index.html": "<h1>hi</h1> 644", "srv/www/static/": " 755",
		"srv/www/static/app.js": "js 644", "usr/local/bin/run": "#!/bin/sh\n 755",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("artifact holds %v, want %v", got, want)
	}
}

func TestClassifyThrottling(t *testing.T) {
	for _, code := range []string{"Throttling", "RequestLimitExceeded", "SlowDown", "TooManyRequestsException"} {
		if err := classify("describing", apiErr(code)); !cloud.IsTransient(err) {
			t.Errorf("%s is not transient: %v", code, err)
		}
	}
	for _, code := range []string{"ValidationError", "AccessDenied", "InvalidAMIID.NotFound"} {
		if err := classify("describing", apiErr(code)); cloud.IsTransient(err) {
			t.Errorf("%s is transient", code)
		}
	}
	if err := classify("x", nil); err != nil {
		t.Errorf("classify(nil) = %v", err)
	}
}

func TestRunSmoke(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/":
			fmt.Fprint(w, "<h1>shop v2</h1>")
		case "/teapot":
			w.WriteHeader(http.StatusTeapot)
		case "/boom":
			w.WriteHeader(http.StatusInternalServerError)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	ok := []model.Smoke{{Path: "/", Contains: "v2"}, {Path: "/teapot", Status: 418}}
	if err := runSmoke(ctx, srv.Client(), srv.URL, nil, ok, []string{"/", "/missing"}); err != nil {
		t.Fatalf("passing checks failed: %v", err)
	}
	for _, bad := range [][]model.Smoke{{{Path: "/", Contains: "v3"}}, {{Path: "/missing"}}} {
		if err := runSmoke(ctx, srv.Client(), srv.URL, nil, bad, nil); err == nil {
			t.Errorf("check %+v passed", bad)
		}
	}
	if err := runSmoke(ctx, srv.Client(), srv.URL, nil, nil, []string{"/boom"}); err == nil {
		t.Error("a warm-up answered 500 passed")
	}
}

func TestLivePoolStates(t *testing.T) {
	g := func(state string, desired, max int32) asgtypes.AutoScalingGroup {
		return asgtypes.AutoScalingGroup{DesiredCapacity: aws.Int32(desired), MaxSize: aws.Int32(max),
			Tags: []asgtypes.TagDescription{{Key: aws.String(tagState), Value: aws.String(state)}, {Key: aws.String(tagGeneration), Value: aws.String("3")}}}
	}
	cases := []struct {
		g       asgtypes.AutoScalingGroup
		healthy int
		state   cloud.PoolState
		ok      bool
	}{
		{g(stateReady, 2, 2), 2, cloud.PoolReady, true},
		{g(stateReady, 2, 2), 1, cloud.PoolReady, false},
		{g(stateReady, 0, 2), 0, cloud.PoolCold, false},
		{g(stateCold, 0, 2), 0, cloud.PoolCold, false},
		{g(stateFailed, 2, 2), 0, cloud.PoolFailed, false},
		{g(stateFailed, 2, 2), 2, cloud.PoolFailed, false},
		{g("", 2, 2), 2, cloud.PoolCreating, true},
	}
	for i, c := range cases {
		p := livePool(c.g, c.healthy, "")
		if p.State != c.state || p.Healthy != c.ok || p.Generation != 3 || p.Servers != c.healthy || p.Count != 2 {
			t.Errorf("case %d: %+v, want state %s healthy %v", i, p, c.state, c.ok)
		}
	}
}

// The steps a builder runs, taken from its user data and run here with sh:
// the image's env is exported with its exact values, steps run in order,
// and a failing step stops the rest.
func TestBuilderStepsRun(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	im := &model.Image{Name: "app", BuildID: "b1", Env: map[string]string{"GREETING": `it's "$HOME"`},
		Steps: []string{`printf '%s\n' "$GREETING" > out`, "echo two >> out", "exit 3", "echo never >> out"}}
	enc, err := builderScript(im, "https://bucket/artifact?sig", "https://bucket/result?sig")
	if err != nil {
		t.Fatal(err)
	}
	script := decode(t, enc)
	for _, want := range []string{"shutdown -h now", "'https://bucket/artifact?sig'", "'https://bucket/result?sig'"} {
		if !strings.Contains(script, want) {
			t.Errorf("builder script lacks %q", want)
		}
	}
	m := regexp.MustCompile(`(?s)cat > /var/tmp/phoenix-steps.sh <<'(PHOENIX_EOF_[0-9a-f]+)'\n(.*?)\n(PHOENIX_EOF_[0-9a-f]+)\n`).FindStringSubmatch(script)
	if m == nil || m[1] != m[3] {
		t.Fatalf("no steps here-document in:\n%s", script)
	}
	dir := t.TempDir()
	steps := filepath.Join(dir, "steps.sh")
	if err := os.WriteFile(steps, []byte(m[2]), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sh, "-e", steps)
	cmd.Dir = dir
	outLog, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("steps with a failing step succeeded:\n%s", outLog)
	}
	got, _ := os.ReadFile(filepath.Join(dir, "out"))
	if string(got) != "it's \"$HOME\"\ntwo\n" {
		t.Fatalf("the steps wrote %q", got)
	}
	if !strings.Contains(string(outLog), "+ step 2: echo two") {
		t.Errorf("the log does not name the steps:\n%s", outLog)
	}
}
