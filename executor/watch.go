package executor

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

// Watching a release (design notes): while a canary weight holds and for
// the bake window after the last swap, the new pool's own traffic is
// judged window by window (Judge). A failed window, or one still
// inconclusive after MaxExtensions, is a rejection: the swap goes back to
// the previous pools in one step (undo) and the pool is marked rejected in
// the cloud, so that the next plan holds the release (rule 8).

// rejection is a release that analysis refused.
type rejection struct {
	window  string // "canary 25%", "bake"
	reason  string // recorded in the cloud: "5xx 33.8% of 212 requests > 1%"
	detail  string // for the person, when more than reason
	figures cloud.TrafficFigures
}

func (e *rejection) Error() string {
	msg := e.window + ": " + e.reason
	if e.detail != "" {
		msg = e.window + ": " + e.detail
	}
	return msg
}

// pause is how long a canary weight is watched: --canary-hold for this
// apply, else the plan's traffic.pause, else DefaultCanaryHold.
func (r *run) pause(s *planner.Step) time.Duration {
	switch {
	case r.exec.CanaryHold > 0:
		return r.exec.CanaryHold
	case s.Watch != nil && s.Watch.Pause > 0:
		return s.Watch.Pause
	}
	return DefaultCanaryHold
}

// hold watches one canary weight.
func (r *run) hold(ctx context.Context, c cloud.Cloud, s *planner.Step, window string) error {
	return r.watch(ctx, c, s, window, r.pause(s))
}

// bakeWatch watches the new pool with all the traffic for the plan's bake
// window, when there is a previous pool to go back to. The previous pools
// stay warm meanwhile: cooling runs after it, prunes wait for the step.
func (r *run) bakeWatch(ctx context.Context, c cloud.Cloud, s *planner.Step, old []cloud.Backend) error {
	if s.Watch == nil || s.Watch.Bake <= 0 || len(old) == 0 {
		return nil
	}
	r.logf(s, "bake: watching %s with all traffic for %s; %s stays warm", shortPool(s), s.Watch.Bake, pools(old))
	if err := r.watch(ctx, c, s, "bake", s.Watch.Bake); err != nil {
		return err
	}
	r.logf(s, "bake: %s passed", shortPool(s))
	return nil
}

// watch waits d, checks health, then judges the traffic since the start
// against the analysis; an inconclusive window is extended by d, up to
// MaxExtensions times.
func (r *run) watch(ctx context.Context, c cloud.Cloud, s *planner.Step, window string, d time.Duration) error {
	var a *model.Analysis
	if s.Watch != nil {
		a = s.Watch.Analysis
	}
	m, metered := c.(cloud.Meter)
	if a != nil && !metered {
		r.logf(s, "%s: the %s cloud does not meter traffic: watched for health only", window, c.Name())
	}
	since := time.Now()
	for ext := 0; ; ext++ {
		if err := r.sleep(ctx, d, window); err != nil {
			return err
		}
		if err := r.healthy(ctx, c, s); err != nil {
			return err
		}
		if a == nil || !metered {
			return nil
		}
		f, err := r.figures(ctx, m, s, since)
		if err != nil {
			return err
		}
		v := Judge(*a, f)
		r.logf(s, "%s: window %d of %s (%s): %s, %s: %s", window, ext+1, shortPool(s), time.Since(since).Round(time.Millisecond), f, v.Result, v.Reason)
		switch {
		case v.Result == WindowPassed:
			return nil
		case v.Result == WindowFailed:
			return &rejection{window: window, reason: v.Reason, figures: f}
		case ext == MaxExtensions:
			watched := time.Since(since)
			return &rejection{window: window, figures: f,
				reason: fmt.Sprintf("inconclusive: %d requests in %s < minRequests %d", f.Requests, watched.Round(time.Second), a.MinRequests),
				detail: inconclusiveReason(*a, f, watched)}
		}
		r.logf(s, "%s: too few requests, window extended by %s (%d of %d)", window, d, ext+1, MaxExtensions)
	}
}

// figures reads the new pool's traffic since an instant, retrying
// transient errors.
func (r *run) figures(ctx context.Context, m cloud.Meter, s *planner.Step, since time.Time) (cloud.TrafficFigures, error) {
	var f cloud.TrafficFigures
	err := r.retry(ctx, s, "traffic", func() (err error) {
		f, err = m.Traffic(ctx, r.plan.Project, s.Pool, since)
		return err
	})
	if err != nil {
		return f, fmt.Errorf("reading the traffic of %s: %w", s.Pool, err)
	}
	return f, nil
}

// reject records a refused release in the cloud once traffic is back on
// old, and returns the apply's error: environment, commit and figures.
func (r *run) reject(ctx context.Context, c cloud.Cloud, s *planner.Step, rej *rejection, old []cloud.Backend) error {
	commit := r.exec.Desired.Commit
	if commit == "" {
		commit = "unknown"
	} else if len(commit) > 7 {
		commit = commit[:7]
	}
	msg := fmt.Sprintf("environment %s: release of %s (commit %s) to %s/%s rejected by release analysis at %s (traffic is back on %s)",
		s.Env, shortPool(s), commit, s.Env, s.Role, rej, pools(old))
	rc, ok := c.(cloud.Rejecter)
	if !ok {
		return errors.New(msg + "; the " + c.Name() + " cloud cannot record rejections: the next plan will try it again")
	}
	reason := rej.window + ": " + rej.reason
	err := r.retry(ctx, s, "reject", func() error { return rc.Reject(ctx, r.plan.Project, s.Pool, reason) })
	if err != nil {
		return fmt.Errorf("%s; recording the rejection also failed: %w", msg, err)
	}
	r.logf(s, "rejected %s: %s", s.Pool, reason)
	return errors.New(msg)
}

// sleep waits out a watched window of d, or until ctx is done or the
// apply is interrupted, saying why it ended early: a lost lock ends the
// window at once, naming the lock, and so does Ctrl-C (the interrupt
// line promises that a canary's traffic goes back; waiting out a window
// of many minutes first would break that promise).
func (r *run) sleep(ctx context.Context, d time.Duration, window string) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-r.stop:
		return fmt.Errorf("%w during the %s window", ErrInterrupted, window)
	case <-t.C:
		return nil
	}
}
