package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// The in-memory cloud has no requests of its own: tests script the
// figures its endpoints report (cloud.Meter), and it records rejections
// (cloud.Rejecter) in its state like any cloud.

var (
	_ cloud.Meter    = (*Cloud)(nil)
	_ cloud.Rejecter = (*Cloud)(nil)
)

// TrafficScript returns the figures of a pool since an instant, given the
// cloud's time now. Tests set one with ScriptTraffic.
type TrafficScript func(pool cloud.Pool, since, now time.Time) cloud.TrafficFigures

// ScriptTraffic sets what Traffic reports (nil: no traffic at all).
func (c *Cloud) ScriptTraffic(s TrafficScript) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.traffic = s
}

// SetTraffic scripts fixed figures per pool id, whatever the window; pools
// not named took no traffic.
func (c *Cloud) SetTraffic(figures map[string]cloud.TrafficFigures) {
	c.ScriptTraffic(func(p cloud.Pool, since, _ time.Time) cloud.TrafficFigures {
		f := figures[p.ID]
		f.Since = since
		return f
	})
}

// Traffic implements cloud.Meter with the scripted figures.
func (c *Cloud) Traffic(ctx context.Context, projectName, poolID string, since time.Time) (cloud.TrafficFigures, error) {
	if err := c.begin(ctx, OpTraffic, poolID); err != nil {
		return cloud.TrafficFigures{}, err
	}
	defer c.mu.Unlock()
	pl, ok := c.proj(projectName).pools[poolID]
	if !ok {
		return cloud.TrafficFigures{}, fmt.Errorf("reading traffic of pool %s: %w", poolID, cloud.ErrNotFound)
	}
	if c.traffic == nil {
		return cloud.TrafficFigures{Since: since}, nil
	}
	return c.traffic(pl, since, c.now()), nil
}

// Reject implements cloud.Rejecter: the first reason and time stay.
func (c *Cloud) Reject(ctx context.Context, projectName, poolID, reason string) error {
	if err := c.begin(ctx, OpReject, poolID); err != nil {
		return err
	}
	defer c.mu.Unlock()
	p := c.proj(projectName)
	pl, ok := p.pools[poolID]
	if !ok {
		return fmt.Errorf("rejecting pool %s: %w", poolID, cloud.ErrNotFound)
	}
	if pl.Rejected == "" {
		pl.Rejected, pl.RejectedAt = reason, c.now()
		p.pools[poolID] = pl
	}
	return nil
}
