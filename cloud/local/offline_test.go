package local

import (
	"context"
	"net"
	"strings"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// A ReadOnly cloud observes a cloud that is down from its records: it
// starts no supervisor and binds no endpoint port, refuses to change
// anything, and sees what the next supervisor will (the serving pool
// cold).
func TestReadOnlyObserveWhileDown(t *testing.T) {
	c := newTestCloud(t)
	f := newFixture(t, c, 1)
	p, _ := f.serve(t, "A")
	ctx := context.Background()
	if err := c.Down(ctx); err != nil {
		t.Fatal(err)
	}
	ro, err := Open(Options{Home: c.Home(), ReadOnly: true, SupervisorCommand: testSupervisor})
	if err != nil {
		t.Fatal(err)
	}
	down, err := ro.Observe(ctx, f.project)
	if err != nil {
		t.Fatal(err)
	}
	if !ro.ObservedOffline() {
		t.Error("ObservedOffline is false after reading a cloud that is down")
	}
	if c.Running(ctx) {
		t.Fatal("observing a cloud that is down started its supervisor")
	}
	ln, err := net.Listen("tcp", f.spec.Endpoint)
	if err != nil {
		t.Errorf("the endpoint's port is bound while the cloud is down: %v", err)
	} else {
		ln.Close()
	}
	if err := ro.DeletePool(ctx, f.project, p.ID); err == nil || !strings.Contains(err.Error(), "does not start it") {
		t.Errorf("deleting through a read-only cloud: %v", err)
	}
	if len(down.Pools) != 1 || down.Pools[0].State != cloud.PoolCold || len(down.Endpoints) != 1 || down.Endpoints[0].Backends[0].Pool != p.ID || len(down.Images) != 2 {
		t.Errorf("offline picture: %+v", down)
	}
	up, err := c.Observe(ctx, f.project) // starts the supervisor
	if err != nil {
		t.Fatal(err)
	}
	a, b := down.Pools[0], up.Pools[0]
	if a.ID != b.ID || a.State != b.State || a.Healthy != b.Healthy || a.Servers != b.Servers || len(up.Images) != len(down.Images) {
		t.Errorf("offline pool %+v, the supervisor's %+v", a, b)
	}
}
