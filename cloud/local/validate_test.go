package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// The supervisor refuses names that would put a file outside the home and
// endpoint addresses off loopback, whoever sent the request.
func TestSupervisorChecksNamesAndAddresses(t *testing.T) {
	c := newTestCloud(t)
	f := newFixture(t, c, 1)
	ctx := context.Background()
	escaped := filepath.Join(filepath.Dir(c.Home()), "x")
	spec := f.variant("A")
	spec.Env = "../../x"
	id := cloud.PoolID("test", "web", spec.Key, 1)
	_, err := c.CreatePool(ctx, cloud.CreateRequest{Project: f.project, Pool: spec, ID: id, Generation: 1, Image: f.image})
	if err == nil || !strings.Contains(err.Error(), `environment name "../../x" is not valid`) {
		t.Errorf("creating a pool in environment ../../x: %v", err)
	}
	if _, err := os.Stat(escaped); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s was made outside the home (%v)", escaped, err)
	}
	for _, req := range []any{
		deletePoolReq{Project: "p", Pool: "../x"},
		warmReq{Project: "p/..", Pool: "x"},
		lockReq{Project: "p", Env: "../x", Owner: "me", Lease: 1e9},
		deleteImageReq{Project: "p", BuildID: "../../etc"},
	} {
		path := map[string]string{"local.deletePoolReq": pathDeletePool, "local.warmReq": pathSetWarm, "local.lockReq": pathLock, "local.deleteImageReq": pathDeleteImage}[fmt.Sprintf("%T", req)]
		if err := c.call(ctx, path, req, nil); err == nil || !strings.Contains(err.Error(), "is not valid") {
			t.Errorf("%s %+v: %v", path, req, err)
		}
	}
	p := f.create(t, "B")
	port := strings.TrimPrefix(freeAddr(t), "127.0.0.1:")
	for _, addr := range []string{"0.0.0.0:" + port, ":" + port, "192.0.2.1:" + port} {
		err := c.Swap(ctx, cloud.SwapRequest{Project: f.project, Env: "test", Role: "web", Endpoint: addr, Backends: []cloud.Backend{only(p.ID)}})
		if err == nil || !strings.Contains(err.Error(), "not on loopback") {
			t.Errorf("swapping onto endpoint %s: %v", addr, err)
		}
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Endpoints) != 0 {
		t.Errorf("endpoints after refused swaps: %+v", st.Endpoints)
	}
}

// Whatever names a create request carries, one that the supervisor
// accepts puts its servers' logs inside the home's logs folder.
func FuzzCreateNamesStayInHome(f *testing.F) {
	f.Add("p", "test", "web", "test.web.0000abcd.1")
	f.Add("p", "../../x", "web", "x")
	f.Add("p", "test", "..", "a/../../b")
	f.Add("", "t", "w", ".")
	f.Fuzz(func(t *testing.T, project, env, role, id string) {
		req := createReq{Project: project, ID: id, Spec: model.Pool{Env: env, Role: role}, Image: cloud.Image{BuildID: "b0"}}
		if req.check() != nil {
			return
		}
		home := "/home/u/.local/state/phoenix"
		p := serverLogPath(home, &poolRec{Project: project, ID: id, Spec: req.Spec}, 0)
		rel, err := filepath.Rel(filepath.Join(home, "logs"), p)
		if err != nil || strings.HasPrefix(rel, "..") || strings.Count(rel, string(filepath.Separator)) != 2 {
			t.Errorf("accepted %+v, whose log %s is not logs/ENV/ROLE/FILE", req, p)
		}
	})
}
