package local

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// The answer log reports a failing answer and each change of it, a pass
// only after a reported failure, and keeps quiet about a server that
// refuses connections while it starts.
func TestAnswerLogReportsChangesOnly(t *testing.T) {
	var got []string
	logf := func(f string, args ...any) { got = append(got, fmt.Sprintf(f, args...)) }
	a := newAnswerLog("/healthz", time.Hour, logf)
	a.saw(0, false, "connection refused") // starting: quiet
	a.saw(0, false, "404 Not Found")
	a.saw(0, false, "404 Not Found") // no change
	a.saw(0, true, "200 OK")         // recovered after a reported failure
	a.saw(1, true, "200 OK")         // passed at once: quiet
	want := []string{"server 0 health: GET /healthz → 404 Not Found", "server 0 health: GET /healthz → 200 OK"}
	if !slices.Equal(got, want) {
		t.Errorf("reported %q, want %q", got, want)
	}

	got = nil
	a = newAnswerLog("/healthz", 0, logf)
	a.saw(2, false, "connection refused") // past the first interval: reported
	if len(got) != 1 {
		t.Errorf("a server refusing connections past its first interval was not reported: %q", got)
	}
}
