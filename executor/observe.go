package executor

import (
	"context"
	"sync"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// freshObserver shares Observe calls of one cloud between steps without
// ever giving a step a state older than its question: a step that asks at
// time t gets an observation that started at or after t. Swaps and prunes
// re-check the live cloud at the moment they act; in a wide plan hundreds
// of them become ready together, and one Observe each would hit a cloud's
// API limits. Here a burst costs at most two: the one in flight (for
// those who asked before it started) and one queued behind it (for
// everyone who asked later).
type freshObserver struct {
	// ctx is the context observations run with (the apply's step
	// context): a waiting step that gives up does not cancel what others
	// share.
	ctx   context.Context
	fetch func(ctx context.Context) (*cloud.Live, error)

	mu   sync.Mutex
	cur  *observation // in flight, or nil
	next *observation // queued to start when cur ends, or nil
}

type observation struct {
	started time.Time // zero while queued
	done    chan struct{}
	live    *cloud.Live
	err     error
}

// get returns a live state observed no earlier than the call.
func (o *freshObserver) get(ctx context.Context) (*cloud.Live, error) {
	asked := time.Now()
	o.mu.Lock()
	var ob *observation
	switch {
	case o.cur == nil:
		ob = o.start()
	case !o.cur.started.Before(asked):
		ob = o.cur
	default:
		if o.next == nil {
			o.next = &observation{done: make(chan struct{})}
		}
		ob = o.next
	}
	o.mu.Unlock()
	select {
	case <-ob.done:
		return ob.live, ob.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// start begins a new observation as cur. mu is held.
func (o *freshObserver) start() *observation {
	ob := &observation{started: time.Now(), done: make(chan struct{})}
	o.cur = ob
	go o.run(ob)
	return ob
}

// run fetches one observation, then starts the queued one, if any.
func (o *freshObserver) run(ob *observation) {
	ob.live, ob.err = o.fetch(o.ctx)
	close(ob.done)
	o.mu.Lock()
	defer o.mu.Unlock()
	o.cur = nil
	if q := o.next; q != nil {
		o.next = nil
		q.started = time.Now()
		o.cur = q
		go o.run(q)
	}
}
