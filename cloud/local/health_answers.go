package local

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"syscall"
	"time"
)

// probeServer runs one health check, records its outcome on the server
// and returns what the server answered, for people: "404 Not Found",
// "200 OK", "connection refused", "no answer in 1s".
func probeServer(ctx context.Context, s *server, path string, timeout time.Duration) (bool, string) {
	if !s.alive() {
		return false, "exited"
	}
	code, _, err := httpGet(ctx, s.addr, path, timeout)
	switch {
	case err != nil:
		s.lastErr.Store(fmt.Sprintf("health check GET %s: %v", path, err))
		s.healthy.Store(false)
		return false, errorAnswer(ctx, err, timeout)
	case code < 200 || code >= 400:
		s.lastErr.Store(fmt.Sprintf("health check GET %s: status %d", path, code))
		s.healthy.Store(false)
	default:
		s.lastErr.Store("")
		s.healthy.Store(true)
	}
	return s.healthy.Load(), fmt.Sprintf("%d %s", code, http.StatusText(code))
}

// errorAnswer says in a few words why a check got no status: the
// transport's own error names the URL and the dialer, which the log line
// already says.
func errorAnswer(ctx context.Context, err error, timeout time.Duration) string {
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
		return "no answer in " + timeout.String()
	}
	return err.Error()
}

// answerLog reports each server's health answers while a new pool waits
// for them: every change of a server's failing answer, and its first pass
// after one, so that a health path answering 404 is seen at once rather
// than at the deadline, without a line per poll. A server that passes at
// once, or refuses connections only while it starts (for one interval),
// adds no line.
type answerLog struct {
	path  string
	quiet time.Time      // connection refused before this is a start
	last  map[int]string // server index -> latest answer reported
	logf  func(string, ...any)
}

func newAnswerLog(path string, interval time.Duration, logf func(string, ...any)) *answerLog {
	return &answerLog{path: path, quiet: time.Now().Add(interval), last: map[int]string{}, logf: logf}
}

func (a *answerLog) saw(index int, ok bool, answer string) {
	prev, reported := a.last[index]
	switch {
	case a.logf == nil || prev == answer:
		return
	case ok && !reported:
		return
	case answer == "connection refused" && time.Now().Before(a.quiet):
		return
	}
	a.last[index] = answer
	a.logf("server %d health: GET %s → %s", index, a.path, answer)
}
