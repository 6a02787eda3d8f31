package local

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

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

// The facts a plan rests on read the same from a pool's record whether the
// supervisor runs or the cloud is read while down: released, rejected and
// when it served (a plan made with the cloud down, applied once it runs,
// must plan the same rollback and hold the same rejected release).
func TestOfflineViewKeepsThePlansFacts(t *testing.T) {
	at := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	rec := &poolRec{
		ID: "prod.web.0123abcd.2", Generation: 2, State: cloud.PoolCold, CreatedAt: at,
		LastServed: at.Add(time.Hour), Released: at.Add(time.Minute),
		Rejected: "watch 1: 5xx 30% of 200 requests > 1%", RejectedAt: at.Add(2 * time.Hour),
	}
	rec.Spec.Env, rec.Spec.Role, rec.Spec.Key, rec.Spec.Count = "prod", "web", "0123abcd", 1
	for _, serving := range []bool{false, true} {
		online := poolView(rec, nil, serving)
		offline := offlinePoolView(rec, serving)
		if !online.Released.Equal(offline.Released) || online.Rejected != offline.Rejected ||
			!online.RejectedAt.Equal(offline.RejectedAt) || !online.LastServed.Equal(offline.LastServed) {
			t.Errorf("serving %v: online %+v, offline %+v", serving, online, offline)
		}
		if offline.Released.IsZero() || offline.Rejected == "" {
			t.Errorf("serving %v: the offline view lost released or rejected: %+v", serving, offline)
		}
	}
}
