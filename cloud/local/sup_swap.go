package local

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"reflect"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// swap implements Swap. Cold backends are started first (that takes
// seconds). Then, with the swaps of this endpoint queued behind it, the
// swap takes the mutex only for instants:
//
//  1. under the mutex, every backend is checked healthy at that instant
//     and pinned (deletePool and setWarm refuse a pinned pool as they
//     refuse a serving one), and a new address is claimed (no other
//     endpoint can take it meanwhile);
//  2. without the mutex, a new address's listener is opened (a port taken
//     by another program fails the swap and changes nothing) and the
//     endpoint record and the pools' last-served times are committed in
//     one transaction: a slow disk holds up this endpoint only;
//  3. under the mutex, only then is the proxy's backend set replaced (one
//     atomic store) and the pins and the claim released.
//
// A crash before the commit leaves the old routing, after it the new one,
// both on disk and, after a restart, in the proxy. The pool records
// committed in step 2 are copies taken in step 1; step 3 saves again any
// that changed meanwhile (the new backends are pinned and the old ones
// serve, so only a warm-up of a cold old backend or a rejection by release
// analysis can), so the store ends with the running state.
func (s *supervisor) swap(ctx context.Context, req *swapReq) error {
	target := req.Env + "/" + req.Role
	backends, err := cloud.CheckBackends(req.Backends)
	if err != nil {
		return fmt.Errorf("swapping %s: %w", target, err)
	}
	if err := s.warmBackends(ctx, req, backends); err != nil {
		return err
	}
	sw := &pendingSwap{req: req, target: target, backends: backends, epKey: string(recKey(req.Project, req.Env, req.Role))}
	defer s.lockEndpoint(sw.epKey)()
	s.swapGate.RLock() // stopAll waits for swaps under way
	defer s.swapGate.RUnlock()
	if err := s.prepareSwap(sw); err != nil {
		return err
	}
	if err := s.commitSwap(sw); err != nil {
		s.mu.Lock()
		s.releaseSwap(sw)
		s.mu.Unlock()
		return err
	}
	s.publishSwap(sw)
	return nil
}

// pendingSwap is a swap between its check and its publication.
type pendingSwap struct {
	req            *swapReq
	target, epKey  string
	backends       []cloud.Backend
	addr           string
	old, rec       *endpointRec
	pools          map[string]*poolRT // the new backends, pinned
	touched        map[string]*poolRT // these and the old backends
	records        []poolRec          // touched, as committed
	proxy          *proxy
	fresh, claimed bool
	now            time.Time
}

// warmBackends starts the cold pools among backends, outside the mutex.
func (s *supervisor) warmBackends(ctx context.Context, req *swapReq, backends []cloud.Backend) error {
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
			return fmt.Errorf("swapping %s: starting cold pool: %w", req.Env+"/"+req.Role, err)
		}
	}
	return nil
}

// lockEndpoint queues the swaps of one endpoint and returns the unlock.
func (s *supervisor) lockEndpoint(key string) func() {
	s.mu.Lock()
	l := s.epLocks[key]
	if l == nil {
		l = &sync.Mutex{}
		s.epLocks[key] = l
	}
	s.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// prepareSwap checks the swap under the mutex, pins its pools, claims a
// new address and prepares the records to commit.
func (s *supervisor) prepareSwap(sw *pendingSwap) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.checkBackends(sw); err != nil {
		return err
	}
	if err := s.checkSwapAddress(sw); err != nil {
		return err
	}
	for _, rt := range sw.pools {
		rt.swapping = sw.target
	}
	if sw.proxy = s.proxies[sw.addr]; sw.proxy == nil && len(sw.backends) > 0 {
		s.claims[sw.addr] = sw.epKey
		sw.claimed = true
	}
	sw.now = time.Now().UTC()
	sw.touched = map[string]*poolRT{}
	if sw.old != nil {
		for _, b := range sw.old.Backends {
			if rt := s.pools[string(recKey(sw.req.Project, b.Pool))]; rt != nil && b.Weight > 0 {
				sw.touched[b.Pool] = rt
			}
		}
	}
	maps.Copy(sw.touched, sw.pools)
	sole := cloud.SoleBackend(sw.backends)
	for id, rt := range sw.touched {
		r := rt.rec
		r.LastServed = sw.now
		if id == sole && r.Released.IsZero() {
			r.Released = sw.now
		}
		sw.records = append(sw.records, r)
	}
	sw.rec = &endpointRec{Project: sw.req.Project, Env: sw.req.Env, Role: sw.req.Role, Address: sw.addr, Backends: sw.backends}
	return nil
}

// checkBackends checks every backend ready and healthy at this instant;
// s.mu held.
func (s *supervisor) checkBackends(sw *pendingSwap) error {
	sw.pools = map[string]*poolRT{}
	for _, b := range sw.backends {
		rt, err := s.backendPool(sw.req, b.Pool)
		if err != nil {
			return err
		}
		v := poolView(&rt.rec, rt, false)
		if v.State != cloud.PoolReady || !v.Healthy {
			return fmt.Errorf("swapping %s to pool %s (%s, %d/%d servers healthy): %w", sw.target, b.Pool, v.State, v.Servers, v.Count, cloud.ErrNotReady)
		}
		sw.pools[b.Pool] = rt
	}
	return nil
}

// checkSwapAddress finds the endpoint's address and checks that no other
// endpoint has it or is claiming it; s.mu held.
func (s *supervisor) checkSwapAddress(sw *pendingSwap) error {
	sw.old = s.endpoints[sw.epKey]
	sw.addr = sw.req.Endpoint
	if sw.addr == "" && sw.old != nil {
		sw.addr = sw.old.Address
	}
	if len(sw.backends) == 0 {
		return nil
	}
	if err := checkAddress(sw.addr); err != nil {
		return fmt.Errorf("swapping %s: %w", sw.target, err)
	}
	for k, ep := range s.endpoints {
		if k != sw.epKey && ep.Address == sw.addr {
			return fmt.Errorf("swapping %s: address %s is the endpoint of %s/%s in project %s", sw.target, sw.addr, ep.Env, ep.Role, ep.Project)
		}
	}
	if k, ok := s.claims[sw.addr]; ok && k != sw.epKey {
		return fmt.Errorf("swapping %s: address %s is being taken by another endpoint's swap", sw.target, sw.addr)
	}
	return nil
}

// commitSwap opens a new address's listener and commits the swap's
// records in one transaction, without the mutex.
func (s *supervisor) commitSwap(sw *pendingSwap) error {
	if sw.claimed {
		p, err := startProxy(sw.addr, s.log.Printf)
		if err != nil {
			return fmt.Errorf("swapping %s: %w", sw.target, err)
		}
		sw.proxy, sw.fresh = p, true
	}
	if s.beforeCommit != nil {
		s.beforeCommit(sw.target)
	}
	err := s.st.update(func(tx *bolt.Tx) error {
		for i := range sw.records {
			if err := put(tx, bucketPools, sw.records[i].key(), &sw.records[i]); err != nil {
				return err
			}
		}
		if len(sw.backends) == 0 {
			return del(tx, bucketEndpoints, sw.rec.key())
		}
		return put(tx, bucketEndpoints, sw.rec.key(), sw.rec)
	})
	if err != nil {
		if sw.fresh {
			sw.proxy.close()
		}
		return fmt.Errorf("swapping %s: recording it: %w", sw.target, err)
	}
	return nil
}

// publishSwap makes a committed swap the running state: the pools'
// times, the proxy's backend set (one atomic store), the maps.
func (s *supervisor) publishSwap(sw *pendingSwap) {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.releaseSwap(sw)
	for i := range sw.records {
		rt := sw.touched[sw.records[i].ID]
		rt.rec.LastServed, rt.rec.Released = sw.records[i].LastServed, sw.records[i].Released
		if !reflect.DeepEqual(rt.rec, sw.records[i]) { // changed since the check (a warm-up)
			if err := s.save(&rt.rec); err != nil {
				s.log.Printf("saving pool %s: %v", rt.rec.ID, err)
			}
		}
	}
	if len(sw.backends) > 0 {
		sw.proxy.set.Store(newBackendSet(sw.backends, sw.pools))
		s.proxies[sw.addr] = sw.proxy
		s.endpoints[sw.epKey] = sw.rec
	} else {
		delete(s.endpoints, sw.epKey)
	}
	if old := sw.old; old != nil && (old.Address != sw.addr || len(sw.backends) == 0) {
		if op := s.proxies[old.Address]; op != nil {
			delete(s.proxies, old.Address)
			go op.close()
		}
	}
	s.log.Printf("endpoint %s at %s now routes to %v", sw.target, sw.addr, sw.backends)
}

// releaseSwap unpins the swap's pools and releases its address claim;
// s.mu held.
func (s *supervisor) releaseSwap(sw *pendingSwap) {
	for _, rt := range sw.pools {
		rt.swapping = ""
	}
	if sw.claimed {
		delete(s.claims, sw.addr)
	}
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

// lock implements Lock: a lease record per (project, env). Locks live only
// in the store, whose one transaction reads and writes the record
// atomically: no mutex is needed.
func (s *supervisor) lock(req *lockReq) error {
	if req.Owner == "" || req.Lease <= 0 {
		return fmt.Errorf("locking %s: an owner and a positive lease are required", req.Env)
	}
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
