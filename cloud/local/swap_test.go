package local

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// sample is one request of the load.
type sample struct {
	start, end time.Time
	err        error
	body       string
}

// runLoad sends GETs to url from clients goroutines until budget requests
// are done or stop is closed, and returns the samples of the requests
// sent.
func runLoad(url string, clients, budget int, stop <-chan struct{}) []sample {
	tr := &http.Transport{MaxIdleConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 10 * time.Second}
	var next atomic.Int64
	per := make([][]sample, clients)
	var wg sync.WaitGroup
	for g := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(budget) {
				select {
				case <-stop:
					return
				default:
				}
				s := sample{start: time.Now()}
				resp, err := hc.Get(url)
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					s.body = string(b)
					if resp.StatusCode != http.StatusOK {
						err = fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(s.body))
					}
				}
				s.err, s.end = err, time.Now()
				per[g] = append(per[g], s)
			}
		}()
	}
	wg.Wait()
	var out []sample
	for _, p := range per {
		out = append(out, p...)
	}
	slices.SortFunc(out, func(a, b sample) int { return a.start.Compare(b.start) })
	return out
}

// window is a period during which a swap (or a stop) was under way.
type window struct {
	from, to time.Time
	cold     bool // a stop or a start from cold, not a warm swap
}

func (w window) holds(t time.Time) bool { return !t.Before(w.from) && !t.After(w.to) }

func p99(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[(len(ds)*99)/100]
}

// TestSwapUnderLoad swaps an endpoint back and forth between two warm pools,
// then cools the old pool while it drains and rolls back onto it from cold,
// all under a bounded load of 8 clients. Not one request may fail.
func TestSwapUnderLoad(t *testing.T) {
	c := newTestCloud(t)
	f := newFixture(t, c, 2)
	ctx := context.Background()
	a, b := f.create(t, "A"), f.create(t, "B")
	if err := f.swap(ctx, only(a.ID)); err != nil {
		t.Fatal(err)
	}
	// The load runs until the swaps are done and a steady tail follows, or
	// until the request budget is spent, whichever comes first.
	const clients, budget = 8, 40000
	stop := make(chan struct{})
	var (
		mu      sync.Mutex
		windows []window
		swapErr error
	)
	started := make(chan struct{})
	samplesCh := make(chan []sample, 1)
	go func() {
		close(started)
		samplesCh <- runLoad("http://"+f.spec.Endpoint+"/", clients, budget, stop)
	}()
	<-started
	timed := func(cold bool, fn func() error) {
		w := window{from: time.Now(), cold: cold}
		err := fn()
		w.to = time.Now().Add(20 * time.Millisecond) // requests just after the switch count as "during"
		mu.Lock()
		windows = append(windows, w)
		if err != nil && swapErr == nil {
			swapErr = err
		}
		mu.Unlock()
	}
	time.Sleep(300 * time.Millisecond) // steady state first
	for i := range 6 {
		to := b.ID
		if i%2 == 1 {
			to = a.ID
		}
		timed(false, func() error { return f.swap(ctx, only(to)) })
		time.Sleep(150 * time.Millisecond)
	}
	// Serving b: cool a while its last requests drain, then roll back onto
	// it from cold (the swap starts it first).
	timed(false, func() error { return f.swap(ctx, only(b.ID)) })
	timed(true, func() error { return c.SetWarm(ctx, f.project, a.ID, false) })
	timed(true, func() error { return f.swap(ctx, only(a.ID)) })
	time.Sleep(300 * time.Millisecond)
	close(stop)
	samples := <-samplesCh
	if swapErr != nil {
		t.Fatalf("swap: %v", swapErr)
	}

	var failed []string
	var steady, during, cold []time.Duration
	seen := map[string]int{}
	for _, s := range samples {
		if s.err != nil {
			failed = append(failed, s.err.Error())
			continue
		}
		seen[strings.Fields(s.body)[0]]++
		d := s.end.Sub(s.start)
		kind := &steady
		for _, w := range windows {
			if w.holds(s.start) || w.holds(s.end) {
				kind = &during
				if w.cold {
					kind = &cold
				}
				break
			}
		}
		*kind = append(*kind, d)
	}
	if len(failed) > 0 {
		t.Fatalf("%d of %d requests failed during swaps, e.g. %q", len(failed), len(samples), failed[0])
	}
	if len(samples) >= budget {
		t.Fatalf("the request budget ran out before the swaps were done")
	}
	if seen["version=A"] == 0 || seen["version=B"] == 0 {
		t.Fatalf("both pools should have served: %v", seen)
	}
	span := samples[len(samples)-1].end.Sub(samples[0].start)
	t.Logf("served %d requests (%d clients, 0 failed) in %s across %d swaps/stops: %v", len(samples), clients, span.Round(time.Millisecond), len(windows), seen)
	t.Logf("p99 latency: steady %s (%d requests), during warm swaps %s (%d requests), during cool+cold rollback %s (%d requests)",
		p99(steady), len(steady), p99(during), len(during), p99(cold), len(cold))
	l, err := c.Observe(ctx, f.project)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range l.Pools {
		if p.ID == a.ID && (p.State != cloud.PoolReady || !p.Healthy) {
			t.Fatalf("rolled-back pool %s is %s healthy=%v", p.ID, p.State, p.Healthy)
		}
	}
}

// TestCanaryWeights checks that a 25/75 split is what the proxy does.
func TestCanaryWeights(t *testing.T) {
	c := newTestCloud(t)
	f := newFixture(t, c, 1)
	ctx := context.Background()
	a, b := f.create(t, "A"), f.create(t, "B")
	if err := f.swap(ctx, cloud.Backend{Pool: a.ID, Weight: 75}, cloud.Backend{Pool: b.ID, Weight: 25}); err != nil {
		t.Fatal(err)
	}
	samples := runLoad("http://"+f.spec.Endpoint+"/", 2, 400, nil)
	seen := map[string]int{}
	for _, s := range samples {
		if s.err != nil {
			t.Fatal(s.err)
		}
		seen[strings.Fields(s.body)[0]]++
	}
	if seen["version=A"] != 300 || seen["version=B"] != 100 {
		t.Fatalf("75/25 canary over 400 requests served %v", seen)
	}
}

// TestKilledServerReportsUnhealthy kills one server of a serving pool: the
// live state reports the pool short and unhealthy with the reason, and the
// endpoint still answers every request from the other server.
func TestKilledServerReportsUnhealthy(t *testing.T) {
	c := newTestCloud(t)
	f := newFixture(t, c, 2)
	a, st := f.serve(t, "A")
	var pid int
	for _, p := range st.Pools {
		if p.ID == a.ID {
			pid = p.PIDs[0]
		}
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() error {
		p := f.pool(t, a.ID)
		if p.Healthy || p.Servers != 1 || !strings.Contains(p.Reason, "killed") {
			return fmt.Errorf("after killing pid %d: pool healthy=%v servers=%d/%d reason=%q", pid, p.Healthy, p.Servers, p.Count, p.Reason)
		}
		return nil
	})
	for _, s := range runLoad("http://"+f.spec.Endpoint+"/", 2, 50, nil) {
		if s.err != nil {
			t.Fatalf("a request failed with one server of two dead: %v", s.err)
		}
	}
}

// TestSwapKeepsRequestInFlightOnOldPool: a slow request that reached the
// endpoint before a swap is answered by the pool it started on, although
// the swap returns while it runs; requests sent after the swap go to the
// new pool. Pools are told apart by the PHOENIX_POOL they answer with.
func TestSwapKeepsRequestInFlightOnOldPool(t *testing.T) {
	c := newTestCloud(t)
	f := newFixture(t, c, 1)
	ctx := context.Background()
	const slow = 1500 * time.Millisecond
	create := func(v string) cloud.Pool {
		spec := f.variant(v)
		spec.Config["SLOW_MS"] = fmt.Sprint(slow.Milliseconds())
		id := cloud.PoolID(spec.Env, spec.Role, spec.Key, 1)
		p, err := c.CreatePool(ctx, cloud.CreateRequest{Project: f.project, Pool: spec, ID: id, Generation: 1, Image: f.image})
		if err != nil {
			t.Fatalf("creating %s: %v", id, err)
		}
		return p
	}
	oldPool, newPool := create("A"), create("B")
	if err := f.swap(ctx, only(oldPool.ID)); err != nil {
		t.Fatal(err)
	}
	served := func() uint64 {
		st, err := c.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range st.Endpoints {
			if e.Address == f.spec.Endpoint {
				return e.Served
			}
		}
		return 0
	}
	base := "http://" + f.spec.Endpoint
	slowGet := func() <-chan sample {
		ch := make(chan sample, 1)
		go func() {
			s := sample{start: time.Now()}
			s.body, s.err = getErr(base + "/slow")
			s.end = time.Now()
			ch <- s
		}()
		return ch
	}

	before := served()
	inFlight := slowGet()
	// The proxy counts a request once it has picked its pool.
	waitFor(t, 5*time.Second, func() error {
		if n := served(); n != before+1 {
			return fmt.Errorf("the slow request has not reached the endpoint (served %d, was %d)", n, before)
		}
		return nil
	})
	if err := f.swap(ctx, only(newPool.ID)); err != nil {
		t.Fatal(err)
	}
	swapped := time.Now()
	after := slowGet()
	for range 10 {
		body, err := getErr(base + "/")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(body, "pool="+newPool.ID) {
			t.Fatalf("a request sent after the swap was answered %q, want pool %s", body, newPool.ID)
		}
	}

	old := <-inFlight
	if old.err != nil {
		t.Fatalf("the request in flight across the swap failed: %v", old.err)
	}
	if strings.TrimSpace(old.body) != "pool="+oldPool.ID {
		t.Fatalf("the request in flight across the swap was answered %q, want the old pool %s", old.body, oldPool.ID)
	}
	if !old.end.After(swapped) {
		t.Fatalf("the slow request ended (%s) before the swap returned (%s): it was not in flight across it", old.end.Format(time.StampMicro), swapped.Format(time.StampMicro))
	}
	if s := <-after; s.err != nil || strings.TrimSpace(s.body) != "pool="+newPool.ID {
		t.Fatalf("a slow request sent after the swap: %q, %v; want the new pool %s", s.body, s.err, newPool.ID)
	}
	t.Logf("in flight across the swap: %s on %s, swap returned %s after it started; after the swap: %s",
		old.end.Sub(old.start).Round(time.Millisecond), oldPool.ID, swapped.Sub(old.start).Round(time.Millisecond), newPool.ID)
}

// getErr GETs url and returns the body, or an error for a failure or a
// status other than 200.
func getErr(url string) (string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("status %s: %s", resp.Status, strings.TrimSpace(string(b)))
	}
	return string(b), nil
}

// TestServerGroupEndsWithItsLeader: a role command that starts a child in
// the background (`sleep … &`) and whose server then dies: the child is
// stopped with it instead of running on unseen (it could hold the
// server's port, or its work, with no pool to show for it).
func TestServerGroupEndsWithItsLeader(t *testing.T) {
	c := newTestCloud(t)
	f := newFixture(t, c, 1)
	f.spec.Command = `sleep 300 & echo "phoenix-test-child=$!"; ` + serverCommand(t)
	a, st := f.serve(t, "A")
	logPath := filepath.Join(c.Home(), "logs", f.spec.Env, f.spec.Role, a.ID+"-0.log")
	var child int
	waitFor(t, 5*time.Second, func() error {
		b, err := os.ReadFile(logPath)
		if err != nil {
			return err
		}
		_, after, ok := strings.Cut(string(b), "phoenix-test-child=")
		if !ok {
			return fmt.Errorf("no child pid in %s yet", logPath)
		}
		child, err = strconv.Atoi(strings.TrimSpace(strings.SplitN(after, "\n", 2)[0]))
		return err
	})
	if !pidAlive(child) {
		t.Fatalf("child %d is not running before its server dies", child)
	}
	if err := syscall.Kill(st.Pools[0].PIDs[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() error {
		if pidAlive(child) && !isZombie(child) {
			return fmt.Errorf("child %d of the dead server still runs", child)
		}
		return nil
	})
}
