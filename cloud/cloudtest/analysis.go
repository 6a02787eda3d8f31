package cloudtest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// Cases of the optional interfaces release analysis uses: cloud.Rejecter
// and cloud.Meter. A cloud that does not implement one skips its cases
// with a message; one that meters but whose harness cannot send requests
// (no Harness.Load) skips the metering case.

// A rejection is recorded in the cloud's own state: Observe reports it,
// with its reason and time, the first reason stays, and an unknown pool is
// not found.
func testReject(t *testing.T, e *env) {
	rj, ok := e.c.(cloud.Rejecter)
	if !ok {
		t.Skipf("the %s cloud does not implement cloud.Rejecter", e.c.Name())
	}
	p := e.create(t, e.project, "", 1)
	before := time.Now().Add(-time.Minute)
	reason := "5xx 33.8% of 212 requests > 1%"
	if err := rj.Reject(e.ctx, e.project, p.ID, reason); err != nil {
		t.Fatalf("rejecting %s: %v", p.ID, err)
	}
	if err := rj.Reject(e.ctx, e.project, p.ID, "a second reason"); err != nil {
		t.Fatalf("rejecting %s again: %v", p.ID, err)
	}
	e.eventually(t, e.project, func(l *cloud.Live) error {
		got, ok := findPool(l, p.ID)
		switch {
		case !ok:
			return fmt.Errorf("pool %s is gone", p.ID)
		case got.Rejected != reason:
			return fmt.Errorf("pool %s rejected %q, want %q", p.ID, got.Rejected, reason)
		case got.RejectedAt.Before(before):
			return fmt.Errorf("pool %s rejected at %v, before the rejection", p.ID, got.RejectedAt)
		}
		return nil
	})
	if err := rj.Reject(e.ctx, e.project, "nosuch.web.00000000.1", reason); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("rejecting an unknown pool: %v, want ErrNotFound", err)
	}
}

// The endpoint counts the requests it sends to each pool: all of a load
// sent through it shows in the serving pool's figures since the load
// began, none before it, and none on a pool that took no traffic.
func testMeter(t *testing.T, e *env) {
	m, ok := e.c.(cloud.Meter)
	if !ok {
		t.Skipf("the %s cloud does not implement cloud.Meter", e.c.Name())
	}
	if e.h.Load == nil {
		t.Skipf("the harness of the %s cloud cannot send requests (no Harness.Load)", e.c.Name())
	}
	p := e.create(t, e.project, "", 1)
	idle := e.create(t, e.project, "idle", 1)
	if err := e.swap(only(p.ID)); err != nil {
		t.Fatalf("swap to %s: %v", p.ID, err)
	}
	e.eventually(t, e.project, func(l *cloud.Live) error { return routesExactly(l, e.pool.Env, e.pool.Role, only(p.ID)) })
	since := time.Now()
	const n = 30
	e.h.Load(t, e.c, e.pool.Endpoint, n)
	var f cloud.TrafficFigures
	deadline := time.Now().Add(max(e.h.Settle, time.Second))
	for {
		var err error
		if f, err = m.Traffic(e.ctx, e.project, p.ID, since); err != nil {
			t.Fatalf("traffic of %s: %v", p.ID, err)
		}
		if f.Requests >= n || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if f.Requests != n || f.Failures != 0 || f.P99 <= 0 {
		t.Errorf("after %d good requests, pool %s reports %s (%d failures), want %d requests, none failed, a p99", n, p.ID, f, f.Failures, n)
	}
	if g, err := m.Traffic(e.ctx, e.project, idle.ID, since); err != nil || g.Requests != 0 {
		t.Errorf("idle pool %s: %v, %v; want no requests", idle.ID, g, err)
	}
	if _, err := m.Traffic(e.ctx, e.project, "nosuch.web.00000000.1", since); !errors.Is(err, cloud.ErrNotFound) {
		t.Errorf("traffic of an unknown pool: %v, want ErrNotFound", err)
	}
}
