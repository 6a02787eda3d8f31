package planfile

import (
	"errors"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// Any change to what a plan depends on in its scope makes the saved plan
// stale; changes to volatile fields (reasons, sub-second times, time
// passing alike for every pool, a server count within its health class)
// or outside its scope never do.
func TestFingerprintProperty(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		w := newWorld(t)
		f, err := New(w.plan, w.d, w.live(), Options{})
		if err != nil {
			rt.Fatal(err)
		}
		relevant := rapid.Bool().Draw(rt, "relevant")
		later := w.c.Now().Add(24 * time.Hour)
		w.c.Mutate("shop", func(l *cloud.Live) {
			var in, out []int
			for i, p := range l.Pools {
				if p.Env == "test" {
					in = append(in, i)
				} else {
					out = append(out, i)
				}
			}
			if !relevant {
				i := rapid.SampledFrom(append(in, out...)).Draw(rt, "pool")
				l.Pools[i].Reason = rapid.String().Draw(rt, "reason")
				l.Pools[i].CreatedAt = l.Pools[i].CreatedAt.Truncate(time.Second).Add(time.Duration(rapid.IntRange(0, 999).Draw(rt, "ms")) * time.Millisecond)
				shift := time.Duration(rapid.IntRange(1, 3600).Draw(rt, "seconds later")) * time.Second
				for k := range l.Pools {
					if !l.Pools[k].LastServed.IsZero() {
						l.Pools[k].LastServed = l.Pools[k].LastServed.Add(shift) // time passed alike for all
					}
				}
				if l.Pools[i].State == cloud.PoolReady && l.Pools[i].Healthy {
					l.Pools[i].Servers++ // within its health class
				}
				if len(out) > 0 && rapid.Bool().Draw(rt, "other-env") {
					j := rapid.SampledFrom(out).Draw(rt, "other")
					l.Pools[j].Healthy = !l.Pools[j].Healthy
					l.Pools[j].Servers++
				}
				return
			}
			i := rapid.SampledFrom(in).Draw(rt, "pool")
			p := &l.Pools[i]
			switch rapid.IntRange(0, 7).Draw(rt, "field") {
			case 0:
				p.Healthy = !p.Healthy
			case 1:
				if p.Released.IsZero() {
					p.Released = p.CreatedAt.Add(time.Minute)
				} else {
					p.Released = time.Time{}
				}
			case 2:
				p.State = cloud.PoolCold
			case 3:
				p.Drift = !p.Drift
			case 4:
				// Its place in the served order moves: one that served
				// never did, or one that never served did, last.
				if p.LastServed.IsZero() {
					p.LastServed = later
				} else {
					p.LastServed = time.Time{}
				}
			case 5:
				p.CreatedAt = p.CreatedAt.Add(-time.Hour)
			case 6:
				l.Pools = append(l.Pools[:i], l.Pools[i+1:]...)
			case 7:
				for k := range l.Endpoints {
					if l.Endpoints[k].Env == "test" {
						l.Endpoints[k].Backends = []cloud.Backend{{Pool: w.id("test", 2), Weight: 100}}
					}
				}
			}
		})
		err = Check(f, w.d, w.live())
		if relevant && !errors.Is(err, ErrStale) {
			rt.Fatalf("a relevant change was not detected: %v", err)
		}
		if !relevant && err != nil {
			rt.Fatalf("an irrelevant change made the plan stale: %v", err)
		}
	})
}
