package motoserver

import (
	"os"
	"os/exec"
	"syscall"
)

// newGroup does nothing: Windows has no process groups to signal.
func newGroup(cmd *exec.Cmd) {}

// signalGroup ends p itself: Windows delivers no SIGTERM, only a kill.
func signalGroup(p *os.Process, sig syscall.Signal) error { return p.Kill() }
