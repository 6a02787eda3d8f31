package executor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/user"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// DefaultLease is how long a lock lives without renewal: long enough to
// ride out a slow cloud call, short enough that a killed apply does not
// block the next one for long. A lock is renewed every quarter of its
// lease; if no renewal has succeeded for two thirds of it, the apply
// stops acting before the lease can lapse under it (as Kubernetes leader
// election keeps its renew deadline well under its lease).
const DefaultLease = 2 * time.Minute

// renewEvery and renewDeadline derive the renewal period and the renew
// deadline from a lease; retryEvery is the pause after a failed renewal.
func renewEvery(lease time.Duration) time.Duration    { return lease / 4 }
func retryEvery(lease time.Duration) time.Duration    { return lease / 16 }
func renewDeadline(lease time.Duration) time.Duration { return lease * 2 / 3 }

// Owner names one apply for locks: "user@host:pid#id", where id is the
// random part of the apply's id (NewApplyID, also in the journal). Host
// and pid let a later apply on the same host see that the holder died
// (deadLocalOwner); the id keeps apart two applies that share a host name
// and a pid (containers, pid namespaces), which would otherwise both
// "renew" one lock and both act.
func Owner(applyID string) string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	} else if v := os.Getenv("USER"); v != "" {
		name = v
	}
	id := applyID[strings.LastIndexByte(applyID, '-')+1:]
	return fmt.Sprintf("%s@%s:%d#%s", name, localHost(), os.Getpid(), id)
}

// initPidNS is the inode of Linux's initial pid namespace.
const initPidNS = "pid:[4026531836]"

// localHost names where this process's pid means something: the host
// name, followed by the pid namespace ("/pidns-4026532176") unless it is
// the initial one. Two containers can share a host name (a pod on the
// host's network, unshare --pid) while a pid in one names nothing, or
// another process, in the other; a holder in another namespace must not
// look like a dead local process. Where the namespace cannot be read on
// Linux, "/pidns-unknown" makes no holder look local.
func localHost() string {
	host, _ := os.Hostname()
	if runtime.GOOS != "linux" {
		return host
	}
	ns, err := os.Readlink("/proc/self/ns/pid")
	switch {
	case err != nil:
		return host + "/pidns-unknown"
	case ns == initPidNS:
		return host
	}
	return host + "/pidns-" + strings.Trim(strings.TrimPrefix(ns, "pid:"), "[]")
}

// deadLocalOwner reports whether owner ("user@host:pid#id", or
// "user@host:pid" from older versions) names a process on this host, in
// this pid namespace (localHost), that does not exist any more.
func deadLocalOwner(owner string) bool {
	if hash := strings.IndexByte(owner, '#'); hash >= 0 {
		owner = owner[:hash]
	}
	at := strings.LastIndexByte(owner, '@')
	colon := strings.LastIndexByte(owner, ':')
	if at < 0 || colon < at {
		return false
	}
	host := localHost()
	if owner[at+1:colon] != host || strings.HasSuffix(host, "/pidns-unknown") {
		return false
	}
	pid, err := strconv.Atoi(owner[colon+1:])
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return false
	}
	return processGone(pid)
}

// Locker takes the locks of the environments an apply touches, one per
// (project, environment) in the environment's cloud.
type Locker struct {
	Clouds  cloud.Set
	Project string
	Owner   string
	Lease   time.Duration // <= 0 means DefaultLease
	// Timeout bounds the wait for a lock another owner holds: 0 fails at
	// once, a negative value waits until ctx ends.
	Timeout time.Duration
	// Poll is the pause between tries while waiting (default 1s).
	Poll time.Duration
	// Waiting is told once per environment when the apply starts waiting.
	Waiting func(held *cloud.LockedError)
}

// Held is a set of locks renewed in the background until Release.
type Held struct {
	l      *Locker
	cancel context.CancelFunc
	done   chan struct{}
	lost   chan struct{}
	once   sync.Once
	mu     sync.Mutex
	envs   map[string]*envLock // by env; guarded by mu
	err    error               // the first loss
}

// envLock is one environment's lock as this apply holds it.
type envLock struct {
	cloud   string
	renewed time.Time // when the last successful Lock call was sent
	// ctx ends, with "lock of ENV lost: …" as its cause, when the lock is
	// lost; the steps that act on ENV under the lock run within it.
	ctx  context.Context
	lose context.CancelCauseFunc
}

func newEnvLock(cloudName string, renewed time.Time) *envLock {
	ctx, lose := context.WithCancelCause(context.Background())
	return &envLock{cloud: cloudName, renewed: renewed, ctx: ctx, lose: lose}
}

// Acquire takes the lock of every environment in envs (env -> cloud name),
// in sorted order so that two applies never wait for each other in a
// cycle, and renews them every quarter of the lease until Release.
func (l *Locker) Acquire(ctx context.Context, envs map[string]string) (*Held, error) {
	if l.Lease <= 0 {
		l.Lease = DefaultLease
	}
	if l.Poll <= 0 {
		l.Poll = time.Second
	}
	h := &Held{l: l, envs: map[string]*envLock{}, done: make(chan struct{}), lost: make(chan struct{})}
	for _, env := range slices.Sorted(maps.Keys(envs)) {
		sent, err := l.take(ctx, env, envs[env])
		if err != nil {
			h.release(context.WithoutCancel(ctx))
			return nil, err
		}
		h.envs[env] = newEnvLock(envs[env], sent)
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h.cancel = cancel
	go h.renew(rctx)
	return h, nil
}

// take locks one environment, waiting while another owner holds it, and
// returns when the successful request was sent: the lease runs from no
// earlier than that.
func (l *Locker) take(ctx context.Context, env, cloudName string) (time.Time, error) {
	c, err := l.Clouds.Get(cloudName)
	if err != nil {
		return time.Time{}, fmt.Errorf("locking %s: %w", env, err)
	}
	var deadline time.Time
	if l.Timeout >= 0 {
		deadline = time.Now().Add(l.Timeout)
	}
	told := false
	for {
		sent := time.Now()
		err := c.Lock(ctx, cloud.LockRequest{Project: l.Project, Env: env, Owner: l.Owner, Lease: l.Lease})
		if err == nil {
			return sent, nil
		}
		var held *cloud.LockedError
		if !errors.As(err, &held) && !cloud.IsTransient(err) {
			return time.Time{}, fmt.Errorf("locking %s: %w", env, err)
		}
		if held != nil && deadLocalOwner(held.Owner) {
			// The holder was a process on this machine that no longer
			// exists (killed, crashed): break its lock at once rather
			// than wait out the lease. Unlock with the dead owner's name
			// only releases the lock if that owner still holds it, so
			// two appliers breaking it at once cannot undo each other.
			if l.Waiting != nil {
				l.Waiting(&cloud.LockedError{Env: env, Owner: held.Owner + " (process gone; lock broken)", Expires: held.Expires})
			}
			if err := c.Unlock(ctx, l.Project, env, held.Owner); err != nil {
				return time.Time{}, fmt.Errorf("breaking the lock of %s held by the dead process %s: %w", env, held.Owner, err)
			}
			continue
		}
		if held != nil && !deadline.IsZero() && !time.Now().Before(deadline) {
			return time.Time{}, fmt.Errorf("locking %s: %w (gave up after --lock-timeout %s; if that apply is dead, its lease expires by itself, or run phoenix unlock %s)", env, err, l.Timeout, env)
		}
		if held != nil && !told && l.Waiting != nil {
			l.Waiting(held)
			told = true
		}
		wait := l.Poll
		if !deadline.IsZero() {
			wait = min(wait, max(time.Until(deadline), time.Millisecond))
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return time.Time{}, fmt.Errorf("locking %s: %w", env, ctx.Err())
		case <-t.C:
		}
	}
}

// renew extends every lease each quarter of the lease, sooner after a
// failure. A lock is lost when another owner took it, or when no renewal
// has succeeded for the renew deadline (two thirds of the lease, so the
// apply stops while the lease still holds): its steps' contexts end and
// Lost is closed so that the apply starts no more steps. The other locks
// are still renewed for the steps in flight.
func (h *Held) renew(ctx context.Context) {
	defer close(h.done)
	wait := renewEvery(h.l.Lease)
	for {
		oldest, ok := h.oldestRenewal()
		if !ok {
			return // nothing left to renew
		}
		deadline := oldest.Add(renewDeadline(h.l.Lease))
		t := time.NewTimer(min(wait, max(time.Until(deadline), 0)))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = renewEvery(h.l.Lease)
		if !h.renewAll(ctx, deadline) {
			wait = retryEvery(h.l.Lease)
		}
	}
}

// renewAll renews every lock not lost, each call bounded by deadline (a
// hung call must not outlive the renew deadline), and loses those that
// another owner holds or that are past their renew deadline. It reports
// whether every renewal succeeded.
func (h *Held) renewAll(ctx context.Context, deadline time.Time) bool {
	rctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	// At once, not one after another: an apply over many environments
	// would otherwise take a renewal round trip per environment, and the
	// last ones could pass their renew deadline behind a slow first one.
	var failed atomic.Bool
	var g errgroup.Group
	g.SetLimit(renewFanout)
	for env, el := range h.live() {
		g.Go(func() error {
			if !h.renewOne(ctx, rctx, env, el) {
				failed.Store(true)
			}
			return nil
		})
	}
	_ = g.Wait()
	return ctx.Err() != nil || !failed.Load()
}

// renewFanout bounds the renewals in flight at once.
const renewFanout = 16

// renewOne renews one environment's lock with rctx (bounded by the renew
// deadline), losing it when another owner holds it or when it is past its
// renew deadline. It reports false on a failure worth retrying soon.
func (h *Held) renewOne(ctx, rctx context.Context, env string, el *envLock) bool {
	c, _ := h.l.Clouds.Get(el.cloud)
	sent := time.Now()
	err := c.Lock(rctx, cloud.LockRequest{Project: h.l.Project, Env: env, Owner: h.l.Owner, Lease: h.l.Lease})
	switch {
	case err == nil:
		h.mu.Lock()
		el.renewed = sent
		h.mu.Unlock()
	case ctx.Err() != nil: // paused or released
	case errors.Is(err, cloud.ErrLocked):
		h.loseEnv(env, el, fmt.Errorf("renewing it: %w", err))
	default:
		h.mu.Lock()
		since := time.Since(el.renewed)
		h.mu.Unlock()
		if since >= renewDeadline(h.l.Lease) {
			h.loseEnv(env, el, fmt.Errorf("not renewed for %s of its %s lease, stopping before it lapses: %w", since.Round(time.Millisecond), h.l.Lease, err))
		}
		return false
	}
	return true
}

// live returns the locks not lost, and oldestRenewal when the oldest of
// them was last renewed (false if there is none).
func (h *Held) live() map[string]*envLock {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]*envLock, len(h.envs))
	for env, el := range h.envs {
		if el.ctx.Err() == nil {
			out[env] = el
		}
	}
	return out
}

func (h *Held) oldestRenewal() (time.Time, bool) {
	var oldest time.Time
	found := false
	for _, el := range h.live() {
		h.mu.Lock()
		r := el.renewed
		h.mu.Unlock()
		if !found || r.Before(oldest) {
			oldest, found = r, true
		}
	}
	return oldest, found
}

// loseEnv marks the lock of env lost: the steps acting under it stop, and
// so does the starting of steps.
func (h *Held) loseEnv(env string, el *envLock, why error) {
	err := fmt.Errorf("lock of %s lost: %w", env, why)
	el.lose(err)
	h.once.Do(func() {
		h.mu.Lock()
		h.err = err
		h.mu.Unlock()
		close(h.lost)
	})
}

// Lost is closed when a lock could not be kept; Err then says why.
func (h *Held) Lost() <-chan struct{} { return h.lost }

// Err is why the first lock was lost, or nil.
func (h *Held) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// Guard returns the context for a step that acts on env under its lock
// (a swap, a prune): it ends, with "lock of ENV lost: …" as its cause, as
// soon as that lock is lost, so that a canary hold or a swap does not go
// on once another apply may act. An env this apply does not hold ends it
// at once. done releases the context's resources.
func (h *Held) Guard(ctx context.Context, env string) (_ context.Context, done func()) {
	gctx, cancel := context.WithCancelCause(ctx)
	h.mu.Lock()
	el := h.envs[env]
	h.mu.Unlock()
	if el == nil {
		cancel(fmt.Errorf("lock of %s lost: this apply does not hold it", env))
		return gctx, func() {}
	}
	if el.ctx.Err() != nil { // lost already: end it now, not in AfterFunc's goroutine
		cancel(context.Cause(el.ctx))
		return gctx, func() {}
	}
	stop := context.AfterFunc(el.ctx, func() { cancel(context.Cause(el.ctx)) })
	return gctx, func() {
		stop()
		cancel(context.Canceled)
	}
}

// Add takes more locks (for environments a plan touches that were not
// known before planning, such as one that left the spec).
func (h *Held) Add(ctx context.Context, envs map[string]string) error {
	for _, env := range slices.Sorted(maps.Keys(envs)) {
		if h.holds(env) {
			continue
		}
		sent, err := h.l.take(ctx, env, envs[env])
		if err != nil {
			return err
		}
		h.pause()
		h.mu.Lock()
		h.envs[env] = newEnvLock(envs[env], sent)
		h.mu.Unlock()
		h.resume(ctx)
	}
	return nil
}

func (h *Held) holds(env string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.envs[env] != nil
}

// Keep releases the locks of every environment for which keep is false and
// returns their names, sorted. An apply locks its whole scope to plan and
// then needs only the environments its steps touch: another apply may
// change the rest meanwhile. It stops renewing a lock it could not
// release (the lease then ends it) and says so in the error.
func (h *Held) Keep(ctx context.Context, keep func(env string) bool) ([]string, error) {
	var drop []string
	h.mu.Lock()
	for env := range h.envs {
		if !keep(env) {
			drop = append(drop, env)
		}
	}
	h.mu.Unlock()
	if len(drop) == 0 {
		return nil, nil
	}
	sort.Strings(drop)
	h.pause()
	var errs []error
	for _, env := range drop {
		if err := h.unlock(ctx, env); err != nil {
			errs = append(errs, err)
		}
		h.mu.Lock()
		delete(h.envs, env)
		h.mu.Unlock()
	}
	h.resume(ctx)
	return drop, errors.Join(errs...)
}

// pause stops renewal so that envs can change.
func (h *Held) pause() {
	h.cancel()
	<-h.done
}

// resume restarts renewal with the current envs.
func (h *Held) resume(ctx context.Context) {
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h.cancel, h.done = cancel, make(chan struct{})
	go h.renew(rctx)
}

// unlock releases the lock of env.
func (h *Held) unlock(ctx context.Context, env string) error {
	h.mu.Lock()
	el := h.envs[env]
	h.mu.Unlock()
	c, err := h.l.Clouds.Get(el.cloud)
	if err == nil {
		err = c.Unlock(ctx, h.l.Project, env, h.l.Owner)
	}
	if err != nil {
		return fmt.Errorf("unlocking %s: %w", env, err)
	}
	return nil
}

// Release stops renewal and releases every lock.
func (h *Held) Release(ctx context.Context) error {
	if h.cancel != nil {
		h.cancel()
		<-h.done
	}
	return h.release(ctx)
}

func (h *Held) release(ctx context.Context) error {
	h.mu.Lock()
	envs := make([]string, 0, len(h.envs))
	for env := range h.envs {
		envs = append(envs, env)
	}
	h.mu.Unlock()
	var errs []error
	for _, env := range envs {
		if err := h.unlock(ctx, env); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
