package local

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A state database held by another opener fails with who holds it and
// what to do, not bbolt's bare "timeout"; so does the offline read.
func TestHeldStateNamesItsHolder(t *testing.T) {
	home := t.TempDir()
	path := filepath.Join(home, "state.db")
	held, err := bolt.Open(path, 0o600, nil) // this process holds it, as a hung supervisor would
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	old := storeLockWait
	storeLockWait = 200 * time.Millisecond
	defer func() { storeLockWait = old }()
	want := "held by pid " + strconv.Itoa(os.Getpid())
	_, err = openStore(path)
	if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "kill "+strconv.Itoa(os.Getpid())) {
		t.Errorf("opening a held state: %v, want it to say %q and how to stop it", err, want)
	}
	_, err = readPoolsOffline(home)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("reading a held state offline: %v, want it to say %q", err, want)
	}
}
