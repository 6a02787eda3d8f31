package aws

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// Metering on AWS reads the load balancer's own metrics of the pool's
// target group from CloudWatch: RequestCount, HTTPCode_Target_5XX_Count
// and TargetConnectionErrorCount (failures: a 5xx, or no answer) and the
// p99 of TargetResponseTime. They are one-minute metrics, published a
// little late: a window shorter than a minute or two sees too few
// requests (an inconclusive verdict, extended), so watch AWS releases for
// at least 60 s (traffic.pause, traffic.bake).

// CloudWatchAPI is what metering needs of CloudWatch. The SDK module is
// held at v1.52.8, the last that speaks CloudWatch's query protocol: later
// ones speak only Smithy RPC v2 CBOR, which moto (the AWS tests' stand-in)
// does not answer; AWS answers both.
type CloudWatchAPI interface {
	GetMetricData(ctx context.Context, in *cloudwatch.GetMetricDataInput, opts ...func(*cloudwatch.Options)) (*cloudwatch.GetMetricDataOutput, error)
}

var _ cloud.Meter = (*Cloud)(nil)

// metricPeriod is the resolution of the ALB metrics.
const metricPeriod = 60

// Traffic implements cloud.Meter from the ALB's metrics for the pool's
// target group, in whole minutes from the one holding since.
func (c *Cloud) Traffic(ctx context.Context, project, poolID string, since time.Time) (cloud.TrafficFigures, error) {
	start := since.UTC().Truncate(time.Minute)
	f := cloud.TrafficFigures{Since: start}
	if c.api.CloudWatch == nil {
		return f, fmt.Errorf("reading traffic of pool %s: no CloudWatch client", poolID)
	}
	g, err := c.group(ctx, project, poolID)
	if err != nil {
		return f, fmt.Errorf("reading traffic of pool %s: %w", poolID, err)
	}
	if g == nil {
		return f, fmt.Errorf("reading traffic of pool %s: %w", poolID, cloud.ErrNotFound)
	}
	lb := loadBalancerDimension(asgTagSet(g.Tags)[tagEndpoint])
	if lb == "" || len(g.TargetGroupARNs) == 0 {
		return f, nil // never behind a listener: no traffic
	}
	sums, p99, err := c.metrics(ctx, lb, targetGroupDimension(g.TargetGroupARNs[0]), start, c.opt.Now().UTC().Add(time.Minute))
	if err != nil {
		return f, fmt.Errorf("reading traffic of pool %s: %w", poolID, err)
	}
	f.Requests = int64(sums["requests"])
	f.Failures = int64(sums["target5xx"] + sums["connErrors"])
	f.Requests = max(f.Requests, f.Failures)
	f.P99 = time.Duration(p99 * float64(time.Second))
	return f, nil
}

// metrics sums the count metrics over [start, end) and returns the worst
// minute's p99 answer time, in seconds.
func (c *Cloud) metrics(ctx context.Context, lb, tg string, start, end time.Time) (map[string]float64, float64, error) {
	dims := []cwtypes.Dimension{{Name: aws.String("LoadBalancer"), Value: aws.String(lb)}, {Name: aws.String("TargetGroup"), Value: aws.String(tg)}}
	query := func(id, name, stat string) cwtypes.MetricDataQuery {
		return cwtypes.MetricDataQuery{Id: aws.String(id), MetricStat: &cwtypes.MetricStat{
			Metric: &cwtypes.Metric{Namespace: aws.String("AWS/ApplicationELB"), MetricName: aws.String(name), Dimensions: dims},
			Period: aws.Int32(metricPeriod), Stat: aws.String(stat),
		}}
	}
	in := &cloudwatch.GetMetricDataInput{StartTime: aws.Time(start), EndTime: aws.Time(end), MetricDataQueries: []cwtypes.MetricDataQuery{
		query("requests", "RequestCount", "Sum"),
		query("target5xx", "HTTPCode_Target_5XX_Count", "Sum"),
		query("connErrors", "TargetConnectionErrorCount", "Sum"),
		query("p99", "TargetResponseTime", "p99"),
	}}
	sums := map[string]float64{}
	p99 := 0.0
	for {
		out, err := c.api.CloudWatch.GetMetricData(ctx, in)
		if err != nil {
			return nil, 0, classify("reading CloudWatch metrics of "+tg, err)
		}
		for _, r := range out.MetricDataResults {
			for _, v := range r.Values {
				if math.IsNaN(v) {
					continue
				}
				if id := aws.ToString(r.Id); id == "p99" {
					p99 = max(p99, v)
				} else {
					sums[id] += v
				}
			}
		}
		if out.NextToken == nil {
			return sums, p99, nil
		}
		in.NextToken = out.NextToken
	}
}

// loadBalancerDimension turns a listener ARN
// (arn:…:listener/app/NAME/LB-ID/LISTENER-ID) into the LoadBalancer
// dimension of its metrics (app/NAME/LB-ID); "" if it is not one.
func loadBalancerDimension(listenerARN string) string {
	_, res, ok := strings.Cut(listenerARN, ":listener/")
	parts := strings.Split(res, "/")
	if !ok || len(parts) != 4 {
		return ""
	}
	return strings.Join(parts[:3], "/")
}

// targetGroupDimension turns a target group ARN
// (arn:…:targetgroup/NAME/ID) into its metrics' TargetGroup dimension
// (targetgroup/NAME/ID).
func targetGroupDimension(arn string) string {
	if i := strings.LastIndex(arn, ":targetgroup/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
