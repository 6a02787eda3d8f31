package executor

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/planner"
)

// Hooks is how the executor tells the outside world what it does. Views
// (a terminal, CI lines, JSON) and the journal implement it; the executor
// knows nothing of terminals or formats. Methods may be called from many
// goroutines at once and must not block for long.
type Hooks interface {
	ApplyStarted(p *planner.Plan)
	StepStarted(s *planner.Step)
	StepFinished(s *planner.Step, took time.Duration)
	StepFailed(s *planner.Step, took time.Duration, err error)
	// StepSkipped reports a step that never ran: a step it waits for
	// failed (cause is that step's id) or the apply was interrupted (cause
	// is empty).
	StepSkipped(s *planner.Step, cause string)
	// Log carries one line of a step's output (a bake's steps, a retry, a
	// canary's progress).
	Log(s *planner.Step, line string)
	ApplyFinished(r *Report)
}

// NopHooks implements Hooks doing nothing; embed it to implement a few.
type NopHooks struct{}

func (NopHooks) ApplyStarted(*planner.Plan)                     {}
func (NopHooks) StepStarted(*planner.Step)                      {}
func (NopHooks) StepFinished(*planner.Step, time.Duration)      {}
func (NopHooks) StepFailed(*planner.Step, time.Duration, error) {}
func (NopHooks) StepSkipped(*planner.Step, string)              {}
func (NopHooks) Log(*planner.Step, string)                      {}
func (NopHooks) ApplyFinished(*Report)                          {}

// Multi sends every event to each of hs in order.
func Multi(hs ...Hooks) Hooks { return multi(hs) }

type multi []Hooks

func (m multi) ApplyStarted(p *planner.Plan) {
	for _, h := range m {
		h.ApplyStarted(p)
	}
}
func (m multi) StepStarted(s *planner.Step) {
	for _, h := range m {
		h.StepStarted(s)
	}
}
func (m multi) StepFinished(s *planner.Step, d time.Duration) {
	for _, h := range m {
		h.StepFinished(s, d)
	}
}
func (m multi) StepFailed(s *planner.Step, d time.Duration, err error) {
	for _, h := range m {
		h.StepFailed(s, d, err)
	}
}
func (m multi) StepSkipped(s *planner.Step, cause string) {
	for _, h := range m {
		h.StepSkipped(s, cause)
	}
}
func (m multi) Log(s *planner.Step, line string) {
	for _, h := range m {
		h.Log(s, line)
	}
}
func (m multi) ApplyFinished(r *Report) {
	for _, h := range m {
		h.ApplyFinished(r)
	}
}

// lineWriter turns a step's output stream into Log calls, one per line.
type lineWriter struct {
	mu    sync.Mutex
	hooks Hooks
	step  *planner.Step
	buf   []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.hooks.Log(w.step, strings.TrimRight(string(w.buf[:i]), "\r"))
		w.buf = w.buf[i+1:]
	}
	return len(p), nil
}

// Flush emits a last line without a newline.
func (w *lineWriter) Flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.buf) > 0 {
		w.hooks.Log(w.step, string(w.buf))
		w.buf = nil
	}
}

// Target describes what a step acts on, for people: "base 8c1f02e",
// "staging/web web@7d2e.1", "prod/web → web@5c4d.2", "image web 41aa9b3".
func Target(s *planner.Step) string {
	switch s.Kind {
	case planner.Bake:
		return fmt.Sprintf("%s %s", s.Image, short(s.BuildID, 7))
	case planner.Create:
		return fmt.Sprintf("%s/%s %s", s.Env, s.Role, shortPool(s))
	case planner.Swap:
		if s.Pool == "" {
			return fmt.Sprintf("%s/%s → (detached)", s.Env, s.Role)
		}
		return fmt.Sprintf("%s/%s → %s", s.Env, s.Role, shortPool(s))
	case planner.Prune:
		if s.Pool == "" {
			return fmt.Sprintf("image %s %s", s.Image, short(s.BuildID, 7))
		}
		return fmt.Sprintf("%s/%s %s", s.Env, s.Role, shortPool(s))
	}
	return s.ID
}

// shortPool renders the step's pool as "web@7d2e.1", from its key and
// generation when the plan gives them, else from the pool id
// ("env.role.key8.gen").
func shortPool(s *planner.Step) string {
	if s.Key != "" && s.Generation > 0 {
		return cloud.ShortPool(s.Role, s.Key, s.Generation)
	}
	parts := strings.Split(s.Pool, ".")
	if n := len(parts); n >= 4 {
		var gen int
		if _, err := fmt.Sscanf(parts[n-1], "%d", &gen); err == nil {
			return cloud.ShortPool(parts[n-3], parts[n-2], gen)
		}
	}
	return s.Pool
}

func short(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
