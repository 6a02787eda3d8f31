package compiler

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"
)

// The bomb tests compile a spec whose value doubles forty times (a
// terabyte) and expect a diagnostic, in time and in bounded memory. CUE
// cannot be stopped, so the abandoned evaluation would go on growing in
// the test binary: each bomb is compiled in a child process (this test
// binary again) that exits after printing the outcome, as the CLI does,
// while the parent watches the child's memory and kills it past
// bombKillRSS, so that a broken bound fails the test instead of taking
// the machine down.

const (
	bombChildEnv = "PHOENIX_TEST_BOMB"
	bombKillRSS  = 1536 << 20
)

// bombLines is `s0: "ab"` and forty lines that each double the last.
func bombLines(indent string) string {
	var b strings.Builder
	b.WriteString(indent + "s0: \"ab\"\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "%ss%d: s%d + s%d\n", indent, i, i-1, i-1)
	}
	return b.String()
}

// bombSpecs are the bomb where the whole-package evaluation meets it
// (unknown top-level fields: the fast path gives up at once) and where
// the fast path does (inside one of several independent files).
var bombSpecs = map[string]fstest.MapFS{
	"whole": {"spec.cue": {Data: []byte("package phoenix\nproject: \"p\"\n" + bombLines(""))}},
	"fast": {
		"a.cue": {Data: []byte("package phoenix\nproject: \"p\"\nimages: i: from: \"scratch\"\nroles: web: image: \"i\"\n")},
		"b.cue": {Data: []byte("package phoenix\nenvironments: one: roles: web: endpoint: \"127.0.0.1:18001\"\n")},
		"c.cue": {Data: []byte("package phoenix\nenvironments: two: {roles: web: endpoint: \"127.0.0.1:18002\", config: {\n" +
			bombLines("\t") + "}}\n")},
	},
}

// bombLimits are the limits each child compiles with: one where memory
// runs out first, one where time does (the heap is far from 1GiB after
// 100ms: it takes seconds).
var bombLimits = map[string]Limits{
	"memory":   {Memory: 128 << 20, Timeout: 20 * time.Second},
	"deadline": {Memory: 1 << 30, Timeout: 100 * time.Millisecond},
	"linger":   {Memory: 128 << 20, Timeout: 20 * time.Second},
}

// TestBombChild is the child's side: it compiles one bomb, prints the
// error and how long Load took, and exits at once.
func TestBombChild(t *testing.T) {
	which := os.Getenv(bombChildEnv)
	if which == "" {
		t.Skip("run by TestBombIsBounded")
	}
	spec, limits, _ := strings.Cut(which, "/")
	start := time.Now()
	_, err := Load(context.Background(), bombSpecs[spec], Options{Name: "spec", Limits: bombLimits[limits]})
	fmt.Printf("elapsed=%d\n%v\n", time.Since(start).Milliseconds(), err)
	if limits == "linger" {
		// Go on as `phoenix history` does after a commit that does not
		// compile: the abandoned evaluation must not outgrow the process.
		time.Sleep(time.Minute)
		fmt.Println("still running after a minute")
	}
	// Not os.Exit: with the race detector it finalizes first, for long
	// enough that the abandoned evaluation doubles again.
	syscall.Exit(0)
}

func TestBombIsBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process per bomb")
	}
	for _, spec := range []string{"whole", "fast"} {
		for limits, want := range map[string]string{
			"memory":   "used more memory than the limit of 128MiB",
			"deadline": "took longer than the limit of 100ms",
		} {
			t.Run(spec+"/"+limits, func(t *testing.T) {
				out, elapsed, peak := runBombChild(t, spec+"/"+limits)
				t.Logf("%s: diagnostic after %v, child's peak RSS %dMiB:\n%s", spec+"/"+limits, elapsed, peak>>20, out)
				if !strings.Contains(out, want) {
					t.Fatalf("want a diagnostic %q, got:\n%s", want, out)
				}
				env := map[string]string{"memory": EnvMemory, "deadline": EnvTimeout}[limits]
				if !strings.Contains(out, "raise the limit, e.g. "+env+"=") {
					t.Errorf("the diagnostic does not say how to raise the limit (%s):\n%s", env, out)
				}
				// The watcher samples every few ms; a loaded CI box may
				// delay it, but not by seconds.
				if max := bombLimits[limits].Timeout + 5*time.Second; elapsed > max {
					t.Errorf("diagnostic after %v, want under %v", elapsed, max)
				}
			})
		}
	}
}

// TestAbandonedEvaluationDoesNotOutgrowTheProcess: a caller that goes on
// after the diagnostic (history walks on past a commit that does not
// compile) is stopped, with a message, once the abandoned evaluation
// passes twice the limit, long before the machine runs out.
func TestAbandonedEvaluationDoesNotOutgrowTheProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a child process")
	}
	out, _, peak, exit := runBombChildExit(t, "whole/linger")
	t.Logf("exit %d, child's peak RSS %dMiB:\n%s", exit, peak>>20, out)
	if !strings.Contains(out, "used more memory than the limit of 128MiB") {
		t.Fatalf("no diagnostic first:\n%s", out)
	}
	if exit != 1 || !strings.Contains(out, "goes on growing") || strings.Contains(out, "still running") {
		t.Fatalf("want the process to exit 1 saying the evaluation goes on growing, got exit %d:\n%s", exit, out)
	}
}

// runBombChild runs TestBombChild for one bomb and returns what it
// printed after the elapsed line, Load's time, and the child's peak RSS.
func runBombChild(t *testing.T, which string) (string, time.Duration, int64) {
	t.Helper()
	out, elapsed, peak, exit := runBombChildExit(t, which)
	if exit != 0 {
		t.Fatalf("child exited %d\n%s", exit, out)
	}
	return out, elapsed, peak
}

// runBombChildExit is runBombChild that also returns the child's exit
// code.
func runBombChildExit(t *testing.T, which string) (string, time.Duration, int64, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestBombChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), bombChildEnv+"="+which)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	killed := make(chan int64, 1)
	go watchRSS(cmd.Process.Pid, stop, killed, cmd.Process.Kill)
	err := cmd.Wait()
	close(stop)
	if rss := <-killed; rss > 0 {
		t.Fatalf("the child grew to %dMiB and was killed: evaluation is not bounded\n%s", rss>>20, out.String())
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		t.Fatalf("child: %v\n%s", err, out.String())
	}
	peak := cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss << 10
	first, rest, _ := strings.Cut(out.String(), "\n")
	ms, err := strconv.Atoi(strings.TrimPrefix(first, "elapsed="))
	if err != nil {
		t.Fatalf("child printed %q", out.String())
	}
	return rest, time.Duration(ms) * time.Millisecond, peak, cmd.ProcessState.ExitCode()
}

// watchRSS kills the process pid when its resident memory passes
// bombKillRSS, and sends the RSS it killed at (0 if it did not).
func watchRSS(pid int, stop <-chan struct{}, killed chan<- int64, kill func() error) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			killed <- 0
			return
		case <-tick.C:
			if rss := rssOf(pid); rss > bombKillRSS {
				_ = kill()
				<-stop
				killed <- rss
				return
			}
		}
	}
}

// rssOf reads a process's resident memory from /proc (0 if unknown).
func rssOf(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func TestLimitsFromEnvironment(t *testing.T) {
	t.Setenv(EnvTimeout, "90s")
	t.Setenv(EnvMemory, "512MiB")
	l, err := Limits{}.resolve()
	if err != nil || l.Timeout != 90*time.Second || l.Memory != 512<<20 {
		t.Fatalf("resolve = %+v, %v; want 90s and 512MiB", l, err)
	}
	l, err = Limits{Timeout: time.Second, Memory: 1 << 20}.resolve()
	if err != nil || l.Timeout != time.Second || l.Memory != 1<<20 {
		t.Errorf("explicit limits were overridden: %+v, %v", l, err)
	}
	t.Setenv(EnvMemory, "lots")
	if _, err := Load(context.Background(), fstest.MapFS{}, Options{}); err == nil || !strings.Contains(err.Error(), EnvMemory) {
		t.Errorf("a malformed %s: want an error naming it, got %v", EnvMemory, err)
	}
}

func TestParseBytes(t *testing.T) {
	for s, want := range map[string]uint64{"512MiB": 512 << 20, "2GiB": 2 << 30, "1500000000": 1500000000, "3 GB": 3e9} {
		if got, err := ParseBytes(s); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "0", "-1GiB", "1.5GiB", "lots", "99999999999GiB"} {
		if _, err := ParseBytes(s); err == nil {
			t.Errorf("ParseBytes(%q): want an error", s)
		}
	}
}
