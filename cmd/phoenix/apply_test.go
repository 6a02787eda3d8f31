package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/planner"
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
	w := &interruptWatch{sigs: sigs, lost: lost, lostErr: func() error { return errors.New("lock of prod lost: renewing it: locked by bob") },
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
		!strings.Contains(lines[0], "except a canary, whose traffic goes back") || !strings.HasPrefix(lines[1], "second interrupt: aborting") {
		t.Fatalf("aborted %d, notes %q", abort, lines)
	}
}

func TestALostLockStopsStartingSteps(t *testing.T) {
	lost := make(chan struct{})
	sigs, n, wait := watch(context.Background(), lost)
	close(lost)
	eventually(t, n, func(lines []string, stopped, _ int) bool { return stopped == 1 && len(lines) == 1 })
	lines, _, abort := n.snapshot()
	if abort != 0 || !strings.HasPrefix(lines[0], "lock of prod lost: renewing it: locked by bob; starting no more steps") {
		t.Fatalf("aborted %d, notes %q", abort, lines)
	}
	sigs <- os.Interrupt // stopping already: the first signal only counts
	sigs <- os.Interrupt
	if !wait() {
		t.Fatal("the watch did not return after two interrupts")
	}
}

// shopSpec is a two-environment spec (prod after staging) whose prod
// config carries version.
func shopSpec(version string) string {
	return `package phoenix

project: "shop"
images: {
	base: {from: "scratch"}
	web: {parent: "base", steps: ["mkdir -p bin"]}
}
roles: web: {image: "web", command: "bin/web", count: 1}
environments: {
	staging: roles: web: endpoint: "127.0.0.1:18091"
	prod: {
		roles: web: endpoint: "127.0.0.1:18093"
		config: VERSION: "` + version + `"
		after: ["staging"]
	}
}
`
}

// memoryCLI runs phoenix commands in this process on the in-memory test
// cloud (PHOENIX_CLOUD_OVERRIDE=memory) with a fresh PHOENIX_HOME, and
// returns that home.
func memoryCLI(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv(cloudOverrideEnv, "memory")
	t.Setenv("PHOENIX_HOME", home)
	t.Setenv("NO_COLOR", "1")
	t.Setenv("CI", "true")
	return home
}

// phoenix runs one command line and fails the test unless it exits 0.
func phoenix(t *testing.T, stdout io.Writer, args ...string) {
	t.Helper()
	var stderr bytes.Buffer
	if stdout == nil {
		stdout = io.Discard
	}
	if code := run(args, stdout, &stderr); code != 0 {
		t.Fatalf("phoenix %s: exit %d\n%s", strings.Join(args, " "), code, stderr.String())
	}
}

// lockSpy is apply's stdout: at every "started" line it reads the memory
// cloud's saved state and records which environments are locked then.
type lockSpy struct {
	t     *testing.T
	state string // $PHOENIX_HOME/memory-local.json
	mu    sync.Mutex
	seen  []string // "prod", "prod,staging", … one per step start
}

func (s *lockSpy) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(" started")) {
		envs := lockedEnvs(s.t, s.state)
		s.mu.Lock()
		s.seen = append(s.seen, envs)
		s.mu.Unlock()
	}
	return len(p), nil
}

// applyWatchingLocks runs `phoenix apply DIR --yes` and fails unless it
// started steps, each while exactly want ("prod,staging") was locked.
func applyWatchingLocks(t *testing.T, state, dir, want string) {
	t.Helper()
	spy := &lockSpy{t: t, state: state}
	phoenix(t, spy, "apply", dir, "--yes")
	if len(spy.seen) == 0 {
		t.Fatal("no step started")
	}
	for _, envs := range spy.seen {
		if envs != want {
			t.Fatalf("while a step started the locked environments were %q, want %q", envs, want)
		}
	}
}

// lockedEnvs reads the memory cloud's saved state and returns the
// environments of project shop that are locked, sorted and joined by ",".
func lockedEnvs(t *testing.T, state string) string {
	b, err := os.ReadFile(state)
	if err != nil {
		t.Errorf("reading the memory cloud's state: %v", err)
		return "?"
	}
	var live map[string]*cloud.Live
	if err := json.Unmarshal(b, &live); err != nil {
		t.Errorf("decoding the memory cloud's state: %v", err)
		return "?"
	}
	var envs []string
	if l := live["shop"]; l != nil {
		for _, lk := range l.Locks {
			envs = append(envs, lk.Env)
		}
	}
	sort.Strings(envs)
	return strings.Join(envs, ",")
}

// TestApplyFreesTheLockOfAnEnvironmentWithNoStep: a change to prod alone
// keeps staging unlocked while prod's steps run, although staging is in
// scope and prod's swaps come `after` staging's.
func TestApplyFreesTheLockOfAnEnvironmentWithNoStep(t *testing.T) {
	home := memoryCLI(t)
	dir := filepath.Join(t.TempDir(), "shop")
	write := func(version string) {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "spec.cue"), []byte(shopSpec(version)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// The first deploy has steps in both environments: both stay locked,
	// which also shows that the spy sees locks when they are held.
	write("1")
	state := filepath.Join(home, "memory-local.json")
	applyWatchingLocks(t, state, dir, "prod,staging")
	// A prod-only change: staging is in scope but has no step.
	write("2")
	applyWatchingLocks(t, state, dir, "prod")
	if envs := lockedEnvs(t, state); envs != "" {
		t.Fatalf("locks of %s left after the apply", envs)
	}
}

func TestStepEnvsKeepsEveryLockForAnImagePrune(t *testing.T) {
	p := &planner.Plan{Steps: []planner.Step{
		{ID: "bake:local:web:41aa9b3c", Kind: planner.Bake},
		{ID: "create:prod.web.5c4d0a1b.2", Kind: planner.Create, Env: "prod"},
		{ID: "swap:prod/web", Kind: planner.Swap, Env: "prod"},
	}}
	keep := stepEnvs(p)
	if !keep("prod") || keep("staging") {
		t.Fatalf("bake + prod steps: keep prod %v, staging %v; want prod only", keep("prod"), keep("staging"))
	}
	p.Steps = append(p.Steps, planner.Step{ID: "prune-image:local:0a11ff00", Kind: planner.Prune})
	if keep := stepEnvs(p); !keep("staging") {
		t.Fatal("with an image prune, whose reasons span every environment, staging's lock is released")
	}
}
