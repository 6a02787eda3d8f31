package executor

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/dag"
)

// benchLatency is the sleep of each kind of step in the synthetic plan.
var benchLatency = map[string]time.Duration{
	"bake": 200 * time.Millisecond, "create": 100 * time.Millisecond,
	"swap": 5 * time.Millisecond, "prune": 5 * time.Millisecond,
}

// syntheticPlan builds a 5,000-step plan shaped like a real one: 200 bakes
// in chains of three (40 bases, 80 app images, 80 leaves), 4 environments
// of 400 roles, each role a create (waiting for its leaf image), a swap
// (waiting for its create and, as with `after`, for every swap of the
// previous environment: a fan-in of 400) and a prune. Its nominal critical
// path is 3 bakes + create + 4 swaps + prune = 725 ms.
func syntheticPlan() (*dag.Graph[string], time.Duration) {
	g := dag.New[string]()
	for i := range 40 {
		g.Add(fmt.Sprintf("bake:base-%d", i))
	}
	for i := range 80 {
		g.Add(fmt.Sprintf("bake:app-%d", i), fmt.Sprintf("bake:base-%d", i/2))
		g.Add(fmt.Sprintf("bake:leaf-%d", i), fmt.Sprintf("bake:app-%d", i))
	}
	const envs, roles = 4, 400
	for e := range envs {
		var prevSwaps []string
		if e > 0 {
			for r := range roles {
				prevSwaps = append(prevSwaps, fmt.Sprintf("swap:e%d/r%d", e-1, r))
			}
		}
		for r := range roles {
			create := fmt.Sprintf("create:e%d.r%d", e, r)
			swap := fmt.Sprintf("swap:e%d/r%d", e, r)
			g.Add(create, fmt.Sprintf("bake:leaf-%d", r%80))
			g.Add(swap, append([]string{create}, prevSwaps...)...)
			g.Add(fmt.Sprintf("prune:e%d.r%d", e, r), swap)
		}
	}
	critical := 3*benchLatency["bake"] + benchLatency["create"] + envs*benchLatency["swap"] + benchLatency["prune"]
	return g, critical
}

func kindOf(id string) string { return id[:strings.IndexByte(id, ':')] }

// cpuTime is the process's user+system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWalker reports, for the 5,000-step synthetic plan:
//   - latency: makespan / nominal critical path with per-kind sleeps and
//     parallelism wide enough for the plan (target < 1.05);
//   - cpu: the walker's own CPU per step, with steps that do nothing, at
//     the default parallelism and per-kind limits (target < 20 µs).
func BenchmarkWalker(b *testing.B) {
	g, critical := syntheticPlan()
	if g.Len() != 5000 {
		b.Fatalf("synthetic plan has %d steps", g.Len())
	}
	b.Run("latency", func(b *testing.B) {
		sleep := func(_ context.Context, id string) error { time.Sleep(benchLatency[kindOf(id)]); return nil }
		var makespan, crit time.Duration
		for b.Loop() {
			res, err := Walk(context.Background(), g, sleep, WalkOptions[string]{Parallelism: 5000, Class: kindOf,
				Cost: func(id string) float64 { return float64(benchLatency[kindOf(id)]) }})
			if err != nil || !res.OK() {
				b.Fatalf("walk: %v", err)
			}
			makespan += res.Makespan
			crit += res.CriticalPath
		}
		n := time.Duration(b.N)
		b.ReportMetric(float64(makespan/n)/1e6, "makespan-ms")
		b.ReportMetric(float64(critical)/1e6, "critical-ms")
		b.ReportMetric(float64(makespan)/float64(critical*n), "makespan/critical")
		b.ReportMetric(float64(makespan)/float64(crit), "makespan/actual-critical")
	})
	b.Run("chains", func(b *testing.B) {
		// The shape Terraform takes several seconds for at -parallelism=200:
		// 50 independent chains of four 0.2 s steps (critical path 0.8 s).
		g := dag.New[string]()
		for c := range 50 {
			for i := range 4 {
				id := fmt.Sprintf("c%d-%d", c, i)
				if i == 0 {
					g.Add(id)
				} else {
					g.Add(id, fmt.Sprintf("c%d-%d", c, i-1))
				}
			}
		}
		sleep := func(context.Context, string) error { time.Sleep(200 * time.Millisecond); return nil }
		var makespan time.Duration
		for b.Loop() {
			res, err := Walk(context.Background(), g, sleep, WalkOptions[string]{Parallelism: 200})
			if err != nil || !res.OK() {
				b.Fatalf("walk: %v", err)
			}
			makespan += res.Makespan
		}
		b.ReportMetric(float64(makespan/time.Duration(b.N))/1e6, "makespan-ms")
		b.ReportMetric(float64(makespan)/float64(800*time.Millisecond*time.Duration(b.N)), "makespan/critical")
	})
	b.Run("cpu", func(b *testing.B) {
		noop := func(context.Context, string) error { return nil }
		limits := map[string]int{"bake": 4, "create": 8}
		start := cpuTime()
		for b.Loop() {
			res, err := Walk(context.Background(), g, noop, WalkOptions[string]{Parallelism: 16, Class: kindOf, Limits: limits})
			if err != nil || !res.OK() {
				b.Fatalf("walk: %v", err)
			}
		}
		used := cpuTime() - start
		b.ReportMetric(float64(used)/float64(b.N*g.Len())/1e3, "cpu-µs/step")
		b.ReportMetric(float64(b.Elapsed())/float64(b.N*g.Len())/1e3, "wall-µs/step")
	})
}
