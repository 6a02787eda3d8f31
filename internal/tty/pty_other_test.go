//go:build !linux

package tty

import (
	"os"
	"testing"
)

// openPTY is only written for Linux (/dev/ptmx and its ioctls); elsewhere
// the terminal cases are skipped.
func openPTY(t *testing.T) *os.File {
	t.Helper()
	t.Skip("pseudo-terminal tests run on Linux only")
	return nil
}
