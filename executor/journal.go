package executor

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/phoenix-gitops/phoenix/internal/logfiles"
	"github.com/phoenix-gitops/phoenix/planner"
)

// JournalFile is the journal's name inside PHOENIX_HOME.
const JournalFile = "journal.jsonl"

// Entry is one line of the journal. An operator reads it to see what an
// apply did, step by step, even after a crash (the apply's last lines are
// then its last started steps, with no end).
type Entry struct {
	Time    time.Time `json:"time"`
	Apply   string    `json:"apply"` // id of one apply run
	Event   string    `json:"event"` // apply_start, step_start, step_end, apply_end
	Project string    `json:"project,omitempty"`
	Owner   string    `json:"owner,omitempty"`
	Step    string    `json:"step,omitempty"`
	Kind    string    `json:"kind,omitempty"`
	Env     string    `json:"env,omitempty"`
	Role    string    `json:"role,omitempty"`
	Target  string    `json:"target,omitempty"`
	// Result is done, failed, skipped or not_started (step_end), or ok,
	// failed or interrupted (apply_end).
	Result     string  `json:"result,omitempty"`
	DurationMS float64 `json:"duration_ms,omitempty"`
	Error      string  `json:"error,omitempty"`
	Cause      string  `json:"cause,omitempty"` // the failed step behind a skip
	Steps      int     `json:"steps,omitempty"` // apply_start: steps in the plan
	Summary    string  `json:"summary,omitempty"`
}

// Journal appends entries as JSON lines. Each entry is one write to a file
// opened for appending, so concurrent applies interleave whole lines and a
// killed apply loses at most the line it was writing.
type Journal struct {
	NopHooks
	mu    sync.Mutex
	f     *os.File
	apply string
	owner string
	now   func() time.Time
}

// OpenJournal opens (creating) the journal in dir for the apply with id
// applyID (NewApplyID) by owner. The journal names what runs where, so it
// is the user's alone (0600 in a directory made 0700), as everything else
// in PHOENIX_HOME. It is rotated here, past PHOENIX_LOG_ROTATE_SIZE, since
// it only grows (see logfiles.Limits); a limit that does not parse is
// refused before the apply starts.
func OpenJournal(dir, applyID, owner string) (*Journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("opening the journal: %w", err)
	}
	limits, err := logfiles.FromEnv()
	if err != nil {
		return nil, fmt.Errorf("opening the journal: %w", err)
	}
	path := filepath.Join(dir, JournalFile)
	// A rotation that fails (another apply holds the file open on
	// Windows) only lets the journal grow by this apply.
	_ = logfiles.RotateByRename(path, limits, time.Now())
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening the journal: %w", err)
	}
	return &Journal{f: f, apply: applyID, owner: owner, now: time.Now}, nil
}

// ID is this apply's id in the journal.
func (j *Journal) ID() string { return j.apply }

// Close closes the journal file.
func (j *Journal) Close() error { return j.f.Close() }

// NewApplyID returns a new apply's id: its start time and a random part,
// which its lock owner (Owner) carries too, so that a lock's holder can be
// found in the journal and told apart from any other apply.
func NewApplyID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// write appends e; a journal that cannot be written must not stop an
// apply that is changing production, so errors are dropped.
func (j *Journal) write(e Entry) {
	e.Time = j.now().UTC()
	e.Apply = j.apply
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	b = append(b, '\n')
	j.mu.Lock()
	defer j.mu.Unlock()
	_, _ = j.f.Write(b)
}

func stepEntry(event string, s *planner.Step) Entry {
	return Entry{Event: event, Step: s.ID, Kind: string(s.Kind), Env: s.Env, Role: s.Role, Target: Target(s)}
}

func (j *Journal) ApplyStarted(p *planner.Plan) {
	j.write(Entry{Event: "apply_start", Project: p.Project, Owner: j.owner, Steps: len(p.Steps)})
}

func (j *Journal) StepStarted(s *planner.Step) { j.write(stepEntry("step_start", s)) }

func (j *Journal) StepFinished(s *planner.Step, took time.Duration) {
	e := stepEntry("step_end", s)
	e.Result, e.DurationMS = "done", ms(took)
	j.write(e)
}

func (j *Journal) StepFailed(s *planner.Step, took time.Duration, err error) {
	e := stepEntry("step_end", s)
	e.Result, e.DurationMS, e.Error = "failed", ms(took), err.Error()
	j.write(e)
}

func (j *Journal) StepSkipped(s *planner.Step, cause string) {
	e := stepEntry("step_end", s)
	e.Result, e.Cause = "skipped", cause
	if cause == "" {
		e.Result = "not_started"
	}
	j.write(e)
}

func (j *Journal) ApplyFinished(r *Report) {
	e := Entry{Event: "apply_end", Project: r.Plan.Project, Result: "ok", Summary: r.Line(), DurationMS: ms(r.Result.Makespan)}
	switch {
	case len(r.Failures()) > 0:
		e.Result = "failed"
	case !r.OK():
		e.Result = "interrupted"
	}
	j.write(e)
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
