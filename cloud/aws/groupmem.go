package aws

import (
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	asgtypes "github.com/aws/aws-sdk-go-v2/service/autoscaling/types"
)

// groupMemory remembers the auto scaling group descriptions this Cloud's
// own reads returned, by group name with the time read, so that a step
// that acts on a pool a moment after the executor re-checked its
// environment (ObserveEnv) does not describe the group again (Cloud.group
// reuses a description younger than Options.GroupReuse).
//
// Only group descriptions are remembered: listener rules, listeners,
// target groups and target health are the action-time serving and health
// checks and are always read fresh. A group's description decides only
// what this process itself changes (its tags, its size, whether it
// exists), and every such change goes through this Cloud, which keeps the
// memory true: a successful write updates the remembered copy's tags
// (write-through) or, for a change it cannot model exactly (a size, whose
// instances follow; a create; a delete), forgets it, and a failed write
// forgets it.
//
// A read that raced a write is not remembered: each write is marked when
// it starts and when it ends, and a description is kept only if no write
// to its group was in flight while it was read or ended after the read
// began (it may show the group from before the write). A description is
// not reused while a write to its group is in flight.
//
// Entries older than the window are dropped when asked for or, at most
// once a window, by the next fill; the marks of finished writes are
// dropped once no read that started before them is in flight. It is safe
// for concurrent use.
type groupMemory struct {
	mu      sync.Mutex
	seq     uint64                 // write events so far
	entries map[string]*groupEntry // group name -> what is known
	reads   map[uint64]int         // reads in flight, by the seq they began at
	swept   time.Time
}

type groupEntry struct {
	g       *asgtypes.AutoScalingGroup // the description, or nil (only marks)
	at      time.Time                  // when g was read
	pending int                        // writes in flight
	touched uint64                     // seq of the last write event
}

// begin notes the start of a read of groups and returns its ticket for
// fill or end.
func (m *groupMemory) begin() uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.reads == nil {
		m.reads = map[uint64]int{}
	}
	m.reads[m.seq]++
	return m.seq
}

// end notes that the read begun at start is over.
func (m *groupMemory) end(start uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.endLocked(start)
}

func (m *groupMemory) endLocked(start uint64) {
	if m.reads[start]--; m.reads[start] <= 0 {
		delete(m.reads, start)
	}
}

// fill remembers the groups the read begun at start returned, read at
// now, and ends the read. Names in absent were asked for and not found
// (or found deleting, or not the project's): what was remembered of them
// is forgotten.
func (m *groupMemory) fill(start uint64, now time.Time, window time.Duration, groups []asgtypes.AutoScalingGroup, absent ...string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	defer m.endLocked(start)
	if m.entries == nil {
		m.entries = map[string]*groupEntry{}
	}
	for _, name := range absent {
		if e := m.entries[name]; e != nil {
			e.g = nil
		}
	}
	for i := range groups {
		name := aws.ToString(groups[i].AutoScalingGroupName)
		e := m.entries[name]
		if e == nil {
			e = &groupEntry{}
			m.entries[name] = e
		}
		if e.pending > 0 || e.touched > start {
			continue // a write raced this read: it may show the group from before
		}
		g := copyGroup(groups[i])
		e.g, e.at = &g, now
	}
	if now.Sub(m.swept) >= window || now.Before(m.swept) {
		m.sweepLocked(now, window)
		m.swept = now
	}
}

// get returns a copy of the group called name as read less than window
// before now, or nil.
func (m *groupMemory) get(name string, now time.Time, window time.Duration) *asgtypes.AutoScalingGroup {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[name]
	if e == nil || e.g == nil {
		return nil
	}
	if age := now.Sub(e.at); age >= window || age < 0 {
		e.g = nil
		m.dropLocked(name, e)
		return nil
	}
	if e.pending > 0 {
		return nil
	}
	g := copyGroup(*e.g)
	return &g
}

// write notes the start of a write to the groups called names and returns
// the function that notes its end: with ok, apply (if not nil) updates a
// remembered copy as the write changed the group (write-through);
// without ok, or without apply, the copy is forgotten.
func (m *groupMemory) write(names ...string) (done func(ok bool, apply func(*asgtypes.AutoScalingGroup))) {
	m.mu.Lock()
	if m.entries == nil {
		m.entries = map[string]*groupEntry{}
	}
	m.seq++
	for _, name := range names {
		e := m.entries[name]
		if e == nil {
			e = &groupEntry{}
			m.entries[name] = e
		}
		e.pending++
		e.touched = m.seq
	}
	m.mu.Unlock()
	return func(ok bool, apply func(*asgtypes.AutoScalingGroup)) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.seq++
		for _, name := range names {
			e := m.entries[name]
			e.pending--
			e.touched = m.seq
			if e.g == nil {
				continue
			}
			if ok && apply != nil {
				g := copyGroup(*e.g)
				apply(&g)
				e.g = &g
			} else {
				e.g = nil
			}
		}
	}
}

// sweepLocked drops descriptions older than window and the marks no read
// in flight needs.
func (m *groupMemory) sweepLocked(now time.Time, window time.Duration) {
	for name, e := range m.entries {
		if e.g != nil {
			if age := now.Sub(e.at); age >= window || age < 0 {
				e.g = nil
			}
		}
		m.dropLocked(name, e)
	}
}

// dropLocked removes an entry without a description once no write to its
// group is in flight and every read in flight began after its last write
// event (so that fill would not refuse on its account).
func (m *groupMemory) dropLocked(name string, e *groupEntry) {
	if e.g != nil || e.pending > 0 {
		return
	}
	for start := range m.reads {
		if start < e.touched {
			return
		}
	}
	delete(m.entries, name)
}

// size is how many groups the memory holds an entry for (tests).
func (m *groupMemory) size() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.entries)
}

// copyGroup copies a group description deep enough that neither the
// memory nor its callers see the other's changes: the lists it holds
// are copied.
func copyGroup(g asgtypes.AutoScalingGroup) asgtypes.AutoScalingGroup {
	g.Tags = slices.Clone(g.Tags)
	g.Instances = slices.Clone(g.Instances)
	g.TargetGroupARNs = slices.Clone(g.TargetGroupARNs)
	g.LoadBalancerNames = slices.Clone(g.LoadBalancerNames)
	if g.MinSize != nil {
		g.MinSize = aws.Int32(*g.MinSize)
	}
	if g.MaxSize != nil {
		g.MaxSize = aws.Int32(*g.MaxSize)
	}
	if g.DesiredCapacity != nil {
		g.DesiredCapacity = aws.Int32(*g.DesiredCapacity)
	}
	return g
}

// taggedWith sets t among g's tags, as CreateOrUpdateTags leaves them
// (values cut to AWS's limit, as tagSet.asg sends them).
func taggedWith(g *asgtypes.AutoScalingGroup, t tagSet) {
	cut := tagSet{}
	for k, v := range t {
		cut[k] = short(v, maxTagValue)
	}
	g.Tags = withTags(g.Tags, aws.ToString(g.AutoScalingGroupName), cut)
}

// reusing reports whether group descriptions are remembered at all.
func (c *Cloud) reusing() bool { return c.opt.GroupReuse > 0 }

// groupRead is one read of group descriptions, to be remembered.
type groupRead struct {
	c     *Cloud
	start uint64
	at    time.Time
}

// readingGroups notes the start of a read of group descriptions.
func (c *Cloud) readingGroups() groupRead {
	if !c.reusing() {
		return groupRead{}
	}
	return groupRead{c: c, start: c.groups.begin(), at: c.opt.Now()}
}

// done remembers what the read returned (nothing if it failed: groups
// nil and no absent names) and ends it.
func (r groupRead) done(groups []asgtypes.AutoScalingGroup, absent ...string) {
	if r.c == nil {
		return
	}
	r.c.groups.fill(r.start, r.at, r.c.opt.GroupReuse, groups, absent...)
}

// writingGroups notes the start of a write to the groups called names and
// returns what notes its end (see groupMemory.write).
func (c *Cloud) writingGroups(names ...string) func(ok bool, apply func(*asgtypes.AutoScalingGroup)) {
	if !c.reusing() {
		return func(bool, func(*asgtypes.AutoScalingGroup)) {}
	}
	return c.groups.write(names...)
}

// rememberedGroup returns the project's group called name as this cloud
// read it less than Options.GroupReuse ago, or nil.
func (c *Cloud) rememberedGroup(project, name string) *asgtypes.AutoScalingGroup {
	if !c.reusing() {
		return nil
	}
	g := c.groups.get(name, c.opt.Now(), c.opt.GroupReuse)
	if g == nil || !asgTagSet(g.Tags).owned(project) || deleting(*g) {
		return nil
	}
	return g
}
