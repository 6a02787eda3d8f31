package executor

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// Retry is the backoff for transient cloud errors (throttling, API
// timeouts). Permanent errors are never retried: retrying a failed smoke
// check or a refused delete would only hide it.
type Retry struct {
	Attempts int           // total tries, including the first
	Base     time.Duration // first wait; doubles each time
	Max      time.Duration // cap on one wait
}

// DefaultRetry tries five times over about 7.5 s.
var DefaultRetry = Retry{Attempts: 5, Base: 500 * time.Millisecond, Max: 4 * time.Second}

// do calls op until it succeeds, fails permanently, runs out of attempts
// or ctx ends. note is told about each retry.
func (p Retry) do(ctx context.Context, note func(attempt int, wait time.Duration, err error), op func() error) error {
	if p.Attempts <= 0 {
		p = DefaultRetry
	}
	wait := p.Base
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil || !cloud.IsTransient(err) || attempt >= p.Attempts {
			return err
		}
		// Full jitter on the upper half keeps a fleet of appliers from
		// retrying in lockstep.
		d := wait/2 + time.Duration(rand.Int64N(int64(wait/2)+1))
		if note != nil {
			note(attempt, d, err)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(wait*2, p.Max)
	}
}

// Observe reads the live state of every cloud in set for a command that
// plans (plan, apply, diff, status): a transient error (a throttled page
// the SDK gave up on, an API timeout) is retried with DefaultRetry, so one
// throttle does not fail the command; anything else fails at once.
func Observe(ctx context.Context, set cloud.Set, project string) (*cloud.Live, error) {
	var live *cloud.Live
	err := DefaultRetry.do(ctx, nil, func() (err error) {
		live, err = set.Observe(ctx, project)
		return err
	})
	return live, err
}
