package aws

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"golang.org/x/sync/errgroup"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// Reading load balancers in pages
//
// What serves an endpoint is its listener's default action, which
// DescribeListeners returns for up to 400 listeners of a load balancer a
// call; a target group that no listener action or rule of a load balancer
// uses is not health-checked, and DescribeTargetGroups by load balancer
// returns, a page at a time, the target groups that are used. Two paged
// calls per load balancer therefore tell Observe what every endpoint
// routes to and which pools the load balancer checks, where reading each
// listener's rules and each pool's target health cost a call per endpoint
// and per pool. With many load balancers (a fleet: an ALB holds at most 50
// listeners), one listing of the account's target groups, 400 a page,
// replaces the second call per load balancer.

// balancerOf returns the load balancer of a listener ARN
// (arn:…:listener/app/NAME/LB-ID/LISTENER-ID → arn:…:loadbalancer/app/NAME/LB-ID),
// or "" if the ARN is not a listener's.
func balancerOf(listener string) string {
	i := strings.LastIndex(listener, "/")
	if i < 0 || !strings.Contains(listener, ":listener/") {
		return ""
	}
	return strings.Replace(listener[:i], ":listener/", ":loadbalancer/", 1)
}

// balancers is what the paged reads of some load balancers found.
type balancers struct {
	// listeners are the listeners found, with their default actions.
	listeners map[string]elbtypes.Listener
	// used are the target groups some listener action or rule of the load
	// balancers forwards to, by ARN.
	used map[string]elbtypes.TargetGroup
}

// readBalancers reads the listeners and the used target groups of the
// load balancers of listeners, up to two paged calls per load balancer, in
// parallel. Listeners whose ARN names no load balancer are read by ARN.
// A load balancer that is gone has no listeners.
func (c *Cloud) readBalancers(ctx context.Context, listeners []string) (*balancers, error) {
	lbs := map[string]bool{}
	var loose []string
	for _, l := range listeners {
		if lb := balancerOf(l); lb != "" {
			lbs[lb] = true
		} else {
			loose = append(loose, l)
		}
	}
	out := &balancers{listeners: map[string]elbtypes.Listener{}, used: map[string]elbtypes.TargetGroup{}}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(observeFanout)
	perBalancer := len(lbs) <= perBalancerListings
	for _, lb := range sortedKeys(lbs) {
		g.Go(func() error {
			ls, err := c.balancerListenersOf(gctx, lb)
			if err != nil {
				return err
			}
			var tgs []elbtypes.TargetGroup
			if perBalancer {
				tgs, err = c.usedTargetGroups(gctx, lb)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, l := range ls {
				out.listeners[aws.ToString(l.ListenerArn)] = l
			}
			for _, tg := range tgs {
				out.used[aws.ToString(tg.TargetGroupArn)] = tg
			}
			return err
		})
	}
	if !perBalancer {
		g.Go(func() error {
			tgs, err := c.targetGroupsUsedBy(gctx, lbs)
			mu.Lock()
			defer mu.Unlock()
			for _, tg := range tgs {
				out.used[aws.ToString(tg.TargetGroupArn)] = tg
			}
			return err
		})
	}
	for _, l := range loose {
		g.Go(func() error {
			found, err := c.listenerByARN(gctx, l)
			if err != nil || found == nil {
				return err
			}
			mu.Lock()
			out.listeners[l] = *found
			mu.Unlock()
			return nil
		})
	}
	return out, g.Wait()
}

// balancerListenersOf lists the listeners of a load balancer (pages of 400).
func (c *Cloud) balancerListenersOf(ctx context.Context, lb string) ([]elbtypes.Listener, error) {
	var out []elbtypes.Listener
	p := elb.NewDescribeListenersPaginator(c.api.ELB, &elb.DescribeListenersInput{LoadBalancerArn: &lb, PageSize: aws.Int32(400)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if hasCode(err, "LoadBalancerNotFound") {
			return nil, nil
		}
		if err != nil {
			return nil, classify("listing the listeners of "+lb, err)
		}
		out = append(out, page.Listeners...)
	}
	return out, nil
}

// usedTargetGroups lists the target groups a load balancer routes to
// (pages of 400). None is an error to the API, not to Phoenix.
func (c *Cloud) usedTargetGroups(ctx context.Context, lb string) ([]elbtypes.TargetGroup, error) {
	var out []elbtypes.TargetGroup
	p := elb.NewDescribeTargetGroupsPaginator(c.api.ELB, &elb.DescribeTargetGroupsInput{LoadBalancerArn: &lb, PageSize: aws.Int32(400)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if hasCode(err, "LoadBalancerNotFound", "TargetGroupNotFound") {
			return out, nil
		}
		if err != nil {
			return nil, classify("listing the target groups of "+lb, err)
		}
		out = append(out, page.TargetGroups...)
	}
	return out, nil
}

// perBalancerListings is how many load balancers Observe asks for their
// target groups one by one; with more, one listing of the account's
// target groups (400 a page) costs fewer calls.
var perBalancerListings = 8

// targetGroupsUsedBy lists the account's target groups (pages of 400) and
// returns those some of the load balancers use.
func (c *Cloud) targetGroupsUsedBy(ctx context.Context, lbs map[string]bool) ([]elbtypes.TargetGroup, error) {
	var out []elbtypes.TargetGroup
	p := elb.NewDescribeTargetGroupsPaginator(c.api.ELB, &elb.DescribeTargetGroupsInput{PageSize: aws.Int32(400)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, classify("listing target groups", err)
		}
		for _, tg := range page.TargetGroups {
			if slices.ContainsFunc(tg.LoadBalancerArns, func(lb string) bool { return lbs[lb] }) {
				out = append(out, tg)
			}
		}
	}
	return out, nil
}

// listenerByARN reads one listener, or nil if it does not exist.
func (c *Cloud) listenerByARN(ctx context.Context, arn string) (*elbtypes.Listener, error) {
	out, err := c.api.ELB.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{arn}})
	if hasCode(err, "ListenerNotFound") {
		return nil, nil
	}
	if err != nil {
		return nil, classify("describing listener "+arn, err)
	}
	if len(out.Listeners) == 0 {
		return nil, nil
	}
	return &out.Listeners[0], nil
}

// defaultsOf returns what the listeners serve, read from their default
// actions: a listener the spec names that does not exist is an error,
// one known only from a pool's tags is left out.
func (c *Cloud) defaultsOf(b *balancers, listeners []string) (map[string]*listenerState, error) {
	out := map[string]*listenerState{}
	for _, arn := range listeners {
		l, ok := b.listeners[arn]
		if !ok {
			if _, named := c.listeners[arn]; named {
				return nil, c.missingListenerError(arn)
			}
			continue
		}
		out[arn] = &listenerState{arn: arn, defaults: forwardTargets(l.DefaultActions), used: map[int]bool{}}
	}
	return out, nil
}

// routingListeners returns the listeners that may route to the target
// groups: those of the load balancers each one is attached to
// (TargetGroup.LoadBalancerArns, which names every load balancer whose
// default action or rule forwards to it), read a page of 400 at a time. It
// is what the action-time "does it serve?" checks read, so that their
// cost is the pool's own, not the project's.
func (c *Cloud) routingListeners(ctx context.Context, tgs []elbtypes.TargetGroup) (map[string]elbtypes.Listener, error) {
	lbs := map[string]bool{}
	for _, tg := range tgs {
		for _, lb := range tg.LoadBalancerArns {
			lbs[lb] = true
		}
	}
	out := map[string]elbtypes.Listener{}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(observeFanout)
	for _, lb := range sortedKeys(lbs) {
		g.Go(func() error {
			ls, err := c.balancerListenersOf(gctx, lb)
			mu.Lock()
			defer mu.Unlock()
			for _, l := range ls {
				out[aws.ToString(l.ListenerArn)] = l
			}
			return err
		})
	}
	return out, g.Wait()
}

// targetGroupsByARN describes target groups by ARN in one call; those
// that are gone are left out.
func (c *Cloud) targetGroupsByARN(ctx context.Context, arns []string) ([]elbtypes.TargetGroup, error) {
	if len(arns) == 0 {
		return nil, nil
	}
	out, err := c.api.ELB.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: arns})
	if hasCode(err, "TargetGroupNotFound") && len(arns) > 1 {
		var all []elbtypes.TargetGroup // one is gone: ask for each
		for _, arn := range arns {
			tgs, err := c.targetGroupsByARN(ctx, []string{arn})
			if err != nil {
				return nil, err
			}
			all = append(all, tgs...)
		}
		return all, nil
	}
	if hasCode(err, "TargetGroupNotFound") {
		return nil, nil
	}
	if err != nil {
		return nil, classify("describing target groups", err)
	}
	return out.TargetGroups, nil
}

// servesByDefault returns an error wrapping ErrServing if the default
// action of one of the listeners forwards to one of tgs.
func servesByDefault(poolID string, ls map[string]elbtypes.Listener, tgs []string) error {
	for _, arn := range sortedKeys(ls) {
		for _, tg := range tgs {
			if forwardsTo(forwardTargets(ls[arn].DefaultActions), tg) {
				return fmt.Errorf("pool %s is behind %s: %w", poolID, arn, cloud.ErrServing)
			}
		}
	}
	return nil
}
