package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// DefaultLease is how long a lock lives without renewal: long enough to
// ride out a slow cloud call, short enough that a killed apply does not
// block the next one for long.
const DefaultLease = 2 * time.Minute

// Owner names this process for locks: "user@host:pid".
func Owner() string {
	name := "unknown"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = u.Username
	} else if v := os.Getenv("USER"); v != "" {
		name = v
	}
	host, _ := os.Hostname()
	return fmt.Sprintf("%s@%s:%d", name, host, os.Getpid())
}

// deadLocalOwner reports whether owner ("user@host:pid") names a process
// on this host that does not exist any more.
func deadLocalOwner(owner string) bool {
	at := strings.LastIndexByte(owner, '@')
	colon := strings.LastIndexByte(owner, ':')
	if at < 0 || colon < at {
		return false
	}
	host, _ := os.Hostname()
	if owner[at+1:colon] != host {
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
	envs   map[string]string // env -> cloud name
	cancel context.CancelFunc
	done   chan struct{}
	lost   chan struct{}
	once   sync.Once
	mu     sync.Mutex
	err    error
}

// Acquire takes the lock of every environment in envs (env -> cloud name),
// in sorted order so that two applies never wait for each other in a
// cycle, and renews them every third of the lease until Release.
func (l *Locker) Acquire(ctx context.Context, envs map[string]string) (*Held, error) {
	if l.Lease <= 0 {
		l.Lease = DefaultLease
	}
	if l.Poll <= 0 {
		l.Poll = time.Second
	}
	names := make([]string, 0, len(envs))
	for e := range envs {
		names = append(names, e)
	}
	sort.Strings(names)
	h := &Held{l: l, envs: map[string]string{}, done: make(chan struct{}), lost: make(chan struct{})}
	for _, env := range names {
		if err := l.take(ctx, env, envs[env]); err != nil {
			h.release(context.WithoutCancel(ctx))
			return nil, err
		}
		h.envs[env] = envs[env]
	}
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	h.cancel = cancel
	go h.renew(rctx)
	return h, nil
}

// take locks one environment, waiting while another owner holds it.
func (l *Locker) take(ctx context.Context, env, cloudName string) error {
	c, err := l.Clouds.Get(cloudName)
	if err != nil {
		return fmt.Errorf("locking %s: %w", env, err)
	}
	var deadline time.Time
	if l.Timeout >= 0 {
		deadline = time.Now().Add(l.Timeout)
	}
	told := false
	for {
		err := c.Lock(ctx, cloud.LockRequest{Project: l.Project, Env: env, Owner: l.Owner, Lease: l.Lease})
		if err == nil {
			return nil
		}
		var held *cloud.LockedError
		if !errors.As(err, &held) && !cloud.IsTransient(err) {
			return fmt.Errorf("locking %s: %w", env, err)
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
				return fmt.Errorf("breaking the lock of %s held by the dead process %s: %w", env, held.Owner, err)
			}
			continue
		}
		if held != nil && !deadline.IsZero() && !time.Now().Before(deadline) {
			return fmt.Errorf("locking %s: %w (gave up after --lock-timeout %s; if that apply is dead, its lease expires by itself, or run phoenix unlock %s)", env, err, l.Timeout, env)
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
			return fmt.Errorf("locking %s: %w", env, ctx.Err())
		case <-t.C:
		}
	}
}

// renew extends every lease each third of the lease. If a lease cannot be
// renewed for longer than it lasts, or another owner took it, the locks
// are lost: Lost is closed so that the apply stops starting steps.
func (h *Held) renew(ctx context.Context) {
	defer close(h.done)
	every := h.l.Lease / 3
	t := time.NewTicker(every)
	defer t.Stop()
	lastOK := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var failed error
		for env, cn := range h.envs {
			c, _ := h.l.Clouds.Get(cn)
			err := c.Lock(ctx, cloud.LockRequest{Project: h.l.Project, Env: env, Owner: h.l.Owner, Lease: h.l.Lease})
			if err != nil && ctx.Err() == nil {
				failed = fmt.Errorf("renewing the lock of %s: %w", env, err)
				if errors.Is(err, cloud.ErrLocked) {
					h.lose(failed)
					return
				}
			}
		}
		if failed == nil {
			lastOK = time.Now()
		} else if time.Since(lastOK) > h.l.Lease {
			h.lose(failed)
			return
		}
	}
}

func (h *Held) lose(err error) {
	h.once.Do(func() {
		h.mu.Lock()
		h.err = err
		h.mu.Unlock()
		close(h.lost)
	})
}

// Lost is closed when the locks could not be kept; Err then says why.
func (h *Held) Lost() <-chan struct{} { return h.lost }

// Err is why the locks were lost, or nil.
func (h *Held) Err() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// Add takes more locks (for environments a plan touches that were not
// known before planning, such as one that left the spec).
func (h *Held) Add(ctx context.Context, envs map[string]string) error {
	names := make([]string, 0, len(envs))
	for e := range envs {
		names = append(names, e)
	}
	sort.Strings(names)
	for _, env := range names {
		if _, ok := h.envs[env]; ok {
			continue
		}
		if err := h.l.take(ctx, env, envs[env]); err != nil {
			return err
		}
		h.pause()
		h.envs[env] = envs[env]
		h.resume(ctx)
	}
	return nil
}

// Keep releases the locks of every environment for which keep is false and
// returns their names, sorted. An apply locks its whole scope to plan and
// then needs only the environments its steps touch: another apply may
// change the rest meanwhile. It stops renewing a lock it could not
// release (the lease then ends it) and says so in the error.
func (h *Held) Keep(ctx context.Context, keep func(env string) bool) ([]string, error) {
	var drop []string
	for env := range h.envs {
		if !keep(env) {
			drop = append(drop, env)
		}
	}
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
		delete(h.envs, env)
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
	c, err := h.l.Clouds.Get(h.envs[env])
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
	var errs []error
	for env := range h.envs {
		if err := h.unlock(ctx, env); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
