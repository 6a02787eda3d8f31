package local

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A state database held by another process makes bbolt say only
// "timeout". heldStateError says who holds it and what to do instead.

// heldStateError describes the holder of the state database at path of
// home: the process that holds its file lock (from /proc/locks), else the
// supervisor named in supervisor.lock, with what to do.
func heldStateError(home, path string) error {
	pid := flockHolder(path)
	if pid == 0 {
		pid = lockFilePID(home)
	}
	if pid <= 0 || !pidAlive(pid) {
		return fmt.Errorf("the state %s is held by another process (no holder found: it may have just exited); run this again", path)
	}
	what := processName(pid)
	if pid == os.Getpid() {
		what = "this process"
	}
	return fmt.Errorf("the state %s is held by pid %d (%s): if it is a phoenix supervisor that no longer answers, stop it with kill %d (then kill -9 %d if it stays), and run this again", path, pid, what, pid, pid)
}

// flockHolder returns the pid that holds a lock on the file at path, from
// /proc/locks (0 when none is found or the kernel does not say).
func flockHolder(path string) int {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	ino, ok := fileInode(fi)
	if !ok {
		return 0
	}
	f, err := os.Open("/proc/locks")
	if err != nil {
		return 0
	}
	defer f.Close()
	suffix := ":" + strconv.FormatUint(ino, 10)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF"; waiters are
		// marked "->" and hold nothing.
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[1] == "->" || !strings.HasSuffix(fields[5], suffix) {
			continue
		}
		if pid, err := strconv.Atoi(fields[4]); err == nil && pid > 0 {
			return pid
		}
	}
	return 0
}

// lockFilePID is the pid the last supervisor wrote into supervisor.lock.
func lockFilePID(home string) int {
	b, err := os.ReadFile(filepath.Join(home, "supervisor.lock"))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// processName is the program name of pid, for people.
func processName(pid int) string {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "cmdline"))
	if err != nil || len(b) == 0 {
		return "unknown program"
	}
	args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
	name := filepath.Base(args[0])
	if len(args) > 1 {
		name += " " + args[1]
	}
	return name
}
