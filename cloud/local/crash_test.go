package local

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// createClientMain is the test binary run as a CLI that creates a pool
// (TEST_CREATE_CLIENT=1): the crash test kills it with SIGKILL mid-create.
func createClientMain() {
	var req cloud.CreateRequest
	if err := json.Unmarshal([]byte(os.Getenv("TEST_CREATE_REQ")), &req); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	c, err := Open(Options{Home: os.Getenv("TEST_HOME"), SupervisorCommand: testSupervisor})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if _, err := c.CreatePool(context.Background(), req); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// slowRequest is a create request whose servers take a minute to listen,
// so that a create is surely in progress when the test kills something.
func slowRequest(f *fixture) cloud.CreateRequest {
	spec := f.variant("slow")
	spec.Config["START_DELAY_MS"] = "60000"
	id := cloud.PoolID(spec.Env, spec.Role, spec.Key, 1)
	return cloud.CreateRequest{Project: f.project, Pool: spec, ID: id, Generation: 1, Image: f.image}
}

// waitCreating waits until the pool is recorded creating with all its
// servers started, and returns their pids.
func waitCreating(t *testing.T, c *Cloud, project, id string, count int) []int {
	t.Helper()
	var pids []int
	waitFor(t, 10*time.Second, func() error {
		st, err := c.Status(context.Background())
		if err != nil {
			return err
		}
		for _, p := range st.Pools {
			if p.Project == project && p.ID == id && p.State == cloud.PoolCreating && len(p.PIDs) == count {
				pids = p.PIDs
				return nil
			}
		}
		return fmt.Errorf("pool %s is not creating with %d servers yet: %+v", id, count, st.Pools)
	})
	return pids
}

// expectInterrupted checks that Observe reports the half-made pool failed
// with an interruption reason and that none of its processes still runs.
func expectInterrupted(t *testing.T, f *fixture, id string, pids []int) {
	t.Helper()
	waitFor(t, 10*time.Second, func() error {
		p := f.pool(t, id)
		if p.State != cloud.PoolFailed || p.Healthy || !strings.Contains(p.Reason, "interrupted") {
			return fmt.Errorf("half-made pool %s: state %s healthy %v reason %q", id, p.State, p.Healthy, p.Reason)
		}
		for _, pid := range pids {
			if pidAlive(pid) && !isZombie(pid) {
				return fmt.Errorf("server pid %d of the half-made pool still runs", pid)
			}
		}
		return nil
	})
	// The planner prunes it; the prune succeeds.
	if err := f.c.DeletePool(context.Background(), f.project, id); err != nil {
		t.Fatalf("pruning the half-made pool: %v", err)
	}
}

// TestCLIKilledMidCreate kills (SIGKILL) a process that is creating a pool:
// the supervisor notices the request is gone, stops the servers, and the
// next Observe reports the pool failed for the planner to prune.
func TestCLIKilledMidCreate(t *testing.T) {
	c := newTestCloud(t)
	f := newFixture(t, c, 2)
	req := slowRequest(f)
	b, err := json.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "TEST_CREATE_CLIENT=1", "TEST_HOME="+c.Home(), "TEST_CREATE_REQ="+string(b))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	pids := waitCreating(t, c, f.project, req.ID, 2)
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	expectInterrupted(t, f, req.ID, pids)
}

// TestSupervisorKilledMidCreate kills the supervisor itself mid-create: the
// caller gets an error, and the next supervisor (started by the next
// Observe) stops the orphaned servers and reports the pool failed.
func TestSupervisorKilledMidCreate(t *testing.T) {
	c := newTestCloud(t)
	f := newFixture(t, c, 2)
	req := slowRequest(f)
	done := make(chan error, 1)
	go func() {
		_, err := c.CreatePool(context.Background(), req)
		done <- err
	}()
	pids := waitCreating(t, c, f.project, req.ID, 2)
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the create succeeded although its supervisor was killed")
		}
		t.Logf("the interrupted create returned: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the create did not return after its supervisor was killed")
	}
	expectInterrupted(t, f, req.ID, pids)
}

// TestSupervisorRestartAdopts kills the supervisor of a serving pool: the
// servers keep running, and the next supervisor adopts them, reopens the
// endpoint and reports the pool healthy; `down` then stops the adopted
// processes too (checked by the test's cleanup).
func TestSupervisorRestartAdopts(t *testing.T) {
	c := newTestCloud(t)
	f := newFixture(t, c, 2)
	a, st := f.serve(t, "A")
	if err := syscall.Kill(st.PID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() error {
		if pidAlive(st.PID) && !isZombie(st.PID) {
			return fmt.Errorf("supervisor %d still runs", st.PID)
		}
		return nil
	})
	for _, p := range st.Pools {
		for _, pid := range p.PIDs {
			if !pidAlive(pid) {
				t.Fatalf("server %d died with its supervisor", pid)
			}
		}
	}
	p := f.pool(t, a.ID) // starts a new supervisor
	if p.State != cloud.PoolReady || !p.Healthy || p.Servers != 2 {
		t.Fatalf("adopted pool: %+v", p)
	}
	resp, err := http.Get("http://" + f.spec.Endpoint + "/")
	if err != nil {
		t.Fatalf("the endpoint does not answer after the restart: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the endpoint answers %s after the restart", resp.Status)
	}
}

// TestDownAndUp: `down` leaves no process and no listener; `up` brings back
// what ran (the serving pool and the warm retained one), not what was cold.
func TestDownAndUp(t *testing.T) {
	c := newTestCloud(t)
	f := newFixture(t, c, 2)
	ctx := context.Background()
	a, b, cold := f.create(t, "A"), f.create(t, "B"), f.create(t, "C")
	if err := f.swap(ctx, only(a.ID)); err != nil {
		t.Fatal(err)
	}
	if err := c.SetWarm(ctx, f.project, cold.ID, false); err != nil {
		t.Fatal(err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Down(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range st.Pools {
		for _, pid := range p.PIDs {
			if pidAlive(pid) && !isZombie(pid) {
				t.Errorf("server %d of %s runs after down", pid, p.ID)
			}
		}
	}
	if c.Running(ctx) {
		t.Fatal("the supervisor answers after down")
	}
	if _, err := http.Get("http://" + f.spec.Endpoint + "/"); err == nil {
		t.Fatal("the endpoint answers after down")
	}
	// A command other than `up` starts the supervisor but not the pools
	// (reads stay cheap, and down is not undone behind the user's back):
	// the serving pool is cold saying why, and the endpoint's 503 says
	// what starts it.
	if p := f.pool(t, a.ID); p.State != cloud.PoolCold || !strings.Contains(p.Reason, "phoenix cloud down") {
		t.Fatalf("after down, observed serving pool %s is %s (%q), want cold because of cloud down", a.ID, p.State, p.Reason)
	}
	resp, err := http.Get("http://" + f.spec.Endpoint + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "phoenix cloud up starts it") {
		t.Fatalf("endpoint of a cold serving pool answers %s %q", resp.Status, body)
	}
	if err := c.Up(ctx); err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]cloud.PoolState{a.ID: cloud.PoolReady, b.ID: cloud.PoolReady, cold.ID: cloud.PoolCold} {
		p := f.pool(t, id)
		if p.State != want || (want == cloud.PoolReady && !p.Healthy) {
			t.Errorf("after up, pool %s is %s healthy=%v, want %s", id, p.State, p.Healthy, want)
		}
	}
	if body := getBody(t, "http://"+f.spec.Endpoint+"/"); !strings.HasPrefix(body, "version=A") {
		t.Errorf("after up the endpoint serves %q", body)
	}
}

// TestManyClientsOneSupervisor: several clients (as several processes
// would) reach a stopped home at once; exactly one supervisor serves all.
func TestManyClientsOneSupervisor(t *testing.T) {
	first := newTestCloud(t)
	const n = 6
	pids := make(chan int, n)
	errs := make(chan error, n)
	for range n {
		go func() {
			c, err := Open(Options{Home: first.Home(), SupervisorCommand: testSupervisor})
			if err == nil {
				_, err = c.Observe(context.Background(), "p")
			}
			if err != nil {
				errs <- err
				return
			}
			st, err := c.Status(context.Background())
			if err != nil {
				errs <- err
				return
			}
			pids <- st.PID
		}()
	}
	seen := map[int]bool{}
	for range n {
		select {
		case err := <-errs:
			t.Fatal(err)
		case pid := <-pids:
			seen[pid] = true
		}
	}
	if len(seen) != 1 {
		t.Fatalf("%d supervisors answered: %v", len(seen), seen)
	}
}

// TestHomeRemovedStopsEverything: a home deleted under a running cloud (a
// test's temporary directory, an rm -rf) takes its servers, endpoints and
// supervisor with it within seconds.
func TestHomeRemovedStopsEverything(t *testing.T) {
	c := newTestCloud(t)
	f := newFixture(t, c, 2)
	_, st := f.serve(t, "A")
	if err := removeTree(c.Home()); err != nil {
		t.Fatal(err)
	}
	pids := append([]int{st.PID}, st.Pools[0].PIDs...)
	waitFor(t, 10*time.Second, func() error {
		for _, pid := range pids {
			if pidAlive(pid) && !isZombie(pid) {
				return fmt.Errorf("pid %d still runs after its home was removed", pid)
			}
		}
		return nil
	})
	if _, err := http.Get("http://" + f.spec.Endpoint + "/"); err == nil {
		t.Fatal("the endpoint still answers after its home was removed")
	}
}

// TestDownAfterSupervisorDied: the supervisor of a serving pool and a
// retained warm one dies (kill -9, or SIGTERM, which leaves its servers to
// the next supervisor by design). Its servers keep running; Orphans lists
// them without starting a supervisor; Down stops every one of them and
// leaves no supervisor; and Up brings back what ran, as after a plain down.
func TestDownAfterSupervisorDied(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			c := newTestCloud(t)
			f := newFixture(t, c, 2)
			ctx := context.Background()
			b := f.create(t, "B") // retained, warm
			a, st := f.serve(t, "A")
			recorded := map[int]bool{}
			for _, p := range st.Pools {
				for _, pid := range p.PIDs {
					recorded[pid] = true
				}
			}
			if len(recorded) != 4 {
				t.Fatalf("want 4 servers running, status shows %+v", st.Pools)
			}
			if err := syscall.Kill(st.PID, sig); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, func() error {
				if pidAlive(st.PID) && !isZombie(st.PID) {
					return fmt.Errorf("supervisor %d still runs", st.PID)
				}
				return nil
			})

			orphans, err := c.Orphans(ctx)
			if err != nil {
				t.Fatal(err)
			}
			found := map[int]bool{}
			for _, p := range orphans {
				for _, pid := range p.PIDs {
					found[pid] = true
				}
			}
			if len(found) != len(recorded) || c.Running(ctx) {
				t.Fatalf("orphans %+v (supervisor running: %v), want the pids %v", orphans, c.Running(ctx), recorded)
			}
			for pid := range recorded {
				if !found[pid] {
					t.Fatalf("server %d is not reported orphaned: %+v", pid, orphans)
				}
			}

			if err := c.Down(ctx); err != nil {
				t.Fatal(err)
			}
			for pid := range recorded {
				if pidAlive(pid) && !isZombie(pid) {
					t.Errorf("server %d still runs after down", pid)
				}
			}
			if c.Running(ctx) {
				t.Fatal("a supervisor answers after down")
			}
			if _, err := http.Get("http://" + f.spec.Endpoint + "/"); err == nil {
				t.Fatal("the endpoint answers after down")
			}
			if o, err := c.Orphans(ctx); err != nil || len(o) != 0 {
				t.Fatalf("after down, orphans %+v, %v", o, err)
			}

			if err := c.Up(ctx); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{a.ID, b.ID} {
				if p := f.pool(t, id); p.State != cloud.PoolReady || !p.Healthy {
					t.Errorf("after up, pool %s is %s healthy=%v: %s", id, p.State, p.Healthy, p.Reason)
				}
			}
			if body := getBody(t, "http://"+f.spec.Endpoint+"/"); !strings.HasPrefix(body, "version=A") {
				t.Errorf("after up the endpoint serves %q", body)
			}
		})
	}
}

// TestDownNeverSignalsARecycledPid: a recorded server whose pid now
// belongs to another process (its start time differs) is not an orphan,
// and Down leaves that process alone and starts nothing.
func TestDownNeverSignalsARecycledPid(t *testing.T) {
	home := t.TempDir()
	other := exec.Command("sleep", "30")
	other.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = other.Process.Kill(); _ = other.Wait() })
	pid := other.Process.Pid
	st, err := openStore(filepath.Join(home, "state.db"))
	if err != nil {
		t.Fatal(err)
	}
	rec := poolRec{Project: "p", ID: "test.web.00000000.1", State: cloud.PoolReady,
		Servers: []serverRec{{PID: pid, StartTime: processStartTime(pid) + 1, Port: 1}}}
	if err := st.update(func(tx *bolt.Tx) error { return put(tx, bucketPools, rec.key(), &rec) }); err != nil {
		t.Fatal(err)
	}
	st.Close()

	c, err := Open(Options{Home: home, SupervisorCommand: testSupervisor})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if o, err := c.Orphans(ctx); err != nil || len(o) != 0 {
		t.Fatalf("a recycled pid is reported as an orphan: %+v, %v", o, err)
	}
	if err := c.Down(ctx); err != nil {
		t.Fatal(err)
	}
	if !processMatches(pid, processStartTime(pid)) || c.Running(ctx) {
		t.Fatalf("down signalled pid %d (alive: %v) or left a supervisor (running: %v)", pid, pidAlive(pid), c.Running(ctx))
	}
}

// TestServersGoneWithSupervisorAreColdThenUp: the supervisor and every
// server of the serving pool die together (as in a machine restart). The
// next supervisor reports the pool cold with the reason, not ready with
// 0/2 healthy, and `up` starts it again and its endpoint serves.
func TestServersGoneWithSupervisorAreColdThenUp(t *testing.T) {
	c := newTestCloud(t)
	f := newFixture(t, c, 2)
	ctx := context.Background()
	a, st := f.serve(t, "A")
	pids := append([]int{st.PID}, st.Pools[0].PIDs...)
	for _, pid := range pids {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, func() error {
		for _, pid := range pids {
			if pidAlive(pid) && !isZombie(pid) {
				return fmt.Errorf("pid %d still runs", pid)
			}
		}
		return nil
	})
	p := f.pool(t, a.ID) // starts a new supervisor
	if p.State != cloud.PoolCold || !strings.Contains(p.Reason, "none of its servers was running") {
		t.Fatalf("a serving pool whose servers all died is %s (%q), want cold saying why", p.State, p.Reason)
	}
	if err := c.Up(ctx); err != nil {
		t.Fatal(err)
	}
	if p := f.pool(t, a.ID); p.State != cloud.PoolReady || !p.Healthy || p.Reason != "" {
		t.Fatalf("after up, pool %s is %s healthy=%v (%q)", a.ID, p.State, p.Healthy, p.Reason)
	}
	if body := getBody(t, "http://"+f.spec.Endpoint+"/"); !strings.HasPrefix(body, "version=A") {
		t.Errorf("after up the endpoint serves %q", body)
	}
}
