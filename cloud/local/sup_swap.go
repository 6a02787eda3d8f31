package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// swap implements Swap. Cold backends are started first (outside the
// mutex: that takes seconds), then, under the mutex, every backend is
// checked healthy at that instant, the endpoint record and the pools'
// last-served times are committed in one transaction, and only then is the
// proxy's backend set replaced (one atomic store). A crash before the
// commit leaves the old routing, after it the new one, both on disk and,
// after a restart, in the proxy.
func (s *supervisor) swap(ctx context.Context, req *swapReq) error {
	target := req.Env + "/" + req.Role
	backends, err := cloud.CheckBackends(req.Backends)
	if err != nil {
		return fmt.Errorf("swapping %s: %w", target, err)
	}
	// Resolve the pools and start the cold ones.
	var cold []*poolRT
	s.mu.Lock()
	for _, b := range backends {
		rt, err := s.backendPool(req, b.Pool)
		if err != nil {
			s.mu.Unlock()
			return err
		}
		if rt.rec.State == cloud.PoolCold {
			cold = append(cold, rt)
		}
	}
	s.mu.Unlock()
	for _, rt := range cold {
		if err := s.warm(ctx, rt, req.Secrets[rt.rec.ID]); err != nil {
			return fmt.Errorf("swapping %s: starting cold pool: %w", target, err)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	pools := map[string]*poolRT{}
	for _, b := range backends {
		rt, err := s.backendPool(req, b.Pool)
		if err != nil {
			return err
		}
		v := poolView(&rt.rec, rt, false, time.Now())
		if v.State != cloud.PoolReady || !v.Healthy {
			return fmt.Errorf("swapping %s to pool %s (%s, %d/%d servers healthy): %w", target, b.Pool, v.State, v.Servers, v.Count, cloud.ErrNotReady)
		}
		pools[b.Pool] = rt
	}
	epKey := string(recKey(req.Project, req.Env, req.Role))
	old := s.endpoints[epKey]
	addr := req.Endpoint
	if addr == "" && old != nil {
		addr = old.Address
	}
	if len(backends) > 0 {
		if err := checkAddress(addr); err != nil {
			return fmt.Errorf("swapping %s: %w", target, err)
		}
		for k, ep := range s.endpoints {
			if k != epKey && ep.Address == addr {
				return fmt.Errorf("swapping %s: address %s is the endpoint of %s/%s in project %s", target, addr, ep.Env, ep.Role, ep.Project)
			}
		}
	}
	// Open the listener before committing, so a port taken by another
	// program fails the swap and changes nothing.
	p := s.proxies[addr]
	fresh := false
	if p == nil && len(backends) > 0 {
		if p, err = startProxy(addr, s.log.Printf); err != nil {
			return fmt.Errorf("swapping %s: %w", target, err)
		}
		fresh = true
	}
	now := time.Now().UTC()
	touched := map[string]*poolRT{}
	if old != nil {
		for _, b := range old.Backends {
			if rt := s.pools[string(recKey(req.Project, b.Pool))]; rt != nil && b.Weight > 0 {
				touched[b.Pool] = rt
			}
		}
	}
	for id, rt := range pools {
		touched[id] = rt
	}
	rec := &endpointRec{Project: req.Project, Env: req.Env, Role: req.Role, Address: addr, Backends: backends}
	sole := cloud.SoleBackend(backends)
	err = s.st.update(func(tx *bolt.Tx) error {
		for id, rt := range touched {
			r := rt.rec
			r.LastServed = now
			if id == sole && r.Released.IsZero() {
				r.Released = now
			}
			if err := put(tx, bucketPools, r.key(), &r); err != nil {
				return err
			}
		}
		if len(backends) == 0 {
			return del(tx, bucketEndpoints, rec.key())
		}
		return put(tx, bucketEndpoints, rec.key(), rec)
	})
	if err != nil {
		if fresh {
			p.close()
		}
		return fmt.Errorf("swapping %s: recording it: %w", target, err)
	}
	for id, rt := range touched {
		rt.rec.LastServed = now
		if id == sole && rt.rec.Released.IsZero() {
			rt.rec.Released = now
		}
	}
	if len(backends) > 0 {
		p.set.Store(newBackendSet(backends, pools))
		s.proxies[addr] = p
		s.endpoints[epKey] = rec
	} else {
		delete(s.endpoints, epKey)
	}
	if old != nil && (old.Address != addr || len(backends) == 0) {
		if op := s.proxies[old.Address]; op != nil {
			delete(s.proxies, old.Address)
			go op.close()
		}
	}
	s.log.Printf("endpoint %s at %s now routes to %v", target, addr, backends)
	return nil
}

// backendPool finds a backend's pool and checks it may serve the endpoint;
// s.mu held.
func (s *supervisor) backendPool(req *swapReq, id string) (*poolRT, error) {
	target := req.Env + "/" + req.Role
	rt := s.pools[string(recKey(req.Project, id))]
	switch {
	case rt == nil:
		return nil, fmt.Errorf("swapping %s to pool %s: %w", target, id, cloud.ErrNotFound)
	case rt.rec.Spec.Env != req.Env || rt.rec.Spec.Role != req.Role:
		return nil, fmt.Errorf("swapping %s to pool %s: the pool belongs to %s/%s", target, id, rt.rec.Spec.Env, rt.rec.Spec.Role)
	case rt.rec.State == cloud.PoolFailed || rt.rec.State == cloud.PoolCreating:
		return nil, fmt.Errorf("swapping %s to pool %s (%s): %w", target, id, rt.rec.State, cloud.ErrNotReady)
	}
	return rt, nil
}

// checkAddress accepts a host:port endpoint address on loopback.
func checkAddress(addr string) error {
	if addr == "" {
		return errors.New("the endpoint has no address")
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" || port == "0" {
		return fmt.Errorf("endpoint address %q is not host:port", addr)
	}
	return checkLoopback(addr, host)
}

// lock implements Lock: a lease record per (project, env).
func (s *supervisor) lock(req *lockReq) error {
	if req.Owner == "" || req.Lease <= 0 {
		return fmt.Errorf("locking %s: an owner and a positive lease are required", req.Env)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	return s.st.update(func(tx *bolt.Tx) error {
		rec := lockRec{Project: req.Project, Env: req.Env}
		var cur lockRec
		ok, err := get(tx, bucketLocks, rec.key(), &cur)
		if err != nil {
			return err
		}
		if ok && cur.Owner != req.Owner && cur.Expires.After(now) {
			return &cloud.LockedError{Env: req.Env, Owner: cur.Owner, Expires: cur.Expires}
		}
		rec.Owner, rec.Expires = req.Owner, now.Add(req.Lease).UTC()
		return put(tx, bucketLocks, rec.key(), &rec)
	})
}

// unlock implements Unlock: a lock held by another owner is left alone;
// an empty owner forces it.
func (s *supervisor) unlock(req *unlockReq) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.update(func(tx *bolt.Tx) error {
		key := recKey(req.Project, req.Env)
		var cur lockRec
		ok, err := get(tx, bucketLocks, key, &cur)
		if err != nil || !ok {
			return err
		}
		if req.Owner == "" || cur.Owner == req.Owner {
			return del(tx, bucketLocks, key)
		}
		return nil
	})
}
