//go:build unix

package motoserver

import (
	"os"
	"os/exec"
	"syscall"
)

// newGroup gives moto a process group of its own, so that Stop ends moto
// and anything it forked.
func newGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// signalGroup sends sig to the process group that p leads.
func signalGroup(p *os.Process, sig syscall.Signal) error { return syscall.Kill(-p.Pid, sig) }
