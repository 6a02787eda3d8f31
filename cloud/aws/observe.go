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
// groups (pools) with their target health, launch templates left without
// a group by an interrupted create (reported as failed pools, to prune),
// the listeners of its endpoints (which pools serve, with weights), its
// AMIs (owned by this account) and its locks. Independent reads run in
// parallel; every Describe is paginated. Resources without the project's
// tag are never reported.
func (c *Cloud) Observe(ctx context.Context, project string) (*cloud.Live, error) {
	t, err := c.readTagged(ctx, project)
	if err != nil {
		return nil, err
	}
	listeners := c.projectListeners(t.groups)
	healthy, routes, err := c.readTraffic(ctx, t.groups, listeners)
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
		p := livePool(grp, healthy[i])
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
	sort.Slice(live.Pools, func(i, j int) bool { return live.Pools[i].ID < live.Pools[j].ID })
	live.Endpoints = c.endpoints(listeners, routes, byTG)
	return live, nil
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

// readTraffic is the second round: the healthy targets of every warm pool
// and the routes of every listener, which the groups' tags may add to the
// spec's.
func (c *Cloud) readTraffic(ctx context.Context, groups []asgtypes.AutoScalingGroup, listeners []string) ([]int, map[string][]weighted, error) {
	healthy := make([]int, len(groups))
	var routes map[string][]weighted
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(observeFanout)
	g.Go(func() (err error) { routes, err = c.listenerTargets(gctx, listeners); return })
	for i, grp := range groups {
		if len(grp.TargetGroupARNs) == 0 || aws.ToInt32(grp.DesiredCapacity) == 0 {
			continue // a cold pool has no servers to ask about
		}
		g.Go(func() (err error) { healthy[i], err = c.healthyTargets(gctx, grp.TargetGroupARNs[0]); return })
	}
	return healthy, routes, g.Wait()
}

// endpoints builds one endpoint per listener. Its (env, role) comes from
// the spec, or else from the pools behind it; target groups that are not
// the project's are not reported as backends.
func (c *Cloud) endpoints(listeners []string, routes map[string][]weighted, byTG map[string]cloud.Pool) []cloud.Endpoint {
	var out []cloud.Endpoint
	for _, l := range listeners {
		ep := cloud.Endpoint{Cloud: Name, Address: l}
		if ref, ok := c.listeners[l]; ok {
			ep.Env, ep.Role = ref.env, ref.role
		}
		for _, w := range routes[l] {
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
