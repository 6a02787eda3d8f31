package aws

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// SmokeMode says how a new pool's smoke checks and warm-up requests reach
// it.
type SmokeMode string

const (
	// SmokeBalancer sends them through the endpoint's load balancer, to
	// its DNS name and the listener's port, with the pool's rule header
	// (X-Phoenix-Pool), which routes them to the new pool only. It needs a
	// network path to the load balancer (an internet-facing one, or
	// Phoenix inside the VPC for an internal one). Each check runs once per
	// server the pool has; the load balancer picks the server. This is
	// the default.
	SmokeBalancer SmokeMode = ""
	// SmokeDirect sends them to each server's private address, which needs
	// Phoenix to run inside the VPC.
	SmokeDirect SmokeMode = "direct"
	// SmokeOff skips them: the load balancer's health checks, passed on
	// every server, are the pool's only gate.
	SmokeOff SmokeMode = "off"
)

// ParseSmokeMode reads PHOENIX_AWS_SMOKE: "" or "balancer", "direct", "off".
func ParseSmokeMode(s string) (SmokeMode, error) {
	switch s {
	case "", "balancer", "lb":
		return SmokeBalancer, nil
	case "direct":
		return SmokeDirect, nil
	case "off":
		return SmokeOff, nil
	}
	return "", fmt.Errorf("smoke mode %q: want balancer (the default), direct or off", s)
}

// smoke runs a new pool's smoke checks and warm-up requests, the way
// Options.Smoke says.
func (c *Cloud) smoke(ctx context.Context, req cloud.CreateRequest, tg string, rule poolRule) error {
	p := req.Pool
	if len(p.Smoke) == 0 && len(p.Warm) == 0 {
		return nil
	}
	switch c.opt.Smoke {
	case SmokeOff:
		logf(req.Log, "pool %s: smoke checks skipped (PHOENIX_AWS_SMOKE=off)", req.ID)
		return nil
	case SmokeDirect:
		addrs, err := c.targetAddrs(ctx, tg, p.Port)
		if err != nil {
			return err
		}
		for _, base := range addrs {
			if err := runSmoke(ctx, c.opt.HTTP, base, nil, p.Smoke, p.Warm); err != nil {
				return unreachable(err, SmokeDirect)
			}
		}
		logf(req.Log, "pool %s: %d smoke checks passed on %d servers", req.ID, len(p.Smoke), len(addrs))
		return nil
	}
	base, https, err := c.balancerURL(ctx, p.Endpoint)
	if err != nil {
		return err
	}
	hc := c.opt.HTTP
	if https {
		hc = insecure(hc)
	}
	hdr := http.Header{poolHeader: {rule.value}}
	for range max(p.Count, 1) {
		if err := runSmoke(ctx, hc, base, hdr, p.Smoke, p.Warm); err != nil {
			return unreachable(err, SmokeBalancer)
		}
	}
	logf(req.Log, "pool %s: %d smoke checks passed %d times through %s", req.ID, len(p.Smoke), max(p.Count, 1), base)
	return nil
}

// unreachable adds what to do to a smoke error that is no answer at all
// (a name that does not resolve, a connection refused or timed out): the
// pool may be fine, and this machine has no network path to it. An answer
// the pool gave (a wrong status or body) is returned as it is.
func unreachable(err error, mode SmokeMode) error {
	var dnsErr *net.DNSError
	var opErr *net.OpError
	if !errors.As(err, &dnsErr) && !errors.As(err, &opErr) {
		return err
	}
	if mode == SmokeDirect {
		return fmt.Errorf("%w\n  the servers' private addresses are not reachable from here: run Phoenix inside the VPC, "+
			"or set PHOENIX_AWS_SMOKE=off to rely on the load balancer's health checks alone", err)
	}
	return fmt.Errorf("%w\n  the load balancer is not reachable from here (an internal load balancer, or a security group "+
		"that does not admit this machine): run Phoenix where it is, set PHOENIX_AWS_SMOKE=direct to check the servers "+
		"from inside the VPC, or PHOENIX_AWS_SMOKE=off to rely on health checks alone", err)
}

// balancerURL returns the base URL of a listener: its load balancer's DNS
// name and its port, and whether it speaks HTTPS.
func (c *Cloud) balancerURL(ctx context.Context, listener string) (string, bool, error) {
	lo, err := c.api.ELB.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{listener}})
	if hasCode(err, "ListenerNotFound") || (err == nil && len(lo.Listeners) == 0) {
		return "", false, c.missingListenerError(listener)
	}
	if err != nil {
		return "", false, classify("reading listener "+listener, err)
	}
	l := lo.Listeners[0]
	bo, err := c.api.ELB.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{aws.ToString(l.LoadBalancerArn)}})
	if err != nil {
		return "", false, classify("reading the load balancer of listener "+listener, err)
	}
	if len(bo.LoadBalancers) == 0 || aws.ToString(bo.LoadBalancers[0].DNSName) == "" {
		return "", false, fmt.Errorf("the load balancer of listener %s has no DNS name", listener)
	}
	scheme := "http"
	https := l.Protocol == elbtypes.ProtocolEnumHttps
	if https {
		scheme = "https"
	}
	return fmt.Sprintf("%s://%s:%d", scheme, aws.ToString(bo.LoadBalancers[0].DNSName), aws.ToInt32(l.Port)), https, nil
}

// insecure returns hc without certificate verification: smoke requests
// reach an HTTPS listener by its load balancer's AWS name, which the
// listener's certificate (made for the service's own name) does not cover.
// The request carries only the pool's rule header.
func insecure(hc *http.Client) *http.Client {
	t, ok := hc.Transport.(*http.Transport)
	if hc.Transport == nil {
		t, ok = http.DefaultTransport.(*http.Transport)
	}
	if !ok {
		return hc // a transport of the caller's own: it knows best
	}
	t = t.Clone()
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{}
	}
	t.TLSClientConfig.InsecureSkipVerify = true //nolint:gosec // see the doc comment
	out := *hc
	out.Transport = t
	return &out
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

// runSmoke checks one server, or the pool behind base with the header
// hdr: each smoke check's status and body, then each warm-up request (any
// answer below 500 will do).
func runSmoke(ctx context.Context, hc *http.Client, base string, hdr http.Header, checks []model.Smoke, warm []string) error {
	for _, s := range checks {
		status, body, err := get(ctx, hc, base+s.Path, hdr)
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
		status, _, err := get(ctx, hc, base+w, hdr)
		if err != nil {
			return fmt.Errorf("warm-up %s on %s: %w", w, base, err)
		}
		if status >= 500 {
			return fmt.Errorf("warm-up %s on %s: status %d", w, base, status)
		}
	}
	return nil
}

func get(ctx context.Context, hc *http.Client, url string, hdr http.Header) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return resp.StatusCode, string(b), err
}
