//go:build unix

package local

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/executor"
	"github.com/phoenix-gitops/phoenix/planner"
)

// BenchmarkReleaseDisk measures what each release leaves on disk in
// PHOENIX_HOME once the home is in its steady state (the images baked, the
// retained pools made): a release creates a pool of two quiet servers,
// swaps to it, deletes the pool past retention (2) and journals its three
// steps, as an apply does. "unbounded" turns every log limit off, as it was
// before they existed; "bounded" sets them low (64K of logs, 16K per
// rotated file, 2 kept), so that the home must stop growing.
// Reported: disk (allocated blocks) per release over releases 26-50.
func BenchmarkReleaseDisk(b *testing.B) {
	for _, tc := range []struct{ name, total, rotate string }{{"unbounded", "0", "0"}, {"bounded", "64K", "16K"}} {
		b.Run(tc.name, func(b *testing.B) {
			b.Setenv("PHOENIX_LOG_MAX_TOTAL", tc.total)
			b.Setenv("PHOENIX_LOG_ROTATE_SIZE", tc.rotate)
			b.Setenv("PHOENIX_LOG_ROTATE_KEEP", "2")
			for b.Loop() {
				first, second := releaseDisk(b, 50)
				b.ReportMetric(float64(first)/1024/25, "KB/release(1-25)")
				b.ReportMetric(float64(second)/1024/25, "KB/release(26-50)")
			}
		})
	}
}

// releaseDisk runs n releases on a fresh home and returns the disk the
// home grew by over the first and the second half of them.
func releaseDisk(b *testing.B, n int) (first, second int64) {
	c := newTestCloud(b)
	f := newFixture(b, c, 2)
	ctx := context.Background()
	start := homeDisk(b, c.Home())
	var mid int64
	var ids []string
	for i := range n {
		p, _ := f.serve(b, fmt.Sprintf("r%d", i))
		ids = append(ids, p.ID)
		if len(ids) > 3 {
			if err := c.DeletePool(ctx, f.project, ids[len(ids)-4]); err != nil {
				b.Fatal(err)
			}
		}
		journalRelease(b, c.Home(), p.ID)
		if i == n/2-1 {
			time.Sleep(200 * time.Millisecond) // the prune a delete asked for
			mid = homeDisk(b, c.Home())
		}
	}
	time.Sleep(200 * time.Millisecond)
	end := homeDisk(b, c.Home())
	return mid - start, end - mid
}

// journalRelease appends what an apply of one release journals.
func journalRelease(b *testing.B, home, pool string) {
	j, err := executor.OpenJournal(home, executor.NewApplyID(), "bench@host:1#000000000000")
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	steps := []planner.Step{
		{ID: "create-test-web", Kind: planner.Create, Env: "test", Role: "web", Reason: "new pool " + pool},
		{ID: "swap-test-web", Kind: planner.Swap, Env: "test", Role: "web"},
		{ID: "prune-test-web", Kind: planner.Prune, Env: "test", Role: "web"},
	}
	j.ApplyStarted(&planner.Plan{Project: "p", Steps: steps})
	for i := range steps {
		j.StepStarted(&steps[i])
		j.StepFinished(&steps[i], time.Second)
	}
}

// homeDisk is the disk the home's files take (allocated blocks), images
// excepted: they are baked once, before the releases.
func homeDisk(b *testing.B, home string) int64 {
	var total int64
	err := filepath.WalkDir(home, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // removed meanwhile
		}
		if d.IsDir() && d.Name() == "images" && filepath.Dir(path) == home {
			return fs.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			total += int64(st.Blocks) * 512
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return total
}
