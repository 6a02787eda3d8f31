package progress

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/phoenix-gitops/phoenix/executor"
	"github.com/phoenix-gitops/phoenix/planner"
)

// live is the terminal view: finished steps scroll above a block of
// running steps, each with a spinner, its elapsed time and its latest log
// line, redrawn ten times a second.
type live struct {
	mu      sync.Mutex
	w       io.Writer
	color   bool
	lay     layout
	running map[string]*runningStep
	drawn   int // lines of the running block currently on screen
	frame   int
	stop    chan struct{}
	done    chan struct{}
	closed  bool
	total   int
	ended   int
	queue   queue // steps not started yet, listed below the running ones
}

type runningStep struct {
	step  *planner.Step
	start time.Time
	last  string   // latest log line
	tail  []string // last lines, shown if the step fails
}

const tailLines = 12

var spinner = []string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

func newLive(w io.Writer, color bool) *live {
	v := &live{w: w, color: color, lay: layout{target: 12}, running: map[string]*runningStep{},
		stop: make(chan struct{}), done: make(chan struct{})}
	go v.tick()
	return v
}

func (v *live) tick() {
	defer close(v.done)
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-v.stop:
			return
		case <-t.C:
			v.mu.Lock()
			v.frame++
			v.redraw(nil)
			v.mu.Unlock()
		}
	}
}

// width is the terminal's width; lines are cut to it so that the cursor
// arithmetic of the redraw holds.
func (v *live) width() int {
	if f, ok := v.w.(*os.File); ok {
		if w, _, err := term.GetSize(int(f.Fd())); err == nil && w > 10 {
			return w
		}
	}
	return 100
}

// height is the terminal's height; the block never grows past it, since
// the redraw can only move the cursor up within the screen.
func (v *live) height() int {
	if f, ok := v.w.(*os.File); ok {
		if _, h, err := term.GetSize(int(f.Fd())); err == nil && h > 2 {
			return h
		}
	}
	return 40
}

// redraw erases the running block, prints the lines that scroll above it,
// and draws the block again. mu is held.
func (v *live) redraw(above []string) {
	var b strings.Builder
	if v.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dA\r\x1b[J", v.drawn)
	}
	width := v.width()
	for _, l := range above { // scrolls away: may wrap
		b.WriteString(l)
		b.WriteByte('\n')
	}
	v.drawn = 0
	if !v.closed {
		steps := make([]*runningStep, 0, len(v.running))
		for _, r := range v.running {
			steps = append(steps, r)
		}
		sort.Slice(steps, func(i, j int) bool { return steps[i].start.Before(steps[j].start) })
		for _, r := range steps {
			l := fmt.Sprintf("%s %s %s", paint(v.color, "36", spinner[v.frame%len(spinner)]), v.lay.head(r.step),
				paint(v.color, "2", executor.Round(time.Since(r.start).Truncate(100*time.Millisecond))))
			if r.last != "" {
				l += "  " + paint(v.color, "2", r.last)
			}
			b.WriteString(cut(l, width))
			b.WriteByte('\n')
			v.drawn++
		}
		if v.total > 0 {
			room := v.height() - v.drawn - 2
			for _, l := range v.queue.lines(v.running, v.lay, room, v.color) {
				b.WriteString(cut(l, width))
				b.WriteByte('\n')
				v.drawn++
			}
			b.WriteString(paint(v.color, "2", "  "+v.queue.counter(v.ended, v.total, v.running)))
			b.WriteByte('\n')
			v.drawn++
		}
	}
	io.WriteString(v.w, b.String())
}

// cut shortens s to width visible columns, ignoring ANSI codes.
func cut(s string, width int) string {
	n, esc := 0, false
	for i, r := range s {
		switch {
		case esc:
			if r == 'm' {
				esc = false
			}
		case r == '\x1b':
			esc = true
		default:
			n++
			if n >= width {
				return s[:i] + "\x1b[0m"
			}
		}
	}
	return s
}

func (v *live) ApplyStarted(p *planner.Plan) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.lay, v.total, v.queue = newLayout(p), len(p.Steps), newQueue(p)
}

func (v *live) StepStarted(s *planner.Step) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.running[s.ID] = &runningStep{step: s, start: time.Now()}
	v.redraw(nil)
}

func (v *live) end(s *planner.Step, lines ...string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	delete(v.running, s.ID)
	v.queue.ended[s.ID] = true
	v.ended++
	v.redraw(lines)
}

func (v *live) StepFinished(s *planner.Step, d time.Duration) {
	v.end(s, fmt.Sprintf("%s %s %s", paint(v.color, "32", "✓"), v.lay.head(s), paint(v.color, "2", executor.Round(d))))
}

func (v *live) StepFailed(s *planner.Step, d time.Duration, err error) {
	v.mu.Lock()
	var tail []string
	if r := v.running[s.ID]; r != nil {
		tail = r.tail
	}
	v.mu.Unlock()
	if executor.Interrupted(err) {
		v.end(s, fmt.Sprintf("%s %s %s after %s: %v", paint(v.color, "33", "-"), v.lay.head(s), paint(v.color, "33", "interrupted"), executor.Round(d), err))
		return
	}
	lines := []string{fmt.Sprintf("%s %s %s after %s", paint(v.color, "31", "✗"), v.lay.head(s), paint(v.color, "31", "failed"), executor.Round(d))}
	for _, t := range tail {
		lines = append(lines, paint(v.color, "2", "    │ "+t))
	}
	lines = append(lines, "    "+err.Error())
	v.end(s, lines...)
}

// StepSkipped draws no line for a step an interrupt kept from starting:
// the report's one line counts them.
func (v *live) StepSkipped(s *planner.Step, cause string) {
	if cause == "" {
		v.end(s)
		return
	}
	why := "skipped: " + v.lay.name(cause) + " failed"
	v.end(s, fmt.Sprintf("%s %s %s", paint(v.color, "33", "-"), v.lay.head(s), paint(v.color, "33", why)))
}

func (v *live) Log(s *planner.Step, line string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	r := v.running[s.ID]
	if r == nil {
		return
	}
	r.last = line
	r.tail = append(r.tail, line)
	if len(r.tail) > tailLines {
		r.tail = r.tail[len(r.tail)-tailLines:]
	}
}

func (v *live) Note(msg string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.redraw([]string{msg})
}

func (v *live) ApplyFinished(r *executor.Report) {
	lines := append(r.Details(), r.Line())
	v.mu.Lock()
	defer v.mu.Unlock()
	v.closed = true
	v.redraw(lines)
}

func (v *live) Close() {
	v.mu.Lock()
	if v.closed && v.drawn == 0 {
		v.mu.Unlock()
	} else {
		v.closed = true
		v.redraw(nil)
		v.mu.Unlock()
	}
	select {
	case <-v.stop:
	default:
		close(v.stop)
	}
	<-v.done
}
