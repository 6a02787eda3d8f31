// Package progress shows an apply to people and machines: a live view of
// running steps on a terminal, one plain line per event in CI, one JSON
// object per event with --json. Each view implements executor.Hooks; the
// executor knows nothing of them.
package progress

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/phoenix-gitops/phoenix/executor"
	"github.com/phoenix-gitops/phoenix/planner"
)

// View is a way of showing an apply.
type View interface {
	executor.Hooks
	// Note shows a message that is not about one step ("waiting for lock
	// on prod held by …", "interrupt: finishing 2 steps in flight").
	Note(msg string)
	// Close stops any redrawing and leaves the output tidy.
	Close()
}

// Mode picks a view.
type Mode int

const (
	Plain Mode = iota // CI or no terminal: one timestamped line per event
	Live              // a terminal: running steps redrawn with spinners
	JSON              // one JSON object per event
)

// New returns the view for mode writing to w. color only affects Live and
// Plain.
func New(w io.Writer, mode Mode, color bool) View {
	switch mode {
	case JSON:
		return newJSON(w)
	case Live:
		return newLive(w, color)
	default:
		return newPlain(w, color)
	}
}

// layout pads columns to the widest target of the plan so lines align,
// and names steps by what they do rather than by their ids.
type layout struct {
	target int
	names  map[string]string // step id -> "create staging/web web@7d2e.1"
}

func newLayout(p *planner.Plan) layout {
	l := layout{target: 12, names: map[string]string{}}
	for i := range p.Steps {
		s := &p.Steps[i]
		l.target = max(l.target, len([]rune(executor.Target(s))))
		l.names[s.ID] = fmt.Sprintf("%s %s", s.Kind, executor.Target(s))
	}
	return l
}

// name is how a person reads the step with id: its kind and target, as
// its own lines show it.
func (l layout) name(id string) string {
	if n, ok := l.names[id]; ok {
		return n
	}
	return id
}

// head renders "bake    base 8c1f02e        " for a step.
func (l layout) head(s *planner.Step) string {
	t := executor.Target(s)
	pad := l.target - len([]rune(t))
	return fmt.Sprintf("%-7s %s%s", s.Kind, t, strings.Repeat(" ", max(pad, 0)))
}

// plain is the CI view: every event is one line with a timestamp, nothing
// is redrawn, and every line makes sense alone in a log.
type plain struct {
	mu    sync.Mutex
	w     io.Writer
	color bool
	lay   layout
	now   func() time.Time
}

func newPlain(w io.Writer, color bool) *plain {
	return &plain{w: w, color: color, lay: layout{target: 12}, now: time.Now}
}

func (v *plain) line(format string, args ...any) {
	v.mu.Lock()
	defer v.mu.Unlock()
	fmt.Fprintf(v.w, "%s %s\n", v.now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (v *plain) ApplyStarted(p *planner.Plan) {
	v.mu.Lock()
	v.lay = newLayout(p)
	v.mu.Unlock()
	v.line("apply   %s", Counts(p))
}
func (v *plain) StepStarted(s *planner.Step) { v.line("%s started", v.lay.head(s)) }
func (v *plain) StepFinished(s *planner.Step, d time.Duration) {
	v.line("%s %s in %s", v.lay.head(s), paint(v.color, "32", "done"), executor.Round(d))
}
func (v *plain) StepFailed(s *planner.Step, d time.Duration, err error) {
	if executor.Interrupted(err) {
		v.line("%s %s after %s: %v", v.lay.head(s), paint(v.color, "33", "interrupted"), executor.Round(d), err)
		return
	}
	v.line("%s %s after %s: %v", v.lay.head(s), paint(v.color, "31", "FAILED"), executor.Round(d), err)
}

// StepSkipped prints nothing for a step an interrupt kept from starting:
// the report's one line counts them.
func (v *plain) StepSkipped(s *planner.Step, cause string) {
	if cause == "" {
		return
	}
	v.line("%s skipped: %s failed", v.lay.head(s), v.lay.name(cause))
}
func (v *plain) Log(s *planner.Step, line string) { v.line("%s | %s", v.lay.head(s), line) }
func (v *plain) Note(msg string)                  { v.line("%s", msg) }
func (v *plain) ApplyFinished(r *executor.Report) {
	v.mu.Lock()
	defer v.mu.Unlock()
	for _, d := range r.Details() {
		fmt.Fprintln(v.w, d)
	}
	fmt.Fprintln(v.w, r.Line())
}
func (v *plain) Close() {}

func paint(on bool, code, s string) string {
	if !on {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

// Counts renders a plan's size: "6 steps: 2 bakes, 1 create, 2 swaps, 1 prune".
func Counts(p *planner.Plan) string {
	s := p.Summary()
	var parts []string
	for _, c := range []struct {
		n    int
		word string
	}{{s.Bake, "bake"}, {s.Create, "create"}, {s.Swap, "swap"}, {s.Prune, "prune"}} {
		switch {
		case c.n == 1:
			parts = append(parts, "1 "+c.word)
		case c.n > 1:
			parts = append(parts, fmt.Sprintf("%d %ss", c.n, c.word))
		}
	}
	steps := "steps"
	if len(p.Steps) == 1 {
		steps = "step"
	}
	return fmt.Sprintf("%d %s: %s", len(p.Steps), steps, strings.Join(parts, ", "))
}
