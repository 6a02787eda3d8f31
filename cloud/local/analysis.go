package local

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// Release analysis on the local cloud: the supervisor's proxies meter
// every pool's traffic (meter.go) and it records rejections in the pool's
// record, so every later plan on this machine sees them.

const (
	pathTraffic = "/v1/pool/traffic" // POST trafficReq -> cloud.TrafficFigures
	pathReject  = "/v1/pool/reject"  // POST rejectReq
)

var (
	_ cloud.Meter    = (*Cloud)(nil)
	_ cloud.Rejecter = (*Cloud)(nil)
)

type trafficReq struct {
	Project string    `json:"project"`
	Pool    string    `json:"pool"`
	Since   time.Time `json:"since"`
}

type rejectReq struct {
	Project string `json:"project"`
	Pool    string `json:"pool"`
	Reason  string `json:"reason"`
}

// analysisRoutes registers the metering and rejection API.
func (s *supervisor) analysisRoutes(mux *http.ServeMux) {
	handle(mux, pathTraffic, func(_ context.Context, req *trafficReq) (any, error) {
		return s.traffic(req.Project, req.Pool, req.Since)
	})
	handle(mux, pathReject, func(_ context.Context, req *rejectReq) (any, error) {
		return nil, s.reject(req.Project, req.Pool, req.Reason)
	})
}

// traffic returns a pool's figures since an instant.
func (s *supervisor) traffic(project, id string, since time.Time) (cloud.TrafficFigures, error) {
	s.mu.Lock()
	rt, ok := s.pools[string(recKey(project, id))]
	s.mu.Unlock()
	if !ok {
		return cloud.TrafficFigures{}, fmt.Errorf("reading traffic of pool %s: %w", id, cloud.ErrNotFound)
	}
	return rt.meter.figures(since), nil
}

// reject records a rejection in the pool's record; the first one stays.
func (s *supervisor) reject(project, id, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.pools[string(recKey(project, id))]
	if !ok {
		return fmt.Errorf("rejecting pool %s: %w", id, cloud.ErrNotFound)
	}
	if rt.rec.Rejected != "" {
		return nil
	}
	rec := rt.rec
	rec.Rejected, rec.RejectedAt = reason, time.Now()
	if err := s.save(&rec); err != nil {
		return fmt.Errorf("rejecting pool %s: %w", id, err)
	}
	rt.rec = rec
	return nil
}

// Traffic implements cloud.Meter.
func (c *Cloud) Traffic(ctx context.Context, project, poolID string, since time.Time) (cloud.TrafficFigures, error) {
	var f cloud.TrafficFigures
	if err := c.call(ctx, pathTraffic, trafficReq{Project: project, Pool: poolID, Since: since}, &f); err != nil {
		return f, fmt.Errorf("reading traffic of pool %s: %w", poolID, err)
	}
	return f, nil
}

// Reject implements cloud.Rejecter.
func (c *Cloud) Reject(ctx context.Context, project, poolID, reason string) error {
	if err := c.call(ctx, pathReject, rejectReq{Project: project, Pool: poolID, Reason: reason}, nil); err != nil {
		return fmt.Errorf("rejecting pool %s: %w", poolID, err)
	}
	return nil
}
