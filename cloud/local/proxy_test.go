package local

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// testPools returns n pools of two healthy servers each (no processes:
// the servers are owned and never marked exited), by id.
func testPools(n int) map[string]*poolRT {
	out := map[string]*poolRT{}
	for i := range n {
		rt := &poolRT{}
		list := []*server{newServer(serverRec{Index: 0, Port: 40000 + 2*i}, true), newServer(serverRec{Index: 1, Port: 40001 + 2*i}, true)}
		for _, s := range list {
			s.healthy.Store(true)
		}
		rt.servers.Store(&list)
		out["p"+strconv.Itoa(i)] = rt
	}
	return out
}

// Every window of 20 consecutive picks gives each pool its weight's share
// of 20, ± 1, from any starting request: the split follows the weights at
// any request rate, not only over a hundred requests.
func TestPickInterleavesByWeight(t *testing.T) {
	for _, weights := range [][]int{{75, 25}, {25, 75}, {90, 10}, {50, 50}, {95, 5}, {60, 30, 10}, {1, 99}} {
		t.Run(fmt.Sprint(weights), func(t *testing.T) {
			pools := testPools(len(weights))
			var bs []cloud.Backend
			for i, w := range weights {
				bs = append(bs, cloud.Backend{Pool: "p" + strconv.Itoa(i), Weight: w})
			}
			set := newBackendSet(bs, pools)
			const picks = 1000
			got := make([]*poolRT, picks)
			for n := range picks {
				got[n], _ = set.pick(uint64(n))
			}
			for i, w := range weights {
				rt := pools["p"+strconv.Itoa(i)]
				hits := make([]bool, picks)
				total := 0
				for n, p := range got {
					hits[n] = p == rt
					if hits[n] {
						total++
					}
				}
				if total != w*picks/100 {
					t.Errorf("pool of weight %d got %d of %d picks", w, total, picks)
				}
				want := w * 20 / 100
				if bad := windowsOff(hits, 20, want, 1); len(bad) > 0 {
					t.Errorf("pool of weight %d: %d windows of 20 off %d±1, the first at %d", w, len(bad), want, bad[0])
				}
			}
		})
	}
}

// BenchmarkPick measures the proxy's choice of pool and server for one
// request under parallel load, the only work it adds on the request path:
// a 75/25 canary of two pools of two servers.
func BenchmarkPick(b *testing.B) {
	set := newBackendSet([]cloud.Backend{{Pool: "p0", Weight: 75}, {Pool: "p1", Weight: 25}}, testPools(2))
	p := &proxy{}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, s := set.pick(p.n.Add(1) - 1); s == nil {
				b.Fatal("no server picked")
			}
		}
	})
}

// The proxy interleaves a canary by weight: in every window of 20
// consecutive requests (one client, so the proxy sees them in order) a
// 25% pool gets 5 ± 1, at any request rate. It used to send the first 75
// of each hundred to one pool and the next 25 to the other.
func TestCanaryEveryWindowFollowsWeights(t *testing.T) {
	c := newTestCloud(t)
	f := newFixture(t, c, 1)
	ctx := context.Background()
	a, b := f.create(t, "A"), f.create(t, "B")
	if err := f.swap(ctx, cloud.Backend{Pool: a.ID, Weight: 75}, cloud.Backend{Pool: b.ID, Weight: 25}); err != nil {
		t.Fatal(err)
	}
	samples := runLoad("http://"+f.spec.Endpoint+"/", 1, 200, nil)
	toB := make([]bool, len(samples))
	for i, s := range samples {
		if s.err != nil {
			t.Fatal(s.err)
		}
		toB[i] = strings.Fields(s.body)[0] == "version=B"
	}
	if bad := windowsOff(toB, 20, 5, 1); len(bad) > 0 {
		t.Fatalf("25%% canary over %d requests: windows off 5±1 of 20 start at %v", len(samples), bad)
	}
}

// windowsOff returns the starts of the windows of n consecutive picks
// whose count of hits is not want ± tol.
func windowsOff(hits []bool, n, want, tol int) []int {
	var bad []int
	for start := 0; start+n <= len(hits); start++ {
		got := 0
		for _, h := range hits[start : start+n] {
			if h {
				got++
			}
		}
		if got < want-tol || got > want+tol {
			bad = append(bad, start)
		}
	}
	return bad
}

// A swap that lands between a request's pick and its count in flight must
// not send the request to the replaced pool, which may be stopping (its
// drain saw no request in flight): the request picks again from the new
// set, and nothing stays counted on the old pool.
func TestAcquireRepicksWhenTheSetMovesOn(t *testing.T) {
	pools := testPools(2)
	old := newBackendSet([]cloud.Backend{{Pool: "p0", Weight: 100}}, pools)
	next := newBackendSet([]cloud.Backend{{Pool: "p1", Weight: 100}}, pools)
	p := &proxy{}
	p.set.Store(old)
	swapped := false
	afterPick = func() {
		if !swapped {
			swapped = true
			p.set.Store(next)
		}
	}
	defer func() { afterPick = nil }()
	set, pool, srv := p.acquire()
	if set != next || pool != pools["p1"] || srv == nil {
		t.Fatalf("acquire during a swap picked pool %p of set %p, want the new set's pool %p", pool, set, pools["p1"])
	}
	if n := pools["p0"].inflight.Load(); n != 0 {
		t.Fatalf("the replaced pool still counts %d requests in flight", n)
	}
	if n := pools["p1"].inflight.Load(); n != 1 {
		t.Fatalf("the new pool counts %d requests in flight, want 1", n)
	}
}
