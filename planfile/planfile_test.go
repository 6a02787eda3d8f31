package planfile

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/cloudtest"
	"github.com/phoenix-gitops/phoenix/cloud/memory"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

// world is a spec with two environments (test, prod) deployed on a memory
// cloud: each serves generation 1 and retains generation 2 of its key.
type world struct {
	t    testing.TB
	ctx  context.Context
	c    *memory.Cloud
	d    *model.Desired
	plan *planner.Plan
}

func newWorld(t testing.TB) *world {
	t.Helper()
	d := cloudtest.Spec(cloudtest.SpecOptions{Project: "shop", Cloud: "memory", From: "scratch", Endpoint: "127.0.0.1:18081"})
	prod := *d.Pools[0]
	prod.Env, prod.Endpoint = "prod", "127.0.0.1:18082"
	d.Pools = append(d.Pools, &prod)
	d.Environments["prod"] = &model.Environment{Name: "prod", Cloud: "memory", Roles: []string{"web"}, After: []string{"test"}}
	w := &world{t: t, ctx: context.Background(), c: memory.New(memory.WithNow(time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC))), d: d}
	base, _ := w.c.Bake(w.ctx, cloud.BakeRequest{Project: "shop", Image: d.Images["base"]})
	app, err := w.c.Bake(w.ctx, cloud.BakeRequest{Project: "shop", Image: d.Images["app"], Parent: &base})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range d.Pools {
		for gen := 1; gen <= 2; gen++ {
			if _, err := w.c.CreatePool(w.ctx, cloud.CreateRequest{Project: "shop", Pool: p, ID: w.id(p.Env, gen), Generation: gen, Image: app}); err != nil {
				t.Fatal(err)
			}
		}
		w.swap(p.Env, 1)
	}
	// The plan itself does not matter to the fingerprints beyond its scope
	// and the build ids it names.
	w.plan = &planner.Plan{Project: "shop", Envs: []string{"test"}, Now: w.c.Now(), Steps: []planner.Step{
		{ID: "swap:test/web", Kind: planner.Swap, Cloud: "memory", Env: "test", Role: "web", Pool: w.id("test", 2), Reason: "rollback", Rollback: true, After: []string{}},
	}}
	return w
}

func (w *world) id(env string, gen int) string {
	return cloud.PoolID(env, "web", w.d.Pools[0].Key, gen)
}

func (w *world) swap(env string, gen int) {
	w.t.Helper()
	if err := w.c.Swap(w.ctx, cloud.SwapRequest{Project: "shop", Env: env, Role: "web", Endpoint: "x",
		Backends: []cloud.Backend{{Pool: w.id(env, gen), Weight: 100}}}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) live() *cloud.Live {
	w.t.Helper()
	l, err := cloud.Set{"memory": w.c}.Observe(w.ctx, "shop")
	if err != nil {
		w.t.Fatal(err)
	}
	return l
}

// save writes the plan as it is now and reads it back.
func (w *world) save() *File {
	w.t.Helper()
	f, err := New(w.plan, w.d, w.live(), Options{Envs: []string{"test"}})
	if err != nil {
		w.t.Fatal(err)
	}
	path := filepath.Join(w.t.TempDir(), "plan.json")
	if err := Write(path, f); err != nil {
		w.t.Fatal(err)
	}
	back, err := Read(path)
	if err != nil {
		w.t.Fatal(err)
	}
	return back
}

func TestUnchangedWorldPasses(t *testing.T) {
	w := newWorld(t)
	f := w.save()
	if err := Check(f, w.d, w.live()); err != nil {
		t.Fatalf("nothing changed, Check: %v", err)
	}
	if f.Plan.Steps[0].ID != "swap:test/web" || f.Project != "shop" || f.Version != Version {
		t.Fatalf("plan not read back: %+v", f)
	}
}

func TestLiveChangesRefused(t *testing.T) {
	appID := newWorld(t).d.Images["app"].BuildID
	cases := []struct {
		name   string
		change func(w *world)
		want   string
	}{
		{"serving pool swapped", func(w *world) { w.swap("test", 2) }, "test/web now serves web@"},
		{"retained pool died", func(w *world) { _ = w.c.KillServers("shop", w.id("test", 2), 1) }, "is now unhealthy (was healthy)"},
		{"retained pool pruned", func(w *world) { _ = w.c.DeletePool(w.ctx, "shop", w.id("test", 2)) }, ".2 in test/web is gone"},
		{"retained pool cooled", func(w *world) { _ = w.c.SetWarm(w.ctx, "shop", w.id("test", 2), false) }, "is now cold (was ready)"},
		{"pool appeared", func(w *world) {
			w.c.Mutate("shop", func(l *cloud.Live) {
				p := testPool(l)
				p.ID, p.Generation = w.id("test", 3), 3
				l.Pools = append(l.Pools, p)
			})
		}, ".3 appeared in test/web"},
		{"image gone", func(w *world) {
			w.c.Mutate("shop", func(l *cloud.Live) { l.Images = l.Images[1:] })
		}, "is gone"},
		{"drift", func(w *world) { _ = w.c.SetDrift("shop", w.id("test", 1), true) }, "drift is now true"},
		{"image drift", func(w *world) { _ = w.c.SetImageDrift("shop", w.d.Images["app"].BuildID, true) }, "image app " + appID[:7] + " drift is now true"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			f := w.save()
			tc.change(w)
			err := Check(f, w.d, w.live())
			if !errors.Is(err, ErrStale) {
				t.Fatalf("Check after %s: %v, want ErrStale", tc.name, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "the live state changed since the plan was made: ") || !strings.Contains(msg, tc.want) ||
				!strings.HasSuffix(msg, "; run phoenix plan again") {
				t.Fatalf("message %q does not say %q", msg, tc.want)
			}
		})
	}
}

func TestSpecChangesRefused(t *testing.T) {
	cases := []struct {
		name   string
		change func(d *model.Desired)
		want   string
	}{
		{"key", func(d *model.Desired) { d.Pools[0].Key = strings.Repeat("5c4d", 16) }, "test/web changed (pool key "},
		{"image", func(d *model.Desired) { d.Images["app"].BuildID = strings.Repeat("ab", 32) }, "image app changed (build "},
		{"retention", func(d *model.Desired) { d.Pools[0].Retention.Keep = 5 }, "test/web retention changed (keep 2 warm 1 → keep 5 warm 1)"},
		{"traffic", func(d *model.Desired) { d.Pools[0].Traffic = model.Traffic{Strategy: "canary", Steps: []int{10, 100}} }, "test/web traffic changed"},
		{"role left", func(d *model.Desired) { d.Pools = d.Pools[1:] }, "test/web left the spec"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			f := w.save()
			tc.change(w.d)
			err := Check(f, w.d, w.live())
			if !errors.Is(err, ErrStale) || !strings.Contains(err.Error(), "the spec changed since the plan was made: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Check after a spec %s change: %v, want it to name %q", tc.name, err, tc.want)
			}
		})
	}
}

// Changes outside the plan's environments, and volatile fields, do not
// make a plan stale.
func TestIgnoredChanges(t *testing.T) {
	w := newWorld(t)
	f := w.save()
	w.swap("prod", 2)                               // another environment
	_ = w.c.KillServers("shop", w.id("prod", 1), 1) // another environment
	w.d.Pools[1].Key = strings.Repeat("77", 32)     // another environment's spec
	_ = w.c.Lock(w.ctx, cloud.LockRequest{Project: "shop", Env: "test", Owner: "ci", Lease: time.Minute})
	w.c.Mutate("shop", func(l *cloud.Live) {
		for i := range l.Pools {
			l.Pools[i].Reason = "checked at " + time.Now().String() // volatile text
			l.Pools[i].CreatedAt = l.Pools[i].CreatedAt.Add(300 * time.Millisecond)
		}
	})
	if err := Check(f, w.d, w.live()); err != nil {
		t.Fatalf("changes outside the plan's scope made it stale: %v", err)
	}
}

func TestManyChangesAreCapped(t *testing.T) {
	w := newWorld(t)
	f := w.save()
	w.c.Mutate("shop", func(l *cloud.Live) {
		base := testPool(l)
		for g := 10; g < 20; g++ {
			p := base
			p.ID, p.Generation = w.id("test", g), g
			l.Pools = append(l.Pools, p)
		}
	})
	err := Check(f, w.d, w.live())
	if err == nil || !strings.Contains(err.Error(), "(and 5 more)") {
		t.Fatalf("ten changes: %v", err)
	}
}

func TestReadRefusesBadFiles(t *testing.T) {
	w := newWorld(t)
	f, _ := New(w.plan, w.d, w.live(), Options{})
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	if err := Write(good, f); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(good)
	for name, tc := range map[string]struct{ body, want string }{
		"garbage":  {"not json", "not a saved Phoenix plan"},
		"other":    {`{"kind":"terraform"}`, "not a saved Phoenix plan"},
		"newer":    {strings.Replace(string(b), `"version": 2`, `"version": 7`, 1), "format version 7 was written by a newer phoenix, this one reads version 2; upgrade phoenix or run phoenix plan again"},
		"older":    {strings.Replace(string(b), `"version": 2`, `"version": 1`, 1), "format version 1 was written by an older phoenix, this one reads version 2; run phoenix plan again"},
		"tampered": {strings.Replace(string(b), `"reason": "rollback"`, `"reason": "rollback!"`, 1), "does not match its checksum"},
	} {
		p := filepath.Join(dir, name)
		_ = os.WriteFile(p, []byte(tc.body), 0o644)
		if _, err := Read(p); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Read error %v, want %q", name, err, tc.want)
		}
	}
	nowhere := filepath.Join(dir, "no", "such", "folder.plan")
	if err := Write(nowhere, f); err == nil || err.Error() != "writing plan "+nowhere+": folder "+filepath.Dir(nowhere)+" does not exist" {
		t.Errorf("writing into a missing folder: %v", err)
	}
	missing := filepath.Join(dir, "missing")
	if _, err := Read(missing); err == nil || err.Error() != "reading plan "+missing+": no such file (write one with phoenix plan --out FILE)" {
		t.Errorf("reading a missing file: %v", err)
	}
	other := *w.d
	other.Project = "elsewhere"
	if err := Check(f, &other, w.live()); err == nil || !strings.Contains(err.Error(), "made for project shop") {
		t.Errorf("a plan of another project: %v", err)
	}
}

// testPool returns a pool of environment test.
func testPool(l *cloud.Live) cloud.Pool {
	for _, p := range l.Pools {
		if p.Env == "test" {
			return p
		}
	}
	panic("no pool in test")
}
