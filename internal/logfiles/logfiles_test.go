package logfiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRotateOpenBoundsAnAppendedFile: a log written through a descriptor
// held open for appending (the supervisor's stderr) stays within its size
// and keeps the newest lines, with at most RotateKeep rotated files and no
// line lost between them. Without rotation it grew by every line for ever.
func TestRotateOpenBoundsAnAppendedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "supervisor.log")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	l := Limits{RotateSize: 1000, RotateKeep: 3}
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	line := strings.Repeat("x", 90) + "\n"
	for i := range 500 {
		if err := RotateOpen(f, path, l, now.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(line); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > l.RotateSize+int64(len(line)) {
		t.Errorf("log is %d bytes, over its limit %d", fi.Size(), l.RotateSize)
	}
	old, err := Rotated(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(old) != l.RotateKeep {
		t.Fatalf("%d rotated files, want %d: %v", len(old), l.RotateKeep, old)
	}
	total := fi.Size()
	for _, o := range old {
		oi, err := os.Stat(o)
		if err != nil {
			t.Fatal(err)
		}
		if oi.Mode().Perm() != 0o600 {
			t.Errorf("rotated file %s has mode %v, want 0600", o, oi.Mode().Perm())
		}
		total += oi.Size()
	}
	if total%int64(len(line)) != 0 || total < int64(l.RotateKeep)*l.RotateSize {
		t.Errorf("kept %d bytes: not whole lines, or lines lost between files", total)
	}
}

// TestRotateByRenameBoundsTheJournal: a file opened anew by each writer
// (the journal, once per apply) is moved aside past its size, and only
// RotateKeep old files stay.
func TestRotateByRenameBoundsTheJournal(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal.jsonl")
	l := Limits{RotateSize: 500, RotateKeep: 2}
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	for i := range 100 {
		if err := RotateByRename(path, l, now.Add(time.Duration(i)*time.Second)); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(strings.Repeat("j", 99) + "\n")
		f.Close()
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Size() > l.RotateSize+100 {
		t.Errorf("journal is %d bytes, over %d", fi.Size(), l.RotateSize)
	}
	old, _ := Rotated(path)
	if len(old) != 2 {
		t.Errorf("%d rotated journals, want 2: %v", len(old), old)
	}
}

// TestFromEnv: every limit is configurable, and a value that does not
// parse is named with its variable while the others still apply.
func TestFromEnv(t *testing.T) {
	t.Setenv("PHOENIX_LOG_ROTATE_SIZE", "2M")
	t.Setenv("PHOENIX_LOG_ROTATE_KEEP", "1")
	t.Setenv("PHOENIX_LOG_MAX_AGE", "7d")
	t.Setenv("PHOENIX_LOG_MAX_TOTAL", "lots")
	t.Setenv("PHOENIX_LOG_PRUNE_EVERY", "10m")
	l, err := FromEnv()
	if err == nil || !strings.Contains(err.Error(), "PHOENIX_LOG_MAX_TOTAL") {
		t.Errorf("error %v does not name PHOENIX_LOG_MAX_TOTAL", err)
	}
	want := Limits{RotateSize: 2 << 20, RotateKeep: 1, MaxAge: 7 * 24 * time.Hour, MaxTotal: Defaults.MaxTotal, Every: 10 * time.Minute}
	if l != want {
		t.Errorf("limits %+v, want %+v", l, want)
	}
	for in, want := range map[string]int64{"0": 0, "512": 512, "10K": 10 << 10, "1GiB": 1 << 30, "3 MB": 3 << 20} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1", "1T", "M", "99999999999G"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("ParseSize(%q) accepted", bad)
		}
	}
	if _, err := ParseAge("-1h"); err == nil {
		t.Error("ParseAge accepted a negative age")
	}
}
