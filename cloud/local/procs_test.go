package local

import (
	"os"
	"os/exec"
	"testing"
)

// The start time tells an adopted server from a later process that reused
// its pid, on every system the local cloud runs on (/proc on Linux,
// sysctl on macOS): it must be readable, stable, and 0 once the process
// has gone.
func TestProcessStartTime(t *testing.T) {
	self := processStartTime(os.Getpid())
	if self == 0 || processStartTime(os.Getpid()) != self {
		t.Fatalf("start time of this process: %d, then %d; want the same non-zero value", self, processStartTime(os.Getpid()))
	}
	if !processMatches(os.Getpid(), self) || processMatches(os.Getpid(), self+1) {
		t.Fatalf("processMatches(self, %d) should hold and (self, %d) should not", self, self+1)
	}
	cmd := exec.Command("/bin/sh", "-c", "exit 0")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if st := processStartTime(cmd.Process.Pid); st != 0 {
		t.Fatalf("start time of exited pid %d: %d, want 0", cmd.Process.Pid, st)
	}
}
