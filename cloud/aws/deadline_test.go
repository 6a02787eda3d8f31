package awscloud

import (
	"testing"
	"time"

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
