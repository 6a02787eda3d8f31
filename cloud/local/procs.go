package local

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// A server is one process of a pool. The supervisor starts it with its own
// process group (so that stopping it stops what its `sh -c` started) and
// its stdout and stderr on a log file it writes itself, so that it keeps
// running, and logging, when the supervisor dies. A supervisor restart
// adopts it again by pid and kernel start time.
type server struct {
	rec  serverRec
	addr string // 127.0.0.1:PORT

	done     chan struct{} // closed when the process has exited
	doneOnce sync.Once
	exitMu   sync.Mutex
	exitErr  error

	owned   bool         // a child of this supervisor (else adopted)
	healthy atomic.Bool  // passed its last health check
	lastErr atomic.Value // string: why the last check failed
}

func newServer(rec serverRec, owned bool) *server {
	return &server{rec: rec, addr: "127.0.0.1:" + strconv.Itoa(rec.Port), done: make(chan struct{}), owned: owned}
}

func (s *server) markExited(err error) {
	s.doneOnce.Do(func() {
		s.exitMu.Lock()
		s.exitErr = err
		s.exitMu.Unlock()
		s.healthy.Store(false)
		close(s.done)
	})
}

// alive reports whether the process is still running. An adopted process
// is not our child, so it is probed with its pid and start time.
func (s *server) alive() bool {
	select {
	case <-s.done:
		return false
	default:
	}
	if !s.owned && !processMatches(s.rec.PID, s.rec.StartTime) {
		s.markExited(errors.New("process is gone"))
		return false
	}
	return true
}

// exitReason says how the process ended.
func (s *server) exitReason() string {
	s.exitMu.Lock()
	defer s.exitMu.Unlock()
	if s.exitErr == nil {
		return "exited"
	}
	return s.exitErr.Error()
}

func (s *server) reason() string {
	if !s.alive() {
		return fmt.Sprintf("server %d (pid %d) %s", s.rec.Index, s.rec.PID, s.exitReason())
	}
	if v, _ := s.lastErr.Load().(string); v != "" {
		return fmt.Sprintf("server %d: %s", s.rec.Index, v)
	}
	return ""
}

// stop ends the process group: SIGTERM, then SIGKILL after grace. A
// record with no pid is never signalled: kill(-0) is the caller's own
// process group, the supervisor's.
func (s *server) stop(grace time.Duration) {
	if !s.alive() || s.rec.PID <= 0 {
		return
	}
	_ = signalGroup(s.rec.PID, syscall.SIGTERM)
	if s.waitExit(grace) {
		return
	}
	_ = signalGroup(s.rec.PID, syscall.SIGKILL)
	s.waitExit(5 * time.Second)
}

// waitExit waits up to d for the process to exit and reports whether it
// did.
func (s *server) waitExit(d time.Duration) bool {
	deadline := time.Now().Add(d)
	for {
		if s.owned {
			select {
			case <-s.done:
				return true
			case <-time.After(time.Until(deadline)):
				return false
			}
		}
		if !s.alive() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// processMatches reports whether pid is running and is the process that
// was started at start (not a later process that reused the pid).
func processMatches(pid int, start uint64) bool {
	if pid <= 0 {
		return false
	}
	st := processStartTime(pid)
	return st != 0 && (start == 0 || st == start)
}

// freePort returns a loopback port that is free now.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
