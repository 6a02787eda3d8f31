package main

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// With no home directory the default home is the user's own, never one
// name shared by every user of the machine.
func TestLocalHomeWithoutHomeIsPerUser(t *testing.T) {
	t.Setenv("PHOENIX_HOME", "")
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "")
	want := filepath.Join(os.TempDir(), "phoenix-"+strconv.Itoa(os.Getuid()))
	if got := localHome(); got != want {
		t.Errorf("localHome() = %s, want %s", got, want)
	}
}
