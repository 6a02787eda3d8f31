package executor

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/planner"
)

// reportOf is a Report of steps whose outcomes are given.
func reportOf(steps []planner.Step, outcomes map[string]*Outcome[string]) *Report {
	res := &Result[string]{Outcomes: map[string]*Outcome[string]{}}
	byID := map[string]*planner.Step{}
	for i := range steps {
		s := &steps[i]
		res.Order = append(res.Order, s.ID)
		res.Outcomes[s.ID] = outcomes[s.ID]
		if res.Outcomes[s.ID] == nil {
			res.Outcomes[s.ID] = &Outcome[string]{Status: NotStarted}
		}
		byID[s.ID] = s
	}
	return &Report{Plan: &planner.Plan{Steps: steps}, Result: res, steps: byID}
}

var interruptSteps = []planner.Step{
	{ID: "bake:base", Kind: planner.Bake, Image: "base"},
	{ID: "create:web", Kind: planner.Create, Env: "prod", Role: "web", Pool: "prod.web.aaaa.1", After: []string{"bake:base"}},
	{ID: "swap:prod/api", Kind: planner.Swap, Env: "prod", Role: "api", Pool: "prod.api.bbbb.1"},
	{ID: "swap:prod/web", Kind: planner.Swap, Env: "prod", Role: "web", Pool: "prod.web.aaaa.1", After: []string{"create:web"}},
}

// An interrupt ends in one line that counts what it left undone, in good
// English, and says to run apply again; never "Fix the cause" (nothing
// failed) nor a line per step.
func TestInterruptedDetailsAreOneLine(t *testing.T) {
	canary := fmt.Errorf("swapping prod/api to prod.api.bbbb.1: %w during the canary (traffic is back on prod.api.cccc.1)", ErrInterrupted)
	for _, tc := range []struct {
		name     string
		outcomes map[string]*Outcome[string]
		want     string
		line     string
	}{
		{"one not started", map[string]*Outcome[string]{"bake:base": {Status: Done}, "create:web": {Status: Done}, "swap:prod/api": {Status: Done}},
			"Interrupted: 1 step was not started. Run phoenix apply again: it plans from the live state and converges.",
			"Apply interrupted: 1 not started; applied 1 bake, 1 create, 1 swap"},
		{"first interrupt during a canary", map[string]*Outcome[string]{"bake:base": {Status: Done}, "swap:prod/api": {Status: Failed, Err: canary}},
			"Interrupted: 1 canary was sent back to the pool it replaced, 2 steps were not started. Run phoenix apply again: it plans from the live state and converges.",
			"Apply interrupted: 1 sent back, 2 not started; applied 1 bake"},
		{"second interrupt", map[string]*Outcome[string]{"bake:base": {Status: Failed, Err: ErrAborted},
			"create:web": {Status: Skipped, Cause: "bake:base"}, "swap:prod/web": {Status: Skipped, Cause: "bake:base"}, "swap:prod/api": {Status: Done}},
			"Interrupted: 1 step was aborted in flight, 2 steps were not started. Run phoenix apply again: it plans from the live state and converges.",
			"Apply interrupted: 1 aborted, 2 not started; applied 1 swap"},
	} {
		r := reportOf(interruptSteps, tc.outcomes)
		if got := strings.Join(r.Details(), "\n"); got != tc.want {
			t.Errorf("%s: details\n%s\nwant\n%s", tc.name, got, tc.want)
		}
		if !strings.HasPrefix(r.Line(), tc.line) {
			t.Errorf("%s: line %q, want it to start %q", tc.name, r.Line(), tc.line)
		}
		if err := r.Err(); err == nil || strings.Contains(err.Error(), "failed") || strings.Contains(err.Error(), "context canceled") {
			t.Errorf("%s: error %v, want an interrupt, not a failure", tc.name, err)
		}
	}
}

// A real failure still says to fix its cause.
func TestFailedDetailsSayFixTheCause(t *testing.T) {
	r := reportOf(interruptSteps, map[string]*Outcome[string]{"bake:base": {Status: Failed, Err: errors.New("step 1 `false` failed")},
		"create:web": {Status: Skipped, Cause: "bake:base"}, "swap:prod/web": {Status: Skipped, Cause: "bake:base"}, "swap:prod/api": {Status: Done}})
	got := strings.Join(r.Details(), "\n")
	if !strings.Contains(got, "✗ bake base") || !strings.Contains(got, "Fix the cause") || strings.Contains(got, "Interrupted") {
		t.Errorf("details %q", got)
	}
	if !strings.HasPrefix(r.Line(), "Apply failed: 1 failed, 2 skipped;") {
		t.Errorf("line %q", r.Line())
	}
}

// Durations under a second read in one unit: "0ms" beside "500ms", never
// time.Duration's "0s".
func TestRoundUsesOneFormatUnderASecond(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0ms", 400 * time.Microsecond: "0ms", 12 * time.Millisecond: "12ms", 500 * time.Millisecond: "500ms",
		999 * time.Millisecond: "999ms", 8100 * time.Millisecond: "8.1s", 123 * time.Second: "2m3s",
	} {
		if got := Round(d); got != want {
			t.Errorf("Round(%v) = %q, want %q", d, got, want)
		}
	}
}
