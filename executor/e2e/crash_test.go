package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// killPoint says when to SIGKILL an apply: after its n-th step event
// (a step's start or end in the journal), or after a delay.
type killPoint struct {
	event int
	after time.Duration
}

func (k killPoint) String() string {
	if k.event > 0 {
		return fmt.Sprintf("step event %d", k.event)
	}
	return fmt.Sprintf("%s in", k.after.Round(time.Millisecond))
}

// TestCrashConvergence kills `phoenix apply` with SIGKILL at every step
// boundary of a three-environment release (and at a few random instants);
// after each kill a fresh apply must converge: the next plan is empty, no
// pool is left failed or half-made, retention holds, no server process
// runs for a pool the cloud does not count as warm, and no request to any
// serving endpoint fails along the way.
func TestCrashConvergence(t *testing.T) {
	e := newEnv(t, "ci", "staging", "prod")
	envs := []envSpec{
		{Name: "ci", Keep: 0},
		{Name: "staging", Keep: 1, Warm: 1},
		// Retained pools go cold; traffic moves in canary steps.
		{Name: "prod", After: []string{"staging"}, Keep: 1, Warm: 0, Canary: []int{50}},
	}
	e.applyArgs = []string{"--canary-hold", "150ms"}
	keep := map[string]int{"ci": 0, "staging": 1, "prod": 1}
	rel := 1
	next := func() {
		rel++
		e.write(release{Version: fmt.Sprint(rel), Leaf: fmt.Sprintf("r%d", rel)}, 1, envs...)
	}
	e.write(release{Version: "1", Leaf: "r1"}, 1, envs...)
	e.mustApply()

	l := startLoad([]int{e.ports["ci"], e.ports["staging"], e.ports["prod"]}, 3, 4*time.Minute)
	defer l.Stop()

	// A first full release reaches steady state (every environment now
	// prunes past retention); then calibrate on one more whole release,
	// counting its step events and timing it.
	next()
	e.mustApply()
	next()
	sum, _ := e.planSummary()
	mark := e.journalSize()
	start := time.Now()
	e.mustApply()
	full := time.Since(start)
	events := e.stepEvents(mark)
	if events == 0 {
		t.Fatal("the calibration apply journaled no step events")
	}
	t.Logf("a release is %d step events (plan %v; started %s) in %s", events, sum, e.startedSteps(mark), full.Round(time.Millisecond))

	var points []killPoint
	for k := 1; k <= events; k++ {
		points = append(points, killPoint{event: k})
	}
	for range 5 {
		points = append(points, killPoint{after: time.Duration(rand.Int64N(int64(full)))})
	}
	killed, midCanary := 0, 0
	for _, pt := range points {
		next()
		if e.applyAndKill(pt) {
			killed++
			for _, ep := range e.status().Endpoints {
				if len(ep.Backends) > 1 {
					midCanary++ // killed with traffic split between two pools
				}
			}
		}
		out := e.mustApply()
		if sum, code := e.planSummary(); code != 0 {
			t.Fatalf("kill at %s: the plan after the converging apply is not empty: %v\n%s", pt, sum, out)
		}
		e.checkRetention(keep)
		e.checkProcesses()
		if t.Failed() {
			t.Fatalf("kill at %s: not converged", pt)
		}
	}
	// Ctrl-C: in-flight steps finish, nothing more starts, and it says so.
	next()
	out := e.applyAndInterrupt(3)
	if !strings.Contains(out, "interrupt: starting no more steps") || !strings.Contains(out, "Apply interrupted: ") {
		t.Fatalf("interrupted apply said:\n%s", out)
	}
	if strings.Contains(out, "aborting") {
		t.Fatalf("one interrupt aborted steps in flight:\n%s", out)
	}
	e.mustApply()
	if sum, code := e.planSummary(); code != 0 {
		t.Fatalf("after an interrupted apply and a fresh one the plan is not empty: %v", sum)
	}
	e.checkRetention(keep)
	e.checkProcesses()

	served, failed, first := l.Stop()
	t.Logf("kill points tried: %d (%d step boundaries + %d random instants); %d killed an apply in flight, %d of them mid-canary; requests served %d, failed %d",
		len(points), events, len(points)-events, killed, midCanary, served, failed)
	if failed != 0 {
		t.Fatalf("%d requests failed on serving endpoints (first: %s)", failed, first)
	}
}

func (e *env) journalPath() string { return filepath.Join(e.home, "journal.jsonl") }

func (e *env) journalSize() int64 {
	fi, err := os.Stat(e.journalPath())
	if err != nil {
		return 0
	}
	return fi.Size()
}

// stepEvents counts step starts and ends journaled after offset.
func (e *env) stepEvents(offset int64) int {
	b, err := os.ReadFile(e.journalPath())
	if err != nil || int64(len(b)) < offset {
		return 0
	}
	return countStepEvents(b[offset:])
}

// startedSteps lists the steps started after offset, from the journal.
func (e *env) startedSteps(offset int64) string {
	b, _ := os.ReadFile(e.journalPath())
	var ids []string
	for _, line := range bytes.Split(b[min(offset, int64(len(b))):], []byte("\n")) {
		var en struct{ Event, Step string }
		if json.Unmarshal(line, &en) == nil && en.Event == "step_start" {
			ids = append(ids, en.Step)
		}
	}
	return strings.Join(ids, " ")
}

func countStepEvents(b []byte) int {
	return bytes.Count(b, []byte(`"event":"step_start"`)) + bytes.Count(b, []byte(`"event":"step_end"`))
}

// applyRun is an apply running in the background.
type applyRun struct {
	e      *env
	cmd    *exec.Cmd
	out    bytes.Buffer
	mark   int64 // journal size when it started
	exited chan error
	cancel context.CancelFunc
}

// startApply starts phoenix apply --yes; it is killed after two minutes.
func (e *env) startApply() *applyRun {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	r := &applyRun{e: e, mark: e.journalSize(), exited: make(chan error, 1), cancel: cancel}
	r.cmd = e.command(ctx, append([]string{"apply", e.dir, "--yes"}, e.applyArgs...)...)
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	if err := r.cmd.Start(); err != nil {
		cancel()
		e.t.Fatal(err)
	}
	go func() { r.exited <- r.cmd.Wait() }()
	return r
}

// waitEvents waits until the apply has journaled n step events; false if
// it exited first.
func (r *applyRun) waitEvents(n int) bool {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-r.exited:
			r.exited <- err // keep it for whoever waits next
			return false
		case <-tick.C:
			if r.e.stepEvents(r.mark) >= n {
				return true
			}
		}
	}
}

// applyAndKill starts an apply and SIGKILLs it at pt. It reports whether
// the kill landed before the apply finished by itself.
func (e *env) applyAndKill(pt killPoint) bool {
	e.t.Helper()
	r := e.startApply()
	defer r.cancel()
	if pt.after > 0 {
		select {
		case <-r.exited:
			return false
		case <-time.After(pt.after):
		}
	} else if !r.waitEvents(pt.event) {
		return false
	}
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return false // already gone
	}
	<-r.exited
	return true
}

// applyAndInterrupt starts an apply, sends it one SIGINT after its n-th
// step event, and returns its output once it has exited (with status 1).
func (e *env) applyAndInterrupt(n int) string {
	e.t.Helper()
	r := e.startApply()
	defer r.cancel()
	if !r.waitEvents(n) {
		e.t.Fatalf("the apply ended before %d step events:\n%s", n, r.out.String())
	}
	if err := r.cmd.Process.Signal(os.Interrupt); err != nil {
		e.t.Fatal(err)
	}
	err := <-r.exited
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		e.t.Fatalf("interrupted apply exited with %v, want status 1\n%s", err, r.out.String())
	}
	return r.out.String()
}

// checkProcesses asserts that every server process of this test's project
// belongs to a pool the cloud reports warm (ready), and that every ready
// pool runs exactly its servers: nothing leaked by a killed apply. Servers
// of a pool being cooled may take a moment to stop, so it retries briefly.
func (e *env) checkProcesses() {
	e.t.Helper()
	var last string
	for try := 0; try < 50; try++ {
		procs := serverProcesses(e.project)
		s := e.status()
		ready := map[string]int{}
		for _, p := range s.Pools {
			if p.State == "ready" {
				ready[p.ID] = p.Count
			}
		}
		var bad []string
		for pool, n := range procs {
			if want, ok := ready[pool]; !ok || n != want {
				bad = append(bad, fmt.Sprintf("%s runs %d server(s), the cloud expects %d", pool, n, want))
			}
		}
		for pool, want := range ready {
			if procs[pool] != want {
				bad = append(bad, fmt.Sprintf("ready pool %s runs %d of %d servers", pool, procs[pool], want))
			}
		}
		if len(bad) == 0 {
			return
		}
		last = strings.Join(bad, "; ")
		time.Sleep(100 * time.Millisecond)
	}
	e.t.Errorf("server processes do not match the live state: %s", last)
}

// serverProcesses counts running servers per PHOENIX_POOL for project,
// from /proc. A server started through a shell shows as the shell and its
// child; only the outermost process of the project counts.
func serverProcesses(project string) map[string]int {
	type proc struct {
		pool string
		ppid int
	}
	procs := map[int]proc{}
	files, _ := filepath.Glob("/proc/[0-9]*/environ")
	want := []byte("PHOENIX_PROJECT=" + project + "\x00")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil || !bytes.Contains(append(b, 0), want) {
			continue
		}
		st, err := os.ReadFile(filepath.Join(filepath.Dir(f), "stat"))
		if err != nil {
			continue
		}
		// stat: "pid (comm) S ppid ..."; comm may hold spaces.
		i := bytes.LastIndexByte(st, ')')
		fields := strings.Fields(string(st[i+1:]))
		if len(fields) < 2 || fields[0] == "Z" {
			continue // a zombie is dead
		}
		var pid, ppid int
		fmt.Sscan(filepath.Base(filepath.Dir(f)), &pid)
		fmt.Sscan(fields[1], &ppid)
		for _, kv := range bytes.Split(b, []byte{0}) {
			if v, ok := bytes.CutPrefix(kv, []byte("PHOENIX_POOL=")); ok {
				procs[pid] = proc{pool: string(v), ppid: ppid}
			}
		}
	}
	out := map[string]int{}
	for _, p := range procs {
		if _, child := procs[p.ppid]; !child {
			out[p.pool]++
		}
	}
	return out
}
