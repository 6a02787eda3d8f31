package executor

import (
	"strings"
	"testing"

	"github.com/phoenix-gitops/phoenix/planner"
)

// reportOf is a Report of steps whose outcomes are given by status.
func reportOf(steps []planner.Step, status map[string]Status) *Report {
	res := &Result[string]{Outcomes: map[string]*Outcome[string]{}}
	byID := map[string]*planner.Step{}
	for i := range steps {
		s := &steps[i]
		res.Order = append(res.Order, s.ID)
		res.Outcomes[s.ID] = &Outcome[string]{Status: status[s.ID]}
		byID[s.ID] = s
	}
	return &Report{Plan: &planner.Plan{Steps: steps}, Result: res, steps: byID}
}

// An interrupt that left one step unstarted says "1 step was", not
// "1 step(s) were".
func TestInterruptedDetailsCountInGoodEnglish(t *testing.T) {
	steps := []planner.Step{
		{ID: "bake:base", Kind: planner.Bake, Image: "base"},
		{ID: "swap:prod/web", Kind: planner.Swap, Env: "prod", Role: "web", After: []string{"bake:base"}},
	}
	r := reportOf(steps, map[string]Status{"bake:base": Done, "swap:prod/web": NotStarted})
	got := strings.Join(r.Details(), "\n")
	if !strings.Contains(got, "Interrupted: 1 step was not started;") || strings.Contains(got, "(s)") {
		t.Errorf("details %q, want one line saying 1 step was not started", got)
	}
}
