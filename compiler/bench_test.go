package compiler

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"cuelang.org/go/cue/build"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/parser"
)

// benchSize is the benchmark's spec size: 1000 environments x 20 roles
// (20,000 pools) as the issue asks; PHOENIX_BENCH_ENVS makes it smaller
// or larger.
func benchSize() (envs, roles int) {
	envs, roles = 1000, 20
	if n, err := strconv.Atoi(os.Getenv("PHOENIX_BENCH_ENVS")); err == nil && n > 0 {
		envs = n
	}
	return envs, roles
}

// BenchmarkCompileLarge compiles a generated spec of 1000 environments x
// 20 roles (images 3 deep, one file per environment) and, in the same
// run, evaluates and exports the same files with plain CUE (what `cue
// export` does, and it checks nothing). It reports, for both, the wall
// time, the CPU time (user+system: fairer on a busy machine) and the
// peak memory (resident set), and the ratios. ns/op is the compile with
// a cold cache; warm-compile-s is a second compile of the same files
// (what `phoenix diff` gains on the files two revisions share);
// whole-package-s is the path without the fast path (all files as one
// package unified with the schema), which invalid specs take for their
// diagnostics.
func BenchmarkCompileLarge(b *testing.B) {
	envs, roles := benchSize()
	dir := b.TempDir()
	largeSpec(b, dir, envs, roles)
	ctx := context.Background()
	compile := func() {
		d, err := LoadDir(ctx, dir)
		if err != nil {
			b.Fatal(err)
		}
		if len(d.Pools) != envs*roles {
			b.Fatalf("%d pools, want %d", len(d.Pools), envs*roles)
		}
	}

	whole := func() {
		if _, err := Load(ctx, os.DirFS(dir), Options{Name: dir, wholePackage: true}); err != nil {
			b.Fatal(err)
		}
	}

	var compileM, exportM, warmM, wholeM measure
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		exportM.add(measured(func() { plainExport(b, dir) }))
		wholeM.add(measured(whole))
		clearCache()
		b.StartTimer()
		compileM.add(measured(compile))
		b.StopTimer()
		warmM.add(measured(compile))
		b.StartTimer()
	}
	n := float64(b.N)
	b.ReportMetric(float64(envs*roles), "pools")
	b.ReportMetric(compileM.wall.Seconds()/n, "compile-s")
	b.ReportMetric(exportM.wall.Seconds()/n, "cue-export-s")
	b.ReportMetric(compileM.wall.Seconds()/exportM.wall.Seconds(), "compile/export")
	b.ReportMetric(compileM.cpu.Seconds()/n, "compile-cpu-s")
	b.ReportMetric(exportM.cpu.Seconds()/n, "cue-export-cpu-s")
	b.ReportMetric(compileM.cpu.Seconds()/exportM.cpu.Seconds(), "compile/export-cpu")
	b.ReportMetric(warmM.wall.Seconds()/n, "warm-compile-s")
	b.ReportMetric(wholeM.wall.Seconds()/n, "whole-package-s")
	b.ReportMetric(float64(wholeM.peak)/(1<<20), "whole-package-peak-MiB")
	b.ReportMetric(float64(compileM.peak)/(1<<20), "compile-peak-MiB")
	b.ReportMetric(float64(exportM.peak)/(1<<20), "cue-export-peak-MiB")
}

func clearCache() {
	fileCache.Lock()
	defer fileCache.Unlock()
	clear(fileCache.m)
	fileCache.size = 0
}

// measure sums the wall and CPU time of runs and keeps the peak memory.
type measure struct {
	wall, cpu time.Duration
	peak      uint64
}

func (m *measure) add(o measure) {
	m.wall += o.wall
	m.cpu += o.cpu
	m.peak = max(m.peak, o.peak)
}

// measured runs f and measures it.
func measured(f func()) measure {
	var m measure
	m.peak = peakDuring(func() {
		cpu0 := cpuTime()
		start := time.Now()
		f()
		m.wall = time.Since(start)
		m.cpu = cpuTime() - cpu0
	})
	return m
}

// cpuTime is the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// plainExport is `cue export` of the spec's files through the Go API:
// parse every file, build them as one package, and marshal the concrete
// value as JSON. (The loader of cuelang.org/go/cue/load would add module
// resolution, which a spec has no use for, and dependencies to go.mod.)
func plainExport(tb testing.TB, dir string) []byte {
	tb.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.cue"))
	if err != nil {
		tb.Fatal(err)
	}
	inst := build.NewContext().NewInstance(dir, nil)
	for _, name := range files {
		f, err := parser.ParseFile(name, nil)
		if err != nil {
			tb.Fatal(err)
		}
		if err := inst.AddSyntax(f); err != nil {
			tb.Fatal(err)
		}
	}
	v := cuecontext.New().BuildInstance(inst)
	out, err := v.MarshalJSON()
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// peakDuring runs f and returns the peak resident set size of the process
// while it ran: the kernel's high-water mark (VmHWM), reset before f
// through /proc/self/clear_refs. Where that is not available it falls
// back to the Go runtime's peak of memory obtained from the OS.
func peakDuring(f func()) uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	reset := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	if hwm, ok := vmHWM(); reset && ok {
		return hwm
	}
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	return after.Sys
}

// vmHWM reads the peak resident set size from /proc/self/status.
func vmHWM() (uint64, bool) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err == nil
		}
	}
	return 0, false
}
