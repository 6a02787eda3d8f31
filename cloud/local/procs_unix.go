//go:build unix

package local

import (
	"errors"
	"os"
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// The local cloud's processes on Unix (Linux, macOS): each server and bake
// step leads a process group of its own, so that one signal stops what
// its `sh -c` started; the supervisor leads a session of its own, so that
// it outlives the terminal that started it.

// checkPlatform reports whether the local cloud runs on this system.
func checkPlatform() error { return nil }

// newGroup makes cmd the leader of a new process group.
func newGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// newSession makes cmd the leader of a new session (and process group).
func newSession(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} }

// signalGroup sends sig to the process group that pid leads.
func signalGroup(pid int, sig syscall.Signal) error { return syscall.Kill(-pid, sig) }

// pidAlive reports whether a process (or zombie) has this pid: tests and
// `cloud down` check with it that a pid is gone.
func pidAlive(pid int) bool { return pid > 0 && syscall.Kill(pid, 0) == nil }

// errLocked is lockFile's answer when another process holds the lock.
var errLocked = errors.New("locked by another process")

// lockFile takes f's exclusive lock without waiting (flock: the kernel
// releases it when the process dies, however it dies).
func lockFile(f *os.File) error {
	err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
	if errors.Is(err, unix.EWOULDBLOCK) {
		return errLocked
	}
	return err
}
