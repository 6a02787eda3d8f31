package aws

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/compiler"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
)

// otherAccount is the account the multi-account tests assume a role in;
// moto gives an assumed role's keys to the role's account.
const (
	otherAccount = "222222222222"
	otherRole    = "arn:aws:iam::" + otherAccount + ":role/phoenix-deploy"
)

// multiSpec has one role in four environments: staging where images are
// baked (us-east-1, the first environment that assumes no role),
// staging-eu in another region of that account, partner in the other account in us-east-1, and apac in
// the other account and region. Every environment keeps no old pool, so
// a rebake prunes the old image.
const multiSpec = `package phoenix

project: "shop"
images: app: {
	from: "ami:%[1]s"
	steps: ["echo baked"%[2]s]
}
roles: web: {image: "app", command: "python3 -m http.server $PORT", port: 8080, count: 1}
environments: {
%[3]s}
`

// multiEnv is one environment of multiSpec and the site made for it.
type multiEnv struct {
	name string
	key  placementKey
	site site
}

func (e multiEnv) cue(version string) string {
	role := ""
	if e.key.role != "" {
		role = fmt.Sprintf(", assumeRole: %q", e.key.role)
	}
	return fmt.Sprintf("\t%q: {\n\t\tcloud: \"aws\"\n\t\taws: {region: %q%s, subnets: [%q, %q], bucket: %q}\n\t\tretention: {keep: 0, warm: 0}\n\t\troles: web: {endpoint: %q, config: VERSION: %q}\n\t}\n",
		e.name, e.key.region, role, e.site.AWS.Subnets[0], e.site.AWS.Subnets[1], e.site.AWS.Bucket, e.site.Listeners[0], version)
}

// fourPlacements makes the sites of four environments in two regions
// and two accounts: staging where images are baked (us-east-1, no role),
// staging-eu in eu-west-1 of that account, partner in us-east-1 of the
// other account, apac in eu-west-1 of the other account.
func fourPlacements(t *testing.T, base aws.Config) []multiEnv {
	t.Helper()
	envs := []multiEnv{
		{name: "staging", key: placementKey{region: "us-east-1"}},
		{name: "staging-eu", key: placementKey{region: "eu-west-1"}},
		{name: "partner", key: placementKey{region: "us-east-1", role: otherRole}},
		{name: "apac", key: placementKey{region: "eu-west-1", role: otherRole}},
	}
	for i := range envs {
		envs[i].site = newSiteAt(t, placementConfig(base, envs[i].key), 1, "phoenix-"+envs[i].name)
	}
	return envs
}

// multiRelease compiles multiSpec at VERSION v, with one more bake step
// when step is not "".
func multiRelease(t *testing.T, envs []multiEnv, v, step string) *model.Desired {
	t.Helper()
	var body strings.Builder
	for _, e := range envs {
		body.WriteString(e.cue(v))
	}
	extra := ""
	if step != "" {
		extra = fmt.Sprintf(", %q", step)
	}
	fsys := fstest.MapFS{"spec.cue": {Data: fmt.Appendf(nil, multiSpec, motoAMI, extra, body.String())}}
	d, err := compiler.Load(context.Background(), fsys, compiler.Options{})
	if err != nil {
		t.Fatalf("compiling the spec: %v", err)
	}
	d.Source = fsys
	d.Commit = "commit-" + v
	return d
}

// multiApply opens the cloud for d as the CLI does, plans and applies,
// and returns the cloud and the plan.
func multiApply(ctx context.Context, t *testing.T, base aws.Config, d *model.Desired, imageKeep int) (*Multi, *planner.Plan) {
	t.Helper()
	c, err := Open(ctx, base, d, motoOptions())
	if err != nil {
		t.Fatal(err)
	}
	m, ok := c.(*Multi)
	if !ok {
		t.Fatalf("Open made a %T for four placements, want a *Multi", c)
	}
	live, err := m.Observe(ctx, d.Project)
	if err != nil {
		t.Fatalf("observing: %v", err)
	}
	p, err := planner.Make(d, live, planner.Options{ImageKeep: imageKeep})
	if err != nil {
		t.Fatal(err)
	}
	if err := plantest.Apply(ctx, cloud.Set{Name: m}, d, p); err != nil {
		t.Fatalf("applying: %v", err)
	}
	return m, p
}

// TestSeveralRegionsAndAccounts runs a spec of four environments in two
// regions and two accounts on moto: the image is baked once and copied
// into the other region and shared with the other account; each pool and
// lock lives in its environment's own account and region; the next plan
// is empty; a rebake prunes the old image and its copies everywhere.
func TestSeveralRegionsAndAccounts(t *testing.T) {
	needMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	base := motoConfig(t)
	envs := fourPlacements(t, base)
	cfgs := map[string]aws.Config{}
	for _, e := range envs {
		cfgs[e.name] = placementConfig(base, e.key)
	}
	fakeBuilders(t, base)

	v1 := multiRelease(t, envs, "1", "")
	m, p := multiApply(ctx, t, base, v1, -1)
	if n := count(p, planner.Bake); n != 1 {
		t.Fatalf("first deploy bakes %d images, want 1 (baked once, then copied and shared)", n)
	}
	live := multiServing(ctx, t, m, v1)
	app := imageRef(live, "app")
	if len(live.Images) != 1 || app == "" {
		t.Fatalf("images %+v, want the one app image (copies are not images)", live.Images)
	}

	// Where things are: the copy in eu-west-1 of the image account, shared
	// with the other account there; the image itself shared with the
	// other account in us-east-1; each pool's template in its own account
	// and region, starting from the AMI usable there.
	euImages := ec2.NewFromConfig(cfgs["staging-eu"])
	copies := copiesOf(ctx, t, euImages, app)
	if len(copies) != 1 {
		t.Fatalf("eu-west-1 holds %d copies of %s, want 1", len(copies), app)
	}
	euCopy := copies[0]
	wantShared(ctx, t, ec2.NewFromConfig(cfgs["staging"]), app, otherAccount)
	wantShared(ctx, t, euImages, euCopy, otherAccount)
	for name, ami := range map[string]string{"staging": app, "staging-eu": euCopy, "partner": app, "apac": euCopy} {
		if got := templateImage(ctx, t, cfgs[name], v1, live, name); got != ami {
			t.Errorf("%s's pool starts from %s, want %s", name, got, ami)
		}
	}

	// Locks go to each environment's bucket, in its own account.
	lock := cloud.LockRequest{Project: v1.Project, Env: "apac", Owner: "test", Lease: time.Minute}
	if err := m.Lock(ctx, lock); err != nil {
		t.Fatal(err)
	}
	objs, err := s3.NewFromConfig(cfgs["apac"], func(o *s3.Options) { o.UsePathStyle = true }).ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String("phoenix-apac")})
	if err != nil || len(objs.Contents) != 1 {
		t.Fatalf("the apac lock is not in the other account's bucket: %v, %v", objs, err)
	}
	if err := m.Unlock(ctx, v1.Project, "apac", "test"); err != nil {
		t.Fatal(err)
	}

	if p := multiPlan(ctx, t, base, v1); len(p.Steps) != 0 {
		t.Fatalf("no change: plan has %d steps: %+v", len(p.Steps), p.Steps)
	}

	// The executor's re-check of one environment reads its placement
	// alone, as a single placement does: its groups and its listener.
	counted := base.Copy()
	calls := CountCalls(&counted)
	mc, err := Open(ctx, counted, v1, motoOptions())
	if err != nil {
		t.Fatal(err)
	}
	before := calls.Total() // Open asks STS who each placement is
	if _, err := mc.(cloud.EnvObserver).ObserveEnv(ctx, v1.Project, "apac"); err != nil {
		t.Fatal(err)
	}
	if n := calls.Total() - before; n > 2 {
		t.Fatalf("re-checking apac made %d calls, want at most 2 (its groups and its listener's rules): %v", n, calls.Calls())
	}

	// The image is in use in every placement: it is not deleted.
	if err := m.DeleteImage(ctx, v1.Project, live.Images[0].BuildID); !errors.Is(err, cloud.ErrInUse) {
		t.Fatalf("deleting the image in use: %v, want ErrInUse", err)
	}

	// A release reuses the copy; a rebake then prunes the old pools, the
	// old image and its copy.
	v2 := multiRelease(t, envs, "2", "")
	m, p = multiApply(ctx, t, base, v2, -1)
	if count(p, planner.Bake) != 0 || count(p, planner.Create) != 4 {
		t.Fatalf("config release: %d bakes, %d creates, want 0 and 4", count(p, planner.Bake), count(p, planner.Create))
	}
	multiServing(ctx, t, m, v2)
	if n := len(copiesOf(ctx, t, euImages, app)); n != 1 {
		t.Fatalf("eu-west-1 holds %d copies of %s after a release, want the one made before", n, app)
	}
	v3 := multiRelease(t, envs, "3", "echo rebaked")
	m, _ = multiApply(ctx, t, base, v3, 0)
	live = multiServing(ctx, t, m, v3)
	if imageRef(live, "app") == app || len(live.Images) != 1 {
		t.Fatalf("images after a rebake: %+v, want only the new app image", live.Images)
	}
	if n := len(copiesOf(ctx, t, euImages, app)); n != 0 {
		t.Fatalf("the old image's copy in eu-west-1 survived its image")
	}
	if p := multiPlan(ctx, t, base, v3); len(p.Steps) != 0 {
		t.Fatalf("after the rebake: plan has %d steps: %+v", len(p.Steps), p.Steps)
	}
}

// TestOneAccountAndRegionThroughTwoRolesIsRefused: two placements that
// reach the same account and region would read and rate-limit the same
// resources twice; Open says so before any call that changes anything.
func TestOneAccountAndRegionThroughTwoRolesIsRefused(t *testing.T) {
	needMoto(t)
	ctx := context.Background()
	base := motoConfig(t)
	envs := []multiEnv{
		{name: "a", key: placementKey{region: "us-east-1"}},
		{name: "b", key: placementKey{region: "us-east-1", role: "arn:aws:iam::123456789012:role/deploy"}},
	}
	for i := range envs {
		envs[i].site = newSiteAt(t, placementConfig(base, envs[i].key), 1, "phoenix-"+envs[i].name)
	}
	_, err := Open(ctx, base, multiRelease(t, envs, "1", ""), motoOptions())
	if err == nil || !strings.Contains(err.Error(), "use one role per account and region") {
		t.Fatalf("Open: %v, want a refusal naming the shared account and region", err)
	}
}

func multiPlan(ctx context.Context, t *testing.T, base aws.Config, d *model.Desired) *planner.Plan {
	t.Helper()
	c, err := Open(ctx, base, d, motoOptions())
	if err != nil {
		t.Fatal(err)
	}
	live, err := c.Observe(ctx, d.Project)
	if err != nil {
		t.Fatal(err)
	}
	p, err := planner.Make(d, live, planner.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// multiServing checks that every environment's endpoint serves one
// healthy pool of the spec's key, read back through the cloud.
func multiServing(ctx context.Context, t *testing.T, m *Multi, d *model.Desired) *cloud.Live {
	t.Helper()
	live, err := m.Observe(ctx, d.Project)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range d.Pools {
		i := slices.IndexFunc(live.Endpoints, func(e cloud.Endpoint) bool { return e.Env == want.Env && e.Role == want.Role })
		if i < 0 {
			t.Fatalf("%s/%s has no endpoint: %+v", want.Env, want.Role, live.Endpoints)
		}
		ids := live.Endpoints[i].Serving()
		j := slices.IndexFunc(live.Pools, func(p cloud.Pool) bool { return len(ids) == 1 && p.ID == ids[0] })
		if j < 0 || live.Pools[j].Key != want.Key || !live.Pools[j].Healthy {
			t.Fatalf("%s/%s serves %v, want one healthy pool of key %.8s: %+v", want.Env, want.Role, ids, want.Key, live.Pools)
		}
	}
	return live
}

func count(p *planner.Plan, k planner.Kind) int {
	n := 0
	for _, st := range p.Steps {
		if st.Kind == k {
			n++
		}
	}
	return n
}

// copiesOf lists the AMIs tagged as copies of src where e is.
func copiesOf(ctx context.Context, t *testing.T, e *ec2.Client, src string) []string {
	t.Helper()
	out, err := e.DescribeImages(ctx, &ec2.DescribeImagesInput{Owners: []string{"self"},
		Filters: []ec2types.Filter{{Name: aws.String("tag:" + tagCopyOf), Values: []string{src}}}})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, im := range out.Images {
		if im.State != ec2types.ImageStateDeregistered {
			ids = append(ids, aws.ToString(im.ImageId))
		}
	}
	return ids
}

// wantShared checks that account may launch ami.
func wantShared(ctx context.Context, t *testing.T, e *ec2.Client, ami, account string) {
	t.Helper()
	out, err := e.DescribeImageAttribute(ctx, &ec2.DescribeImageAttributeInput{ImageId: &ami, Attribute: ec2types.ImageAttributeNameLaunchPermission})
	if err != nil {
		t.Fatal(err)
	}
	for _, lp := range out.LaunchPermissions {
		if aws.ToString(lp.UserId) == account {
			return
		}
	}
	t.Errorf("%s is not shared with account %s: %+v", ami, account, out.LaunchPermissions)
}

// templateImage returns the AMI of the launch template of env's serving
// pool, read in env's own account and region.
func templateImage(ctx context.Context, t *testing.T, cfg aws.Config, d *model.Desired, live *cloud.Live, env string) string {
	t.Helper()
	i := slices.IndexFunc(live.Endpoints, func(e cloud.Endpoint) bool { return e.Env == env })
	id := live.Endpoints[i].Serving()[0]
	g, err := autoscaling.NewFromConfig(cfg).DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{groupName(d.Project, id)}})
	if err != nil || len(g.AutoScalingGroups) != 1 {
		t.Fatalf("the group of %s's pool %s is not in its own account and region: %v", env, id, err)
	}
	lt, err := ec2.NewFromConfig(cfg).DescribeLaunchTemplateVersions(ctx, &ec2.DescribeLaunchTemplateVersionsInput{
		LaunchTemplateId: g.AutoScalingGroups[0].LaunchTemplate.LaunchTemplateId, Versions: []string{"$Latest"}})
	if err != nil || len(lt.LaunchTemplateVersions) != 1 {
		t.Fatalf("the template of %s's pool: %v", env, err)
	}
	return aws.ToString(lt.LaunchTemplateVersions[0].LaunchTemplateData.ImageId)
}

// TestSeveralPlacementsWithExecutor applies the four-placement spec with
// the real executor: steps of different placements run at once, each
// swap and prune re-reads its own environment's placement
// (cloud.EnvObserver), and preflight asks each environment's placement.
func TestSeveralPlacementsWithExecutor(t *testing.T) {
	needMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	base := motoConfig(t)
	envs := fourPlacements(t, base)
	fakeBuilders(t, base)
	for _, v := range []string{"1", "2", "1"} {
		d := multiRelease(t, envs, v, "")
		c, err := Open(ctx, base, d, motoOptions())
		if err != nil {
			t.Fatal(err)
		}
		rep := executorApply(ctx, t, c, d)
		if n := rep.Done(planner.Swap); n != 4 {
			t.Fatalf("VERSION %s: %s, want a swap in each of the four environments", v, rep.Line())
		}
		live := multiServing(ctx, t, c.(*Multi), d)
		// staging-eu and apac are created at once, both from a copy in
		// eu-west-1 of the image account: one copy is made.
		if n := len(copiesOf(ctx, t, ec2.NewFromConfig(placementConfig(base, envs[1].key)), imageRef(live, "app"))); n != 1 {
			t.Fatalf("VERSION %s: eu-west-1 holds %d copies of the image, want 1", v, n)
		}
		if p := multiPlan(ctx, t, base, d); len(p.Steps) != 0 {
			t.Fatalf("VERSION %s: the next plan has %d steps: %+v", v, len(p.Steps), p.Steps)
		}
	}
}

// TestQuotasArePerPlacement: limits are per account and region, so each
// placement counts the pools created in it against its own. The other
// account's load balancer is full of rules; the release is refused there,
// named by placement, and nowhere else.
func TestQuotasArePerPlacement(t *testing.T) {
	needMoto(t)
	ctx := context.Background()
	base := motoConfig(t)
	envs := []multiEnv{
		{name: "staging", key: placementKey{region: "us-east-1"}},
		{name: "partner", key: placementKey{region: "us-east-1", role: otherRole}},
	}
	for i := range envs {
		envs[i].site = newSiteAt(t, placementConfig(base, envs[i].key), 1, "phoenix-"+envs[i].name)
	}
	operatorRules(ctx, t, elb.NewFromConfig(placementConfig(base, envs[1].key)), envs[1].site.Listeners[0], 100)
	d := multiRelease(t, envs, "1", "")
	c, err := Open(ctx, base, d, motoOptions())
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.(cloud.QuotaChecker).CheckQuotas(ctx, d.Pools)
	if err == nil || !strings.Contains(err.Error(), "in us-east-1 as "+otherRole+": quota: rules of load balancer") || strings.Count(err.Error(), "quota:") != 1 {
		t.Fatalf("quotas: %v, want one refusal, of the other account's load balancer", err)
	}
	if _, err := c.(cloud.QuotaChecker).CheckQuotas(ctx, d.Pools[:0:0]); err != nil {
		t.Fatal(err)
	}
	staging := slices.DeleteFunc(slices.Clone(d.Pools), func(p *model.Pool) bool { return p.Env != "staging" })
	if _, err := c.(cloud.QuotaChecker).CheckQuotas(ctx, staging); err != nil {
		t.Fatalf("staging's own account has room: %v", err)
	}
}

// TestAddingAnEnvironmentKeepsTheImages: the image placement is the first
// environment (by name) that assumes no role, so adding "dev" in another
// region moves it. Images baked where the spec baked them before stay the
// images (read in every placement of the image account): nothing is
// baked again and no serving pool is replaced. A lock of an environment
// that left the spec (apply --destroy takes it) is kept where the images
// are.
func TestAddingAnEnvironmentKeepsTheImages(t *testing.T) {
	needMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	base := motoConfig(t)
	envs := fourPlacements(t, base)[:2] // staging (us-east-1), staging-eu (eu-west-1)
	fakeBuilders(t, base)
	v1 := multiRelease(t, envs, "1", "")
	m, _ := multiApply(ctx, t, base, v1, -1)
	before := multiServing(ctx, t, m, v1)

	dev := multiEnv{name: "dev", key: placementKey{region: "eu-west-1"}}
	dev.site = newSiteAt(t, placementConfig(base, dev.key), 1, "phoenix-dev")
	withDev := multiRelease(t, append([]multiEnv{dev}, envs...), "1", "")
	p := multiPlan(ctx, t, base, withDev)
	for _, st := range p.Steps {
		if st.Kind == planner.Bake || st.Env != "dev" {
			t.Fatalf("adding dev plans %s %s %s: want only dev's create and swap: %+v", st.Kind, st.Env, st.Pool, p.Steps)
		}
	}
	m, _ = multiApply(ctx, t, base, withDev, -1)
	after := multiServing(ctx, t, m, withDev)
	if imageRef(after, "app") != imageRef(before, "app") {
		t.Fatalf("the image is %s after adding dev, was %s", imageRef(after, "app"), imageRef(before, "app"))
	}
	if p := multiPlan(ctx, t, base, withDev); len(p.Steps) != 0 {
		t.Fatalf("after adding dev the plan has %d steps: %+v", len(p.Steps), p.Steps)
	}

	// A child of an image that lives in us-east-1, baked now in eu-west-1
	// (dev's): from a copy of its parent there.
	rebaked := multiRelease(t, append([]multiEnv{dev}, envs...), "2", "echo rebaked")
	fakeBuilders(t, placementConfig(base, dev.key))
	m, _ = multiApply(ctx, t, base, rebaked, 0)
	live := multiServing(ctx, t, m, rebaked)
	if p := multiPlan(ctx, t, base, rebaked); len(p.Steps) != 0 {
		t.Fatalf("after the rebake the plan has %d steps: %+v", len(p.Steps), p.Steps)
	}
	// The old image went where it was, with its copy in eu-west-1.
	old := imageRef(before, "app")
	if len(live.Images) != 1 || imageRef(live, "app") == old {
		t.Fatalf("images after the rebake: %+v, want only the new one", live.Images)
	}
	if ims, err := ec2.NewFromConfig(base).DescribeImages(ctx, &ec2.DescribeImagesInput{ImageIds: []string{old}}); err == nil && len(ims.Images) > 0 && ims.Images[0].State != ec2types.ImageStateDeregistered {
		t.Fatalf("the old image %s is still in us-east-1", old)
	}
	if n := len(copiesOf(ctx, t, ec2.NewFromConfig(placementConfig(base, dev.key)), old)); n != 0 {
		t.Fatalf("%d copies of the old image are left in eu-west-1", n)
	}

	lock := cloud.LockRequest{Project: v1.Project, Env: "gone", Owner: "test", Lease: time.Minute}
	if err := m.Lock(ctx, lock); err != nil {
		t.Fatalf("locking an environment that left the spec: %v", err)
	}
	if err := m.Unlock(ctx, v1.Project, "gone", "test"); err != nil {
		t.Fatal(err)
	}
}

// TestScopeOfAnotherCloudsEnvironmentReadsNoOtherPlacement: --env naming
// a local environment is not an AWS environment that left the spec,
// whose resources could be in any placement; only one that no cloud of
// the spec has makes a scoped read look everywhere.
func TestScopeOfAnotherCloudsEnvironmentReadsNoOtherPlacement(t *testing.T) {
	a := &placed{placement: placement{envs: []string{"prod"}}}
	b := &placed{placement: placement{envs: []string{"eu"}}}
	m := &Multi{places: []*placed{a, b}, byEnv: map[string]*placed{"prod": a, "eu": b},
		specEnvs: map[string]bool{"prod": true, "eu": true, "dev": true}}
	for scope, want := range map[string][]bool{
		"eu":      {false, true},
		"eu,dev":  {false, true}, // dev is the local cloud's
		"eu,gone": {true, true},  // gone left the spec
		"":        {true, true},
	} {
		var envs []string
		if scope != "" {
			envs = strings.Split(scope, ",")
		}
		if got := m.toRead(envs); !slices.Equal(got, want) {
			t.Errorf("scope %q reads %v, want %v", scope, got, want)
		}
	}
}

// TestEnvironmentMovedToAnotherRegion: staging-eu moves from eu-west-1 to
// us-east-1 (zeu keeps eu-west-1 read). Its new listener serves from a
// pool made in us-east-1, then its old listener, in the other region, is
// detached; the old pool is pruned where it is, and the next plan is
// empty.
func TestEnvironmentMovedToAnotherRegion(t *testing.T) {
	needMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	base := motoConfig(t)
	envs := fourPlacements(t, base)[:2]
	eu2 := multiEnv{name: "zeu", key: placementKey{region: "eu-west-1"}}
	eu2.site = newSiteAt(t, placementConfig(base, eu2.key), 1, "phoenix-zeu")
	envs = append(envs, eu2)
	fakeBuilders(t, base)
	v1 := multiRelease(t, envs, "1", "")
	multiApply(ctx, t, base, v1, -1)
	oldListener := envs[1].site.Listeners[0]

	envs[1].key = placementKey{region: "us-east-1"}
	envs[1].site = newSiteAt(t, base, 1, "phoenix-staging-eu-moved")
	moved := multiRelease(t, envs, "1", "")
	m, p := multiApply(ctx, t, base, moved, -1)
	if i := slices.IndexFunc(p.Steps, func(s planner.Step) bool { return s.Kind == planner.Swap && s.Env == "staging-eu" }); i < 0 || p.Steps[i].MoveFrom != oldListener {
		t.Fatalf("the plan does not move staging-eu's endpoint from %s: %+v", oldListener, p.Steps)
	}
	multiServing(ctx, t, m, moved)
	l, err := elb.NewFromConfig(placementConfig(base, placementKey{region: "eu-west-1"})).DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{oldListener}})
	if err != nil || len(l.Listeners) != 1 || l.Listeners[0].DefaultActions[0].FixedResponseConfig == nil {
		t.Fatalf("the old listener in eu-west-1 still routes to a pool: %+v %v", l, err)
	}
	if p := multiPlan(ctx, t, base, moved); len(p.Steps) != 0 {
		t.Fatalf("after the move the plan has %d steps: %+v", len(p.Steps), p.Steps)
	}
}
