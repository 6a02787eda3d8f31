package aws

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	"golang.org/x/sync/errgroup"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// Quotas said before they bite
//
// An account caps how many auto scaling groups and target groups a region
// holds, and how many rules and target groups one application load
// balancer takes. A release past one of them used to fail at a create,
// after its bakes and other environments' swaps. CheckQuotas counts what
// the plan's creates add, each pool being a launch template, a target
// group, an auto scaling group and a rule on its endpoint's listener
// (pool.go, rules.go) that puts its target group on that listener's load
// balancer, on top of what is in use now (the peak: prunes run after the
// swaps), against the limits the account tells:
//
//	auto scaling groups      autoscaling DescribeAccountLimits, which also
//	                         tells the use: one call
//	target groups            elasticloadbalancing DescribeAccountLimits
//	                         "target-groups"; use: the region's target
//	                         groups, 400 a page
//	rules per load balancer  "rules-per-application-load-balancer"; use:
//	                         the non-default rules of its listeners, a
//	                         DescribeRules per listener (an ALB has at most
//	                         50), for load balancers the release adds to
//	target groups per load   "target-groups-per-application-load-balancer";
//	balancer                 use: DescribeTargetGroups by load balancer
//
// One describe-limits call per service, then pages, a handful of calls
// per apply, whatever the number of pools. Launch templates have a quota
// (5,000 a region) that no API tells, so it is not checked; the targets a
// load balancer takes are not either (their count costs a call per target
// group). A limit the account does not tell or Phoenix may not read
// (access denied, an emulator that does not implement the call) is
// skipped with one line of warning, never an error.

var _ cloud.QuotaChecker = (*Cloud)(nil)

// quotaAttempts is how often a describe-limits call is tried: the check
// is worth a few seconds, not the minutes of a throttled step's retries.
const quotaAttempts = 3

// quotaUse is one limit, its use now and what the release adds to it.
type quotaUse struct {
	what   string // "auto scaling groups"
	inUse  int
	adds   int
	limit  int
	source string // where the limit was read
	raise  string // how to raise it
	detail string // where the release adds, if it helps
}

// err names the limit if the release would pass it.
func (u quotaUse) err() error {
	if u.inUse+u.adds <= u.limit {
		return nil
	}
	adds := fmt.Sprintf("%d this release adds", u.adds)
	if u.detail != "" {
		adds += " (" + u.detail + ")"
	}
	return fmt.Errorf("quota: %s: %d in use + %s = %d > the account's limit of %d (%s); %s",
		u.what, u.inUse, adds, u.inUse+u.adds, u.limit, u.source, u.raise)
}

// balancerAdds is what a release adds to one application load balancer.
type balancerAdds struct {
	pools     int
	listeners map[string]int // listener ARN -> new pool rules
}

// CheckQuotas implements cloud.QuotaChecker for the pools the plan
// creates in this cloud.
func (c *Cloud) CheckQuotas(ctx context.Context, creates []*model.Pool) (skipped []string, err error) {
	if len(creates) == 0 {
		return nil, nil
	}
	lbs := map[string]*balancerAdds{}
	for _, p := range creates {
		lb := balancerOf(p.Endpoint)
		if !strings.Contains(lb, ":loadbalancer/app/") {
			continue // not an ALB's listener: no rules to count
		}
		if lbs[lb] == nil {
			lbs[lb] = &balancerAdds{listeners: map[string]int{}}
		}
		lbs[lb].pools++
		lbs[lb].listeners[p.Endpoint]++
	}
	var uses []quotaUse
	skip := func(what string, err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		skipped = append(skipped, fmt.Sprintf("quota: %s not checked: %s", what, oneLine(err)))
		return nil
	}

	groups, err := c.groupQuota(ctx, len(creates))
	if err != nil {
		if err := skip("auto scaling groups", err); err != nil {
			return skipped, err
		}
	} else {
		uses = append(uses, groups)
	}

	limits, err := c.elbLimits(ctx)
	if err != nil {
		if err := skip("target groups and load balancer rules", err); err != nil {
			return skipped, err
		}
		limits = map[string]int{}
	}
	if limit, ok := limits["target-groups"]; ok {
		n, err := c.countTargetGroups(ctx)
		if err != nil {
			if err := skip("target groups", err); err != nil {
				return skipped, err
			}
		} else {
			uses = append(uses, quotaUse{what: "target groups", inUse: n, adds: len(creates), limit: limit,
				source: "elasticloadbalancing DescribeAccountLimits target-groups",
				raise:  `ask AWS to raise it (Service Quotas: "Target Groups per Region") or prune first`})
		}
	}
	for _, lb := range sortedKeys(lbs) {
		add := lbs[lb]
		name := balancerName(lb)
		if limit, ok := limits["rules-per-application-load-balancer"]; ok {
			n, ports, err := c.countRules(ctx, lb)
			if err != nil {
				if err := skip("rules of load balancer "+name, err); err != nil {
					return skipped, err
				}
			} else {
				uses = append(uses, quotaUse{what: "rules of load balancer " + name + " (excluding default rules)", inUse: n, adds: add.pools, limit: limit,
					source: "elasticloadbalancing DescribeAccountLimits rules-per-application-load-balancer",
					raise:  `ask AWS to raise it (Service Quotas: "Rules per Application Load Balancer") or prune first`,
					detail: listenerDetail(add.listeners, ports)})
			}
		}
		if limit, ok := limits["target-groups-per-application-load-balancer"]; ok {
			tgs, err := c.usedTargetGroups(ctx, lb)
			if err != nil {
				if err := skip("target groups of load balancer "+name, err); err != nil {
					return skipped, err
				}
			} else {
				uses = append(uses, quotaUse{what: "target groups of load balancer " + name, inUse: len(tgs), adds: add.pools, limit: limit,
					source: "elasticloadbalancing DescribeAccountLimits target-groups-per-application-load-balancer",
					raise:  "AWS does not raise it: prune first (keep fewer retained pools) or serve some endpoints from another load balancer"})
			}
		}
	}
	var errs []error
	for _, u := range uses {
		errs = append(errs, u.err())
	}
	return skipped, errors.Join(errs...)
}

// groupQuota reads the account's limit of auto scaling groups and how many
// there are, in one call.
func (c *Cloud) groupQuota(ctx context.Context, adds int) (quotaUse, error) {
	out, err := c.api.AutoScaling.DescribeAccountLimits(ctx, &autoscaling.DescribeAccountLimitsInput{},
		func(o *autoscaling.Options) { o.RetryMaxAttempts = quotaAttempts })
	if err != nil {
		return quotaUse{}, classify("reading the auto scaling limits", err)
	}
	if out.MaxNumberOfAutoScalingGroups == nil || out.NumberOfAutoScalingGroups == nil {
		return quotaUse{}, errors.New("autoscaling DescribeAccountLimits told no MaxNumberOfAutoScalingGroups")
	}
	return quotaUse{what: "auto scaling groups", inUse: int(*out.NumberOfAutoScalingGroups), adds: adds,
		limit:  int(*out.MaxNumberOfAutoScalingGroups),
		source: "autoscaling DescribeAccountLimits MaxNumberOfAutoScalingGroups",
		raise:  `ask AWS to raise it (Service Quotas: "Auto Scaling groups per region") or prune first`}, nil
}

// elbLimits reads the account's load balancing limits by name; a limit
// whose Max is not a number is left out.
func (c *Cloud) elbLimits(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	var marker *string
	for {
		page, err := c.api.ELB.DescribeAccountLimits(ctx, &elb.DescribeAccountLimitsInput{Marker: marker},
			func(o *elb.Options) { o.RetryMaxAttempts = quotaAttempts })
		if err != nil {
			return nil, classify("reading the load balancing limits", err)
		}
		for _, l := range page.Limits {
			if n, err := strconv.Atoi(aws.ToString(l.Max)); err == nil {
				out[aws.ToString(l.Name)] = n
			}
		}
		if aws.ToString(page.NextMarker) == "" || aws.ToString(page.NextMarker) == aws.ToString(marker) {
			return out, nil
		}
		marker = page.NextMarker
	}
}

// countTargetGroups counts the region's target groups, 400 a page.
func (c *Cloud) countTargetGroups(ctx context.Context) (int, error) {
	n := 0
	p := elb.NewDescribeTargetGroupsPaginator(c.api.ELB, &elb.DescribeTargetGroupsInput{PageSize: aws.Int32(400)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if hasCode(err, "TargetGroupNotFound") {
			return n, nil
		}
		if err != nil {
			return 0, classify("listing target groups", err)
		}
		n += len(page.TargetGroups)
	}
	return n, nil
}

// countRules counts the rules of a load balancer's listeners that are not
// default rules, as its quota does, reading the listeners in parallel, and
// returns the listeners' ports for messages.
func (c *Cloud) countRules(ctx context.Context, lb string) (int, map[string]int32, error) {
	ls, err := c.balancerListenersOf(ctx, lb)
	if err != nil {
		return 0, nil, err
	}
	ports := map[string]int32{}
	var mu sync.Mutex
	total := 0
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(observeFanout)
	for _, l := range ls {
		arn := aws.ToString(l.ListenerArn)
		ports[arn] = aws.ToInt32(l.Port)
		g.Go(func() error {
			st, err := c.readListener(gctx, arn)
			if errors.Is(err, cloud.ErrNotFound) {
				return nil // gone meanwhile: it holds no rules
			}
			if err != nil {
				return err
			}
			mu.Lock()
			total += len(st.used) // the priorities taken: one per rule but the default
			mu.Unlock()
			return nil
		})
	}
	return total, ports, g.Wait()
}

// balancerName is the short name of a load balancer ARN: "app/shop/50dc6c495c0c9188".
func balancerName(arn string) string {
	if _, name, ok := strings.Cut(arn, ":loadbalancer/"); ok {
		return name
	}
	return arn
}

// listenerDetail says on which listeners a release adds rules, by port:
// "+2 on port 8080, +1 on port 8081".
func listenerDetail(adds map[string]int, ports map[string]int32) string {
	ls := sortedKeys(adds)
	slices.SortStableFunc(ls, func(a, b string) int { return cmp.Compare(ports[a], ports[b]) })
	var parts []string
	for _, l := range ls {
		where := l
		if p := ports[l]; p != 0 {
			where = "port " + strconv.Itoa(int(p))
		}
		parts = append(parts, fmt.Sprintf("+%d on %s", adds[l], where))
	}
	return strings.Join(parts, ", ")
}

// oneLine is an error's first line, bounded, for a warning.
func oneLine(err error) string {
	s, _, _ := strings.Cut(err.Error(), "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
