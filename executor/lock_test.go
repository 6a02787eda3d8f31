package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/memory"
	"github.com/phoenix-gitops/phoenix/planner"
)

// TestALockOfALiveLocalProcessIsNeverBroken: a holder on this host that
// still runs keeps its lock; only a dead one's lock is broken early.
func TestALockOfALiveLocalProcessIsNeverBroken(t *testing.T) {
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Skip("no sleep(1):", err)
	}
	defer func() { _ = sleep.Process.Kill(); _ = sleep.Wait() }()
	host := localHost()
	for _, holder := range []string{
		fmt.Sprintf("ann@%s:%d", host, sleep.Process.Pid), // a running child
		fmt.Sprintf("ann@%s:%d", host, os.Getpid()),       // this very process
	} {
		mem := memory.New()
		ctx := context.Background()
		if err := mem.Lock(ctx, cloud.LockRequest{Project: project, Env: "prod", Owner: holder, Lease: time.Hour}); err != nil {
			t.Fatal(err)
		}
		l := &Locker{Clouds: cloud.Set{"memory": mem}, Project: project, Owner: "carol@" + host + ":1", Timeout: 0}
		_, err := l.Acquire(ctx, map[string]string{"prod": "memory"})
		var le *cloud.LockedError
		if !errors.As(err, &le) || le.Owner != holder {
			t.Fatalf("lock held by the live local process %s: %v, want ErrLocked naming it", holder, err)
		}
		if n := mem.Calls(memory.OpUnlock); n != 0 {
			t.Errorf("%d unlock calls against the lock of a live holder", n)
		}
		if locks := mem.Export(project).Locks; len(locks) != 1 || locks[0].Owner != holder {
			t.Errorf("locks after the attempt: %+v, want still held by %s", locks, holder)
		}
	}
}

// TestTwoAppliesOfOneUserHostAndPidAreKeptApart: two applies in containers
// or pid namespaces can share a host name and a pid; their random ids
// keep them apart, so the second is refused instead of "renewing" the
// first one's lock.
func TestTwoAppliesOfOneUserHostAndPidAreKeptApart(t *testing.T) {
	first, second := Owner(NewApplyID()), Owner(NewApplyID())
	if first == second || first[:strings.IndexByte(first, '#')] != second[:strings.IndexByte(second, '#')] {
		t.Fatalf("owners %q and %q: want the same user@host:pid with different ids", first, second)
	}
	set := cloud.Set{"memory": memory.New()}
	ctx := context.Background()
	h, err := (&Locker{Clouds: set, Project: project, Owner: first, Lease: time.Minute}).Acquire(ctx, map[string]string{"prod": "memory"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release(ctx)
	_, err = (&Locker{Clouds: set, Project: project, Owner: second, Lease: time.Minute}).Acquire(ctx, map[string]string{"prod": "memory"})
	var le *cloud.LockedError
	if !errors.As(err, &le) || le.Owner != first {
		t.Fatalf("second apply of the same user@host:pid: %v, want ErrLocked naming %s", err, first)
	}
}

// TestOwnerCarriesTheApplyIDAndStillNamesItsProcess: the owner's id is
// the random part of the journal's apply id, and a dead local holder is
// still recognised through it.
func TestOwnerCarriesTheApplyIDAndStillNamesItsProcess(t *testing.T) {
	id := NewApplyID()
	owner := Owner(id)
	if !strings.HasSuffix(id, "-"+owner[strings.IndexByte(owner, '#')+1:]) {
		t.Fatalf("owner %q does not carry the random part of apply id %q", owner, id)
	}
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no true(1):", err)
	}
	host := localHost()
	dead := fmt.Sprintf("ann@%s:%d#a1b2c3d4e5f6", host, cmd.Process.Pid)
	if !deadLocalOwner(dead) {
		t.Errorf("%s names a dead local process", dead)
	}
	if deadLocalOwner(owner) {
		t.Errorf("%s (this process) taken for dead", owner)
	}
}

// TestALockThatCannotBeRenewedIsLostBeforeItsLeaseLapses: when renewals
// fail or hang, the apply gives the lock up at the renew deadline, while
// its lease still holds in the cloud, so no step acts after another apply
// could have taken it.
func TestALockThatCannotBeRenewedIsLostBeforeItsLeaseLapses(t *testing.T) {
	for name, fail := range map[string]func(context.Context) error{
		"failing": func(context.Context) error {
			return &cloud.TransientError{Err: errors.New("throttled")}
		},
		"hanging": func(ctx context.Context) error {
			<-ctx.Done()
			return ctx.Err()
		},
	} {
		t.Run(name, func(t *testing.T) {
			mem := memory.New()
			ctx := context.Background()
			l := &Locker{Clouds: cloud.Set{"memory": mem}, Project: project, Owner: "ann@a:1#a1", Lease: 1200 * time.Millisecond}
			held, err := l.Acquire(ctx, map[string]string{"prod": "memory"})
			if err != nil {
				t.Fatal(err)
			}
			defer held.Release(ctx)
			mem.SetHook(func(ctx context.Context, op memory.Op, _ string) error {
				if op == memory.OpLock {
					return fail(ctx)
				}
				return nil
			})
			select {
			case <-held.Lost():
			case <-time.After(10 * time.Second):
				t.Fatal("the lock was never given up")
			}
			locks := mem.Export(project).Locks
			if len(locks) != 1 || !locks[0].Expires.After(time.Now()) {
				t.Fatalf("given up at %s with the cloud's lease %+v: want before the lease lapsed", time.Now().Format("15:04:05.000"), locks)
			}
			if err := held.Err(); err == nil || !strings.Contains(err.Error(), "lock of prod lost") {
				t.Fatalf("Err() = %v, want it to say the lock of prod was lost", err)
			}
			mem.SetHook(nil)
		})
	}
}

// TestALostLockStopsACanaryHold: another apply takes staging's lock while
// the canary holds at 10%; the hold ends at once (it does not wait out
// its minute), the step says why, and the traffic goes back to the old
// pool.
func TestALostLockStopsACanaryHold(t *testing.T) {
	f := newFixture(t)
	f.apply(t, f.firstDeploy())
	ctx := context.Background()
	l := &Locker{Clouds: cloud.Set{"memory": f.mem}, Project: project, Owner: "ann@a:1#a1", Lease: time.Second}
	held, err := l.Acquire(ctx, map[string]string{"staging": "memory"})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release(ctx)
	p, _ := canaryPlan(f, []int{10, 50, 100})
	e := f.executor(hookFunc(func(_ *planner.Step, line string) {
		if strings.HasPrefix(line, "canary: 10%") {
			// Someone runs phoenix unlock, and another apply locks.
			_ = f.mem.Unlock(ctx, project, "staging", "")
			_ = f.mem.Lock(ctx, cloud.LockRequest{Project: project, Env: "staging", Owner: "bob@b:2#b2", Lease: time.Hour})
		}
	}))
	e.Locks, e.CanaryHold = held, time.Minute
	applied := make(chan *Report, 1)
	go func() {
		rep, err := e.Apply(ctx, p)
		if err != nil {
			t.Error(err)
		}
		applied <- rep
	}()
	var rep *Report
	select {
	case rep = <-applied:
	case <-time.After(10 * time.Second):
		t.Fatal("the canary still holds its minute at 10% after its lock was lost")
	}
	o := rep.Result.Outcomes["swap:staging/web"]
	if o.Status != Failed || !strings.Contains(fmt.Sprint(o.Err), "lock of staging lost") || !strings.Contains(o.Err.Error(), "traffic is back on") {
		t.Fatalf("swap: %v %v, want failed because the lock of staging was lost, traffic back", o.Status, o.Err)
	}
	got := servingOf(f.live(t), "staging")
	if len(got) != 1 || got[0].Pool != f.poolID("staging", 1) || got[0].Weight != 100 {
		t.Fatalf("staging serves %v, want all traffic back on the old pool", got)
	}
}

// TestAHolderInAnotherPidNamespaceIsNeverTakenForDead: an apply in a
// container or pid namespace that shares this host name names its
// namespace in its owner, so a pid that is free here (but runs there)
// never gets its lock broken.
func TestAHolderInAnotherPidNamespaceIsNeverTakenForDead(t *testing.T) {
	if os.Getenv("PHOENIX_TEST_PRINT_OWNER") == "1" {
		fmt.Println(Owner(NewApplyID()))
		return
	}
	cmd := exec.Command("unshare", "--user", "--map-root-user", "--pid", "--fork", "--mount-proc",
		os.Args[0], "-test.run=^TestAHolderInAnotherPidNamespaceIsNeverTakenForDead$")
	cmd.Env = append(os.Environ(), "PHOENIX_TEST_PRINT_OWNER=1")
	out, err := cmd.Output()
	if err != nil {
		t.Skipf("no unprivileged pid namespace here (unshare: %v)", err)
	}
	there := strings.SplitN(string(out), "\n", 2)[0]
	at, colon := strings.LastIndexByte(there, '@'), strings.LastIndexByte(there, ':')
	if at < 0 || colon < at || there[at+1:colon] == localHost() {
		t.Fatalf("owner %q from another pid namespace: want a host part other than this one's %q", there, localHost())
	}
	gone := exec.Command("true")
	if err := gone.Run(); err != nil {
		t.Skip("no true(1):", err)
	}
	// The holder's pid, as seen here, is free.
	holder := fmt.Sprintf("%s:%d%s", there[:colon], gone.Process.Pid, there[strings.IndexByte(there, '#'):])
	if deadLocalOwner(holder) {
		t.Fatalf("%s, running in another pid namespace, taken for a dead local process", holder)
	}
}

// TestAPruneAfterTheLockIsLostDeletesNothing: once the lock of its
// environment is lost, a prune does not reach the cloud, whatever the
// cloud would accept, and says why.
func TestAPruneAfterTheLockIsLostDeletesNothing(t *testing.T) {
	f := newFixture(t)
	spare := sickPool(t, f) // staging's second pool, serving nothing
	ctx := context.Background()
	l := &Locker{Clouds: cloud.Set{"memory": f.mem}, Project: project, Owner: "ann@a:1#a1", Lease: 200 * time.Millisecond}
	held, err := l.Acquire(ctx, map[string]string{"staging": "memory"})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release(ctx)
	_ = f.mem.Unlock(ctx, project, "staging", "")
	if err := f.mem.Lock(ctx, cloud.LockRequest{Project: project, Env: "staging", Owner: "bob@b:2#b2", Lease: time.Hour}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("the stolen lock was never found lost")
	}
	// The pool serves nothing: only the lost lock stands in the way.
	yes := &yesCloud{Cloud: f.mem}
	e := f.executor(nil)
	e.Clouds, e.Locks = cloud.Set{"memory": yes}, held
	rep, err := e.Apply(ctx, &planner.Plan{Project: project, Steps: []planner.Step{
		{ID: "prune:" + spare, Kind: planner.Prune, Cloud: "memory", Env: "staging", Role: "web", Pool: spare},
	}})
	if err != nil {
		t.Fatal(err)
	}
	o := rep.Result.Outcomes["prune:"+spare]
	if o.Status != Failed || !strings.Contains(o.Err.Error(), "lock of staging lost") {
		t.Fatalf("prune after the lock was lost: %v %v, want failed naming the lost lock", o.Status, o.Err)
	}
	if _, n := yes.calls(); n != 0 {
		t.Fatalf("%d deletes reached the cloud after the lock was lost", n)
	}
}

// TestLosingOneLockKeepsRenewingTheOthers: when prod's lock is taken, the
// steps in flight in staging still run under staging's lock, so it is
// still renewed.
func TestLosingOneLockKeepsRenewingTheOthers(t *testing.T) {
	mem := memory.New()
	set := cloud.Set{"memory": mem}
	ctx := context.Background()
	l := &Locker{Clouds: set, Project: project, Owner: "ann@a:1#a1", Lease: time.Second}
	held, err := l.Acquire(ctx, map[string]string{"prod": "memory", "staging": "memory"})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release(ctx)
	_ = mem.Unlock(ctx, project, "prod", "")
	if err := mem.Lock(ctx, cloud.LockRequest{Project: project, Env: "prod", Owner: "bob@b:2#b2", Lease: time.Hour}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-held.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("the taken lock of prod was never found lost")
	}
	time.Sleep(2100 * time.Millisecond) // > 2 leases: only renewal keeps staging
	other := &Locker{Clouds: set, Project: project, Owner: "bob@b:2#b2", Lease: time.Minute}
	if _, err := other.Acquire(ctx, map[string]string{"staging": "memory"}); !errors.Is(err, cloud.ErrLocked) {
		t.Fatalf("staging after prod's lock was lost: %v, want still locked (renewed)", err)
	}
}

// Renewals of many environments go out at once: a renewal round waits for
// one round trip, not one per environment (AWS's lock is three S3 calls).
// The cloud holds each renewal until a second one is in flight; renewing
// one after another never gets there, and the round fails.
func TestLocksAreRenewedConcurrently(t *testing.T) {
	envs := map[string]string{}
	for i := range 6 {
		envs[fmt.Sprintf("env%d", i)] = "memory"
	}
	var (
		mu       sync.Mutex
		inFlight int
		renewing bool
		both     = make(chan struct{})
		once     sync.Once
	)
	mem := memory.New(memory.WithHook(func(ctx context.Context, op memory.Op, _ string) error {
		mu.Lock()
		on := renewing
		if op == memory.OpLock && on {
			inFlight++
			if inFlight >= 2 {
				once.Do(func() { close(both) })
			}
		}
		mu.Unlock()
		if op != memory.OpLock || !on {
			return nil
		}
		defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
		select {
		case <-both:
			return nil
		case <-time.After(2 * time.Second):
			return errors.New("no other renewal came while this one was in flight")
		case <-ctx.Done():
			return ctx.Err()
		}
	}))
	ctx := context.Background()
	l := &Locker{Clouds: cloud.Set{"memory": mem}, Project: project, Owner: "ann@a:1#a1", Lease: time.Hour}
	held, err := l.Acquire(ctx, envs)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release(ctx)
	mu.Lock()
	renewing = true
	mu.Unlock()
	if !held.renewAll(ctx, time.Now().Add(time.Minute)) {
		t.Fatal("a renewal round of 6 environments failed: renewals went one after another")
	}
}
