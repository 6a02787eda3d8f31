package aws

import (
	"context"
	"slices"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"
	"golang.org/x/sync/errgroup"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// observeFanout bounds the concurrent reads of Observe.
const observeFanout = 8

// Observe rebuilds the project's live state from tags: its auto scaling
// groups (pools) with their servers' health as the groups report it (they
// use the load balancer's health checks), launch templates or target
// groups left without a group by an interrupted create or prune (reported
// as failed pools, to prune), what the endpoints' listeners serve (their
// default actions, with weights), its AMIs (owned by this account) and its
// locks. With a Scope, only those environments' groups, templates and
// listeners are read. Everything is read in pages, a few calls per hundred pools and
// two per load balancer, never a call per pool or per endpoint: AWS
// throttles per account. Resources without the project's tag are never
// reported.
func (c *Cloud) Observe(ctx context.Context, project string) (*cloud.Live, error) {
	return c.observe(ctx, project, c.scope)
}

// ObserveEnv implements cloud.EnvObserver, for the executor's re-check
// before a swap, a canary hold or a prune: one environment's groups (its
// pools, with their health) and what its listeners serve, whatever the
// Scope. It reads a page of groups, then the rules of the environment's
// listeners, a call each, or where that costs more (more listeners than
// twice their load balancers) the listeners and used target groups of
// their load balancers, a page each. From rules, a pool's target group is
// used (health-checked) if a rule or default action of those listeners
// forwards to it: a pool whose own rule is missing reads unhealthy, as in
// Observe, and so does one that only another listener uses. It reads no
// images, locks or remnants of interrupted creates and prunes (a launch
// template or target group without its group): none of them takes or
// holds traffic.
func (c *Cloud) ObserveEnv(ctx context.Context, project, env string) (*cloud.Live, error) {
	scope := []string{env}
	groups, err := c.projectGroups(ctx, project, scope...)
	if err != nil {
		return nil, err
	}
	return c.liveOf(ctx, project, &tagged{groups: groups}, scope, false)
}

// observe is Observe limited to the environments in scope (all if empty).
func (c *Cloud) observe(ctx context.Context, project string, scope []string) (*cloud.Live, error) {
	t, err := c.readTagged(ctx, project, scope)
	if err != nil {
		return nil, err
	}
	return c.liveOf(ctx, project, t, scope, true)
}

// liveOf reads what the listeners of t's groups and of the spec's
// endpoints in scope serve and builds the live state; with remnants, the
// pools of which only a launch template or a used target group is left
// are reported too (failed, to prune).
func (c *Cloud) liveOf(ctx context.Context, project string, t *tagged, scope []string, remnants bool) (*cloud.Live, error) {
	listeners := c.projectListeners(t.groups, scope)
	var ls map[string]*listenerState
	var used map[string]elbtypes.TargetGroup
	var err error
	if !remnants && rulesCheaper(listeners) {
		ls, err = c.readListeners(ctx, listeners)
		used = usedBy(ls)
	} else {
		var b *balancers
		if b, err = c.readBalancers(ctx, listeners); err == nil {
			ls, err = c.defaultsOf(b, listeners)
			used = b.used
		}
	}
	if err != nil {
		return nil, err
	}
	live := &cloud.Live{Locks: t.locks, Images: liveImages(t.images)}
	byTG := map[string]cloud.Pool{}
	have := map[string]bool{}
	add := func(p cloud.Pool) {
		if !have[p.ID] {
			live.Pools = append(live.Pools, p)
			have[p.ID] = true
		}
	}
	for _, grp := range t.groups {
		h := groupHealth(grp, used)
		p := livePool(grp, h.n, h.why)
		add(p)
		for _, tg := range grp.TargetGroupARNs {
			byTG[tg] = p
		}
	}
	if remnants {
		for _, lt := range t.templates {
			add(halfMade(lt))
		}
		orphans, err := c.orphanTargetGroups(ctx, project, used, byTG, scope)
		if err != nil {
			return nil, err
		}
		for _, p := range orphans {
			add(p)
		}
	}
	sort.Slice(live.Pools, func(i, j int) bool { return live.Pools[i].ID < live.Pools[j].ID })
	live.Endpoints = c.endpoints(listeners, ls, byTG)
	return live, nil
}

// rulesCheaper reports whether reading the rules of listeners, a call
// each, costs fewer calls than readBalancers' pages of their load
// balancers.
func rulesCheaper(listeners []string) bool {
	lbs, loose := map[string]bool{}, 0
	for _, l := range listeners {
		if lb := balancerOf(l); lb != "" {
			lbs[lb] = true
		} else {
			loose++
		}
	}
	pages := len(lbs) + loose + 1 // listeners of each, loose ones by ARN, the account's target groups
	if len(lbs) <= perBalancerListings {
		pages += len(lbs) - 1 // or the used target groups of each
	}
	return len(listeners) < pages
}

// usedBy returns the target groups that a rule or default action of the
// listeners forwards to.
func usedBy(ls map[string]*listenerState) map[string]elbtypes.TargetGroup {
	used := map[string]elbtypes.TargetGroup{}
	for _, l := range ls {
		for _, w := range slices.Concat(l.defaults, l.others) {
			used[w.tg] = elbtypes.TargetGroup{TargetGroupArn: aws.String(w.tg)}
		}
		for _, r := range l.pools {
			used[r.tg] = elbtypes.TargetGroup{TargetGroupArn: aws.String(r.tg)}
		}
	}
	return used
}

// orphanTargetGroups returns the pools of which only a target group that a
// listener rule uses is left: a group and template deleted by hand, or a
// prune cut short. They are reported failed, so that the planner prunes
// them (DeletePool finds the rule through the target group). Their tags
// are read only for Phoenix-named target groups that are no pool's, which
// a steady project has none of; another project's are remembered, not
// read again.
func (c *Cloud) orphanTargetGroups(ctx context.Context, project string, used map[string]elbtypes.TargetGroup, byTG map[string]cloud.Pool, scope []string) ([]cloud.Pool, error) {
	var arns []string
	for _, arn := range sortedKeys(used) {
		if _, ok := byTG[arn]; !ok && strings.HasPrefix(aws.ToString(used[arn].TargetGroupName), tgPrefix) && !c.isForeign(arn) && !c.outOfScope(arn, scope) {
			arns = append(arns, arn)
		}
	}
	if len(arns) == 0 {
		return nil, nil
	}
	tags, err := c.elbTags(ctx, arns)
	if err != nil {
		return nil, err
	}
	var out []cloud.Pool
	for _, arn := range arns {
		t := tags[arn]
		if !t.owned(project) || t[tagPool] == "" {
			c.markForeign(arn)
			continue // another project's pool on a shared load balancer
		}
		if !inScope(scope, t[tagEnv]) {
			c.markEnv(arn, t[tagEnv])
			continue // another environment's: a wider read reports it
		}
		out = append(out, cloud.Pool{
			Cloud: Name, ID: t[tagPool], Env: t[tagEnv], Role: t[tagRole], Key: t[tagKey], Generation: t.int(tagGeneration),
			Commit: t[tagCommit], State: cloud.PoolFailed,
			Reason: "half-made: a target group and its listener rule without their auto scaling group (an interrupted create or prune)",
		})
	}
	return out, nil
}

// groupHealth counts a group's servers that are in service and healthy
// (the group uses the load balancer's health checks) and says why the
// others are not. A cold group has none to count; a target group that no
// listener action or rule uses is not checked by the load balancer at
// all, which for a pool means its listener rule is missing.
func groupHealth(g asgtypes.AutoScalingGroup, used map[string]elbtypes.TargetGroup) health {
	if len(g.TargetGroupARNs) == 0 || aws.ToInt32(g.DesiredCapacity) == 0 {
		return health{}
	}
	if _, ok := used[g.TargetGroupARNs[0]]; !ok {
		return health{why: " (unused: no listener rule routes to the target group, so the load balancer does not check it)"}
	}
	n := 0
	others := map[string]int{}
	for _, in := range g.Instances {
		switch {
		case in.LifecycleState == asgtypes.LifecycleStateInService && aws.ToString(in.HealthStatus) == "Healthy":
			n++
		case in.LifecycleState != asgtypes.LifecycleStateInService:
			others[strings.ToLower(string(in.LifecycleState))]++
		default:
			others[strings.ToLower(aws.ToString(in.HealthStatus))]++
		}
	}
	return health{n: n, why: countedWhy(others)}
}

// tagged is what the first round of Observe reads: everything found by
// the project's tag.
type tagged struct {
	groups    []asgtypes.AutoScalingGroup
	templates []ec2types.LaunchTemplate
	images    []ec2types.Image
	locks     []cloud.LockInfo
}

func (c *Cloud) readTagged(ctx context.Context, project string, scope []string) (*tagged, error) {
	t := &tagged{}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { t.groups, err = c.projectGroups(gctx, project, scope...); return })
	g.Go(func() (err error) { t.templates, err = c.projectTemplates(gctx, project, scope...); return })
	if !c.noImages {
		g.Go(func() (err error) { t.images, err = c.projectImages(gctx, project); return })
	}
	g.Go(func() (err error) { t.locks, err = c.locks(gctx, project); return })
	return t, g.Wait()
}

// health is a pool's healthy target count and why the others are not.
type health struct {
	n   int
	why string
}

// endpoints builds one endpoint per listener read. Its (env, role) comes
// from the spec, or else from the pools behind it; target groups that are
// not the project's are not reported as backends, and pool rules are not
// routes: only the default action serves.
func (c *Cloud) endpoints(listeners []string, ls map[string]*listenerState, byTG map[string]cloud.Pool) []cloud.Endpoint {
	var out []cloud.Endpoint
	for _, l := range listeners {
		st, ok := ls[l]
		if !ok {
			continue // gone, and known only from a pool's tags
		}
		ep := cloud.Endpoint{Cloud: Name, Address: l}
		if ref, ok := c.listeners[l]; ok {
			ep.Env, ep.Role = ref.env, ref.role
		}
		for _, w := range st.defaults {
			p, ok := byTG[w.tg]
			if !ok {
				continue
			}
			ep.Backends = append(ep.Backends, cloud.Backend{Pool: p.ID, Weight: w.weight})
			if ep.Env == "" {
				ep.Env, ep.Role = p.Env, p.Role
			}
		}
		if ep.Env == "" {
			continue // a listener known only from a tag, with no pool of ours: nothing to report
		}
		out = append(out, ep)
	}
	return out
}
