package executor

import (
	"context"
	"errors"
)

// An interrupted apply is not a failed one: nothing needs fixing, and
// running apply again converges. The first interrupt stops starting steps
// and sends a canary in flight back to its previous pool (ErrInterrupted);
// a second cancels the steps in flight (ErrAborted). Reports and views
// tell these apart from failures by Interrupted.

// ErrInterrupted is why a canary in flight went back to its previous pool:
// the apply was interrupted.
var ErrInterrupted = errors.New("apply interrupted")

// ErrAborted is the error of a step that a second interrupt cut short.
var ErrAborted = errors.New("aborted by a second interrupt")

// Interrupted reports whether err ended a step because the apply was
// interrupted, rather than because something failed.
func Interrupted(err error) bool {
	return errors.Is(err, ErrInterrupted) || errors.Is(err, ErrAborted)
}

// abortable runs a step. One cut short by the cancelled step context (a
// second interrupt) reports ErrAborted, not the raw "context canceled" of
// whatever call it was in, unless it already says what it did about it
// (a canary that sent its traffic back).
func (r *run) abortable(ctx context.Context, id string) error {
	err := r.step(ctx, id)
	if err != nil && ctx.Err() != nil && !errors.Is(err, ErrInterrupted) {
		return ErrAborted
	}
	return err
}

// skippedBecause is the cause a skipped step reports to the hooks: none
// (not started) when its cause was interrupted rather than failed.
func (r *run) skippedBecause(cause string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.interrupted[cause] {
		return ""
	}
	return cause
}

// noteInterrupted remembers that step id ended because of an interrupt.
func (r *run) noteInterrupted(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.interrupted == nil {
		r.interrupted = map[string]bool{}
	}
	r.interrupted[id] = true
}
