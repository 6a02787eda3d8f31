package planfile

import (
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/planner"
)

// short names a pool of the world as refusals do: "web@5c4d.2".
func (w *world) short(gen int) string {
	return cloud.ShortPool("web", w.d.Pools[0].Key, gen)
}

// setPool edits one pool of the world in place.
func (w *world) setPool(env string, gen int, f func(p *cloud.Pool)) {
	w.c.Mutate("shop", func(l *cloud.Live) {
		for i := range l.Pools {
			if l.Pools[i].ID == w.id(env, gen) {
				f(&l.Pools[i])
			}
		}
	})
}

// Time passing is no change: an hour later, with the serving pool saying
// it served "now" (as the local cloud did on every observation) and every
// time shifted alike, a saved plan still applies. Before, Check compared
// last-served times and refused it as "swapped to or from".
func TestTimePassingNeverMakesAPlanStale(t *testing.T) {
	w := newWorld(t)
	f := w.save()
	w.c.Advance(time.Hour)
	now := w.c.Now()
	w.setPool("test", 1, func(p *cloud.Pool) { p.LastServed = now })
	if err := Check(f, w.d, w.live()); err != nil {
		t.Fatalf("an hour passed and nothing changed, Check: %v", err)
	}
	w.setPool("test", 2, func(p *cloud.Pool) { p.Servers++ }) // still healthy: the same class
	if err := Check(f, w.d, w.live()); err != nil {
		t.Fatalf("a healthy pool's server count moved, Check: %v", err)
	}
}

// Each change a plan rests on refuses it with exactly that difference.
func TestStaleRefusalsNameTheExactDifference(t *testing.T) {
	const live, spec = "the live state changed since the plan was made: ", "the spec changed since the plan was made: "
	const again = "; run phoenix plan again"
	newBuild := strings.Repeat("cd", 32)
	cases := []struct {
		name   string
		change func(w *world)
		want   func(w *world) string
	}{
		{"pool appeared", func(w *world) {
			w.c.Mutate("shop", func(l *cloud.Live) {
				p := testPool(l)
				p.ID, p.Generation, p.LastServed = w.id("test", 3), 3, time.Time{}
				l.Pools = append(l.Pools, p)
			})
		}, func(w *world) string { return live + "pool " + w.short(3) + " appeared in test/web" + again }},
		{"pool failed", func(w *world) {
			w.setPool("test", 2, func(p *cloud.Pool) { p.State, p.Healthy, p.Servers = cloud.PoolFailed, false, 0 })
		}, func(w *world) string {
			return live + "pool " + w.short(2) + " in test/web is now failed (was ready)" + again
		}},
		{"pool unhealthy", func(w *world) { _ = w.c.KillServers("shop", w.id("test", 2), 1) },
			func(w *world) string {
				return live + "pool " + w.short(2) + " in test/web is now unhealthy (was healthy)" + again
			}},
		{"pool went", func(w *world) { _ = w.c.DeletePool(w.ctx, "shop", w.id("test", 2)) },
			func(w *world) string { return live + "pool " + w.short(2) + " in test/web is gone" + again }},
		{"pool released", func(w *world) {
			now := w.c.Now()
			w.setPool("test", 2, func(p *cloud.Pool) { p.Released = now })
		},
			func(w *world) string {
				return live + "pool " + w.short(2) + " in test/web is now a rollback target (a completed swap released it)" + again
			}},
		{"pool rejected", func(w *world) {
			w.setPool("test", 2, func(p *cloud.Pool) { p.Rejected = "watch 1: 5xx 30% of 200 requests > 1%" })
		},
			func(w *world) string {
				return live + "pool " + w.short(2) + " in test/web was rejected by release analysis" + again
			}},
		{"endpoint swapped", func(w *world) { w.swap("test", 2) },
			func(w *world) string {
				return live + "test/web now serves " + w.short(2) + " (was " + w.short(1) + "); pool " + w.short(2) +
					" in test/web is now a rollback target (a completed swap released it)" + again
			}},
		{"endpoint weights", func(w *world) {
			_ = w.c.Swap(w.ctx, cloud.SwapRequest{Project: "shop", Env: "test", Role: "web",
				Backends: []cloud.Backend{{Pool: w.id("test", 1), Weight: 75}, {Pool: w.id("test", 2), Weight: 25}}})
		}, func(w *world) string {
			return live + "test/web now serves " + w.short(1) + " 75%, " + w.short(2) + " 25% (was " + w.short(1) + ")" + again
		}},
		{"swapped away and back", func(w *world) {
			// A canary step onto 2, then all back to 1: 2 served (its place
			// in the served order moved) but was never released.
			_ = w.c.Swap(w.ctx, cloud.SwapRequest{Project: "shop", Env: "test", Role: "web",
				Backends: []cloud.Backend{{Pool: w.id("test", 1), Weight: 50}, {Pool: w.id("test", 2), Weight: 50}}})
			w.c.Advance(time.Second)
			w.swap("test", 1)
		},
			func(w *world) string {
				return live + "pool " + w.short(2) + " in test/web was swapped to or from" + again
			}},
		{"image baked", func(w *world) {
			im := *w.d.Images["app"]
			im.BuildID = newBuild
			base := w.image("base")
			_, _ = w.c.Bake(w.ctx, cloud.BakeRequest{Project: "shop", Image: &im, Parent: &base})
		}, func(w *world) string { return live + "image app " + newBuild[:7] + " was baked" + again }},
		{"image baked again", func(w *world) {
			w.c.Advance(time.Hour)
			base := w.image("base")
			_, _ = w.c.Bake(w.ctx, cloud.BakeRequest{Project: "shop", Image: w.d.Images["app"], Parent: &base, Replace: true})
		}, func(w *world) string {
			return live + "image app " + w.d.Images["app"].BuildID[:7] + " was baked again" + again
		}},
		{"image pruned", func(w *world) {
			w.c.Mutate("shop", func(l *cloud.Live) {
				for i, im := range l.Images {
					if im.Name == "base" {
						l.Images = append(l.Images[:i], l.Images[i+1:]...)
						return
					}
				}
			})
		}, func(w *world) string {
			return live + "image base " + w.d.Images["base"].BuildID[:7] + " is gone" + again
		}},
		{"spec moved", func(w *world) { w.d.Pools[0].Key = strings.Repeat("5c4d", 16) },
			func(w *world) string {
				return spec + "test/web changed (pool key " + w.d.Pools[1].Key[:8] + " → 5c4d5c4d)" + again
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			// The plan bakes a new build: whether it exists is a fact it
			// rests on.
			w.plan.Steps = append(w.plan.Steps, planner.Step{ID: "bake:app", Kind: planner.Bake, Cloud: "memory", Image: "app", BuildID: newBuild, After: []string{}})
			f := w.save()
			tc.change(w)
			err := Check(f, w.d, w.live())
			if want := tc.want(w); err == nil || err.Error() != want {
				t.Fatalf("Check after %s:\n got %v\nwant %s", tc.name, err, want)
			}
		})
	}
}

// image returns the world's live image of that name.
func (w *world) image(name string) cloud.Image {
	w.t.Helper()
	for _, im := range w.live().Images {
		if im.Name == name {
			return im
		}
	}
	w.t.Fatalf("no image %s", name)
	return cloud.Image{}
}
