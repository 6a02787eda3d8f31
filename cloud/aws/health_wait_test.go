package aws

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// A role's health deadline bounds the wait for a new pool's targets; the
// cloud's HealthTimeout is only the default.
func TestHealthDeadlineFromSpec(t *testing.T) {
	c := &Cloud{opt: Options{HealthTimeout: 15 * time.Minute}}
	p := &model.Pool{Health: model.Health{Deadline: 40 * time.Second}}
	if got := c.healthDeadline(p); got != 40*time.Second {
		t.Errorf("deadline %s, want the spec's 40s", got)
	}
	p.Health.Deadline = 0
	if got := c.healthDeadline(p); got != 15*time.Minute {
		t.Errorf("deadline %s, want HealthTimeout 15m", got)
	}
}

// While a new pool waits for healthy targets, each change of what the
// load balancer says of them is logged as it comes, not only in the error
// at the deadline; the spec's deadline ends the wait.
func TestCreatePoolLogsTargetHealthWhileWaiting(t *testing.T) {
	s := newStandIn(t)
	s.elb.forgetRules = true // nothing routes to the pool: its targets stay unused
	req := createReq("prod.web.3333.1", 2)
	req.Pool.Health.Deadline = 200 * time.Millisecond
	var log strings.Builder
	req.Log = &log
	start := time.Now()
	_, err := s.CreatePool(context.Background(), req)
	if !errors.Is(err, cloud.ErrNotReady) {
		t.Fatalf("create: %v, want ErrNotReady", err)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("the create waited %s past a deadline of 200ms", took)
	}
	if n := strings.Count(log.String(), "targets: 0/2 healthy (2 unused: no listener rule"); n != 1 {
		t.Errorf("target health logged %d times, want once (it did not change):\n%s", n, log.String())
	}
}
