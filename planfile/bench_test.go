package planfile

import (
	"fmt"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

// bigWorld is the planner benchmark's size: 20,000 desired pools against
// 60,000 live pools (three per endpoint) and 5,000 images.
func bigWorld() (*model.Desired, *cloud.Live, *planner.Plan) {
	d := &model.Desired{Project: "big", Images: map[string]*model.Image{}, Environments: map[string]*model.Environment{}}
	live := &cloud.Live{}
	created := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for i := range 5000 {
		id := fmt.Sprintf("%064x", i)
		name := fmt.Sprintf("img%d", i)
		d.Images[name] = &model.Image{Name: name, From: "scratch", BuildID: id, Chain: []string{name}}
		live.Images = append(live.Images, cloud.Image{Cloud: "local", Name: name, BuildID: id, CreatedAt: created})
	}
	for e := range 200 {
		env := fmt.Sprintf("env%d", e)
		d.Environments[env] = &model.Environment{Name: env, Cloud: "local"}
		for r := range 100 {
			role := fmt.Sprintf("role%d", r)
			n := e*100 + r
			img := fmt.Sprintf("img%d", n%5000)
			key := fmt.Sprintf("%064x", n)
			d.Pools = append(d.Pools, &model.Pool{Env: env, Role: role, Cloud: "local", Image: img, BuildID: d.Images[img].BuildID,
				Key: key, Count: 2, Endpoint: fmt.Sprintf("127.0.0.1:%d", 10000+n), Retention: model.Retention{Keep: 2, Warm: 1}})
			for g := 1; g <= 3; g++ {
				id := cloud.PoolID(env, role, key, g)
				live.Pools = append(live.Pools, cloud.Pool{Cloud: "local", ID: id, Env: env, Role: role, Key: key, Generation: g,
					BuildID: d.Images[img].BuildID, State: cloud.PoolReady, Healthy: true, Servers: 2, Count: 2, CreatedAt: created})
			}
			live.Endpoints = append(live.Endpoints, cloud.Endpoint{Cloud: "local", Env: env, Role: role,
				Backends: []cloud.Backend{{Pool: cloud.PoolID(env, role, key, 3), Weight: 100}}})
		}
	}
	return d, live, &planner.Plan{Project: "big", Now: created}
}

// BenchmarkFingerprint saves and checks a plan of 20,000 pools against
// 60,000 live pools and 5,000 images; it reports both in milliseconds.
func BenchmarkFingerprint(b *testing.B) {
	d, live, p := bigWorld()
	var save, check time.Duration
	for b.Loop() {
		t0 := time.Now()
		f, err := New(p, d, live, Options{})
		if err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := Check(f, d, live); err != nil {
			b.Fatal(err)
		}
		save += t1.Sub(t0)
		check += time.Since(t1)
	}
	n := float64(b.N) * float64(time.Millisecond)
	b.ReportMetric(float64(save)/n, "save-ms")
	b.ReportMetric(float64(check)/n, "check-ms")
	b.ReportMetric(float64(len(live.Pools)), "live-pools")
}
