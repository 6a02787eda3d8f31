package progress

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/phoenix-gitops/phoenix/planner"
)

// screen replays the live view's output as a terminal would keep it: a
// redraw's "cursor up N, erase below" removes the N lines drawn last.
func screen(out string) string {
	var lines []string
	erase := regexp.MustCompile(`^\x1b\[(\d+)A\r\x1b\[J`)
	for _, l := range strings.SplitAfter(out, "\n") {
		for {
			m := erase.FindStringSubmatch(l)
			if m == nil {
				break
			}
			n, _ := strconv.Atoi(m[1])
			lines = lines[:max(len(lines)-n, 0)]
			l = l[len(m[0]):]
		}
		if l != "" {
			lines = append(lines, l)
		}
	}
	return strings.Join(lines, "")
}

// fleetPlan is a bake, two creates after it, their swaps, and a prod
// swap after both staging swaps.
func fleetPlan() *planner.Plan {
	return &planner.Plan{Project: "shop", Steps: []planner.Step{
		{ID: "bake:base", Kind: planner.Bake, Image: "base", BuildID: "8c1f02e0aa"},
		{ID: "create:staging.web.7d2e0000.1", Kind: planner.Create, Env: "staging", Role: "web", Pool: "staging.web.7d2e0000.1", After: []string{"bake:base"}},
		{ID: "create:staging.api.1a2b0000.1", Kind: planner.Create, Env: "staging", Role: "api", Pool: "staging.api.1a2b0000.1", After: []string{"bake:base"}},
		{ID: "swap:staging/web", Kind: planner.Swap, Env: "staging", Role: "web", Pool: "staging.web.7d2e0000.1", After: []string{"create:staging.web.7d2e0000.1"}},
		{ID: "swap:staging/api", Kind: planner.Swap, Env: "staging", Role: "api", Pool: "staging.api.1a2b0000.1", After: []string{"create:staging.api.1a2b0000.1"}},
		{ID: "swap:prod/web", Kind: planner.Swap, Env: "prod", Role: "web", Pool: "prod.web.5c4d0000.2", After: []string{"swap:staging/api", "swap:staging/web"}},
	}}
}

// While a step runs, the live view lists every queued step with the
// first step it still waits for, and counts running and queued steps;
// the finished screen keeps none of it.
func TestLiveViewListsQueuedStepsAndWhatTheyWaitFor(t *testing.T) {
	var b bytes.Buffer
	v := newLive(&b, false)
	p := fleetPlan()
	v.ApplyStarted(p)
	v.StepStarted(&p.Steps[0])
	v.mu.Lock()
	block := screen(b.String())
	v.mu.Unlock()
	for _, want := range []string{
		"· create  staging/web web@7d2e.1   waits for bake base 8c1f02e\n",
		"· swap    staging/web → web@7d2e.1 waits for create staging/web web@7d2e.1\n",
		"· swap    prod/web → web@5c4d.2    waits for swap staging/api → api@1a2b.1 and 1 more\n",
		"  0/6 steps · 1 running · 5 queued\n",
	} {
		if !strings.Contains(block, want) {
			t.Errorf("running block lacks %q:\n%s", want, block)
		}
	}
	v.StepFinished(&p.Steps[0], 0)
	v.mu.Lock()
	block = screen(b.String())
	v.mu.Unlock()
	if !strings.Contains(block, "· create  staging/web web@7d2e.1   waits for a free slot\n") {
		t.Errorf("a step whose dependencies are done does not say it waits for a slot:\n%s", block)
	}
	for i := 1; i < len(p.Steps); i++ {
		v.StepStarted(&p.Steps[i])
		v.StepFinished(&p.Steps[i], 0)
	}
	v.Close()
	if out := screen(b.String()); strings.Contains(out, "·") || strings.Contains(out, "queued") {
		t.Errorf("the finished screen keeps queued lines:\n%s", out)
	}
}

// A long queue is cut to maxQueuedLines, the rest counted on one line.
func TestQueuedLinesAreBounded(t *testing.T) {
	p := &planner.Plan{}
	for i := range 20 {
		p.Steps = append(p.Steps, planner.Step{ID: "bake:" + strconv.Itoa(i), Kind: planner.Bake, Image: "img" + strconv.Itoa(i), BuildID: "0000000"})
	}
	q := newQueue(p)
	lines := q.lines(map[string]*runningStep{}, newLayout(p), 100, false)
	if len(lines) != maxQueuedLines || lines[len(lines)-1] != "· and 13 more queued" {
		t.Errorf("queued lines: %d, last %q", len(lines), lines[len(lines)-1])
	}
	if got := q.lines(map[string]*runningStep{}, newLayout(p), 3, false); len(got) != 3 {
		t.Errorf("with room for 3 lines: %d lines", len(got))
	}
}
