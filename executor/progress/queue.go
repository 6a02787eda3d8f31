package progress

import (
	"fmt"
	"strings"

	"github.com/phoenix-gitops/phoenix/planner"
)

// maxQueuedLines bounds the queued steps the live view lists below the
// running ones; the rest are counted on one line.
const maxQueuedLines = 8

// queue is what the live view knows of the steps that have not started:
// the plan's steps in order and the ones that ended, so that a queued
// step can say which of the steps it waits for are still to come, as
// buildx lists its stages before they run.
type queue struct {
	steps []*planner.Step
	ended map[string]bool
}

func newQueue(p *planner.Plan) queue {
	q := queue{ended: map[string]bool{}}
	for i := range p.Steps {
		q.steps = append(q.steps, &p.Steps[i])
	}
	return q
}

// waiting returns the steps neither running nor ended, in plan order.
func (q queue) waiting(running map[string]*runningStep) []*planner.Step {
	var out []*planner.Step
	for _, s := range q.steps {
		if !q.ended[s.ID] && running[s.ID] == nil {
			out = append(out, s)
		}
	}
	return out
}

// lines renders up to room queued steps, each with what it waits for,
// and a last line counting the others when they do not fit.
func (q queue) lines(running map[string]*runningStep, lay layout, room int, color bool) []string {
	waiting := q.waiting(running)
	if len(waiting) == 0 || room <= 0 {
		return nil
	}
	show := min(len(waiting), room, maxQueuedLines)
	if show < len(waiting) && show > 0 {
		show-- // keep a line for the count
	}
	out := make([]string, 0, show+1)
	for _, s := range waiting[:show] {
		out = append(out, fmt.Sprintf("%s %s %s", paint(color, "2", "·"), lay.head(s), paint(color, "2", q.waitsFor(s, lay))))
	}
	if rest := len(waiting) - show; rest > 0 {
		out = append(out, paint(color, "2", fmt.Sprintf("· and %d more queued", rest)))
	}
	return out
}

// waitsFor says what keeps s from starting: the first of its unfinished
// dependencies by name (and how many others), or a free slot when they
// are all done (--parallelism and the per-kind limits).
func (q queue) waitsFor(s *planner.Step, lay layout) string {
	var open []string
	for _, id := range s.After {
		if !q.ended[id] {
			open = append(open, id)
		}
	}
	switch len(open) {
	case 0:
		return "waits for a free slot"
	case 1:
		return "waits for " + lay.name(open[0])
	}
	return fmt.Sprintf("waits for %s and %d more", lay.name(open[0]), len(open)-1)
}

// counter is the last line of the live block: "2/19 steps · 3 running ·
// 14 queued".
func (q queue) counter(ended, total int, running map[string]*runningStep) string {
	parts := []string{fmt.Sprintf("%d/%d steps", ended, total)}
	if n := len(running); n > 0 {
		parts = append(parts, fmt.Sprintf("%d running", n))
	}
	if n := len(q.waiting(running)); n > 0 {
		parts = append(parts, fmt.Sprintf("%d queued", n))
	}
	return strings.Join(parts, " · ")
}
