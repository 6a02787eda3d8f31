package aws

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/compiler"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
)

// releaseSpec is a realistic spec on AWS: a two-layer image chain with
// files, two roles, staging then prod (prod after staging) with different
// retention, a secret reference, and web's VERSION as the knob a release
// turns.
const releaseSpec = `package phoenix

project: "shop"
images: {
	os: from: "ami:%[1]s"
	app: {
		parent: "os"
		files: {"/opt/app/index.html": "app/index.html"}
		steps: ["echo baked > /opt/app/BAKED"%[10]s]
	}
}
roles: {
	web: {image: "app", size: "t3.small", command: "python3 -m http.server $PORT -d /opt/app", port: 8080, count: 2, health: path: "/", smoke: [{path: "/"}]}
	api: {image: "app", command: "python3 -m http.server $PORT", port: 9090, count: 1}
}
_aws: {region: "us-east-1", subnets: [%[2]q, %[3]q], bucket: %[4]q}
environments: {
	staging: {
		cloud: "aws"
		aws: _aws
		retention: {keep: 1, warm: 0}
		roles: web: {endpoint: %[5]q, config: VERSION: %[9]q}
		roles: api: endpoint: %[6]q
	}
	prod: {
		cloud: "aws"
		aws: _aws
		after: ["staging"]
		retention: {keep: 2, warm: 1}
		secrets: DB_PASSWORD: "ssm:/shop/db-password"
		roles: web: {endpoint: %[7]q, config: VERSION: %[9]q}
		roles: api: endpoint: %[8]q
	}
}
`

// release compiles the spec at web VERSION v.
func (s site) release(t testing.TB, v string) *model.Desired {
	t.Helper()
	return s.releaseBaking(t, v, "")
}

// releaseBaking compiles the spec at web VERSION v with one more step in
// the app image when step is not "" (a rebake of app, so of every role).
func (s site) releaseBaking(t testing.TB, v, step string) *model.Desired {
	t.Helper()
	extra := ""
	if step != "" {
		extra = fmt.Sprintf(", %q", step)
	}
	fsys := fstest.MapFS{
		"spec.cue":       {Data: fmt.Appendf(nil, releaseSpec, s.SourceAMI, s.AWS.Subnets[0], s.AWS.Subnets[1], s.AWS.Bucket, s.Listeners[0], s.Listeners[1], s.Listeners[2], s.Listeners[3], v, extra)},
		"app/index.html": {Data: []byte("<h1>shop</h1>\n")},
	}
	d, err := compiler.Load(context.Background(), fsys, compiler.Options{})
	if err != nil {
		t.Fatalf("compiling the release spec: %v", err)
	}
	d.Source = fsys
	d.Commit = "commit-version-" + v
	return d
}

// cycle is one test's view of the cloud across releases.
type cycle struct {
	t         *testing.T
	cfg       aws.Config
	imageKeep int // planner.Options.ImageKeep
}

// open makes the cloud for a release (the cloud takes the spec's
// environments and endpoints at construction, as the CLI does).
func (cy *cycle) open(d *model.Desired) *Cloud {
	c, err := NewFromConfig(cy.cfg, d, motoOptions())
	if err != nil {
		cy.t.Fatal(err)
	}
	return c
}

// plan observes and plans a release.
func (cy *cycle) plan(ctx context.Context, c *Cloud, d *model.Desired) (*planner.Plan, *cloud.Live) {
	cy.t.Helper()
	live, err := c.Observe(ctx, d.Project)
	if err != nil {
		cy.t.Fatalf("observing: %v", err)
	}
	p, err := planner.Make(d, live, planner.Options{ImageKeep: cy.imageKeep})
	if err != nil {
		cy.t.Fatalf("planning: %v", err)
	}
	return p, live
}

// apply plans and applies a release and returns the plan's step counts.
func (cy *cycle) apply(ctx context.Context, d *model.Desired) map[planner.Kind]int {
	cy.t.Helper()
	c := cy.open(d)
	p, _ := cy.plan(ctx, c, d)
	if err := plantest.Apply(ctx, cloud.Set{Name: c}, d, p); err != nil {
		cy.t.Fatalf("applying: %v", err)
	}
	n := map[planner.Kind]int{}
	for _, st := range p.Steps {
		n[st.Kind]++
	}
	return n
}

// serving returns the pool serving each (env/role) and checks that it has
// the desired key and is healthy.
func (cy *cycle) serving(ctx context.Context, d *model.Desired) map[string]string {
	cy.t.Helper()
	live, err := cy.open(d).Observe(ctx, d.Project)
	if err != nil {
		cy.t.Fatal(err)
	}
	pools := map[string]cloud.Pool{}
	for _, p := range live.Pools {
		pools[p.ID] = p
	}
	out := map[string]string{}
	for _, ep := range live.Endpoints {
		ids := ep.Serving()
		if len(ids) != 1 {
			cy.t.Fatalf("endpoint %s/%s serves %v, want one pool", ep.Env, ep.Role, ids)
		}
		out[ep.Env+"/"+ep.Role] = ids[0]
	}
	for _, want := range d.Pools {
		id := out[want.Env+"/"+want.Role]
		p := pools[id]
		if p.Key != want.Key || !p.Healthy || p.State != cloud.PoolReady {
			cy.t.Fatalf("%s/%s is served by %s (key %.8s, healthy %v, %s), want the spec's key %.8s", want.Env, want.Role, id, p.Key, p.Healthy, p.State, want.Key)
		}
	}
	return out
}

// poolCount returns how many pools (env/role) holds now.
func (cy *cycle) poolCount(ctx context.Context, d *model.Desired) map[string]int {
	live, err := cy.open(d).Observe(ctx, d.Project)
	if err != nil {
		cy.t.Fatal(err)
	}
	n := map[string]int{}
	for _, p := range live.Pools {
		n[p.Env+"/"+p.Role]++
	}
	return n
}

func wantSteps(t *testing.T, what string, got map[planner.Kind]int, bake, create, swap, prune int) {
	t.Helper()
	want := map[planner.Kind]int{planner.Bake: bake, planner.Create: create, planner.Swap: swap, planner.Prune: prune}
	for k, n := range want {
		if got[k] != n {
			t.Fatalf("%s: plan has %v, want %d bakes, %d creates, %d swaps, %d prunes", what, got, bake, create, swap, prune)
		}
	}
}

// TestReleaseCycle runs a project through its life on moto with the real
// compiler and planner: first deploy, no change, a config change, a revert
// (swaps only), and more releases until retention prunes; a foreign auto
// scaling group stays untouched throughout.
func TestReleaseCycle(t *testing.T) {
	needMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cy := &cycle{t: t, cfg: motoConfig(t), imageKeep: -1}
	s := newSite(t, cy.cfg, 4)
	fakeBuilders(t, cy.cfg)
	intact := foreignGroup(t, cy.cfg, s)

	v1 := s.release(t, "1")
	wantSteps(t, "first deploy", cy.apply(ctx, v1), 2, 4, 4, 0)
	first := cy.serving(ctx, v1)

	p, _ := cy.plan(ctx, cy.open(v1), v1)
	if len(p.Steps) != 0 {
		t.Fatalf("no change: plan has %d steps, want none: %+v", len(p.Steps), p.Steps)
	}

	v2 := s.release(t, "2")
	wantSteps(t, "config change", cy.apply(ctx, v2), 0, 2, 2, 0)
	second := cy.serving(ctx, v2)
	for _, k := range []string{"staging/api", "prod/api"} {
		if second[k] != first[k] {
			t.Errorf("%s changed pool on a web-only change: %s -> %s", k, first[k], second[k])
		}
	}

	// Revert: the retained v1 pools are swapped back, nothing is baked or
	// created (staging's v1 pool was cold: the swap warms it).
	wantSteps(t, "revert", cy.apply(ctx, v1), 0, 0, 2, 0)
	if got := cy.serving(ctx, v1); fmt.Sprint(got) != fmt.Sprint(first) {
		t.Fatalf("revert serves %v, want the first deploy's pools %v", got, first)
	}

	// Two more releases: staging keeps 1 non-serving pool, prod keeps 2.
	cy.apply(ctx, s.release(t, "3"))
	v4 := s.release(t, "4")
	cy.apply(ctx, v4)
	cy.serving(ctx, v4)
	counts := cy.poolCount(ctx, v4)
	for k, want := range map[string]int{"staging/web": 2, "prod/web": 3, "staging/api": 1, "prod/api": 1} {
		if counts[k] != want {
			t.Errorf("%s holds %d pools after four releases, want %d (serving + retention)", k, counts[k], want)
		}
	}
	// The cost of a no-change plan in this steady state (7 pools, one cold).
	counted := cy.cfg.Copy()
	calls := CountCalls(&counted)
	c, err := NewFromConfig(counted, v4, motoOptions())
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if p, _ := cy.plan(ctx, c, v4); len(p.Steps) != 0 {
		t.Fatalf("no change after the releases: plan has %d steps: %+v", len(p.Steps), p.Steps)
	}
	t.Logf("no-change plan after four releases: %d AWS calls %v in %v against moto", calls.Total(), calls.Calls(), time.Since(start).Round(time.Millisecond))
	cy.assertPrunedGone(ctx, v4, first["staging/web"], second["staging/web"], second["prod/web"])
	cy.assertPoolRules(ctx, v4)

	// Three rebakes of app with no unused image kept: the pools on the
	// first app AMI leave retention (prod keeps two), and the AMI and its
	// snapshots go with the plan that prunes the last of them.
	live, err := cy.open(v4).Observe(ctx, v4.Project)
	if err != nil {
		t.Fatal(err)
	}
	oldApp := imageRef(live, "app")
	e := ec2.NewFromConfig(cy.cfg)
	oldSnaps := snapshotsOf(t, e, oldApp)
	cy.imageKeep = 0
	var last *model.Desired
	for i := 5; i <= 7; i++ {
		last = s.releaseBaking(t, fmt.Sprint(i), fmt.Sprintf("echo rebake %d", i))
		if n := cy.apply(ctx, last); n[planner.Bake] != 1 {
			t.Fatalf("release %d: plan has %v, want one bake (app)", i, n)
		}
	}
	cy.serving(ctx, last)
	live, err = cy.open(last).Observe(ctx, last.Project)
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range live.Images {
		if im.Ref == oldApp {
			t.Fatalf("the first app AMI %s survived image retention: %+v", oldApp, live.Images)
		}
	}
	if imageRef(live, "os") == "" {
		t.Fatalf("the parent image os was pruned: %+v", live.Images)
	}
	assertImagesGone(t, e, []string{oldApp}, oldSnaps)
	cy.assertPoolRules(ctx, last)
	if err := intact(t); err != nil {
		t.Fatalf("the foreign group was touched: %v", err)
	}
}

// assertPrunedGone checks in AWS itself that pruned pools left nothing
// behind: no auto scaling group, launch template or target group.
func (cy *cycle) assertPrunedGone(ctx context.Context, d *model.Desired, ids ...string) {
	cy.t.Helper()
	as := autoscaling.NewFromConfig(cy.cfg)
	e := ec2.NewFromConfig(cy.cfg)
	lb := elb.NewFromConfig(cy.cfg)
	for _, id := range ids {
		g, err := as.DescribeAutoScalingGroups(ctx, &autoscaling.DescribeAutoScalingGroupsInput{AutoScalingGroupNames: []string{groupName(d.Project, id)}})
		if err != nil || len(g.AutoScalingGroups) != 0 {
			cy.t.Errorf("pruned pool %s: auto scaling group still there (%v)", id, err)
		}
		if _, err := e.DescribeLaunchTemplates(ctx, &ec2.DescribeLaunchTemplatesInput{LaunchTemplateNames: []string{templateName(d.Project, id)}}); err == nil {
			cy.t.Errorf("pruned pool %s: launch template still there", id)
		}
		if tg, err := lb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{Names: []string{targetGroupName(d.Project, id)}}); err == nil && len(tg.TargetGroups) > 0 {
			cy.t.Errorf("pruned pool %s: target group still there", id)
		}
	}
}

// imageRef returns the AMI of the image called name in live, or "".
func imageRef(live *cloud.Live, name string) string {
	for _, im := range live.Images {
		if im.Name == name {
			return im.Ref
		}
	}
	return ""
}

// assertPoolRules checks in moto that every live pool has its rule on its
// listener (forwarding to its target group, with the pool header and the
// project's tags) and that no other Phoenix rule is left.
func (cy *cycle) assertPoolRules(ctx context.Context, d *model.Desired) {
	cy.t.Helper()
	live, err := cy.open(d).Observe(ctx, d.Project)
	if err != nil {
		cy.t.Fatal(err)
	}
	lb := elb.NewFromConfig(cy.cfg)
	want := map[string]string{} // target group name -> pool id
	for _, p := range live.Pools {
		want[targetGroupName(d.Project, p.ID)] = p.ID
	}
	got := map[string]string{}
	for _, ep := range live.Endpoints {
		rules, err := lb.DescribeRules(ctx, &elb.DescribeRulesInput{ListenerArn: &ep.Address})
		if err != nil {
			cy.t.Fatal(err)
		}
		for _, r := range rules.Rules {
			value, ok := poolCondition(r.Conditions)
			if !ok {
				continue
			}
			tags, err := lb.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{*r.RuleArn}})
			if err != nil || len(tags.TagDescriptions) != 1 {
				cy.t.Fatalf("tags of rule %s: %v", *r.RuleArn, err)
			}
			t := elbTagSet(tags.TagDescriptions[0].Tags)
			tgs, err := lb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{aws.ToString(r.Actions[0].TargetGroupArn)}})
			if err != nil {
				cy.t.Fatalf("the target group of rule %s: %v", *r.RuleArn, err)
			}
			name := aws.ToString(tgs.TargetGroups[0].TargetGroupName)
			if !t.owned(d.Project) || t[tagPool] != want[name] || t[tagEnv] != ep.Env || !strings.HasPrefix(value, t[tagPool]+"/") {
				cy.t.Errorf("rule %s on %s/%s: tags %v, header %q, forwards to %s", *r.RuleArn, ep.Env, ep.Role, t, value, name)
			}
			got[name] = t[tagPool]
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		cy.t.Errorf("pool rules for %v, want one per live pool %v", got, want)
	}
}
