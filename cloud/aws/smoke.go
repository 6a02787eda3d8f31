package awscloud

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// smoke runs a new pool's smoke checks and warm-up requests against each
// of its servers. They need a network path to the servers' private
// addresses, which Phoenix has only when it runs inside the VPC, so they
// run when Options.Smoke says so; otherwise the load balancer's health
// checks, already passed, are the pool's gate, and the log says so.
func (c *Cloud) smoke(ctx context.Context, req cloud.CreateRequest, tg string) error {
	p := req.Pool
	if len(p.Smoke) == 0 && len(p.Warm) == 0 {
		return nil
	}
	if !c.opt.Smoke {
		logf(req.Log, "pool %s: smoke checks skipped (no network path to private addresses; PHOENIX_AWS_SMOKE=direct runs them from inside the VPC)", req.ID)
		return nil
	}
	addrs, err := c.targetAddrs(ctx, tg, p.Port)
	if err != nil {
		return err
	}
	for _, base := range addrs {
		if err := runSmoke(ctx, c.opt.HTTP, base, p.Smoke, p.Warm); err != nil {
			return err
		}
	}
	logf(req.Log, "pool %s: %d smoke checks passed on %d servers", req.ID, len(p.Smoke), len(addrs))
	return nil
}

// targetAddrs returns http://IP:port for every target of the group.
func (c *Cloud) targetAddrs(ctx context.Context, tg string, port int) ([]string, error) {
	th, err := c.api.ELB.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: &tg})
	if err != nil {
		return nil, classify("reading targets", err)
	}
	var ids []string
	for _, d := range th.TargetHealthDescriptions {
		if d.Target != nil && d.Target.Id != nil {
			ids = append(ids, *d.Target.Id)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	out, err := c.api.EC2.DescribeInstances(ctx, &ec2.DescribeInstancesInput{InstanceIds: ids})
	if err != nil {
		return nil, classify("describing servers", err)
	}
	var addrs []string
	for _, r := range out.Reservations {
		for _, i := range r.Instances {
			if ip := aws.ToString(i.PrivateIpAddress); ip != "" {
				addrs = append(addrs, fmt.Sprintf("http://%s:%d", ip, port))
			}
		}
	}
	return addrs, nil
}

// runSmoke checks one server: each smoke check's status and body, then
// each warm-up request (any answer below 500 will do).
func runSmoke(ctx context.Context, hc *http.Client, base string, checks []model.Smoke, warm []string) error {
	for _, s := range checks {
		status, body, err := get(ctx, hc, base+s.Path)
		if err != nil {
			return fmt.Errorf("smoke check %s on %s: %w", s.Path, base, err)
		}
		want := s.Status
		if want == 0 {
			want = http.StatusOK
		}
		if status != want {
			return fmt.Errorf("smoke check %s on %s: status %d, want %d", s.Path, base, status, want)
		}
		if s.Contains != "" && !strings.Contains(body, s.Contains) {
			return fmt.Errorf("smoke check %s on %s: body does not contain %q", s.Path, base, s.Contains)
		}
	}
	for _, w := range warm {
		status, _, err := get(ctx, hc, base+w)
		if err != nil {
			return fmt.Errorf("warm-up %s on %s: %w", w, base, err)
		}
		if status >= 500 {
			return fmt.Errorf("warm-up %s on %s: status %d", w, base, status)
		}
	}
	return nil
}

func get(ctx context.Context, hc *http.Client, url string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), err
}
