package aws

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// sameAsLive fails unless what the cloud gives for pool id (reads, how
// many DescribeAutoScalingGroups that took) has the tags and size the
// stand-in group has now.
func sameAsLive(t *testing.T, s *standIn, id string, reads int) *asgtypes.AutoScalingGroup {
	t.Helper()
	before := s.asg.reads
	g, err := s.group(context.Background(), "shop", id)
	if err != nil || g == nil {
		t.Fatalf("group %s: %v, %v", id, g, err)
	}
	if n := s.asg.reads - before; n != reads {
		t.Errorf("group %s described the group %d times, want %d", id, n, reads)
	}
	live := s.asg.groups[groupName("shop", id)]
	if got, want := asgTagSet(g.Tags), asgTagSet(live.Tags); !maps.Equal(got, want) {
		t.Errorf("group %s: the cloud gives tags %v, the group has %v", id, got, want)
	}
	if got, want := aws.ToInt32(g.DesiredCapacity), aws.ToInt32(live.DesiredCapacity); got != want {
		t.Errorf("group %s: the cloud gives desired capacity %d, the group has %d", id, got, want)
	}
	return g
}

// A step acting a moment after the executor's re-check of its
// environment (ObserveEnv) uses the groups the re-check read: a swap
// right after it describes no group. What this cloud writes to a group
// is in what the next step is given (tags written through, a size change
// or a failed write forgotten), and a description as old as the window
// is read again.
func TestGroupsReusedWithinAStep(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	a, b := "prod.web.aaaa.1", "prod.web.bbbb.1"
	s.addPool(a, 2, 2)
	s.addPool(b, 2, 2)
	if err := swapTo(s, cloud.Backend{Pool: a, Weight: 100}); err != nil {
		t.Fatal(err)
	}
	s.advance(time.Minute)

	reads := s.asg.reads
	if _, err := s.ObserveEnv(ctx, "shop", "prod"); err != nil {
		t.Fatal(err)
	}
	if s.asg.reads != reads+1 {
		t.Fatalf("the re-check described groups %d times, want one page", s.asg.reads-reads)
	}
	if err := swapTo(s, cloud.Backend{Pool: b, Weight: 100}); err != nil {
		t.Fatal(err)
	}
	if n := s.asg.reads - reads - 1; n != 0 {
		t.Errorf("a swap right after the re-check described groups %d times, want none", n)
	}
	// The swap's tags (served, released) were written through.
	if got := asgTagSet(sameAsLive(t, s, b, 0).Tags); got[tagReleased] != stamp(s.now) || got[tagEndpoint] != listenerARN {
		t.Errorf("the pool swapped to is remembered with tags %v, want released at %s", got, stamp(s.now))
	}
	if got := asgTagSet(sameAsLive(t, s, a, 0).Tags); got[tagLastServed] != stamp(s.now) {
		t.Errorf("the pool that served is remembered with tags %v, want last served at %s", got, stamp(s.now))
	}

	// A rejection uses the remembered group and writes through: a second
	// one sees the first (which stays) without describing the group.
	if err := s.Reject(ctx, "shop", b, "first"); err != nil {
		t.Fatal(err)
	}
	if err := s.Reject(ctx, "shop", b, "second"); err != nil {
		t.Fatal(err)
	}
	if got := asgTagSet(sameAsLive(t, s, b, 0).Tags)[tagRejected]; got != "first" {
		t.Errorf("pool %s is rejected for %q, want the first reason", b, got)
	}

	// Cooling uses the remembered group; its size change is forgotten.
	reads = s.asg.reads
	if err := s.SetWarm(ctx, "shop", a, false); err != nil {
		t.Fatal(err)
	}
	if s.asg.reads != reads {
		t.Errorf("cooling right after the re-check described groups %d times, want none", s.asg.reads-reads)
	}
	if g := sameAsLive(t, s, a, 1); aws.ToInt32(g.DesiredCapacity) != 0 {
		t.Errorf("after cooling the cloud gives desired capacity %d", aws.ToInt32(g.DesiredCapacity))
	}

	// A failed write forgets: the next step describes the group.
	s.asg.failTags = true
	if err := s.Reject(ctx, "shop", a, "boom"); err == nil {
		t.Fatal("a rejection whose tagging failed succeeded")
	}
	s.asg.failTags = false
	if got := asgTagSet(sameAsLive(t, s, a, 1).Tags)[tagRejected]; got != "" {
		t.Errorf("a failed rejection left %q", got)
	}

	// Reused until the window has passed, then described again.
	s.advance(time.Second - time.Millisecond)
	sameAsLive(t, s, a, 0)
	s.advance(time.Millisecond)
	sameAsLive(t, s, a, 1)

	// A group deleted by this cloud is forgotten.
	s.advance(time.Minute)
	if _, err := s.ObserveEnv(ctx, "shop", "prod"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeletePool(ctx, "shop", a); err != nil {
		t.Fatal(err)
	}
	reads = s.asg.reads
	if g, err := s.group(ctx, "shop", a); err != nil || g != nil || s.asg.reads != reads+1 {
		t.Errorf("after the prune the cloud gives %v, %v, describing %d times; want nothing, described once", g, err, s.asg.reads-reads)
	}
}

// With reuse off, every step describes its group.
func TestGroupReuseOff(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	s.Cloud.opt.GroupReuse = -1
	s.addPool("prod.web.aaaa.1", 2, 2)
	if _, err := s.ObserveEnv(ctx, "shop", "prod"); err != nil {
		t.Fatal(err)
	}
	reads := s.asg.reads
	if err := swapTo(s, cloud.Backend{Pool: "prod.web.aaaa.1", Weight: 100}); err != nil {
		t.Fatal(err)
	}
	sameAsLive(t, s, "prod.web.aaaa.1", 1)
	if n := s.asg.reads - reads; n != 2 {
		t.Errorf("with reuse off a swap and a lookup described the group %d times, want 2", n)
	}
	if n := s.groups.size(); n != 0 {
		t.Errorf("with reuse off the cloud remembers %d groups", n)
	}
}

func memGroup(name string, desired int32) asgtypes.AutoScalingGroup {
	return asgtypes.AutoScalingGroup{AutoScalingGroupName: aws.String(name), DesiredCapacity: aws.Int32(desired)}
}

// A read that raced a write to a group is not remembered for that group:
// it may show the group from before the write. Nothing is reused while a
// write is in flight, and the memory holds no more than what was read
// within a window and the marks of writes that reads in flight need.
func TestGroupMemoryRacesAndSize(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	w := time.Second
	var m groupMemory

	// Read, then a write begins and ends, then the read's answer comes.
	r := m.begin()
	done := m.write("g")
	done(true, nil)
	m.fill(r, t0, w, []asgtypes.AutoScalingGroup{memGroup("g", 1), memGroup("h", 1)})
	if m.get("g", t0, w) != nil {
		t.Error("a read that a write to the group overtook was remembered")
	}
	if m.get("h", t0, w) == nil {
		t.Error("a read was not remembered for a group no write touched")
	}

	// A write begins before the read and ends after its answer.
	done = m.write("g")
	r = m.begin()
	m.fill(r, t0, w, []asgtypes.AutoScalingGroup{memGroup("g", 1)})
	done(true, func(g *asgtypes.AutoScalingGroup) { g.DesiredCapacity = aws.Int32(7) })
	if m.get("g", t0, w) != nil {
		t.Error("a read made while a write to the group was in flight was remembered")
	}

	// A write ends before the read begins: the read is remembered, and
	// while the next write is in flight it is not reused; written
	// through after it.
	r = m.begin()
	m.fill(r, t0, w, []asgtypes.AutoScalingGroup{memGroup("g", 1)})
	done = m.write("g")
	if m.get("g", t0, w) != nil {
		t.Error("a group was reused while a write to it was in flight")
	}
	done(true, func(g *asgtypes.AutoScalingGroup) { g.DesiredCapacity = aws.Int32(3) })
	if g := m.get("g", t0, w); g == nil || aws.ToInt32(g.DesiredCapacity) != 3 {
		t.Errorf("after a write through the memory gives %v, want desired capacity 3", g)
	}
	// What get returns is a copy.
	m.get("g", t0, w).DesiredCapacity = aws.Int32(99)
	if g := m.get("g", t0, w); aws.ToInt32(g.DesiredCapacity) != 3 {
		t.Error("a caller's change reached the memory")
	}

	// Bounded: a fill a window later drops what is older, and the marks
	// of finished writes once no read needs them.
	var many []asgtypes.AutoScalingGroup
	for i := range 500 {
		many = append(many, memGroup(fmt.Sprint("p", i), 1))
	}
	m.fill(m.begin(), t0, w, many)
	for i := range 50 {
		m.write(fmt.Sprint("w", i))(true, nil)
	}
	m.fill(m.begin(), t0.Add(w), w, []asgtypes.AutoScalingGroup{memGroup("fresh", 1)})
	if n := m.size(); n != 1 {
		t.Errorf("a window later the memory holds %d entries, want the one just read", n)
	}

	// Safe for concurrent use (run with -race).
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprint("c", i%3)
			for j := range 200 {
				now := t0.Add(time.Duration(j) * time.Millisecond)
				r := m.begin()
				m.fill(r, now, w, []asgtypes.AutoScalingGroup{memGroup(name, int32(j))})
				m.write(name)(j%2 == 0, func(g *asgtypes.AutoScalingGroup) { g.DesiredCapacity = aws.Int32(0) })
				m.get(name, now, w)
			}
		}()
	}
	wg.Wait()
}

// Cooling writes no tag: the pool stays tagged ready, scaled to zero,
// and is observed cold; a swap back warms it without tagging it ready
// again. A pool an older Phoenix tagged cold is still read cold and is
// tagged ready when warmed.
func TestCoolingWritesNoColdTag(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	a, b := "prod.web.aaaa.1", "prod.web.bbbb.1"
	s.addPool(a, 2, 2)
	s.addPool(b, 2, 2)
	if err := swapTo(s, cloud.Backend{Pool: a, Weight: 100}); err != nil {
		t.Fatal(err)
	}
	writes := s.asg.tagWrites
	if err := s.SetWarm(ctx, "shop", b, false); err != nil {
		t.Fatal(err)
	}
	gb := s.asg.groups[groupName("shop", b)]
	if s.asg.tagWrites != writes || asgTagSet(gb.Tags)[tagState] != stateReady || aws.ToInt32(gb.DesiredCapacity) != 0 {
		t.Fatalf("cooling tagged the group %d times; it is %s with desired capacity %d, want ready, 0, untagged",
			s.asg.tagWrites-writes, asgTagSet(gb.Tags)[tagState], aws.ToInt32(gb.DesiredCapacity))
	}
	if p := observed(t, s, b); p.State != cloud.PoolCold || p.Healthy {
		t.Fatalf("the cooled pool is observed %+v, want cold", p)
	}
	s.advance(time.Minute)
	writes = s.asg.tagWrites
	if err := swapTo(s, cloud.Backend{Pool: b, Weight: 100}); err != nil {
		t.Fatal(err)
	}
	if s.asg.tagWrites != writes+3 {
		t.Errorf("a swap to a cold pool tagged groups %d times, want 3 (cold while warming, ready, served)", s.asg.tagWrites-writes)
	}
	if p := observed(t, s, b); p.State != cloud.PoolReady || !p.Healthy {
		t.Fatalf("the pool warmed by the swap is observed %+v", p)
	}

	// Cooled by an older Phoenix: tagged cold.
	ga := s.asg.groups[groupName("shop", a)]
	ga.DesiredCapacity, ga.MinSize = aws.Int32(0), aws.Int32(0)
	for i := range ga.Tags {
		if aws.ToString(ga.Tags[i].Key) == tagState {
			ga.Tags[i].Value = aws.String(stateCold)
		}
	}
	if p := observed(t, s, a); p.State != cloud.PoolCold {
		t.Fatalf("a pool tagged cold is observed %+v", p)
	}
	s.advance(time.Minute)
	if err := s.SetWarm(ctx, "shop", a, true); err != nil {
		t.Fatal(err)
	}
	if st := asgTagSet(ga.Tags)[tagState]; st != stateReady {
		t.Errorf("warming a pool tagged cold left it %s", st)
	}
	if p := observed(t, s, a); p.State != cloud.PoolReady || !p.Healthy {
		t.Fatalf("the warmed pool is observed %+v", p)
	}
}

// TestAFailedWarmUpLeavesThePoolCold: cooling writes no tag, so warming
// marks the group cold until its servers are healthy. A warm-up that
// fails (here its servers never pass the health check) leaves a pool
// that reads cold, warmed again when next needed, not a ready pool that
// reads unhealthy, which retention would prune; and a group tagged cold
// at full size (a warm-up cut short) is tagged ready once healthy.
func TestAFailedWarmUpLeavesThePoolCold(t *testing.T) {
	ctx := context.Background()
	s := newStandIn(t)
	a, b := "prod.web.aaaa.1", "prod.web.bbbb.1"
	s.addPool(a, 2, 2)
	s.addPool(b, 2, 0) // its servers will never be healthy
	if err := swapTo(s, cloud.Backend{Pool: a, Weight: 100}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetWarm(ctx, "shop", b, false); err != nil {
		t.Fatal(err)
	}
	s.advance(time.Minute)
	if err := swapTo(s, cloud.Backend{Pool: b, Weight: 100}); !errors.Is(err, cloud.ErrNotReady) {
		t.Fatalf("a swap to a pool that never gets healthy: %v, want ErrNotReady", err)
	}
	if p := observed(t, s, b); p.State != cloud.PoolCold {
		t.Fatalf("after a failed warm-up the pool is observed %s (healthy %v), want cold", p.State, p.Healthy)
	}
	if err := s.SetWarm(ctx, "shop", b, true); err == nil {
		t.Fatal("warming a pool that never gets healthy succeeded")
	}
	if p := observed(t, s, b); p.State != cloud.PoolCold {
		t.Fatalf("after a failed SetWarm the pool is observed %s, want cold", p.State)
	}

	// Its servers come up: the pool, tagged cold at full size, is warmed
	// by the next swap and tagged ready.
	s.elb.mu.Lock()
	s.elb.healthy[s.asg.groups[groupName("shop", b)].TargetGroupARNs[0]] = 2
	s.elb.mu.Unlock()
	s.advance(time.Minute)
	if err := swapTo(s, cloud.Backend{Pool: b, Weight: 100}); err != nil {
		t.Fatal(err)
	}
	if p := observed(t, s, b); p.State != cloud.PoolReady || !p.Healthy {
		t.Fatalf("the pool warmed on the second try is observed %s (healthy %v), want ready", p.State, p.Healthy)
	}
}
