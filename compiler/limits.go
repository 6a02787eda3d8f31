package compiler

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/metrics"
	"strconv"
	"strings"
	"time"

	"github.com/phoenix-gitops/phoenix/diag"
)

// CUE is Turing-incomplete but not cheap: forty lines of `sN: sN-1 + sN-1`
// ask for a terabyte, and a pull request must not be able to take a CI
// runner down with them. CUE's evaluator (v0.17) takes no context and has
// no budget of its own, so a compile runs on a goroutine of its own while
// the caller watches the clock and the heap, and gives up with a
// diagnostic that names the limit and how to raise it.
//
// Go cannot stop a goroutine: an abandoned evaluation goes on until CUE
// returns. Most commands exit right after printing the diagnostic, which
// ends it; one that goes on (history notes a commit that does not compile
// and walks on) must not grow until the kernel kills it, or the runner
// with it. So an abandoned evaluation is watched until it returns, and
// if the heap passes twice the limit meanwhile the process exits with a
// message (runaway).

// Limits bound one compile. Zero fields take the value of the environment
// variable named below, else the default.
type Limits struct {
	// Timeout bounds the whole compile, from reading the files to
	// building the model.
	Timeout time.Duration
	// Memory bounds the process's heap while the compile runs, in bytes.
	Memory uint64
}

// The defaults are far above what a real spec needs (a thousand files
// compile in well under a second and a hundred MB) and well under what a
// CI runner has.
const (
	DefaultTimeout        = time.Minute
	DefaultMemory  uint64 = 1 << 30

	// EnvTimeout and EnvMemory raise or lower the limits for every
	// command that compiles a spec.
	EnvTimeout = "PHOENIX_EVAL_TIMEOUT"
	EnvMemory  = "PHOENIX_EVAL_MEMORY"
)

// heapMetric is the heap the watcher compares with Limits.Memory: live
// objects and those not yet swept, which is what the process holds.
const heapMetric = "/memory/classes/heap/objects:bytes"

// watchEvery is how often the heap is sampled: a runaway value doubles
// in tens of milliseconds once it is large.
const watchEvery = 5 * time.Millisecond

// resolve fills zero fields from the environment, then the defaults.
func (l Limits) resolve() (Limits, error) {
	if l.Timeout == 0 {
		l.Timeout = DefaultTimeout
		if s := os.Getenv(EnvTimeout); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d <= 0 {
				return l, fmt.Errorf("%s=%q: want a duration such as 90s or 5m", EnvTimeout, s)
			}
			l.Timeout = d
		}
	}
	if l.Memory == 0 {
		l.Memory = DefaultMemory
		if s := os.Getenv(EnvMemory); s != "" {
			n, err := ParseBytes(s)
			if err != nil {
				return l, fmt.Errorf("%s: %w", EnvMemory, err)
			}
			l.Memory = n
		}
	}
	return l, nil
}

// byteUnits are the suffixes ParseBytes takes, longest first.
var byteUnits = []struct {
	suffix string
	n      uint64
}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1}}

// ParseBytes reads a size such as 512MiB, 2GiB or 1500000000.
func ParseBytes(s string) (uint64, error) {
	num, mult := strings.TrimSpace(s), uint64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(num, u.suffix)), u.n
			break
		}
	}
	n, err := strconv.ParseUint(num, 10, 64)
	if err != nil || n == 0 || n > (1<<63)/mult {
		return 0, fmt.Errorf("%q: want a size such as 512MiB or 4GiB", s)
	}
	return n * mult, nil
}

// formatBytes prints n in the largest binary unit that divides it
// evenly enough to read ("2GiB", "300MiB").
func formatBytes(n uint64) string {
	for _, u := range byteUnits[:3] {
		if n >= u.n && n%(u.n/8) == 0 {
			return strconv.FormatFloat(float64(n)/float64(u.n), 'f', -1, 64) + u.suffix
		}
	}
	return strconv.FormatUint(n, 10) + "B"
}

// heapBytes reads the process's heap.
func heapBytes(s []metrics.Sample) uint64 {
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return s[0].Value.Uint64()
}

// bounded runs compile on a goroutine of its own and returns its result,
// or a diagnostic at pos when it runs past l's deadline or the heap grows
// past l's memory. The context compile gets is cancelled when bounded
// returns, so that the stages between CUE calls stop early.
func bounded[T any](ctx context.Context, l Limits, pos diag.Pos, compile func(context.Context) (T, error)) (T, error) {
	var zero T
	ctx, cancel := context.WithTimeoutCause(ctx, l.Timeout, errTimeout)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		v, err := compile(ctx)
		done <- result{v, err}
	}()
	sample := []metrics.Sample{{Name: heapMetric}}
	tick := time.NewTicker(watchEvery)
	defer tick.Stop()
	for {
		select {
		case r := <-done:
			return r.v, r.err
		case <-ctx.Done():
			go reap(returned, l.Memory)
			if context.Cause(ctx) == errTimeout {
				return zero, timeoutDiag(pos, l.Timeout)
			}
			return zero, ctx.Err()
		case <-tick.C:
			if heap := heapBytes(sample); heap > l.Memory {
				go reap(returned, l.Memory)
				return zero, memoryDiag(pos, l.Memory, heap)
			}
		}
	}
}

// reap watches the heap while an abandoned compile runs on, until it
// returns, and calls runaway if the heap passes twice the limit.
func reap(returned <-chan struct{}, limit uint64) {
	sample := []metrics.Sample{{Name: heapMetric}}
	tick := time.NewTicker(watchEvery)
	defer tick.Stop()
	for {
		select {
		case <-returned:
			return
		case <-tick.C:
			if heap := heapBytes(sample); heap > 2*limit {
				runaway(fmt.Sprintf("phoenix: a spec evaluation stopped at its limit goes on growing "+
					"(%s in use, the limit is %s; %s sets it): exiting", formatBytes(heap&^(1<<20-1)), formatBytes(limit), EnvMemory))
				return
			}
		}
	}
}

// runaway ends the process: Go offers no other way to stop the goroutine
// of an evaluation that grows without end.
var runaway = func(msg string) {
	fmt.Fprintln(os.Stderr, msg)
	os.Exit(1)
}

// errTimeout tells the compile's own deadline from the caller's.
var errTimeout = errors.New("the spec's evaluation took too long")

const runawayHint = "a spec needs a fraction of this; a value built from itself over and over (s2: s1 + s1, s3: s2 + s2, ...) grows without end"

func timeoutDiag(pos diag.Pos, limit time.Duration) diag.List {
	return diag.List{{Pos: pos,
		Summary: fmt.Sprintf("evaluating the spec took longer than the limit of %s: stopped", limit),
		Detail: runawayHint + "\nif the spec is right, raise the limit, e.g. " +
			EnvTimeout + "=" + (4 * limit).String()}}
}

func memoryDiag(pos diag.Pos, limit, heap uint64) diag.List {
	return diag.List{{Pos: pos,
		Summary: fmt.Sprintf("evaluating the spec used more memory than the limit of %s (%s in use): stopped",
			formatBytes(limit), formatBytes(heap&^(1<<20-1))),
		Detail: runawayHint + "\nif the spec is right, raise the limit, e.g. " +
			EnvMemory + "=" + formatBytes(2*limit)}}
}
