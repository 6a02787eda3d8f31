package executor

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/phoenix-gitops/phoenix/planner"
)

// Report is what an Apply did and did not do.
type Report struct {
	Plan   *planner.Plan
	Result *Result[string]
	steps  map[string]*planner.Step
}

// OK reports whether every step ran and succeeded.
func (r *Report) OK() bool { return r.Result.OK() }

// Done counts the steps of kind k that succeeded.
func (r *Report) Done(k planner.Kind) int {
	n := 0
	for _, id := range r.Result.With(Done) {
		if r.steps[id].Kind == k {
			n++
		}
	}
	return n
}

// Failure is a step that failed, with the steps that did not run because
// of it.
type Failure struct {
	Step    *planner.Step
	Err     error
	Skipped []*planner.Step
}

// Failures returns the root causes: every failed step, in plan order, with
// what it held back. A step that an interrupt ended did not fail (see
// interruption).
func (r *Report) Failures() []Failure {
	var out []Failure
	at := map[string]int{}
	for _, id := range r.Result.With(Failed) {
		if Interrupted(r.Result.Outcomes[id].Err) {
			continue
		}
		at[id] = len(out)
		out = append(out, Failure{Step: r.steps[id], Err: r.Result.Outcomes[id].Err})
	}
	for _, id := range r.Result.With(Skipped) {
		if i, ok := at[r.Result.Outcomes[id].Cause]; ok {
			out[i].Skipped = append(out[i].Skipped, r.steps[id])
		}
	}
	return out
}

// Err is nil when every step succeeded; otherwise it says how many steps
// failed and which, for the command's exit status.
func (r *Report) Err() error {
	if r.OK() {
		return nil
	}
	fs := r.Failures()
	if len(fs) == 0 {
		return errors.New("apply interrupted; run it again to converge")
	}
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = fmt.Sprintf("%s %s", f.Step.Kind, Target(f.Step))
	}
	steps := "steps"
	if len(fs) == 1 {
		steps = "step"
	}
	return fmt.Errorf("%d %s failed: %s", len(fs), steps, strings.Join(names, "; "))
}

// Line is the one-line summary: "Applied: 2 bakes, 1 create, 2 swaps,
// 1 prune in 30.4s (critical path 29.8s)." or, when something went wrong,
// what did happen and what did not.
func (r *Report) Line() string {
	res := r.Result
	done := r.counts()
	timing := fmt.Sprintf("in %s (critical path %s)", round(res.Makespan), round(res.CriticalPath))
	if r.OK() {
		if done == "" {
			return "No changes."
		}
		return fmt.Sprintf("Applied: %s %s.", done, timing)
	}
	if done == "" {
		done = "nothing"
	}
	in := r.interruption()
	var not []string
	if n := res.Count(Failed) - in.aborted - in.sentBack; n > 0 {
		not = append(not, fmt.Sprintf("%d failed", n))
	}
	if n := in.aborted; n > 0 {
		not = append(not, fmt.Sprintf("%d aborted", n))
	}
	if n := in.sentBack; n > 0 {
		not = append(not, fmt.Sprintf("%d sent back", n))
	}
	if n := res.Count(Skipped) - in.held; n > 0 {
		not = append(not, fmt.Sprintf("%d skipped", n))
	}
	if n := res.Count(NotStarted) + in.held; n > 0 {
		not = append(not, fmt.Sprintf("%d not started", n))
	}
	head := "Apply failed"
	if len(r.Failures()) == 0 {
		head = "Apply interrupted"
	}
	return fmt.Sprintf("%s: %s; applied %s %s.", head, strings.Join(not, ", "), done, timing)
}

// Details explains each root cause and what it held back, a few lines per
// failure, for people.
func (r *Report) Details() []string {
	var out []string
	for _, f := range r.Failures() {
		out = append(out, fmt.Sprintf("✗ %s %s: %v", f.Step.Kind, Target(f.Step), f.Err))
		if len(f.Skipped) > 0 {
			names := make([]string, 0, len(f.Skipped))
			for _, s := range f.Skipped {
				names = append(names, fmt.Sprintf("%s %s", s.Kind, Target(s)))
			}
			out = append(out, "  not done because of it: "+strings.Join(names, "; "))
		}
	}
	if in := r.interruption(); in.any() {
		out = append(out, in.line())
	} else if !r.OK() {
		out = append(out, "Fix the cause and run phoenix apply again: it plans from the live state.")
	}
	return out
}

// interruption counts what an interrupt left undone.
type interruption struct {
	notStarted int // never started (NotStarted, or skipped after an interrupted step)
	held       int // of notStarted, skipped because an interrupted step did not finish
	aborted    int // cut short by a second interrupt
	sentBack   int // canaries whose traffic went back to the previous pool
}

func (r *Report) interruption() interruption {
	res := r.Result
	in := interruption{notStarted: res.Count(NotStarted)}
	for _, id := range res.With(Failed) {
		switch err := res.Outcomes[id].Err; {
		case errors.Is(err, ErrAborted):
			in.aborted++
		case errors.Is(err, ErrInterrupted):
			in.sentBack++
		}
	}
	for _, id := range res.With(Skipped) {
		if cause := res.Outcomes[res.Outcomes[id].Cause]; cause != nil && Interrupted(cause.Err) {
			in.held++
		}
	}
	in.notStarted += in.held
	return in
}

func (in interruption) any() bool { return in.notStarted+in.aborted+in.sentBack > 0 }

// line is the one line that sums an interrupt up, in place of a line per
// step: "Interrupted: 1 canary was sent back to the pool it replaced, 24
// steps were not started. Run phoenix apply again: ...".
func (in interruption) line() string {
	var parts []string
	if in.aborted > 0 {
		parts = append(parts, was(in.aborted, "step was", "steps were", "aborted in flight"))
	}
	if in.sentBack > 0 {
		parts = append(parts, was(in.sentBack, "canary was", "canaries were", "sent back to the pool it replaced"))
	}
	if in.notStarted > 0 {
		parts = append(parts, was(in.notStarted, "step was", "steps were", "not started"))
	}
	return "Interrupted: " + strings.Join(parts, ", ") + ". Run phoenix apply again: it plans from the live state and converges."
}

// was says "1 step was done" or "3 steps were done".
func was(n int, one, many, what string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s %s", one, what)
	}
	return fmt.Sprintf("%d %s %s", n, many, what)
}

// counts renders the done steps by kind: "2 bakes, 1 create".
func (r *Report) counts() string {
	var parts []string
	for _, k := range []planner.Kind{planner.Bake, planner.Create, planner.Swap, planner.Prune} {
		if n := r.Done(k); n > 0 {
			parts = append(parts, plural(n, string(k)))
		}
	}
	return strings.Join(parts, ", ")
}

func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// round renders a duration for people: 0ms, 12ms, 8.1s, 2m3s. Under a
// second it is always in milliseconds: time.Duration's own String wrote
// "0s" beside "500ms" (a sub-millisecond step, a live step just started).
func round(d time.Duration) string {
	switch {
	case d.Round(time.Millisecond) < time.Second:
		return fmt.Sprintf("%dms", d.Round(time.Millisecond).Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	default:
		return d.Round(time.Second).String()
	}
}

// Round renders a duration the way reports do (12ms, 8.1s, 2m3s).
func Round(d time.Duration) string { return round(d) }
