package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/memory"
)

// TestALockOfALiveLocalProcessIsNeverBroken: a holder on this host that
// still runs keeps its lock; only a dead one's lock is broken early.
func TestALockOfALiveLocalProcessIsNeverBroken(t *testing.T) {
	sleep := exec.Command("sleep", "60")
	if err := sleep.Start(); err != nil {
		t.Skip("no sleep(1):", err)
	}
	defer func() { _ = sleep.Process.Kill(); _ = sleep.Wait() }()
	host, _ := os.Hostname()
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
