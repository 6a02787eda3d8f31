package planner_test

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/memory"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
)

var (
	cloudNames = []string{"memory", "other"}
	envNames   = []string{"dev", "staging", "prod"}
	roleNames  = []string{"web", "api"}
)

// genSpec draws a desired state: an image tree of up to four images in two
// versions each, up to three environments with random retention, maxAge,
// traffic and `after` (only on earlier ones, so it stays acyclic), and one
// or two roles each.
func genSpec(t *rapid.T) *model.Desired {
	s := plantest.NewSpec("prop")
	names := []string{"base", "app", "web", "tool"}
	n := rapid.IntRange(1, 4).Draw(t, "images")
	for i := range n {
		parent := ""
		if i > 0 && rapid.Bool().Draw(t, "hasParent") {
			parent = names[rapid.IntRange(0, i-1).Draw(t, "parent")]
		}
		s.Image(names[i], parent, fmt.Sprintf("v%d", rapid.IntRange(1, 2).Draw(t, "ver")))
		if rapid.IntRange(0, 3).Draw(t, "imgMaxAge") == 0 {
			s.ImageMaxAge(names[i], 20*day)
		}
	}
	ne := rapid.IntRange(1, 3).Draw(t, "envs")
	for i := range ne {
		var opts []plantest.EnvOption
		keep := rapid.IntRange(0, 3).Draw(t, "keep")
		opts = append(opts, plantest.Keep(keep, rapid.IntRange(0, keep).Draw(t, "warm")))
		if rapid.Bool().Draw(t, "maxAge") {
			opts = append(opts, plantest.MaxAge(10*day))
		}
		if rapid.Bool().Draw(t, "canary") {
			opts = append(opts, plantest.Canary(10, 50, 100))
		}
		var after []string // any earlier environments: chains and diamonds
		for j := range i {
			if rapid.Bool().Draw(t, "after") {
				after = append(after, envNames[j])
			}
		}
		if len(after) > 0 {
			opts = append(opts, plantest.After(after...))
		}
		opts = append(opts, plantest.Cloud(rapid.SampledFrom(cloudNames).Draw(t, "cloud")))
		s.Env(envNames[i], opts...)
		nr := rapid.IntRange(1, 2).Draw(t, "roles")
		for r := range nr {
			s.Role(envNames[i], roleNames[r], names[rapid.IntRange(0, n-1).Draw(t, "image")],
				rapid.IntRange(1, 3).Draw(t, "count"), fmt.Sprintf("V=%d", rapid.IntRange(1, 2).Draw(t, "cfg")))
		}
	}
	return s.Desired()
}

// genLive draws a live state around d: some of d's images (maybe old),
// other builds, pools of d's keys and of other keys in every state, pools of
// environments and roles that left the spec, and endpoints routing to one
// or two pools of their (env, role), or to a pool that is gone.
func genLive(t *rapid.T, d *model.Desired) *cloud.Live {
	live := &cloud.Live{}
	ago := func(label string) time.Time {
		return now.Add(-time.Duration(rapid.IntRange(1, 40*24).Draw(t, label)) * time.Hour)
	}
	// poolAgo is ago on whole days half of the time, so that pools often
	// tie on creation or last service and the planner's tie-breaks (which
	// keep ids and retention independent of the live state's order) run.
	poolAgo := func(label string) time.Time {
		if rapid.Bool().Draw(t, label+"Day") {
			return now.Add(-time.Duration(rapid.IntRange(1, 40).Draw(t, label)) * day)
		}
		return ago(label)
	}
	builds := map[string][]string{}
	for _, c := range cloudNames {
		for _, name := range d.ImageNames() {
			if rapid.IntRange(0, 3).Draw(t, "imgLive") > 0 {
				im := plantest.ImageFor(d, c, name, ago("imgAt"))
				live.Images = append(live.Images, im)
				builds[c] = append(builds[c], im.BuildID)
			}
		}
		for i := range rapid.IntRange(0, 3).Draw(t, "oldImages") {
			im := cloud.Image{Cloud: c, Name: rapid.SampledFrom([]string{"base", "app", "old"}).Draw(t, "oldName"),
				BuildID: fmt.Sprintf("%02x%062d", i, 0), CreatedAt: ago("oldAt")}
			if len(builds[c]) > 0 && rapid.Bool().Draw(t, "oldParent") {
				im.ParentBuildID = rapid.SampledFrom(builds[c]).Draw(t, "oldParentID")
			}
			live.Images = append(live.Images, im)
			builds[c] = append(builds[c], im.BuildID)
		}
	}
	type slotT struct{ cloud, env, role, key, image, build string }
	var slots []slotT
	for _, p := range d.Pools {
		c := p.Cloud
		if rapid.IntRange(0, 5).Draw(t, "moved") == 0 {
			c = cloudNames[0]
			if c == p.Cloud {
				c = cloudNames[1]
			}
		}
		slots = append(slots, slotT{c, p.Env, p.Role, p.Key, p.Image, p.BuildID})
	}
	slots = append(slots, slotT{"memory", "gone", "web", "99999999aa", "old", ""}, slotT{"other", "gone", "web", "99999999aa", "old", ""},
		slotT{"other", envNames[0], "gone", "88888888aa", "old", ""})
	ids := map[string]bool{}
	for _, s := range slots {
		var here []string
		for range rapid.IntRange(0, 4).Draw(t, "pools") {
			key := s.key
			if rapid.Bool().Draw(t, "otherKey") {
				key = fmt.Sprintf("%08x%s", rapid.IntRange(1, 3).Draw(t, "keyN"), "cafe")
			}
			build := s.build
			if build == "" || key != s.key {
				if len(builds[s.cloud]) == 0 {
					continue
				}
				build = rapid.SampledFrom(builds[s.cloud]).Draw(t, "poolBuild")
			}
			gen := rapid.IntRange(1, 3).Draw(t, "gen")
			id := cloud.PoolID(s.env, s.role, key, gen)
			if ids[s.cloud+id] {
				continue
			}
			ids[s.cloud+id] = true
			count := rapid.IntRange(1, 3).Draw(t, "count")
			p := cloud.Pool{Cloud: s.cloud, ID: id, Env: s.env, Role: s.role, Key: key, Generation: gen,
				Image: s.image, BuildID: build, CreatedAt: poolAgo("poolAt"), State: cloud.PoolReady,
				Healthy: true, Servers: count, Count: count}
			switch rapid.IntRange(0, 9).Draw(t, "health") {
			case 0:
				p.State, p.Healthy, p.Servers, p.Reason = cloud.PoolFailed, false, 0, "smoke failed"
			case 1:
				p.State, p.Healthy, p.Servers = cloud.PoolCreating, false, 0
			case 2:
				p.State, p.Healthy, p.Servers = cloud.PoolCold, false, 0
			case 3:
				p.Healthy, p.Servers = false, count-1
			case 4:
				p.Drift = true
			}
			if rapid.Bool().Draw(t, "served") {
				p.LastServed = poolAgo("servedAt")
				// Served, but maybe only part of an interrupted canary.
				if rapid.Bool().Draw(t, "released") {
					p.Released = p.LastServed
				}
			}
			live.Pools = append(live.Pools, p)
			here = append(here, id)
		}
		ep := cloud.Endpoint{Cloud: s.cloud, Env: s.env, Role: s.role, Address: s.role + "." + s.env + ".example:80"}
		if rapid.IntRange(0, 4).Draw(t, "moved") == 0 {
			ep.Address = "old-" + ep.Address // the spec moved the endpoint
		}
		switch {
		case len(here) == 0 || rapid.IntRange(0, 4).Draw(t, "endpoint") == 0:
			continue
		case len(here) >= 2 && rapid.IntRange(0, 3).Draw(t, "split") == 0:
			w := rapid.SampledFrom([]int{10, 50, 90}).Draw(t, "w")
			ep.Backends = []cloud.Backend{{Pool: here[0], Weight: 100 - w}, {Pool: here[1], Weight: w}}
		case rapid.IntRange(0, 9).Draw(t, "lost") == 0:
			ep.Backends = []cloud.Backend{{Pool: s.env + "." + s.role + ".deadbeef.1", Weight: 100}}
		default:
			ep.Backends = []cloud.Backend{{Pool: rapid.SampledFrom(here).Draw(t, "serving"), Weight: 100}}
		}
		live.Endpoints = append(live.Endpoints, ep)
	}
	return live
}

// TestPlanProperties plans random specs against random live states, checks
// the plan's shape, applies it to the memory cloud and plans again: the
// second plan must be empty and retention must hold. It runs 1000 cases
// (well under a second) unless -rapid.checks says otherwise.
func TestPlanProperties(t *testing.T) {
	if f := flag.Lookup("rapid.checks"); f != nil && f.Value.String() == f.DefValue {
		_ = f.Value.Set("1000")
		defer func() { _ = f.Value.Set(f.DefValue) }()
	}
	rapid.Check(t, func(t *rapid.T) {
		d := genSpec(t)
		live := genLive(t, d)
		opts := planner.Options{Now: now, Destroy: rapid.Bool().Draw(t, "destroy"), ImageKeep: rapid.IntRange(-1, 2).Draw(t, "imageKeep")}
		if rapid.IntRange(0, 3).Draw(t, "filter") == 0 {
			opts.Envs = []string{d.EnvNames()[0]}
		}
		p, err := planner.Make(d, live, opts)
		if err != nil {
			t.Fatalf("Make: %v", err)
		}
		checkPlan(t, d, live, p)
		checkStableIDs(t, d, live, opts, p)

		after := applyOnMemory(t, d, live, p)
		p2, err := planner.Make(d, after, opts)
		if err != nil {
			t.Fatalf("Make again: %v", err)
		}
		if !p2.Empty() {
			t.Fatalf("planning again after apply is not empty:\n%s\nfirst plan:\n%s", dump(p2), dump(p))
		}
		checkRetention(t, d, live, after, p, opts)
		checkSwaps(t, d, live, after, p, opts)
	})
}

// seedClouds makes one memory cloud per cloud name, holding live's part.
func seedClouds(d *model.Desired, live *cloud.Live) (cloud.Set, map[string]*memory.Cloud) {
	clouds, mems := cloud.Set{}, map[string]*memory.Cloud{}
	for _, c := range cloudNames {
		mem := memory.New(memory.WithNow(now), memory.WithName(c))
		mem.Seed(d.Project, only(live, c))
		clouds[c], mems[c] = mem, mem
	}
	return clouds, mems
}

// applyOnMemory applies p with the reference applier to memory clouds
// seeded with live and returns what they observe after.
func applyOnMemory(t *rapid.T, d *model.Desired, live *cloud.Live, p *planner.Plan) *cloud.Live {
	clouds, _ := seedClouds(d, live)
	ctx := context.Background()
	if err := plantest.Apply(ctx, clouds, d, p); err != nil {
		t.Fatalf("apply: %v\nplan:\n%s", err, dump(p))
	}
	after, err := clouds.Observe(ctx, d.Project)
	if err != nil {
		t.Fatal(err)
	}
	return after
}

// checkPlan asserts the structural properties of a plan.
func checkPlan(t *rapid.T, d *model.Desired, live *cloud.Live, p *planner.Plan) {
	pos := map[string]int{}
	for i, s := range p.Steps {
		if _, dup := pos[s.ID]; dup {
			t.Fatalf("duplicate id %s", s.ID)
		}
		for _, a := range s.After {
			if _, ok := pos[a]; !ok {
				t.Fatalf("%s waits for %s, which is not before it (not topological or acyclic)", s.ID, a)
			}
		}
		pos[s.ID] = i
	}
	swaps := map[[3]string]planner.Step{}
	for _, s := range p.Steps {
		if s.Kind == planner.Swap {
			swaps[[3]string{s.Cloud, s.Env, s.Role}] = s
		}
	}
	checkAfterReach(t, d, p)
	serving := map[[2]string][3]string{} // (cloud, pool) -> its endpoint
	for _, e := range live.Endpoints {
		for _, b := range e.Backends {
			serving[[2]string{e.Cloud, b.Pool}] = [3]string{e.Cloud, e.Env, e.Role}
		}
	}
	bakes := map[[2]string]string{}
	for _, s := range p.Steps {
		switch {
		case s.Kind == planner.Bake:
			bakes[[2]string{s.Cloud, s.BuildID}] = s.ID
		case s.Kind == planner.Create:
			if b, ok := bakes[[2]string{s.Cloud, s.BuildID}]; ok && !slices.Contains(s.After, b) {
				t.Fatalf("%s does not wait for %s", s.ID, b)
			}
			for _, x := range p.Steps[pos[s.ID]:] {
				if x.Kind == planner.Bake && x.BuildID == s.BuildID {
					t.Fatalf("bake %s comes after %s", x.ID, s.ID)
				}
			}
		case s.Kind == planner.Prune && s.Pool != "":
			sw, hasSwap := swaps[[3]string{s.Cloud, s.Env, s.Role}]
			// Only an unusable pool may go before the swap (one that
			// serves is checked below); a pool kept for rollback until
			// the swap is pruned past retention only after it.
			if hasSwap && !slices.Contains(s.After, sw.ID) && strings.HasPrefix(s.Reason, "past retention") {
				t.Fatalf("%s does not wait for %s", s.ID, sw.ID)
			}
			if hasSwap && sw.Pool == s.Pool {
				t.Fatalf("%s prunes the pool %s swaps to", s.ID, sw.ID)
			}
			if ep, ok := serving[[2]string{s.Cloud, s.Pool}]; ok {
				sw, ok := swaps[ep]
				if !ok || !slices.Contains(s.After, sw.ID) {
					t.Fatalf("%s prunes a serving pool without waiting for a swap of %v", s.ID, ep)
				}
			}
		}
	}
}

// slot is the live state of one desired endpoint: its pools and what its
// endpoint routes traffic to (pools at a weight above 0).
type slot struct {
	pools   map[string]cloud.Pool
	serving map[string]bool
}

func slotOf(live *cloud.Live, dp *model.Pool) slot {
	s := slot{pools: map[string]cloud.Pool{}, serving: map[string]bool{}}
	for _, p := range live.Pools {
		if p.Cloud == dp.Cloud && p.Env == dp.Env && p.Role == dp.Role {
			s.pools[p.ID] = p
		}
	}
	for _, e := range live.Endpoints {
		if e.Cloud == dp.Cloud && e.Env == dp.Env && e.Role == dp.Role {
			for _, b := range e.Backends {
				if b.Weight > 0 {
					s.serving[b.Pool] = true
				}
			}
		}
	}
	return s
}

// inScope reports whether the plan was made for dp's environment.
func inScope(dp *model.Pool, opts planner.Options) bool {
	return len(opts.Envs) == 0 || slices.Contains(opts.Envs, dp.Env)
}

// unusable says why pool p of desired pool dp cannot be retained or swapped
// to, judged on the live state before the plan: failed, half-made, drifted,
// unhealthy or short (a cold pool is fine), at or past maxAge, or running
// an older build of its image (the image, as it is after apply or else as it
// was before, was baked after the pool). "" if it is usable. This is the
// property's own reading of DESIGN.md, not the planner's code.
func unusable(p cloud.Pool, dp *model.Pool, before, after *cloud.Live) string {
	switch {
	case p.State != cloud.PoolReady && p.State != cloud.PoolCold:
		return string(p.State)
	case p.Drift:
		return "drift"
	case p.State == cloud.PoolReady && (!p.Healthy || p.Servers < p.Count):
		return fmt.Sprintf("unhealthy %d/%d", p.Servers, p.Count)
	case dp.MaxAge > 0 && !p.CreatedAt.Add(dp.MaxAge).After(now):
		return "past maxAge"
	}
	im := imageOf(after, p.Cloud, p.BuildID)
	if im == nil {
		im = imageOf(before, p.Cloud, p.BuildID)
	}
	if im != nil && im.CreatedAt.After(p.CreatedAt.Add(time.Minute)) {
		return "image baked after the pool"
	}
	return ""
}

func imageOf(live *cloud.Live, c, buildID string) *cloud.Image {
	for i := range live.Images {
		if live.Images[i].Cloud == c && live.Images[i].BuildID == buildID {
			return &live.Images[i]
		}
	}
	return nil
}

// servedAfter reports whether pool a served more recently than pool b
// before the plan: serving then beats not serving, then the later
// LastServed, then (both equal) the later creation.
func servedAfter(a, b cloud.Pool, s slot) bool {
	if s.serving[a.ID] != s.serving[b.ID] {
		return s.serving[a.ID]
	}
	if !a.LastServed.Equal(b.LastServed) {
		return a.LastServed.After(b.LastServed)
	}
	return a.CreatedAt.After(b.CreatedAt)
}

// swapOf returns the plan's swap of dp's endpoint, or nil.
func swapOf(p *planner.Plan, dp *model.Pool) *planner.Step {
	for i, s := range p.Steps {
		if s.Kind == planner.Swap && s.Cloud == dp.Cloud && s.Env == dp.Env && s.Role == dp.Role {
			return &p.Steps[i]
		}
	}
	return nil
}

// checkRetention asserts rule 4 on every desired endpoint in scope after
// apply (after), against the live state before (before):
//   - no pool is failed or half-made, and every retained (non-serving) pool
//     was usable before: failed and unhealthy pools are pruned and never
//     retained, so they cannot count toward keep;
//   - at most keep pools are retained, and at least min(keep, the usable
//     pools before that do not serve after): retention never prunes below
//     keep while usable pools are there;
//   - no usable pool was pruned while one that served less recently was
//     retained: the oldest-served go first;
//   - after a swap, at most warm retained pools are warm (ready). Without a
//     swap the plan has no step that could cool a pool, so the count is
//     only held to what it was.
func checkRetention(t *rapid.T, d *model.Desired, before, after *cloud.Live, p *planner.Plan, opts planner.Options) {
	for _, dp := range d.Pools {
		if !inScope(dp, opts) {
			continue
		}
		was, is := slotOf(before, dp), slotOf(after, dp)
		keep := max(dp.Retention.Keep, 0)
		warm := min(max(dp.Retention.Warm, 0), keep)
		var retained []cloud.Pool
		warmNow, warmBefore := 0, 0
		for _, x := range is.pools {
			if x.State == cloud.PoolFailed || x.State == cloud.PoolCreating {
				t.Fatalf("pool %s is %s after apply", x.ID, x.State)
			}
			if is.serving[x.ID] {
				continue
			}
			old, ok := was.pools[x.ID]
			if !ok {
				t.Fatalf("pool %s is new after apply but serves nothing", x.ID)
			}
			if why := unusable(old, dp, before, after); why != "" {
				t.Fatalf("%s/%s retains pool %s, which was %s\nplan:\n%s", dp.Env, dp.Role, x.ID, why, dump(p))
			}
			retained = append(retained, old)
			if x.State == cloud.PoolReady {
				warmNow++
			}
			if old.State == cloud.PoolReady {
				warmBefore++
			}
		}
		var usable, pruned []cloud.Pool
		for id, x := range was.pools {
			if is.serving[id] || unusable(x, dp, before, after) != "" {
				continue
			}
			usable = append(usable, x)
			if _, ok := is.pools[id]; !ok {
				pruned = append(pruned, x)
			}
		}
		if len(retained) > keep || len(retained) < min(keep, len(usable)) {
			t.Fatalf("%s/%s retains %d pools after apply; keep is %d and %d usable pools were there\nplan:\n%s",
				dp.Env, dp.Role, len(retained), keep, len(usable), dump(p))
		}
		for _, q := range pruned {
			for _, r := range retained {
				if servedAfter(q, r, was) {
					t.Fatalf("%s/%s pruned %s (serving %v, last served %v, created %v) but kept %s (serving %v, last served %v, created %v)\nplan:\n%s",
						dp.Env, dp.Role, q.ID, was.serving[q.ID], q.LastServed, q.CreatedAt, r.ID, was.serving[r.ID], r.LastServed, r.CreatedAt, dump(p))
				}
			}
		}
		limit := warm
		if swapOf(p, dp) == nil {
			limit = max(warm, warmBefore)
		}
		if warmNow > limit {
			t.Fatalf("%s/%s has %d warm retained pools after apply, warm is %d (%d before)\nplan:\n%s",
				dp.Env, dp.Role, warmNow, warm, warmBefore, dump(p))
		}
	}
}

// checkSwaps asserts that a swap goes only onto the pool about to serve,
// and that pool survives: for every desired endpoint in scope, a swap
// names a pool with the desired key and build, which is either made by a
// create the swap waits for or was a usable pool of that endpoint before;
// no step prunes that pool or its image; and after apply the endpoint
// serves that pool alone. Without a swap, the endpoint served a ready,
// usable pool with the desired key alone, and still does.
func checkSwaps(t *rapid.T, d *model.Desired, before, after *cloud.Live, p *planner.Plan, opts planner.Options) {
	for _, dp := range d.Pools {
		if !inScope(dp, opts) {
			continue
		}
		was, is := slotOf(before, dp), slotOf(after, dp)
		sw := swapOf(p, dp)
		target := ""
		if sw == nil {
			if len(was.serving) != 1 {
				t.Fatalf("%s/%s has no swap but served %d pools", dp.Env, dp.Role, len(was.serving))
			}
			for id := range was.serving {
				target = id
			}
			x := was.pools[target]
			if x.Key != dp.Key || x.State != cloud.PoolReady || unusable(x, dp, before, after) != "" {
				t.Fatalf("%s/%s has no swap but serves %s (key %.8s, %s, %q)", dp.Env, dp.Role, target, x.Key, x.State, unusable(x, dp, before, after))
			}
		} else {
			target = sw.Pool
			if sw.Key != dp.Key || sw.BuildID != dp.BuildID {
				t.Fatalf("%s swaps to key %.8s build %.8s, the spec has %.8s %.8s", sw.ID, sw.Key, sw.BuildID, dp.Key, dp.BuildID)
			}
			create := "create:" + sw.Pool
			made := slices.ContainsFunc(p.Steps, func(s planner.Step) bool {
				return s.Kind == planner.Create && s.ID == create && s.Cloud == sw.Cloud && s.Pool == sw.Pool
			})
			switch old, existed := was.pools[sw.Pool]; {
			case made && !slices.Contains(sw.After, create):
				t.Fatalf("%s does not wait for %s", sw.ID, create)
			case made && existed:
				t.Fatalf("%s creates pool %s, which exists", create, sw.Pool)
			case !made && !existed:
				t.Fatalf("%s swaps to %s, which neither exists nor is created", sw.ID, sw.Pool)
			case !made && unusable(old, dp, before, after) != "":
				t.Fatalf("%s swaps to %s, which is %s", sw.ID, sw.Pool, unusable(old, dp, before, after))
			case sw.Rollback && (!existed || old.Released.IsZero() || was.serving[sw.Pool]):
				t.Fatalf("%s is called a rollback to %s, which never completed a release (released %v, serving %v)", sw.ID, sw.Pool, old.Released, was.serving[sw.Pool])
			case !sw.Rollback && existed && !old.Released.IsZero() && !was.serving[sw.Pool]:
				t.Fatalf("%s swaps back to %s, which completed a release, but is not a rollback", sw.ID, sw.Pool)
			}
			checkResumedCanary(t, dp, sw, was)
		}
		for _, s := range p.Steps {
			if s.Kind == planner.Prune && s.Cloud == dp.Cloud && (s.Pool == target || (s.Pool == "" && s.BuildID == dp.BuildID)) {
				t.Fatalf("%s prunes what %s/%s is about to serve (%s)\n%s", s.ID, dp.Env, dp.Role, target, dump(p))
			}
		}
		if len(is.serving) != 1 || !is.serving[target] {
			t.Fatalf("%s/%s serves %v after apply, want %s alone", dp.Env, dp.Role, slices.Sorted(maps.Keys(is.serving)), target)
		}
		for _, e := range after.Endpoints {
			if e.Cloud == dp.Cloud && e.Env == dp.Env && e.Role == dp.Role && (len(e.Backends) != 1 || e.Backends[0].Weight != 100) {
				t.Fatalf("%s/%s routes %v after apply, want %s at 100", dp.Env, dp.Role, e.Backends, target)
			}
			if e.Cloud == dp.Cloud && e.Env == dp.Env && e.Role == dp.Role && e.Address != dp.Endpoint {
				t.Fatalf("%s/%s serves at %s after apply, the spec says %s\nplan:\n%s", dp.Env, dp.Role, e.Address, dp.Endpoint, dump(p))
			}
		}
		checkMove(t, dp, before, sw)
	}
}

// checkMove asserts rule 7: an endpoint that serves at another address
// than the spec's is moved by its swap, which names the old address and is
// destructive (it stops traffic there); no other swap is.
func checkMove(t *rapid.T, dp *model.Pool, before *cloud.Live, sw *planner.Step) {
	from := ""
	for _, e := range before.Endpoints {
		if e.Cloud == dp.Cloud && e.Env == dp.Env && e.Role == dp.Role && e.Address != dp.Endpoint && len(e.Serving()) > 0 {
			from = e.Address
		}
	}
	switch {
	case from != "" && (sw == nil || sw.MoveFrom != from || !sw.Destructive || !strings.Contains(sw.Reason, "endpoint "+from+" → "+dp.Endpoint)):
		t.Fatalf("%s/%s serves at %s, the spec says %s, but the swap %+v does not move it", dp.Env, dp.Role, from, dp.Endpoint, sw)
	case from == "" && sw != nil && (sw.MoveFrom != "" || sw.Destructive):
		t.Fatalf("%s moves from %q or is destructive, but the endpoint does not move", sw.ID, sw.MoveFrom)
	}
}

// checkResumedCanary asserts that a swap to a pool that never completed a
// release is a release like any other: with a canary strategy, and pools
// serving now that are ready and healthy to share the traffic, it walks
// every weight of the spec from the first, as a new pool's would.
func checkResumedCanary(t *rapid.T, dp *model.Pool, sw *planner.Step, was slot) {
	old, existed := was.pools[sw.Pool]
	if dp.Traffic.Strategy != "canary" || !existed || !old.Released.IsZero() || was.serving[sw.Pool] {
		return
	}
	share := len(was.serving) > 0
	for id := range was.serving {
		x, ok := was.pools[id]
		share = share && ok && x.State == cloud.PoolReady && x.Healthy
	}
	var want []int
	for _, w := range dp.Traffic.Steps {
		if w > 0 && w < 100 && (len(want) == 0 || w > want[len(want)-1]) {
			want = append(want, w)
		}
	}
	if len(want) > 0 {
		want = append(want, 100)
	}
	if !share {
		want = nil
	}
	if !slices.Equal(sw.Weights, want) {
		t.Fatalf("%s resumes %s (never released, last served %v) with weights %v, want the canary %v", sw.ID, sw.Pool, old.LastServed, sw.Weights, want)
	}
}

// checkStableIDs plans again from the same inputs, and from the live state
// listed in another order (a cloud promises no order), and asserts the same
// plan: the same steps with the same ids, in the same order.
func checkStableIDs(t *rapid.T, d *model.Desired, live *cloud.Live, opts planner.Options, p *planner.Plan) {
	again, err := planner.Make(d, live, opts)
	if err != nil {
		t.Fatalf("Make again: %v", err)
	}
	if !reflect.DeepEqual(p, again) {
		t.Fatalf("planning twice differs:\n%s\nthen:\n%s", dump(p), dump(again))
	}
	shuffled := &cloud.Live{
		Images:    rapid.Permutation(slices.Clone(live.Images)).Draw(t, "images order"),
		Pools:     rapid.Permutation(slices.Clone(live.Pools)).Draw(t, "pools order"),
		Endpoints: rapid.Permutation(slices.Clone(live.Endpoints)).Draw(t, "endpoints order"),
	}
	other, err := planner.Make(d, shuffled, opts)
	if err != nil {
		t.Fatalf("Make shuffled: %v", err)
	}
	if !reflect.DeepEqual(p, other) {
		t.Fatalf("planning the live state in another order differs:\n%s\nthen:\n%s", dump(p), dump(other))
	}
}

// only returns the part of live in cloud c.
func only(live *cloud.Live, c string) *cloud.Live {
	out := &cloud.Live{}
	for _, im := range live.Images {
		if im.Cloud == c {
			out.Images = append(out.Images, im)
		}
	}
	for _, p := range live.Pools {
		if p.Cloud == c {
			out.Pools = append(out.Pools, p)
		}
	}
	for _, e := range live.Endpoints {
		if e.Cloud == c {
			out.Endpoints = append(out.Endpoints, e)
		}
	}
	return out
}

// checkAfterReach asserts `after` end to end: every swap of an environment
// waits, directly or through other steps, for every swap of every
// environment in its `after` closure, however few ids its After lists.
func checkAfterReach(t *rapid.T, d *model.Desired, p *planner.Plan) {
	byID := map[string]*planner.Step{}
	for i := range p.Steps {
		byID[p.Steps[i].ID] = &p.Steps[i]
	}
	for _, s := range p.Steps {
		if s.Kind != planner.Swap || s.Pool == "" {
			continue
		}
		closure := map[string]bool{}
		var walk func(env string)
		walk = func(env string) {
			for _, a := range d.Environments[env].After {
				if !closure[a] {
					closure[a] = true
					walk(a)
				}
			}
		}
		walk(s.Env)
		waits := map[string]bool{}
		var up func(id string)
		up = func(id string) {
			for _, a := range byID[id].After {
				if !waits[a] {
					waits[a] = true
					up(a)
				}
			}
		}
		up(s.ID)
		for _, x := range p.Steps {
			if x.Kind == planner.Swap && x.Pool != "" && closure[x.Env] && !waits[x.ID] {
				t.Fatalf("%s does not wait for %s (%s is in the after closure of %s)\n%s", s.ID, x.ID, x.Env, s.Env, dump(p))
			}
		}
	}
}
