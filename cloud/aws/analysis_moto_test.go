package aws

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/cloudtest"
	"github.com/phoenix-gitops/phoenix/executor"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

// publishing writes ALB metrics for a pool's target group to moto's
// CloudWatch as soon as its bake window starts, as the load balancer would
// while the pool serves: requests and 5xx answers, in the metric names and
// dimensions of AWS/ApplicationELB.
type publishing struct {
	executor.NopHooks
	t                  *testing.T
	c                  *Cloud
	cw                 *cloudwatch.Client
	project            string
	requests, failures float64

	mu  sync.Mutex
	err error
}

func (h *publishing) Log(s *planner.Step, line string) {
	if !strings.HasPrefix(line, "bake: watching") {
		return
	}
	err := h.publish(s.Pool)
	h.mu.Lock()
	h.err = err
	h.mu.Unlock()
}

func (h *publishing) publish(poolID string) error {
	ctx := context.Background()
	g, err := h.c.group(ctx, h.project, poolID)
	if err != nil || g == nil {
		return err
	}
	dims := []cwtypes.Dimension{
		{Name: aws.String("LoadBalancer"), Value: aws.String(loadBalancerDimension(asgTagSet(g.Tags)[tagEndpoint]))},
		{Name: aws.String("TargetGroup"), Value: aws.String(targetGroupDimension(g.TargetGroupARNs[0]))},
	}
	now := time.Now()
	_, err = h.cw.PutMetricData(ctx, &cloudwatch.PutMetricDataInput{Namespace: aws.String("AWS/ApplicationELB"), MetricData: []cwtypes.MetricDatum{
		{MetricName: aws.String("RequestCount"), Dimensions: dims, Value: aws.Float64(h.requests), Timestamp: &now, Unit: cwtypes.StandardUnitCount},
		{MetricName: aws.String("HTTPCode_Target_5XX_Count"), Dimensions: dims, Value: aws.Float64(h.failures), Timestamp: &now, Unit: cwtypes.StandardUnitCount},
	}})
	return err
}

// A blue-green release with a bake window on moto passes or is rolled back
// by the figures CloudWatch holds for its target group.
func TestReleaseJudgedOnCloudWatchMetrics(t *testing.T) {
	needMoto(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := motoConfig(t)
	s := newSite(t, cfg, 1)
	fakeBuilders(t, cfg)
	version := func(v string) *model.Desired {
		a := s.AWS
		d := cloudtest.Spec(cloudtest.SpecOptions{Cloud: Name, From: "ami:" + s.SourceAMI, Endpoint: s.Listeners[0], Port: 8080, AWS: &a, Count: 1})
		for _, e := range d.Environments {
			e.Traffic.Bake = 200 * time.Millisecond
			e.Traffic.Analysis = &model.Analysis{MaxErrorRate: 1, MinRequests: 10}
		}
		for _, p := range d.Pools {
			p.Traffic = d.Environments[p.Env].Traffic.Clone()
			p.Config["VERSION"] = v
			p.Key = cloudtest.PoolKey(p)
		}
		return d
	}
	apply := func(d *model.Desired, requests, failures float64) (*executor.Report, *Cloud) {
		t.Helper()
		c, err := NewFromConfig(cfg, d, motoOptions())
		if err != nil {
			t.Fatal(err)
		}
		live, p := observeAndPlan(ctx, t, c, d)
		h := &publishing{t: t, c: c, cw: cloudwatch.NewFromConfig(cfg), project: d.Project, requests: requests, failures: failures}
		e := &executor.Executor{Clouds: cloud.Set{Name: c}, Desired: d, Live: live, Hooks: h,
			Retry: executor.Retry{Attempts: 2, Base: time.Millisecond, Max: time.Millisecond}}
		rep, err := e.Apply(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if h.err != nil {
			t.Fatalf("publishing metrics: %v", h.err)
		}
		return rep, c
	}
	servingPool := func(c *Cloud, d *model.Desired) (string, *cloud.Live) {
		live, err := c.Observe(ctx, d.Project)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range live.Endpoints {
			return cloud.SoleBackend(e.Backends), live
		}
		return "", live
	}

	v1 := version("1")
	if rep, _ := apply(v1, 0, 0); !rep.OK() {
		t.Fatalf("first deploy: %v", rep.Details())
	}
	first := cloud.PoolID(v1.Pools[0].Env, v1.Pools[0].Role, v1.Pools[0].Key, 1)

	// 30 of 100 requests answered 5xx: back to the first pool, rejected.
	v2 := version("2")
	rep, c := apply(v2, 100, 30)
	if rep.OK() || !strings.Contains(strings.Join(rep.Details(), "\n"), "5xx 30.0% of 100 requests > 1%") {
		t.Fatalf("a release failing 30%% of its requests: %v", rep.Details())
	}
	id, live := servingPool(c, v2)
	if id != first {
		t.Fatalf("after the rejection the listener serves %s, want %s", id, first)
	}
	bad := cloud.PoolID(v2.Pools[0].Env, v2.Pools[0].Role, v2.Pools[0].Key, 1)
	for _, p := range live.Pools {
		if p.ID == bad && !strings.Contains(p.Rejected, "5xx 30.0%") {
			t.Fatalf("rejected pool %s: %+v", bad, p)
		}
	}
	if p, _ := planner.Make(v2, live, planner.Options{ImageKeep: -1}); !p.Empty() || p.Endpoints[0].Held == "" {
		t.Fatalf("the plan after the rejection is not held: %+v", p)
	}

	// A clean release of a new commit passes its bake on the metrics.
	v3 := version("3")
	rep, c = apply(v3, 100, 0)
	if !rep.OK() {
		t.Fatalf("a clean release: %v", rep.Details())
	}
	if id, _ := servingPool(c, v3); id != cloud.PoolID(v3.Pools[0].Env, v3.Pools[0].Role, v3.Pools[0].Key, 1) {
		t.Fatalf("after a clean release the listener serves %s", id)
	}
}

func TestMetricDimensions(t *testing.T) {
	lb := loadBalancerDimension("arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2")
	if lb != "app/shop/50dc6c495c0c9188" {
		t.Errorf("load balancer dimension %q", lb)
	}
	if loadBalancerDimension("not an arn") != "" {
		t.Error("a malformed listener ARN gives a dimension")
	}
	tg := targetGroupDimension("arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/phx-web/73e2d6bc24d8a067")
	if tg != "targetgroup/phx-web/73e2d6bc24d8a067" {
		t.Errorf("target group dimension %q", tg)
	}
}
