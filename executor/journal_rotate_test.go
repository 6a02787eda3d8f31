package executor

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/internal/logfiles"
	"github.com/phoenix-gitops/phoenix/planner"
)

// TestJournalRotates: over many applies the journal stays within
// PHOENIX_LOG_ROTATE_SIZE (plus one apply's lines) and keeps
// PHOENIX_LOG_ROTATE_KEEP old files; it was append-only and grew by every
// apply for ever.
func TestJournalRotates(t *testing.T) {
	t.Setenv("PHOENIX_LOG_ROTATE_SIZE", "2K")
	t.Setenv("PHOENIX_LOG_ROTATE_KEEP", "2")
	dir := t.TempDir()
	step := &planner.Step{ID: "swap-ci-web", Kind: planner.Swap, Env: "ci", Role: "web"}
	for range 60 {
		j, err := OpenJournal(dir, NewApplyID(), "ann@host:1#a1b2c3d4e5f6")
		if err != nil {
			t.Fatal(err)
		}
		j.ApplyStarted(&planner.Plan{Project: "demo", Steps: []planner.Step{*step}})
		j.StepStarted(step)
		j.StepFinished(step, time.Second)
		j.Close()
	}
	path := filepath.Join(dir, JournalFile)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > 3<<10 {
		t.Errorf("journal is %d bytes after 60 applies, over its 2K limit and one apply", fi.Size())
	}
	old, err := logfiles.Rotated(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(old) != 2 {
		t.Errorf("%d rotated journals, want 2: %v", len(old), old)
	}
}

// TestJournalRefusesABadLimit: a limit that does not parse stops the
// apply before it starts, naming the variable.
func TestJournalRefusesABadLimit(t *testing.T) {
	t.Setenv("PHOENIX_LOG_ROTATE_SIZE", "ten megs")
	_, err := OpenJournal(t.TempDir(), NewApplyID(), "ann")
	if err == nil || !strings.Contains(err.Error(), "PHOENIX_LOG_ROTATE_SIZE") {
		t.Errorf("OpenJournal with a bad limit: %v", err)
	}
}
