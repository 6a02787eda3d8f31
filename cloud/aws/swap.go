package aws

import (
	"context"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/autoscaling"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// Swap points the listener's default action at the backends' target
// groups in one ModifyListener call: a plain forward for blue-green, a
// weighted forward for a canary step. Backends of weight zero are left out,
// so a pool that takes no traffic is not referenced and can be pruned. A
// cold backend is scaled back up first; a backend that is not healthy now
// is refused with ErrNotReady. Pools that served until now and pools that
// serve from now are tagged with the time (LastServed). No backends
// detaches the endpoint: the listener answers 503 and routes to no pool.
func (c *Cloud) Swap(ctx context.Context, req cloud.SwapRequest) error {
	if req.Endpoint == "" {
		return fmt.Errorf("%s/%s has no endpoint (listener ARN) in the spec", req.Env, req.Role)
	}
	backends, err := cloud.CheckBackends(req.Backends)
	if err != nil {
		return err
	}
	var tgs []elbtypes.TargetGroupTuple
	serving := map[string]string{} // target group -> group name
	rules := &listenerRules{arn: req.Endpoint}
	waited := false
	for _, b := range backends {
		tg, group, w, err := c.readyBackend(ctx, req.Project, b.Pool, rules)
		if err != nil {
			return err
		}
		tgs = append(tgs, elbtypes.TargetGroupTuple{TargetGroupArn: &tg, Weight: aws.Int32(int32(b.Weight))})
		serving[tg] = group
		waited = waited || w
	}
	moving := req.MoveFrom != "" && req.MoveFrom != req.Endpoint
	from := req.Endpoint
	if moving {
		from = req.MoveFrom // what served until now is behind the old listener
	}
	// What served until now: the endpoint's rules as the readiness checks
	// read them a moment ago, read again after a wait for health.
	before := rules.read
	if moving || before == nil || waited {
		var err error
		if before, err = c.readListener(ctx, from); err != nil {
			return err
		}
	}
	action := elbtypes.Action{Type: elbtypes.ActionTypeEnumForward, ForwardConfig: &elbtypes.ForwardActionConfig{TargetGroups: tgs}}
	if len(tgs) == 1 {
		action.TargetGroupArn = tgs[0].TargetGroupArn
	}
	if len(tgs) == 0 {
		action = detached
	}
	if _, err := c.api.ELB.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: &req.Endpoint, DefaultActions: []elbtypes.Action{action}}); err != nil {
		return classify("modifying listener "+req.Endpoint, err)
	}
	if err := c.markServed(ctx, req, before, serving); err != nil {
		return err
	}
	if moving {
		return c.release(ctx, req.MoveFrom)
	}
	return nil
}

// release detaches the listener an endpoint moved away from, as a removed
// environment's endpoint is detached, once the new listener serves: it
// answers 503 and routes to no pool, so the pools behind it can go. The
// listener itself is not Phoenix's to delete.
func (c *Cloud) release(ctx context.Context, listener string) error {
	_, err := c.api.ELB.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: &listener, DefaultActions: []elbtypes.Action{detached}})
	if err != nil {
		return classify("detaching listener "+listener+" the endpoint moved from", err)
	}
	return nil
}

// detached is the default action of a listener that routes to no pool: a
// plain 503, so the load balancer (which is not Phoenix's) stays up and
// says that nothing serves.
var detached = elbtypes.Action{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
	StatusCode: aws.String("503"), ContentType: aws.String("text/plain"), MessageBody: aws.String("no pool serves this endpoint\n"),
}}

// readyBackend returns the target group and group of a pool that may take
// traffic now, warming it first if it is cold, and whether it waited for
// its health. The pool's rule on the endpoint's listener (rules, read once
// for all the swap's backends) is made again if it is missing (a pool from
// before pool rules, or one deleted by hand): without it a pool that does
// not serve is not health-checked.
func (c *Cloud) readyBackend(ctx context.Context, project, poolID string, rules *listenerRules) (tg, group string, waited bool, err error) {
	g, err := c.group(ctx, project, poolID)
	if err != nil {
		return "", "", false, err
	}
	if g == nil || len(g.TargetGroupARNs) == 0 {
		return "", "", false, fmt.Errorf("pool %s: %w", poolID, cloud.ErrNotFound)
	}
	if asgTagSet(g.Tags)[tagState] == stateFailed {
		return "", "", false, fmt.Errorf("pool %s failed: %w", poolID, cloud.ErrNotReady)
	}
	if drifted(*g, asgTagSet(g.Tags)[tagAMI]) {
		return "", "", false, fmt.Errorf("pool %s has servers that do not match its image: %w", poolID, cloud.ErrNotReady)
	}
	tg = g.TargetGroupARNs[0]
	count := int(aws.ToInt32(g.MaxSize))
	_, added, err := c.ensureRuleIn(ctx, rules, poolID, tg, asgTagSet(g.Tags))
	if err != nil {
		return "", "", false, err
	}
	// A group tagged cold at full size is one whose warm-up was cut
	// short: it is confirmed healthy and tagged ready as any cold one.
	cold := aws.ToInt32(g.DesiredCapacity) < int32(count) || asgTagSet(g.Tags)[tagState] == stateCold
	waited = cold || added
	switch {
	case cold:
		if err := c.warm(ctx, *g, count, nil); err != nil {
			return "", "", waited, fmt.Errorf("pool %s: %w", poolID, err)
		}
	case added:
		if err := c.waitHealthy(ctx, tg, count, c.opt.HealthTimeout, nil); err != nil {
			return "", "", waited, fmt.Errorf("pool %s: %w", poolID, err)
		}
	}
	n, why, err := c.healthyTargets(ctx, tg)
	if err != nil {
		return "", "", waited, err
	}
	if n < count {
		return "", "", waited, fmt.Errorf("pool %s: %d of %d servers healthy%s: %w", poolID, n, count, why, cloud.ErrNotReady)
	}
	return tg, aws.ToString(g.AutoScalingGroupName), waited, nil
}

// markServed tags the pools that served before the swap and those that
// serve after it with the time and the endpoint, in one call. The groups
// that served before are found by name, not by listing the project's
// groups: from their pool rules on the listener (a rule's header value
// begins with its pool's id, which names the target group: the project's
// if its name is targetGroupName of that id), else from their target
// groups' tags.
func (c *Cloud) markServed(ctx context.Context, req cloud.SwapRequest, before *listenerState, after map[string]string) error {
	groups := map[string]string{}
	for tg, g := range after {
		groups[tg] = g
	}
	var served []string
	for _, w := range before.defaults {
		if _, ok := groups[w.tg]; ok || w.weight <= 0 {
			continue
		}
		if id, ok := before.poolOf(req.Project, w.tg); ok {
			groups[w.tg] = groupName(req.Project, id)
			continue
		}
		served = append(served, w.tg)
	}
	if len(served) > 0 {
		tags, err := c.elbTags(ctx, served)
		if err != nil {
			return err
		}
		for _, tg := range served {
			if t := tags[tg]; t.owned(req.Project) && t[tagPool] != "" {
				groups[tg] = groupName(req.Project, t[tagPool])
			}
		}
	}
	now := stamp(c.opt.Now())
	// One backend left after CheckBackends takes all the traffic: the swap
	// completes a release.
	released := ""
	if len(after) == 1 {
		for _, g := range after {
			released = g
		}
	}
	all := map[string]tagSet{}
	for _, g := range groups {
		tags := tagSet{tagLastServed: now, tagEndpoint: req.Endpoint}
		if g == released {
			tags[tagReleased] = now
		}
		all[g] = tags
	}
	return c.setManyTags(ctx, all)
}

// weighted is one target group of a listener's default action, with its
// share in percent.
type weighted struct {
	tg     string
	weight int
}

// forwardTargets returns the target groups a listener's default forward
// action routes to, with weights normalised to percent.
func forwardTargets(actions []elbtypes.Action) []weighted {
	var ws []weighted
	for _, a := range actions {
		if a.Type != elbtypes.ActionTypeEnumForward {
			continue
		}
		if a.ForwardConfig != nil && len(a.ForwardConfig.TargetGroups) > 0 {
			total := 0
			for _, t := range a.ForwardConfig.TargetGroups {
				total += int(aws.ToInt32(t.Weight))
			}
			for _, t := range a.ForwardConfig.TargetGroups {
				w := 100 / len(a.ForwardConfig.TargetGroups)
				if total > 0 {
					w = int(aws.ToInt32(t.Weight)) * 100 / total
				}
				ws = append(ws, weighted{tg: aws.ToString(t.TargetGroupArn), weight: w})
			}
			continue
		}
		if a.TargetGroupArn != nil {
			ws = append(ws, weighted{tg: *a.TargetGroupArn, weight: 100})
		}
	}
	return ws
}

// projectListeners are the listeners a project's pools may be behind: those
// the spec names and those recorded on the pools at swap time.
func (c *Cloud) projectListeners(groups []asgtypes.AutoScalingGroup, scope []string) []string {
	set := map[string]bool{}
	for _, l := range c.specListeners(scope) {
		set[l] = true
	}
	for _, g := range groups {
		if l := asgTagSet(g.Tags)[tagEndpoint]; l != "" {
			set[l] = true
		}
	}
	return sortedKeys(set)
}

// servingCheck reads the rules of listeners and returns an error
// wrapping ErrServing if a default action routes to one of tgs (with
// others, a rule that is not Phoenix's too). Pool rules never count: they
// only keep a pool health-checked. It returns what it read.
func (c *Cloud) servingCheck(ctx context.Context, poolID string, tgs, listeners []string, others bool) (map[string]*listenerState, error) {
	if len(tgs) == 0 {
		return nil, nil
	}
	ls, err := c.readListeners(ctx, listeners)
	if err != nil {
		return nil, err
	}
	for _, arn := range sortedKeys(ls) {
		for _, tg := range tgs {
			if forwardsTo(ls[arn].defaults, tg) {
				return nil, fmt.Errorf("pool %s is behind %s: %w", poolID, arn, cloud.ErrServing)
			}
			if others && forwardsTo(ls[arn].others, tg) {
				return nil, fmt.Errorf("a rule of listener %s that is not Phoenix's routes to pool %s: %w", arn, poolID, cloud.ErrServing)
			}
		}
	}
	return ls, nil
}

// scale sets a group's size (min and desired; max stays the pool's count).
// What this cloud remembers of the group is forgotten: its instances
// follow the new size.
func (c *Cloud) scale(ctx context.Context, g asgtypes.AutoScalingGroup, n int) error {
	done := c.writingGroups(aws.ToString(g.AutoScalingGroupName))
	_, err := c.api.AutoScaling.UpdateAutoScalingGroup(ctx, &autoscaling.UpdateAutoScalingGroupInput{
		AutoScalingGroupName: g.AutoScalingGroupName,
		MinSize:              aws.Int32(int32(n)),
		DesiredCapacity:      aws.Int32(int32(n)),
	})
	done(false, nil)
	return classify("scaling "+aws.ToString(g.AutoScalingGroupName), err)
}

// SetWarm scales a non-serving pool to zero (cold) or back to its count
// (warm, waiting until healthy). Cooling a pool that serves is refused with
// ErrServing. Cooling writes no tag (a ready group of desired capacity
// zero is cold); warming a pool tagged cold (by an older Phoenix) tags it
// ready.
func (c *Cloud) SetWarm(ctx context.Context, project, poolID string, warm bool) error {
	g, err := c.group(ctx, project, poolID)
	if err != nil {
		return err
	}
	if g == nil {
		return fmt.Errorf("pool %s: %w", poolID, cloud.ErrNotFound)
	}
	count := int(aws.ToInt32(g.MaxSize))
	if !warm {
		tgs, err := c.targetGroupsByARN(ctx, g.TargetGroupARNs)
		if err != nil {
			return err
		}
		ls, err := c.routingListeners(ctx, tgs)
		if err != nil {
			return err
		}
		if err := servesByDefault(poolID, ls, g.TargetGroupARNs); err != nil {
			return err
		}
		// No cold tag: a ready pool scaled to zero reads as cold
		// (livePool), and the tag would decide nothing.
		return c.scale(ctx, *g, 0)
	}
	if len(g.TargetGroupARNs) == 0 {
		return fmt.Errorf("pool %s has no target group: %w", poolID, cloud.ErrNotFound)
	}
	tg := g.TargetGroupARNs[0]
	if listener := c.poolListener(*g); listener != "" {
		if _, _, err := c.ensureRule(ctx, listener, poolID, tg, asgTagSet(g.Tags)); err != nil {
			return err
		}
	}
	if err := c.warm(ctx, *g, count, nil); err != nil {
		return fmt.Errorf("warming pool %s: %w", poolID, err)
	}
	return nil
}

// warm starts a cold group's servers and waits until they are healthy.
// Until then the group is tagged cold: cooling writes no tag (a ready
// group of size zero reads cold), so without it a warm-up that fails,
// times out or is cut short would leave a ready group that reads
// unhealthy, which retention prunes, where one that reads cold is warmed
// again the next time it is needed.
func (c *Cloud) warm(ctx context.Context, g asgtypes.AutoScalingGroup, count int, log io.Writer) error {
	name := aws.ToString(g.AutoScalingGroupName)
	if asgTagSet(g.Tags)[tagState] != stateCold {
		if err := c.setTags(ctx, name, tagSet{tagState: stateCold}); err != nil {
			return err
		}
	}
	if aws.ToInt32(g.DesiredCapacity) < int32(count) {
		if err := c.scale(ctx, g, count); err != nil {
			return err
		}
	}
	if err := c.waitHealthy(ctx, g.TargetGroupARNs[0], count, c.opt.HealthTimeout, log); err != nil {
		return err
	}
	return c.setTags(ctx, name, tagSet{tagState: stateReady})
}

// poolListener is the listener a pool is behind: the endpoint it was made
// for, else the one the spec names for its environment and role.
func (c *Cloud) poolListener(g asgtypes.AutoScalingGroup) string {
	t := asgTagSet(g.Tags)
	if l := t[tagEndpoint]; l != "" {
		return l
	}
	for _, arn := range sortedKeys(c.listeners) {
		if ref := c.listeners[arn]; ref.env == t[tagEnv] && ref.role == t[tagRole] {
			return arn
		}
	}
	return ""
}
