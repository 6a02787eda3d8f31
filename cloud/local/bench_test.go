package local

import (
	"context"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// BenchmarkSwapWarm measures Phoenix's own time for a swap between two
// warm, healthy pools: the client call, the health check of the backends
// at that instant, the committed (fsynced) record and the atomic switch of
// the proxy. Target: under 50 ms.
func BenchmarkSwapWarm(b *testing.B) {
	c := newTestCloud(b)
	f := newFixture(b, c, 2)
	ctx := context.Background()
	ids := []string{f.create(b, "A").ID, f.create(b, "B").ID}
	if err := f.swap(ctx, only(ids[0])); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; b.Loop(); i++ {
		if err := f.swap(ctx, only(ids[(i+1)%2])); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/op")
}

// BenchmarkBakeCacheHit measures Bake of an image whose build id exists:
// one round trip to the supervisor, nothing built. Target: under 10 ms.
func BenchmarkBakeCacheHit(b *testing.B) {
	c := newTestCloud(b)
	f := newFixture(b, c, 1)
	ctx := context.Background()
	req := cloud.BakeRequest{Project: f.project, Image: &model.Image{Name: "app", Parent: "base", BuildID: f.image.BuildID}, Parent: &cloud.Image{BuildID: "unused"}}
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		im, err := c.Bake(ctx, req)
		if err != nil || im.BuildID != f.image.BuildID {
			b.Fatal(im, err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/op")
}
