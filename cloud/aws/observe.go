package awscloud

import (
	"context"
	"sort"

	"github.com/aws/aws-sdk-go-v2/aws"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	"golang.org/x/sync/errgroup"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// observeFanout bounds the concurrent target-health reads of Observe.
const observeFanout = 8

// Observe rebuilds the project's live state from tags: its auto scaling
// groups (pools) with their target health, launch templates or pool rules
// left without a group by an interrupted create or prune (reported as
// failed pools, to prune), the rules of its endpoints' listeners (which
// pools serve, with weights: the default action only), its AMIs (owned by
// this account) and its locks. Independent reads run in parallel; every
// Describe is paginated. Resources without the project's tag are never
// reported.
func (c *Cloud) Observe(ctx context.Context, project string) (*cloud.Live, error) {
	t, err := c.readTagged(ctx, project)
	if err != nil {
		return nil, err
	}
	listeners := c.projectListeners(t.groups)
	healthy, ls, err := c.readTraffic(ctx, t.groups, listeners)
	if err != nil {
		return nil, err
	}
	live := &cloud.Live{Locks: t.locks}
	for _, im := range newestPerBuild(t.images) {
		live.Images = append(live.Images, liveImage(im))
	}
	sort.Slice(live.Images, func(i, j int) bool { return live.Images[i].BuildID < live.Images[j].BuildID })
	byTG := map[string]cloud.Pool{}
	have := map[string]bool{}
	for i, grp := range t.groups {
		p := livePool(grp, healthy[i].n, healthy[i].why)
		live.Pools = append(live.Pools, p)
		have[p.ID] = true
		for _, tg := range grp.TargetGroupARNs {
			byTG[tg] = p
		}
	}
	for _, lt := range t.templates {
		if p := halfMade(lt); !have[p.ID] {
			live.Pools = append(live.Pools, p)
			have[p.ID] = true
		}
	}
	orphans, err := c.orphanRules(ctx, project, ls, byTG)
	if err != nil {
		return nil, err
	}
	for _, p := range orphans {
		if !have[p.ID] {
			live.Pools = append(live.Pools, p)
			have[p.ID] = true
		}
	}
	sort.Slice(live.Pools, func(i, j int) bool { return live.Pools[i].ID < live.Pools[j].ID })
	live.Endpoints = c.endpoints(listeners, ls, byTG)
	return live, nil
}

// orphanRules returns the pools of which only a listener rule (and its
// target group) is left: a prune cut short between deleting the launch
// template and the rule, or a group and template deleted by hand. They are
// reported failed, so that the planner prunes them. Their tags are read
// only for rules whose target group is no pool's, which a steady project
// has none of.
func (c *Cloud) orphanRules(ctx context.Context, project string, ls map[string]*listenerState, byTG map[string]cloud.Pool) ([]cloud.Pool, error) {
	var arns []string
	for _, arn := range sortedKeys(ls) {
		for _, r := range ls[arn].pools {
			if _, ok := byTG[r.tg]; !ok && r.arn != "" {
				arns = append(arns, r.arn)
			}
		}
	}
	if len(arns) == 0 {
		return nil, nil
	}
	owned, err := c.ownedRules(ctx, project, arns)
	if err != nil {
		return nil, err
	}
	var out []cloud.Pool
	for _, arn := range arns {
		t, ok := owned[arn]
		if !ok || t[tagPool] == "" {
			continue // another project's pool rule on a shared listener
		}
		out = append(out, cloud.Pool{
			Cloud: Name, ID: t[tagPool], Env: t[tagEnv], Role: t[tagRole], Key: t[tagKey], Generation: t.int(tagGeneration),
			Commit: t[tagCommit], State: cloud.PoolFailed,
			Reason: "half-made: a listener rule without its auto scaling group (an interrupted create or prune)",
		})
	}
	return out, nil
}

// tagged is what the first round of Observe reads: everything found by
// the project's tag.
type tagged struct {
	groups    []asgtypes.AutoScalingGroup
	templates []ec2types.LaunchTemplate
	images    []ec2types.Image
	locks     []cloud.LockInfo
}

func (c *Cloud) readTagged(ctx context.Context, project string) (*tagged, error) {
	t := &tagged{}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() (err error) { t.groups, err = c.projectGroups(gctx, project); return })
	g.Go(func() (err error) { t.templates, err = c.projectTemplates(gctx, project); return })
	g.Go(func() (err error) { t.images, err = c.projectImages(gctx, project); return })
	g.Go(func() (err error) { t.locks, err = c.locks(gctx, project); return })
	return t, g.Wait()
}

// health is a pool's healthy target count and why the others are not.
type health struct {
	n   int
	why string
}

// readTraffic is the second round: the healthy targets of every warm pool
// and the rules of every listener, which the groups' tags may add to the
// spec's.
func (c *Cloud) readTraffic(ctx context.Context, groups []asgtypes.AutoScalingGroup, listeners []string) ([]health, map[string]*listenerState, error) {
	healthy := make([]health, len(groups))
	var ls map[string]*listenerState
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(observeFanout)
	g.Go(func() (err error) { ls, err = c.readListeners(gctx, listeners); return })
	for i, grp := range groups {
		if len(grp.TargetGroupARNs) == 0 || aws.ToInt32(grp.DesiredCapacity) == 0 {
			continue // a cold pool has no servers to ask about
		}
		g.Go(func() (err error) {
			healthy[i].n, healthy[i].why, err = c.healthyTargets(gctx, grp.TargetGroupARNs[0])
			return
		})
	}
	return healthy, ls, g.Wait()
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
