// Package executor carries a plan out: it walks the plan's DAG, starting
// each step as soon as the steps it waits for are done, within a global and
// per-kind parallelism, and drives the clouds. It re-checks the live cloud
// at the moment of every risky action (a swap only onto a pool healthy now,
// a prune only of a pool that serves nothing now), retries transient cloud
// errors only, and reports what it does through Hooks.
package executor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/dag"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

// DefaultParallelism bounds how many steps run at once.
const DefaultParallelism = 16

// DefaultCanaryHold is how long a canary stays at each weight when neither
// the plan (traffic.pause) nor the apply (CanaryHold) says.
const DefaultCanaryHold = 2 * time.Second

// DefaultLimits returns the default bounds of steps per kind, so that a
// cloud's API limits are respected: bakes are heavy, creates start
// servers. It returns a fresh map each time: a caller that changes its
// copy (a flag's default, a test) cannot change every other Executor's.
func DefaultLimits() map[planner.Kind]int {
	return map[planner.Kind]int{planner.Bake: 4, planner.Create: 8}
}

// Executor carries plans out against a set of clouds.
type Executor struct {
	Clouds  cloud.Set
	Desired *model.Desired
	// Live is the state the plan was made from; bakes and creates find the
	// images they start from in it (or in the results of earlier bakes).
	// It may be nil: the executor then observes the cloud when it needs to.
	Live  *cloud.Live
	Hooks Hooks // nil means NopHooks

	Parallelism int                  // <= 0 means DefaultParallelism
	Limits      map[planner.Kind]int // nil means DefaultLimits
	Retry       Retry                // zero means DefaultRetry
	// CanaryHold, when positive, is how long a canary stays at each weight
	// before it is judged and moves on, for this apply: it overrides the
	// plan's traffic.pause (Step.Watch), which is used otherwise, or
	// DefaultCanaryHold for a step without one.
	CanaryHold time.Duration
	// StepContext is the context in-flight steps run with. Cancelling
	// Apply's context stops new steps from starting; cancelling this one
	// also aborts the steps in flight (a second Ctrl-C). Nil means Apply's
	// context without its cancellation.
	StepContext context.Context
	// Locks, if set, are the locks the apply holds. A swap or a prune runs
	// with a context that ends when the lock of its environment is lost:
	// from then on another apply may act there.
	Locks *Held
	// StepSource, if set, says where the spec writes step (from 1) of an
	// image ("environments/images.cue:7:3"), or "": a bake that fails in
	// a step is reported at that place, as a spec error is.
	StepSource func(image string, step int) string
}

// Apply runs the plan. It returns an error only if the plan cannot be
// walked at all (a cycle, a step waiting for an unknown step); the fate of
// each step, failures included, is in the Report.
func (e *Executor) Apply(ctx context.Context, p *planner.Plan) (*Report, error) {
	g, steps, err := planGraph(p)
	if err != nil {
		return nil, err
	}
	stepCtx := e.StepContext
	if stepCtx == nil {
		stepCtx = context.WithoutCancel(ctx)
	}
	r := e.newRun(ctx, stepCtx, p, steps)
	opts := WalkOptions[string]{
		Parallelism: e.Parallelism,
		Class:       func(id string) string { return string(steps[id].Kind) },
		Limits:      e.classLimits(),
		Cost:        func(id string) float64 { return stepCost[steps[id].Kind] },
		StepContext: stepCtx,
		OnStart:     func(id string) { r.hooks.StepStarted(steps[id]) },
		OnEnd:       func(id string, o *Outcome[string]) { r.ended(steps[id], o) },
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = DefaultParallelism
	}
	r.hooks.ApplyStarted(p)
	res, err := Walk(ctx, g, r.abortable, opts)
	if err != nil {
		return nil, fmt.Errorf("walking the plan: %w", err)
	}
	rep := &Report{Plan: p, Result: res, steps: steps}
	r.hooks.ApplyFinished(rep)
	return rep, nil
}

// planGraph indexes the plan's steps by id as a DAG.
func planGraph(p *planner.Plan) (*dag.Graph[string], map[string]*planner.Step, error) {
	g := dag.New[string]()
	steps := make(map[string]*planner.Step, len(p.Steps))
	for i := range p.Steps {
		s := &p.Steps[i]
		if _, dup := steps[s.ID]; dup {
			return nil, nil, fmt.Errorf("plan has step %s twice", s.ID)
		}
		steps[s.ID] = s
		g.Add(s.ID, s.After...)
	}
	return g, steps, nil
}

// newRun prepares the state the steps of one Apply share: the images known
// before the plan, and one fresh observer per cloud.
func (e *Executor) newRun(ctx, stepCtx context.Context, p *planner.Plan, steps map[string]*planner.Step) *run {
	r := &run{
		exec: e, plan: p, steps: steps, hooks: e.Hooks, stop: ctx.Done(),
		images: map[string]cloud.Image{}, observers: map[string]*freshObserver{},
		stepCtx: stepCtx, envObservers: map[string]*freshObserver{},
	}
	if r.hooks == nil {
		r.hooks = NopHooks{}
	}
	for _, c := range e.Clouds {
		r.observers[c.Name()] = &freshObserver{ctx: stepCtx, fetch: func(ctx context.Context) (*cloud.Live, error) {
			var live *cloud.Live
			err := e.Retry.do(ctx, nil, func() (err error) {
				live, err = c.Observe(ctx, p.Project)
				return err
			})
			return live, err
		}}
	}
	if e.Live != nil {
		for _, im := range e.Live.Images {
			r.images[imageKey(im.Cloud, im.BuildID)] = im
		}
	}
	return r
}

// classLimits are the per-kind limits as the walker's class limits.
func (e *Executor) classLimits() map[string]int {
	limits := e.Limits
	if limits == nil {
		limits = DefaultLimits()
	}
	out := make(map[string]int, len(limits))
	for k, n := range limits {
		out[string(k)] = n
	}
	return out
}

// stepCost estimates steps' relative durations, so that under limits the
// walker starts first what lies on the longest remaining path.
var stepCost = map[planner.Kind]float64{planner.Bake: 60, planner.Create: 30, planner.Swap: 1, planner.Prune: 1}

// run is the state of one Apply shared by its steps.
type run struct {
	exec  *Executor
	plan  *planner.Plan
	steps map[string]*planner.Step
	hooks Hooks
	stop  <-chan struct{} // closed when no new steps may start (Ctrl-C)

	// observers share fresh Observe calls per cloud (by name).
	observers map[string]*freshObserver
	// envObservers share fresh ObserveEnv calls per (cloud, environment),
	// made as steps first ask (see observeEnv); stepCtx is their context.
	envMu        sync.Mutex
	envObservers map[string]*freshObserver
	stepCtx      context.Context

	mu          sync.Mutex
	images      map[string]cloud.Image // by imageKey: live and freshly baked
	interrupted map[string]bool        // steps that ended on an interrupt
}

func imageKey(cloudName, buildID string) string { return cloudName + "\x00" + buildID }

// ended reports a step's end to the hooks.
func (r *run) ended(s *planner.Step, o *Outcome[string]) {
	switch o.Status {
	case Done:
		r.hooks.StepFinished(s, o.Duration())
	case Failed:
		if Interrupted(o.Err) {
			r.noteInterrupted(s.ID)
		}
		r.hooks.StepFailed(s, o.Duration(), o.Err)
	case Skipped:
		r.hooks.StepSkipped(s, r.skippedBecause(o.Cause))
	case NotStarted:
		r.hooks.StepSkipped(s, "")
	}
}

// step runs one plan step: it is the walker's run function.
func (r *run) step(ctx context.Context, id string) (err error) {
	s := r.steps[id]
	c, err := r.exec.Clouds.Get(s.Cloud)
	if err != nil {
		return err
	}
	ctx, unguard := r.guard(ctx, s)
	defer func() { err = unguard(err) }()
	switch s.Kind {
	case planner.Bake:
		return r.bake(ctx, c, s)
	case planner.Create:
		return r.create(ctx, c, s)
	case planner.Swap:
		return r.swap(ctx, c, s)
	case planner.Prune:
		return r.prune(ctx, c, s)
	}
	return fmt.Errorf("step %s: unknown kind %q", s.ID, s.Kind)
}

// guard runs a step that changes what serves (a swap, a prune) within its
// environment's lock: its context ends when the lock is lost. unguard
// names the lost lock in an error that says only "context canceled".
func (r *run) guard(ctx context.Context, s *planner.Step) (_ context.Context, unguard func(error) error) {
	if r.exec.Locks == nil || s.Env == "" || (s.Kind != planner.Swap && s.Kind != planner.Prune) {
		return ctx, func(err error) error { return err }
	}
	gctx, done := r.exec.Locks.Guard(ctx, s.Env)
	return gctx, func(err error) error {
		cause := context.Cause(gctx)
		done()
		if err != nil && cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(err, cause) {
			return fmt.Errorf("%w (%w)", err, cause)
		}
		return err
	}
}

// logf sends one line about a step to the hooks.
func (r *run) logf(s *planner.Step, format string, args ...any) {
	r.hooks.Log(s, fmt.Sprintf(format, args...))
}

// stopped reports whether the apply was asked to stop starting things.
func (r *run) stopped() bool {
	select {
	case <-r.stop:
		return true
	default:
		return false
	}
}
