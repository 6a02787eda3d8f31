package progress

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/phoenix-gitops/phoenix/executor"
	"github.com/phoenix-gitops/phoenix/planner"
)

// Event is one line of `phoenix apply --json`.
type Event struct {
	Time       time.Time `json:"time"`
	Event      string    `json:"event"` // apply_started, step_started, step_finished, step_failed, step_skipped, log, note, apply_finished
	Step       string    `json:"step,omitempty"`
	Kind       string    `json:"kind,omitempty"`
	Env        string    `json:"env,omitempty"`
	Role       string    `json:"role,omitempty"`
	Target     string    `json:"target,omitempty"`
	DurationMS float64   `json:"duration_ms,omitempty"`
	Error      string    `json:"error,omitempty"`
	Cause      string    `json:"cause,omitempty"`
	Message    string    `json:"message,omitempty"` // a log line or a note
	// apply_started / apply_finished
	Steps          int               `json:"steps,omitempty"`
	Summary        *planner.Summary  `json:"summary,omitempty"`
	OK             *bool             `json:"ok,omitempty"`
	Line           string            `json:"line,omitempty"`
	Done           map[string]int    `json:"done,omitempty"`
	Failed         []string          `json:"failed,omitempty"`
	Skipped        []string          `json:"skipped,omitempty"`
	NotStarted     []string          `json:"not_started,omitempty"`
	MakespanMS     float64           `json:"makespan_ms,omitempty"`
	CriticalPathMS float64           `json:"critical_path_ms,omitempty"`
	Errors         map[string]string `json:"errors,omitempty"`
}

type jsonView struct {
	mu  sync.Mutex
	enc *json.Encoder
	now func() time.Time
}

func newJSON(w io.Writer) *jsonView { return &jsonView{enc: json.NewEncoder(w), now: time.Now} }

func (v *jsonView) emit(e Event) {
	e.Time = v.now().UTC()
	v.mu.Lock()
	defer v.mu.Unlock()
	_ = v.enc.Encode(e)
}

func stepEvent(event string, s *planner.Step) Event {
	return Event{Event: event, Step: s.ID, Kind: string(s.Kind), Env: s.Env, Role: s.Role, Target: executor.Target(s)}
}

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func (v *jsonView) ApplyStarted(p *planner.Plan) {
	s := p.Summary()
	v.emit(Event{Event: "apply_started", Steps: len(p.Steps), Summary: &s})
}
func (v *jsonView) StepStarted(s *planner.Step) { v.emit(stepEvent("step_started", s)) }
func (v *jsonView) StepFinished(s *planner.Step, d time.Duration) {
	e := stepEvent("step_finished", s)
	e.DurationMS = msf(d)
	v.emit(e)
}
func (v *jsonView) StepFailed(s *planner.Step, d time.Duration, err error) {
	e := stepEvent("step_failed", s)
	e.DurationMS, e.Error = msf(d), err.Error()
	v.emit(e)
}
func (v *jsonView) StepSkipped(s *planner.Step, cause string) {
	e := stepEvent("step_skipped", s)
	e.Cause = cause
	if cause == "" {
		e.Message = "not started: interrupted"
	}
	v.emit(e)
}
func (v *jsonView) Log(s *planner.Step, line string) {
	e := stepEvent("log", s)
	e.Message = line
	v.emit(e)
}
func (v *jsonView) Note(msg string) { v.emit(Event{Event: "note", Message: msg}) }
func (v *jsonView) ApplyFinished(r *executor.Report) {
	ok := r.OK()
	e := Event{Event: "apply_finished", OK: &ok, Line: r.Line(), Done: map[string]int{},
		MakespanMS: msf(r.Result.Makespan), CriticalPathMS: msf(r.Result.CriticalPath)}
	for _, k := range []planner.Kind{planner.Bake, planner.Create, planner.Swap, planner.Prune} {
		e.Done[string(k)] = r.Done(k)
	}
	e.Failed = r.Result.With(executor.Failed)
	e.Skipped = r.Result.With(executor.Skipped)
	e.NotStarted = r.Result.With(executor.NotStarted)
	for _, id := range e.Failed {
		if e.Errors == nil {
			e.Errors = map[string]string{}
		}
		e.Errors[id] = r.Result.Outcomes[id].Err.Error()
	}
	v.emit(e)
}
func (v *jsonView) Close() {}
