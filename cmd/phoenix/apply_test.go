package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestEndpointURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:17085": "http://127.0.0.1:17085/",
		"arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/shop/50dc6c495c0c9188/f2f7dc8efc522ab2",
		"https://shop.example.com": "https://shop.example.com",
	} {
		if got := endpointURL(addr); got != want {
			t.Errorf("endpointURL(%q) = %q, want %q", addr, got, want)
		}
	}
}

// exitCode is the code main would exit with for err.
func exitCode(err error) int { return report(io.Discard, err) }

func TestAskAppliesOnlyOnYes(t *testing.T) {
	for answer, ok := range map[string]bool{"yes\n": true, "  yes  \n": true, "no\n": false, "y\n": false, "YES\n": false, "": false} {
		var out bytes.Buffer
		err := ask(context.Background(), strings.NewReader(answer), &out)
		if !strings.Contains(out.String(), "Apply this plan? Only 'yes' is accepted: ") {
			t.Errorf("answer %q: no question asked: %q", answer, out.String())
		}
		if ok {
			if err != nil {
				t.Errorf("answer %q: %v, want to apply", answer, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "nothing was changed") || exitCode(err) != exitError {
			t.Errorf("answer %q: %v (exit %d), want cancelled, nothing changed, exit 1", answer, err, exitCode(err))
		}
	}
}

// TestAskReturnsOnInterrupt: Ctrl-C at the prompt (main's context ending)
// answers it at once, although no line was typed.
func TestAskReturnsOnInterrupt(t *testing.T) {
	stdin, typist := io.Pipe() // nothing is ever typed
	defer typist.Close()
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	errc := make(chan error, 1)
	go func() { errc <- ask(ctx, stdin, &out) }()
	time.Sleep(20 * time.Millisecond)
	select {
	case err := <-errc:
		t.Fatalf("ask returned %v before any answer or interrupt", err)
	default:
	}
	cancel()
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "apply cancelled") || !strings.Contains(err.Error(), "nothing was changed") {
			t.Fatalf("err %v, want the apply cancelled with nothing changed", err)
		}
		if c := exitCode(err); c != exitError {
			t.Fatalf("exit %d, want 1", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ask still waits for a line after the interrupt")
	}
}

// notes records the notes of an interruptWatch and its calls.
type notes struct {
	mu             sync.Mutex
	lines          []string
	stopped, abort int
}

func (n *notes) note(s string) { n.mu.Lock(); n.lines = append(n.lines, s); n.mu.Unlock() }
func (n *notes) snapshot() ([]string, int, int) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.lines...), n.stopped, n.abort
}

// watch starts an interruptWatch on ctx and returns its signal channel,
// what it did, and a function that waits for it to return.
func watch(ctx context.Context, lost chan struct{}) (chan os.Signal, *notes, func() bool) {
	sigs := make(chan os.Signal, 2)
	n := &notes{}
	w := &interruptWatch{sigs: sigs, lost: lost, lostErr: func() error { return errors.New("renewing the lock of prod: locked by bob") },
		note:     n.note,
		stopWalk: func() { n.mu.Lock(); n.stopped++; n.mu.Unlock() },
		abort:    func() { n.mu.Lock(); n.abort++; n.mu.Unlock() }}
	finished, returned := make(chan struct{}), make(chan struct{})
	go func() { w.run(ctx, finished); close(returned) }()
	wait := func() bool {
		select {
		case <-returned:
			return true
		case <-time.After(5 * time.Second):
			close(finished)
			return false
		}
	}
	return sigs, n, wait
}

// eventually waits until cond holds on the watch's record.
func eventually(t *testing.T, n *notes, cond func(lines []string, stopped, abort int) bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if cond(n.snapshot()) {
			return
		}
	}
	lines, s, a := n.snapshot()
	t.Fatalf("notes %q, stopped %d, aborted %d", lines, s, a)
}

func TestASecondSigtermAborts(t *testing.T) {
	// As in main, the context ends with the first signal too.
	ctx, cancel := context.WithCancel(context.Background())
	sigs, n, wait := watch(ctx, nil)
	sigs <- syscall.SIGTERM
	cancel()
	eventually(t, n, func(lines []string, stopped, abort int) bool { return stopped == 1 && len(lines) == 1 })
	sigs <- syscall.SIGTERM
	if !wait() {
		t.Fatal("the watch did not return after a second SIGTERM")
	}
	lines, stopped, abort := n.snapshot()
	if stopped != 1 || abort != 1 || len(lines) != 2 {
		t.Fatalf("stopped %d, aborted %d, notes %q: want one stop, one abort, two notes", stopped, abort, lines)
	}
	for _, l := range lines {
		if strings.Contains(l, "Ctrl-C") || !strings.Contains(l, "SIGTERM") {
			t.Errorf("note %q after SIGTERM: want it to name SIGTERM, not Ctrl-C", l)
		}
	}
}

func TestASecondInterruptAbortsAndTheFirstNamesCtrlC(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	sigs, n, wait := watch(ctx, nil)
	cancel() // the context may end before the signal is read
	sigs <- os.Interrupt
	eventually(t, n, func(lines []string, stopped, _ int) bool { return stopped == 1 && len(lines) == 1 })
	sigs <- os.Interrupt
	if !wait() {
		t.Fatal("the watch did not return after a second interrupt")
	}
	lines, _, abort := n.snapshot()
	if abort != 1 || !strings.HasPrefix(lines[0], "interrupt: starting no more steps") || !strings.Contains(lines[0], "Ctrl-C again") ||
		!strings.HasPrefix(lines[1], "second interrupt: aborting") {
		t.Fatalf("aborted %d, notes %q", abort, lines)
	}
}

func TestALostLockStopsStartingSteps(t *testing.T) {
	lost := make(chan struct{})
	sigs, n, wait := watch(context.Background(), lost)
	close(lost)
	eventually(t, n, func(lines []string, stopped, _ int) bool { return stopped == 1 && len(lines) == 1 })
	lines, _, abort := n.snapshot()
	if abort != 0 || !strings.Contains(lines[0], "lost the lock: renewing the lock of prod") {
		t.Fatalf("aborted %d, notes %q", abort, lines)
	}
	sigs <- os.Interrupt // stopping already: the first signal only counts
	sigs <- os.Interrupt
	if !wait() {
		t.Fatal("the watch did not return after two interrupts")
	}
}
