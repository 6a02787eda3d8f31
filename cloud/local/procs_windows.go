package local

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
)

// The local cloud needs Unix processes (process groups and sessions,
// signals, flock) and `/bin/sh` for its steps and servers. Windows has
// none of them: Phoenix builds there for the aws cloud, and the local
// cloud says plainly that it does not run.

// errNoLocalCloud is every local-cloud operation's error on Windows.
var errNoLocalCloud = errors.New("the local cloud is not supported on Windows: run Phoenix in WSL 2 (Linux) or on macOS, or use an aws environment")

// checkPlatform reports whether the local cloud runs on this system.
func checkPlatform() error { return errNoLocalCloud }

func newGroup(cmd *exec.Cmd)   {}
func newSession(cmd *exec.Cmd) {}

func signalGroup(pid int, sig syscall.Signal) error { return errNoLocalCloud }

func pidAlive(pid int) bool { return false }

var errLocked = errors.New("locked by another process")

func lockFile(f *os.File) error { return errNoLocalCloud }
