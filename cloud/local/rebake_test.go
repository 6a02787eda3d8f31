package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// A rebake (Bake with Replace) runs the steps again into a new tree and
// points the image's one record at it, while the pools started from the
// old tree keep running from it (their working directory), are warmed from
// it, are checked for drift against it, and keep it alive until the last
// of them is deleted.
func TestRebakeKeepsTheTreeOfItsPools(t *testing.T) {
	t.Setenv("PHOENIX_DRIFT_CHECK", "200ms") // read by the supervisor at start
	ctx := context.Background()
	c := newTestCloud(t)
	f := newFixture(t, c, 1)
	base, err := c.Bake(ctx, cloud.BakeRequest{Project: f.project, Image: &model.Image{Name: "base", From: "scratch", BuildID: "b0" + strings.Repeat("0", 62)}})
	if err != nil {
		t.Fatal(err)
	}
	// A step whose output differs on every run shows that the rebake ran it.
	app := &model.Image{Name: "fresh", Parent: "base", BuildID: "f0" + strings.Repeat("2", 62),
		Steps: []string{"head -c 16 /dev/urandom | od -An -tx1 > NONCE"}}
	first, err := c.Bake(ctx, cloud.BakeRequest{Project: f.project, Image: app, Parent: &base})
	if err != nil {
		t.Fatal(err)
	}
	f.image = first
	f.spec.Image, f.spec.BuildID = app.Name, app.BuildID
	a := f.create(t, "A")    // keeps running through the rebake
	cold := f.create(t, "C") // cooled before, warmed after the rebake
	if err := c.SetWarm(ctx, f.project, cold.ID, false); err != nil {
		t.Fatal(err)
	}

	var log strings.Builder
	second, err := c.Bake(ctx, cloud.BakeRequest{Project: f.project, Image: app, Parent: &base, Replace: true, Log: &log})
	if err != nil {
		t.Fatalf("rebake: %v", err)
	}
	if second.Ref == first.Ref || !second.CreatedAt.After(first.CreatedAt) {
		t.Fatalf("rebake returned %+v after %+v: want a new tree and a later creation time", second, first)
	}
	if readFile(t, filepath.Join(second.Ref, "NONCE")) == readFile(t, filepath.Join(first.Ref, "NONCE")) {
		t.Errorf("the rebake did not run the steps again (same NONCE)\n%s", log.String())
	}
	l, err := c.Observe(ctx, f.project)
	if err != nil {
		t.Fatal(err)
	}
	var records []cloud.Image
	for _, im := range l.Images {
		if im.BuildID == app.BuildID {
			records = append(records, im)
		}
	}
	if len(records) != 1 || records[0].Ref != second.Ref || !records[0].CreatedAt.Equal(second.CreatedAt) {
		t.Fatalf("image records of %s after the rebake: %+v, want one, the rebake %+v", short(app.BuildID), records, second)
	}
	if again, err := c.Bake(ctx, cloud.BakeRequest{Project: f.project, Image: app, Parent: &base}); err != nil || again.Ref != second.Ref {
		t.Fatalf("a plain bake after the rebake returned %+v, %v; want the rebake", again, err)
	}

	// The running pool stays on the old tree, healthy over several drift checks.
	time.Sleep(700 * time.Millisecond)
	if p := f.pool(t, a.ID); !p.Healthy || p.Drift {
		t.Fatalf("pool %s after the rebake: healthy=%v drift=%v reason=%q", a.ID, p.Healthy, p.Drift, p.Reason)
	}
	if err := c.SetWarm(ctx, f.project, cold.ID, true); err != nil {
		t.Fatalf("warming pool %s after the rebake: %v", cold.ID, err)
	}
	f.image = second
	b := f.create(t, "B")
	for id, want := range map[string]string{a.ID: first.Ref, cold.ID: first.Ref, b.ID: second.Ref} {
		if got := serverCwd(t, c, f.project, id); got != want {
			t.Errorf("pool %s runs from %s, want %s", id, got, want)
		}
	}

	// Drift is each pool's own: changing the new tree drifts only B.
	nonce := filepath.Join(second.Ref, "NONCE")
	if err := os.Chmod(nonce, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(nonce, []byte("tampered\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() error {
		if p := f.pool(t, b.ID); !p.Drift {
			return fmt.Errorf("pool %s on the tampered new tree: drift=%v", b.ID, p.Drift)
		}
		if p := f.pool(t, a.ID); p.Drift || !p.Healthy {
			return fmt.Errorf("pool %s on the untouched old tree: drift=%v healthy=%v %s", a.ID, p.Drift, p.Healthy, p.Reason)
		}
		return nil
	})

	// The old tree goes with the last pool started from it; the new one
	// with the image.
	for _, id := range []string{a.ID, cold.ID} {
		if _, err := os.Stat(first.Ref); err != nil {
			t.Fatalf("the old tree went while pool %s still used it: %v", id, err)
		}
		if err := c.DeletePool(ctx, f.project, id); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := os.Stat(first.Ref); !os.IsNotExist(err) {
		t.Errorf("the old tree %s outlived its last pool: %v", first.Ref, err)
	}
	if err := c.DeletePool(ctx, f.project, b.ID); err != nil {
		t.Fatal(err)
	}
	if err := c.DeleteImage(ctx, f.project, app.BuildID); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(second.Ref); !os.IsNotExist(err) {
		t.Errorf("the rebaked tree %s outlived its image: %v", second.Ref, err)
	}
}

// serverCwd returns the working directory of a pool's first server.
func serverCwd(t *testing.T, c *Cloud, project, poolID string) string {
	t.Helper()
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range st.Pools {
		if p.Project == project && p.ID == poolID && len(p.PIDs) > 0 {
			dir, err := os.Readlink(fmt.Sprintf("/proc/%d/cwd", p.PIDs[0]))
			if err != nil {
				t.Skipf("reading a server's working directory: %v", err)
			}
			return dir
		}
	}
	t.Fatalf("pool %s has no running server", poolID)
	return ""
}
