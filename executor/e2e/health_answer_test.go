package e2e

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A pool whose health path answers 404 says so in the CI lines while it
// waits, within one health interval of its server starting, not only when
// the spec's health deadline gives up on it.
func TestHealthAnswerShownWhileWaiting(t *testing.T) {
	e := newEnv(t, "ci")
	e.write(release{Version: "1", Leaf: "1"}, 1, envSpec{Name: "ci", Keep: 1, Warm: 1})
	const interval = time.Second
	e.editSpec(`health: {path: "/healthz", interval: "200ms", timeout: "1s"}`,
		`health: {path: "/missing", interval: "1s", timeout: "1s", deadline: "3s"}`)

	lines := e.applyLines(t)
	t.Logf("%s", joinLines(lines))
	started, answered := lineTime(lines, regexp.MustCompile(`server 0 started`)),
		lineTime(lines, regexp.MustCompile(`server 0 health: GET /missing → 404 Not Found`))
	if started.IsZero() || answered.IsZero() {
		t.Fatalf("no start or no 404 answer in the CI output:\n%s", joinLines(lines))
	}
	if d := answered.Sub(started); d > interval {
		t.Errorf("the 404 came %s after the server started, want within one health interval (%s):\n%s", d, interval, joinLines(lines))
	}
	if lineTime(lines, regexp.MustCompile(`0 of 1 servers healthy after 3s \(health deadline\)`)).IsZero() {
		t.Errorf("the create did not fail at the spec's 3s health deadline:\n%s", joinLines(lines))
	}
}

// editSpec replaces old with new in the test's spec.
func (e *env) editSpec(old, new string) {
	e.t.Helper()
	p := filepath.Join(e.dir, "spec.cue")
	b, err := os.ReadFile(p)
	if err != nil || !strings.Contains(string(b), old) {
		e.t.Fatalf("spec has no %q (%v)", old, err)
	}
	if err := os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// timedLine is a line of output and when the test read it.
type timedLine struct {
	at   time.Time
	text string
}

// applyLines runs phoenix apply (CI lines, no terminal) and returns its
// output lines with the time each arrived; the apply may fail.
func (e *env) applyLines(t *testing.T) []timedLine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := e.command(ctx, "apply", e.dir, "--yes")
	cmd.Stdout, cmd.Stderr = w, w
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var lines []timedLine
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		lines = append(lines, timedLine{time.Now(), sc.Text()})
	}
	_ = cmd.Wait()
	return lines
}

// lineTime is when the first line matching re arrived (zero if none did).
func lineTime(lines []timedLine, re *regexp.Regexp) time.Time {
	for _, l := range lines {
		if re.MatchString(l.text) {
			return l.at
		}
	}
	return time.Time{}
}

func joinLines(lines []timedLine) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	return b.String()
}
