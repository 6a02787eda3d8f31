package progress

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/dag"
	"github.com/phoenix-gitops/phoenix/executor"
	"github.com/phoenix-gitops/phoenix/planner"
)

func samplePlan() *planner.Plan {
	return &planner.Plan{Project: "shop", Steps: []planner.Step{
		{ID: "bake:base", Kind: planner.Bake, Image: "base", BuildID: "8c1f02e0aa"},
		{ID: "create:staging.web.7d2e0000.1", Kind: planner.Create, Env: "staging", Role: "web", Pool: "staging.web.7d2e0000.1", After: []string{"bake:base"}},
		{ID: "swap:staging/web", Kind: planner.Swap, Env: "staging", Role: "web", Pool: "staging.web.7d2e0000.1", After: []string{"create:staging.web.7d2e0000.1"}},
	}}
}

// replay drives a view the way the executor does: a walk where the
// create fails.
func replay(t *testing.T, v View) {
	t.Helper()
	p := samplePlan()
	steps := map[string]*planner.Step{}
	g := dag.New[string]()
	for i := range p.Steps {
		steps[p.Steps[i].ID] = &p.Steps[i]
		g.Add(p.Steps[i].ID, p.Steps[i].After...)
	}
	v.ApplyStarted(p)
	res, err := executor.Walk(context.Background(), g, func(_ context.Context, id string) error {
		if steps[id].Kind == planner.Create {
			v.Log(steps[id], "waiting for 2 servers")
			return errors.New("smoke check /: status 500")
		}
		return nil
	}, executor.WalkOptions[string]{
		OnStart: func(id string) { v.StepStarted(steps[id]) },
		OnEnd: func(id string, o *executor.Outcome[string]) {
			switch o.Status {
			case executor.Done:
				v.StepFinished(steps[id], o.Duration())
			case executor.Failed:
				v.StepFailed(steps[id], o.Duration(), o.Err)
			default:
				v.StepSkipped(steps[id], o.Cause)
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = res
	v.Close()
}

func TestPlainViewWritesOneTimestampedLinePerEvent(t *testing.T) {
	var b bytes.Buffer
	v := newPlain(&b, false)
	v.now = func() time.Time { return time.Date(2026, 1, 1, 12, 0, 1, 0, time.UTC) }
	replay(t, v)
	want := []string{
		"12:00:01 apply   3 steps: 1 bake, 1 create, 1 swap",
		"12:00:01 bake    base 8c1f02e             started",
		"12:00:01 bake    base 8c1f02e             done in 0ms",
		"12:00:01 create  staging/web web@7d2e.1   started",
		"12:00:01 create  staging/web web@7d2e.1   | waiting for 2 servers",
		"12:00:01 create  staging/web web@7d2e.1   FAILED after 0ms: smoke check /: status 500",
		"12:00:01 swap    staging/web → web@7d2e.1 skipped: create staging/web web@7d2e.1 failed",
	}
	got := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(got) != len(want) {
		t.Fatalf("got %d lines:\n%s", len(got), b.String())
	}
	for i := range want {
		// durations vary: compare up to " in "/" after "
		g, w := got[i], want[i]
		if k := strings.Index(w, " in 0ms"); k > 0 {
			g, w = g[:min(len(g), k)], w[:k]
		}
		if k := strings.Index(w, " after 0ms"); k > 0 {
			g, w = g[:min(len(g), k)], w[:k]
		}
		if g != w {
			t.Errorf("line %d:\n got %q\nwant %q", i, got[i], want[i])
		}
	}
}

func TestJSONViewWritesOneObjectPerEvent(t *testing.T) {
	var b bytes.Buffer
	replay(t, newJSON(&b))
	var events []string
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		var e Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		events = append(events, e.Event)
		if e.Event == "step_failed" && (e.Error != "smoke check /: status 500" || e.Step != "create:staging.web.7d2e0000.1") {
			t.Errorf("failed event %+v", e)
		}
	}
	want := "apply_started step_started step_finished step_started log step_failed step_skipped"
	if strings.Join(events, " ") != want {
		t.Fatalf("events %v, want %s", events, want)
	}
}

func TestLiveViewEndsWithFinishedStepsAndNoRunningBlock(t *testing.T) {
	var b bytes.Buffer
	v := newLive(&b, false)
	replay(t, v)
	out := b.String()
	for _, s := range []string{"✓ bake    base 8c1f02e", "✗ create  staging/web web@7d2e.1", "│ waiting for 2 servers", "skipped: create staging/web web@7d2e.1 failed"} {
		if !strings.Contains(out, s) {
			t.Errorf("live view lacks %q:\n%s", s, out)
		}
	}
}

// A plan of one step says "1 step", not "1 steps".
func TestCountsOfOneStep(t *testing.T) {
	p := &planner.Plan{Steps: []planner.Step{{ID: "swap:prod/web", Kind: planner.Swap}}}
	if got, want := Counts(p), "1 step: 1 swap"; got != want {
		t.Errorf("Counts = %q, want %q", got, want)
	}
}

// An interrupt is not a failure: a step it ended reads "interrupted", and
// the steps it kept from starting get no line each (the report sums them
// up in one).
func TestPlainViewSaysInterruptedNotFailed(t *testing.T) {
	var b bytes.Buffer
	v := newPlain(&b, false)
	v.now = func() time.Time { return time.Date(2026, 1, 1, 12, 0, 1, 0, time.UTC) }
	p := samplePlan()
	v.ApplyStarted(p)
	v.StepFailed(&p.Steps[0], 2*time.Second, executor.ErrAborted)
	v.StepSkipped(&p.Steps[1], "")
	v.StepSkipped(&p.Steps[2], "")
	want := "12:00:01 apply   3 steps: 1 bake, 1 create, 1 swap\n" +
		"12:00:01 bake    base 8c1f02e             interrupted after 2.0s: aborted by a second interrupt\n"
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}

// The live view, too, says "interrupted" for a step an interrupt ended and
// draws no line per step it kept from starting, and still ends its
// running block.
func TestLiveViewSaysInterruptedNotFailed(t *testing.T) {
	var b bytes.Buffer
	v := newLive(&b, false)
	p := samplePlan()
	v.ApplyStarted(p)
	v.StepStarted(&p.Steps[0])
	v.StepFailed(&p.Steps[0], 2*time.Second, executor.ErrAborted)
	v.StepSkipped(&p.Steps[1], "")
	v.StepSkipped(&p.Steps[2], "")
	v.Close()
	out := screen(b.String()) // the running block lists queued steps while it lasts
	if !strings.Contains(out, "- bake    base 8c1f02e             interrupted after 2.0s: aborted by a second interrupt") ||
		strings.Contains(out, "failed") || strings.Contains(out, "not started") || strings.Contains(out, "staging/web") {
		t.Errorf("live view:\n%s", out)
	}
}
