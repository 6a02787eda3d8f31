package local

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/cloudtest"
	"github.com/phoenix-gitops/phoenix/model"
)

// TestConformance runs the cloud conformance suite against real
// supervisors, processes and proxies.
func TestConformance(t *testing.T) {
	cloudtest.Run(t, cloudtest.Harness{
		New: func(t *testing.T) cloud.Cloud { return newTestCloud(t) },
		Desired: func(t *testing.T) *model.Desired {
			d := cloudtest.Spec(cloudtest.SpecOptions{
				Cloud: "local", From: "scratch", Endpoint: freeAddr(t),
				Command: serverCommand(t), HealthPath: "/healthz",
			})
			for _, p := range d.Pools {
				p.Config["TEST_SERVER"] = "1"
				p.Health.Interval = 100 * time.Millisecond
				p.Key = cloudtest.PoolKey(p)
			}
			return d
		},
		KillServer: func(t *testing.T, c cloud.Cloud, project, poolID string) {
			st, err := c.(*Cloud).Status(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range st.Pools {
				if p.Project == project && p.ID == poolID && len(p.PIDs) > 0 {
					if err := syscall.Kill(p.PIDs[0], syscall.SIGKILL); err != nil {
						t.Fatal(err)
					}
					return
				}
			}
			t.Fatalf("pool %s has no running server to kill", poolID)
		},
		Foreign:    foreign,
		Load:       load,
		DriftImage: driftImage,
		Settle:     5 * time.Second,
		Timeout:    time.Minute,
	})
}

// foreign puts what the project does not own into the cloud's home: an
// image and a serving pool of another project, and a stray directory among
// the images. The check says they are all still there and working.
func foreign(t *testing.T, c cloud.Cloud, d *model.Desired) func(t *testing.T) error {
	lc := c.(*Cloud)
	other := &model.Desired{Project: "someone-else"}
	_ = other
	ctx := context.Background()
	base := *d.Images["base"]
	im, err := lc.Bake(ctx, cloud.BakeRequest{Project: "someone-else", Image: &base})
	if err != nil {
		t.Fatal(err)
	}
	spec := *d.Pools[0]
	// A port that is free now may be the one the project's own endpoint
	// was given (picked earlier, not yet listened on): never reuse it.
	taken := map[string]bool{}
	for _, p := range d.Pools {
		taken[p.Endpoint] = true
	}
	for spec.Endpoint = freeAddr(t); taken[spec.Endpoint]; spec.Endpoint = freeAddr(t) {
	}
	spec.Count = 1
	id := cloud.PoolID(spec.Env, spec.Role, spec.Key, 1)
	if _, err := lc.CreatePool(ctx, cloud.CreateRequest{Project: "someone-else", Pool: &spec, ID: id, Generation: 1, Image: im}); err != nil {
		t.Fatal(err)
	}
	if err := lc.Swap(ctx, cloud.SwapRequest{Project: "someone-else", Env: spec.Env, Role: spec.Role, Endpoint: spec.Endpoint, Backends: []cloud.Backend{{Pool: id, Weight: 100}}}); err != nil {
		t.Fatal(err)
	}
	stray := filepath.Join(lc.Home(), "images", "not-phoenix")
	if err := os.MkdirAll(stray, 0o755); err != nil {
		t.Fatal(err)
	}
	return func(t *testing.T) error {
		l, err := lc.Observe(ctx, "someone-else")
		if err != nil {
			return err
		}
		if len(l.Images) != 1 || len(l.Pools) != 1 || !l.Pools[0].Healthy || len(l.Endpoints) != 1 {
			return fmt.Errorf("the other project's resources changed: %+v", l)
		}
		if _, err := os.Stat(stray); err != nil {
			return err
		}
		return nil
	}
}

// load sends n GET requests, one after another, through the endpoint at
// address and checks each is answered.
func load(t *testing.T, _ cloud.Cloud, address string, n int) {
	client := &http.Client{Timeout: 5 * time.Second}
	for i := range n {
		resp, err := client.Get("http://" + address + "/")
		if err != nil {
			t.Fatalf("request %d of %d to %s: %v", i+1, n, address, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
}

// driftImage adds a file to a baked image's (read-only) tree, as someone
// with a shell on the machine could.
func driftImage(t *testing.T, _ cloud.Cloud, _ string, im cloud.Image) {
	if err := os.Chmod(im.Ref, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(im.Ref, "planted"), []byte("x\n"), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(im.Ref, 0o555); err != nil {
		t.Fatal(err)
	}
}
