// Package cloudtest is the conformance suite every cloud implementation
// (memory, local, aws) must pass. It drives a cloud with hand-made requests
// built from a small spec the harness supplies, and asserts end states as
// Observe reports them, never sequences of calls: what the planner and the
// executor rely on is what the live state says afterwards.
//
// Use it from an implementation's tests:
//
//	func TestConformance(t *testing.T) {
//		cloudtest.Run(t, cloudtest.Harness{
//			New:     func(t *testing.T) cloud.Cloud { return local.Open(t.TempDir()) },
//			Desired: func(t *testing.T) *model.Desired { return cloudtest.Spec(cloudtest.SpecOptions{...}) },
//		})
//	}
package cloudtest

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// Harness adapts one cloud implementation to the suite. New and Desired are
// required; the rest is optional. Every subtest calls Desired, then New,
// once each, in that order.
type Harness struct {
	// New returns a fresh, empty cloud; tear it down with t.Cleanup.
	New func(t *testing.T) cloud.Cloud
	// Desired returns a small spec valid for this cloud: an image chain
	// (root "from" a source the cloud can bake, a child with a parent), one
	// environment with one role whose Endpoint is an address the cloud
	// serves. Spec builds one. Its Project names the project under test.
	Desired func(t *testing.T) *model.Desired

	// KillServer makes a pool unhealthy the way a crash would (kill a
	// process, terminate an instance). Without it the unhealthy-swap test
	// is skipped.
	KillServer func(t *testing.T, c cloud.Cloud, project, poolID string)
	// FailCreate arranges that creating pool p fails: it may edit p (a
	// copy: a command that exits, a smoke check that cannot pass) or set a
	// knob of c. Without it the failed-create test is skipped.
	FailCreate func(t *testing.T, c cloud.Cloud, p *model.Pool)
	// Foreign creates resources the project does not own (untagged, or
	// tagged for another owner) in c and returns a check that they are
	// intact. Without it the foreign test is skipped.
	Foreign func(t *testing.T, c cloud.Cloud, d *model.Desired) (intact func(t *testing.T) error)
	// DriftImage changes a baked image behind the cloud's back, as
	// tampering would (local: rewrite a file of its tree). Without it the
	// drifted-image test is skipped (clouds whose images cannot change).
	DriftImage func(t *testing.T, c cloud.Cloud, project string, im cloud.Image)
	// Advance lets the cloud's clock move by d (lock leases). Without it
	// the suite sleeps d.
	Advance func(t *testing.T, c cloud.Cloud, d time.Duration)
	// Load sends n requests to the endpoint at address and waits for their
	// answers (bounded: exactly n). Without it the metering test is
	// skipped.
	Load func(t *testing.T, c cloud.Cloud, address string, n int)
	// Settle is how long an expected state may take to show in Observe
	// (health checks, eventual consistency); the suite polls until then.
	// Zero checks once.
	Settle time.Duration
	// Timeout bounds every subtest (default 2 minutes).
	Timeout time.Duration
	// Skip names subtests to skip, with the reason printed (known gaps of
	// an emulator). Keep it short and honest.
	Skip map[string]string
}

// Run runs the conformance suite against h.
func Run(t *testing.T, h Harness) {
	if h.New == nil || h.Desired == nil {
		t.Fatal("cloudtest: Harness.New and Harness.Desired are required")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if why, ok := h.Skip[tc.name]; ok {
				t.Skipf("skipped by the harness: %s", why)
			}
			tc.run(t, newEnv(t, h))
		})
	}
}

// cases are the subtests, in the order they run.
var cases = []struct {
	name string
	run  func(t *testing.T, e *env)
}{
	{"observe/empty", testObserveEmpty},
	{"bake/chain-idempotent", testBakeChain},
	{"bake/replace", testBakeReplace},
	{"bake/drifted-image", testBakeDrifted},
	{"create/ready-tagged", testCreateTagged},
	{"create/same-id-again", testCreateAgain},
	{"create/concurrent", testCreateConcurrent},
	{"create/failed-left-behind", testCreateFailed},
	{"swap/routes-endpoint", testSwap},
	{"swap/unknown-pool-changes-nothing", testSwapUnknown},
	{"swap/canary-weights", testSwapCanary},
	{"swap/unhealthy-refused", testSwapUnhealthy},
	{"swap/detach", testSwapDetach},
	{"swap/atomic-under-observe", testSwapAtomic},
	{"delete-pool/serving-refused", testDeleteServing},
	{"delete-pool/non-serving-gone", testDeleteNonServing},
	{"delete-image/in-use-refused", testDeleteImageInUse},
	{"warm/cold-and-back", testWarm},
	{"warm/serving-stays-warm", testWarmServing},
	{"lock/owners", testLockOwners},
	{"lock/expired-lease", testLockExpired},
	{"project/other-invisible", testOtherProject},
	{"foreign/untouched", testForeign},
	{"reject/recorded", testReject},
	{"meter/counts-pool-traffic", testMeter},
}

// env is one subtest's world: a fresh cloud, the spec and a context.
type env struct {
	h       Harness
	ctx     context.Context
	c       cloud.Cloud
	d       *model.Desired
	project string
	pool    *model.Pool // the spec's one desired pool
}

func newEnv(t *testing.T, h Harness) *env {
	t.Helper()
	timeout := h.Timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	d := h.Desired(t)
	if d == nil || len(d.Pools) == 0 || len(d.Images) == 0 {
		t.Fatal("cloudtest: Harness.Desired must return a spec with at least one image and one pool")
	}
	project := d.Project
	if project == "" {
		project = "conformance"
	}
	return &env{h: h, ctx: ctx, c: h.New(t), d: d, project: project, pool: d.Pools[0]}
}

// bake bakes the image chain of name, root first, in project, and returns
// the live images by name.
func (e *env) bake(t *testing.T, project, name string) map[string]cloud.Image {
	t.Helper()
	im, ok := e.d.Images[name]
	if !ok {
		t.Fatalf("cloudtest: the spec has no image %q", name)
	}
	out := map[string]cloud.Image{}
	var parent *cloud.Image
	for _, n := range im.Chain {
		got, err := e.c.Bake(e.ctx, cloud.BakeRequest{Project: project, Image: e.d.Images[n], Parent: parent, Source: e.d.Source})
		if err != nil {
			t.Fatalf("baking %s: %v", n, err)
		}
		out[n] = got
		parent = &got
	}
	return out
}

// variant returns the spec's pool, or for variant != "" a copy whose config
// (and so key) differs: a second version of the same role.
func (e *env) variant(v string) *model.Pool {
	if v == "" {
		return e.pool
	}
	p := *e.pool
	p.Config = map[string]string{}
	for k, val := range e.pool.Config {
		p.Config[k] = val
	}
	p.Config["CONFORMANCE_VARIANT"] = v
	p.Key = hash("variant", e.pool.Key, v)
	return &p
}

// create bakes the pool's image chain and creates pool variant v,
// generation gen, in project; it returns the pool the cloud reports.
func (e *env) create(t *testing.T, project, v string, gen int) cloud.Pool {
	t.Helper()
	mp := e.variant(v)
	ims := e.bake(t, project, mp.Image)
	id := cloud.PoolID(mp.Env, mp.Role, mp.Key, gen)
	p, err := e.c.CreatePool(e.ctx, e.createRequest(project, mp, id, gen, ims[mp.Image]))
	if err != nil {
		t.Fatalf("creating pool %s: %v", id, err)
	}
	return p
}

func (e *env) createRequest(project string, mp *model.Pool, id string, gen int, im cloud.Image) cloud.CreateRequest {
	return cloud.CreateRequest{Project: project, Pool: mp, ID: id, Generation: gen, Image: im, Commit: e.d.Commit}
}

// swap points the spec's endpoint at backends.
func (e *env) swap(backends ...cloud.Backend) error {
	return e.c.Swap(e.ctx, cloud.SwapRequest{
		Project: e.project, Env: e.pool.Env, Role: e.pool.Role, Endpoint: e.pool.Endpoint, Backends: backends,
	})
}

func only(poolID string) cloud.Backend { return cloud.Backend{Pool: poolID, Weight: 100} }

// observe reads the project's live state.
func (e *env) observe(t *testing.T, project string) *cloud.Live {
	t.Helper()
	l, err := e.c.Observe(e.ctx, project)
	if err != nil {
		t.Fatalf("observing %s: %v", project, err)
	}
	if l == nil {
		t.Fatalf("observing %s: nil live state without an error", project)
	}
	return l
}

// eventually polls Observe until cond accepts the live state or Settle
// passes; then it fails with cond's last complaint.
func (e *env) eventually(t *testing.T, project string, cond func(*cloud.Live) error) *cloud.Live {
	t.Helper()
	deadline := time.Now().Add(e.h.Settle)
	wait := 50 * time.Millisecond
	for {
		l := e.observe(t, project)
		err := cond(l)
		if err == nil {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("live state of %s: %v\n%s", project, err, dump(l))
		}
		time.Sleep(wait)
		wait = min(wait*2, time.Second)
	}
}

// advance moves the cloud's clock by d.
func (e *env) advance(t *testing.T, d time.Duration) {
	if e.h.Advance != nil {
		e.h.Advance(t, e.c, d)
		return
	}
	time.Sleep(d)
}

func findPool(l *cloud.Live, id string) (cloud.Pool, bool) {
	for _, p := range l.Pools {
		if p.ID == id {
			return p, true
		}
	}
	return cloud.Pool{}, false
}

func findImage(l *cloud.Live, buildID string) (cloud.Image, bool) {
	for _, im := range l.Images {
		if im.BuildID == buildID {
			return im, true
		}
	}
	return cloud.Image{}, false
}

func findEndpoint(l *cloud.Live, envName, role string) (cloud.Endpoint, bool) {
	for _, ep := range l.Endpoints {
		if ep.Env == envName && ep.Role == role {
			return ep, true
		}
	}
	return cloud.Endpoint{}, false
}

// backendsOf returns an endpoint's backends with weight, sorted by pool.
func backendsOf(l *cloud.Live, envName, role string) []cloud.Backend {
	ep, ok := findEndpoint(l, envName, role)
	if !ok {
		return nil
	}
	var out []cloud.Backend
	for _, b := range ep.Backends {
		if b.Weight > 0 {
			out = append(out, b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pool < out[j].Pool })
	return out
}

// routesExactly checks that the endpoint routes to exactly want (weights
// included).
func routesExactly(l *cloud.Live, envName, role string, want ...cloud.Backend) error {
	got := backendsOf(l, envName, role)
	want = append([]cloud.Backend(nil), want...)
	sort.Slice(want, func(i, j int) bool { return want[i].Pool < want[j].Pool })
	if fmt.Sprint(got) != fmt.Sprint(want) {
		return fmt.Errorf("endpoint %s/%s routes to %v, want %v", envName, role, got, want)
	}
	return nil
}

// dump renders a live state for a failure message.
func dump(l *cloud.Live) string {
	s := "live state:\n"
	for _, im := range l.Images {
		s += fmt.Sprintf("  image %s %s parent=%s ref=%s\n", im.Name, short(im.BuildID), short(im.ParentBuildID), im.Ref)
	}
	for _, p := range l.Pools {
		s += fmt.Sprintf("  pool %s state=%s healthy=%v servers=%d/%d last_served=%v reason=%q\n",
			p.ID, p.State, p.Healthy, p.Servers, p.Count, p.LastServed, p.Reason)
	}
	for _, ep := range l.Endpoints {
		s += fmt.Sprintf("  endpoint %s/%s %s -> %v\n", ep.Env, ep.Role, ep.Address, ep.Backends)
	}
	for _, lk := range l.Locks {
		s += fmt.Sprintf("  lock %s owner=%s expires=%v\n", lk.Env, lk.Owner, lk.Expires)
	}
	return s
}

func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
