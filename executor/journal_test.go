package executor

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// A journal that makes its home makes it private, and the journal itself:
// it names what runs where, for no other user to read.
func TestJournalIsPrivate(t *testing.T) {
	old := syscall.Umask(0o022) // the usual umask, whatever the test runner's
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "home")
	j, err := OpenJournal(dir, NewApplyID(), "ann@host:1#a1b2c3d4e5f6")
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	for path, want := range map[string]os.FileMode{dir: 0o700, filepath.Join(dir, JournalFile): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Mode().Perm(); got != want {
			t.Errorf("%s has mode %04o, want %04o", path, got, want)
		}
	}
}
