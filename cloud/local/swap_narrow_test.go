package local

import (
	"context"
	"errors"
	"io"
	"log"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// quickSupervisor is a supervisor in this process over a fresh store,
// with no socket and no servers: enough to drive its operations directly.
func quickSupervisor(t *testing.T) *supervisor {
	t.Helper()
	home := t.TempDir()
	st, err := openStore(filepath.Join(home, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s := newSupervisor(home, st)
	s.log = log.New(io.Discard, "", 0)
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, p := range s.proxies {
			p.close()
		}
	})
	return s
}

// readyPool adds a ready pool of (env, role) with one healthy server that
// needs no process.
func readyPool(s *supervisor, env, role, id string) {
	srv := newServer(serverRec{Index: 0, Port: 1}, true)
	srv.healthy.Store(true)
	rt := &poolRT{rec: poolRec{Project: "p", ID: id, State: cloud.PoolReady,
		Spec: model.Pool{Env: env, Role: role, Count: 1}}}
	rt.servers.Store(&[]*server{srv})
	s.pools[string(recKey("p", id))] = rt
}

func swapTo(env, role, addr, pool string) *swapReq {
	return &swapReq{SwapRequest: cloud.SwapRequest{Project: "p", Env: env, Role: role, Endpoint: addr,
		Backends: []cloud.Backend{{Pool: pool, Weight: 100}}}}
}

// TestASlowSwapBlocksNoOtherRequest: while one endpoint's swap is held
// before its commit (a slow disk), another endpoint's swap, an observe and
// a lock go through within a bound; the held swap's pool cannot be deleted
// meanwhile and its endpoint still shows the old routing; once released,
// the swap completes.
func TestASlowSwapBlocksNoOtherRequest(t *testing.T) {
	s := quickSupervisor(t)
	readyPool(s, "qa", "web", "pool-web")
	readyPool(s, "qa", "api", "pool-api")
	entered, release := make(chan struct{}), make(chan struct{})
	s.beforeCommit = func(target string) {
		if target == "qa/web" {
			close(entered)
			<-release
		}
	}
	ctx := context.Background()
	slow := make(chan error, 1)
	go func() { slow <- s.swap(ctx, swapTo("qa", "web", freeAddr(t), "pool-web")) }()
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("the slow swap never reached its commit")
	}
	others := make(chan error, 1)
	go func() { others <- otherRequests(ctx, s, freeAddr(t)) }()
	select {
	case err := <-others:
		if err != nil {
			close(release)
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("requests for other endpoints waited for a slow swap")
	}
	close(release)
	if err := <-slow; err != nil {
		t.Fatalf("the slow swap: %v", err)
	}
	live, err := s.observe("p")
	if err != nil || len(live.Endpoints) != 2 {
		t.Fatalf("after both swaps: %v endpoints, err %v", live, err)
	}
}

// otherRequests is what must not wait for a swap of qa/web held before
// its commit.
func otherRequests(ctx context.Context, s *supervisor, addr string) error {
	if err := s.swap(ctx, swapTo("qa", "api", addr, "pool-api")); err != nil {
		return err
	}
	live, err := s.observe("p")
	if err != nil {
		return err
	}
	if len(live.Endpoints) != 1 || live.Endpoints[0].Role != "api" {
		return errors.New("observe shows a swap that is not committed yet")
	}
	if err := s.lock(&lockReq{Project: "p", Env: "staging", Owner: "ann", Lease: time.Minute}); err != nil {
		return err
	}
	if err := s.deletePool("p", "pool-web"); !errors.Is(err, cloud.ErrServing) {
		return errors.New("a pool a swap is under way to was deleted: " + errString(err))
	}
	return nil
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// TestASwapKeepsWhatChangedDuringItsCommit: a pool record the swap
// commits from its copy, changed by someone else while the swap was held
// before its commit, ends in the store with both changes.
func TestASwapKeepsWhatChangedDuringItsCommit(t *testing.T) {
	s := quickSupervisor(t)
	readyPool(s, "qa", "web", "pool-web")
	entered, release := make(chan struct{}), make(chan struct{})
	s.beforeCommit = func(string) { close(entered); <-release }
	done := make(chan error, 1)
	go func() { done <- s.swap(context.Background(), swapTo("qa", "web", freeAddr(t), "pool-web")) }()
	<-entered
	s.mu.Lock()
	rt := s.pools[string(recKey("p", "pool-web"))]
	rt.rec.Reason = "changed meanwhile"
	err := s.save(&rt.rec)
	s.mu.Unlock()
	close(release)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("swap: %v", err)
	}
	var rec poolRec
	if err := s.st.view(func(tx *bolt.Tx) error { _, err := get(tx, bucketPools, recKey("p", "pool-web"), &rec); return err }); err != nil {
		t.Fatal(err)
	}
	if rec.Reason != "changed meanwhile" || rec.LastServed.IsZero() {
		t.Fatalf("stored record lost a change: reason %q, last served %v", rec.Reason, rec.LastServed)
	}
}
