package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// Pools. A create records the pool as `creating` before it starts a
// process, records each server's pid as soon as it runs, and records the
// outcome (ready, or failed with the reason after stopping its servers).
// A create whose client goes away (the CLI killed) is stopped and failed;
// a create cut short by the supervisor dying is failed by the next
// supervisor. Either way the next Observe reports the half-made pool for
// the planner to prune, and nothing of it keeps running.

// handleCreate streams the create's log lines, then the outcome.
func (s *supervisor) handleCreate(w http.ResponseWriter, r *http.Request) {
	var req createReq
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		replyErr(w, fmt.Errorf("decoding request: %w", err))
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson")
	enc := json.NewEncoder(w)
	flusher, _ := w.(http.Flusher)
	var wmu sync.Mutex
	emit := func(ev createEvent) {
		wmu.Lock()
		defer wmu.Unlock()
		_ = enc.Encode(ev)
		if flusher != nil {
			flusher.Flush()
		}
	}
	logf := func(format string, args ...any) {
		msg := fmt.Sprintf(format, args...)
		s.log.Printf("pool %s: %s", req.ID, msg)
		emit(createEvent{Log: msg})
	}
	pool, err := s.createPool(r.Context(), &req, logf)
	ev := createEvent{Pool: pool}
	if err != nil {
		ev.Error = toAPIError(err)
	}
	emit(ev)
}

func (s *supervisor) createPool(ctx context.Context, req *createReq, logf func(string, ...any)) (*cloud.Pool, error) {
	if err := req.check(); err != nil {
		return nil, err
	}
	if req.Spec.Command == "" {
		return nil, fmt.Errorf("role %s has no command to start its servers with", req.Spec.Role)
	}
	key := string(recKey(req.Project, req.ID))
	s.mu.Lock()
	if s.deleting[key] {
		s.mu.Unlock()
		return nil, &cloud.TransientError{Err: errors.New("it is being deleted")}
	}
	if rt, ok := s.pools[key]; ok {
		v := poolView(&rt.rec, rt, s.servingEndpoint(req.Project, req.ID) != "")
		s.mu.Unlock()
		switch v.State {
		case cloud.PoolFailed:
			return &v, fmt.Errorf("it exists and failed: %s", v.Reason)
		case cloud.PoolCreating:
			return &v, &cloud.TransientError{Err: errors.New("it is being created by another request")}
		}
		return &v, nil
	}
	img, err := s.image(req.Project, req.Image.BuildID)
	if err == nil && img == nil {
		err = fmt.Errorf("image %s %s: %w", req.Image.Name, short(req.Image.BuildID), cloud.ErrNotFound)
	}
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	spec := req.Spec
	spec.Count = max(spec.Count, 1)
	rt := &poolRT{rec: poolRec{
		Project: req.Project, ID: req.ID, Generation: req.Generation, Spec: spec,
		ImageName: img.Name, BuildID: img.BuildID, ImageDir: img.Dir, ImageDigest: img.Digest, Commit: req.Commit,
		CreatedAt: time.Now().UTC(), State: cloud.PoolCreating,
	}}
	rt.servers.Store(&[]*server{})
	rt.life.Lock() // no one else can see rt yet
	defer rt.life.Unlock()
	if err := s.save(&rt.rec); err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("recording it: %w", err)
	}
	s.pools[key] = rt
	s.mu.Unlock()
	logf("recorded as creating; starting %s of %s from image %s %s", serverCount(spec.Count), spec.Role, img.Name, short(img.BuildID))

	if err := s.bringUp(ctx, rt, img, req.Secrets, true, logf); err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("creation interrupted (the client went away): %w", err)
		}
		return s.failCreate(rt, err)
	}
	s.mu.Lock()
	rt.rec.State = cloud.PoolReady
	err = s.save(&rt.rec)
	v := poolView(&rt.rec, rt, false)
	s.mu.Unlock()
	if err != nil {
		return s.failCreate(rt, fmt.Errorf("recording it ready: %w", err))
	}
	logf("ready: %d/%d servers healthy", v.Servers, v.Count)
	return &v, nil
}

// bringUp starts a pool's servers from its image (refusing a drifted
// image), waits until every one passes its health check, optionally runs
// the smoke checks and warm-up requests, and starts the health loop. On
// error the servers it started are left for the caller to stop. rt.life
// held.
func (s *supervisor) bringUp(ctx context.Context, rt *poolRT, img *imageRec, secrets map[string]string, checks bool, logf func(string, ...any)) error {
	if err := verifyImage(img); err != nil {
		rt.drift.Store(true)
		return err
	}
	rt.drift.Store(false)
	var list []*server
	for i := range rt.rec.Spec.Count {
		sv, err := startServer(s.home, &rt.rec, img.Dir, i, secrets)
		if err != nil {
			return err
		}
		list = append(list, sv)
		l := append([]*server(nil), list...)
		rt.servers.Store(&l)
		s.mu.Lock()
		rt.rec.Servers = append(rt.rec.Servers, sv.rec)
		err = s.save(&rt.rec)
		s.mu.Unlock()
		if err != nil {
			return fmt.Errorf("recording server %d: %w", i, err)
		}
		logf("server %d started: pid %d on %s, log %s", i, sv.rec.PID, sv.addr, sv.rec.Log)
	}
	if err := rt.waitHealthy(ctx, &rt.rec, logf); err != nil {
		return err
	}
	logf("%s GET %s", passCount(len(list)), rt.rec.Spec.Health.Path)
	if checks {
		if err := smokeAndWarm(ctx, &rt.rec, list, logf); err != nil {
			return err
		}
	}
	s.startMonitor(rt)
	return nil
}

// failCreate stops what a failed create started and records it failed.
func (s *supervisor) failCreate(rt *poolRT, cause error) (*cloud.Pool, error) {
	s.stopPool(rt, 0)
	s.mu.Lock()
	defer s.mu.Unlock()
	rt.rec.State, rt.rec.Reason, rt.rec.Servers = cloud.PoolFailed, cause.Error(), nil
	if err := s.save(&rt.rec); err != nil {
		s.log.Printf("recording pool %s failed: %v", rt.rec.ID, err)
	}
	s.log.Printf("pool %s failed: %v", rt.rec.ID, cause)
	v := poolView(&rt.rec, rt, false)
	return &v, cause
}

// warm starts a cold pool's servers again and waits until they are
// healthy. rt.life must not be held.
func (s *supervisor) warm(ctx context.Context, rt *poolRT, secrets map[string]string) error {
	rt.life.Lock()
	defer rt.life.Unlock()
	s.mu.Lock()
	state, id := rt.rec.State, rt.rec.ID
	img, err := s.image(rt.rec.Project, rt.rec.BuildID)
	img = rt.rec.tree(img)
	s.mu.Unlock()
	switch {
	case state == cloud.PoolReady:
		return nil
	case state != cloud.PoolCold:
		return fmt.Errorf("warming pool %s (%s): %w", id, state, cloud.ErrNotReady)
	case err != nil:
		return err
	case img == nil:
		return fmt.Errorf("warming pool %s: its image %s is gone: %w", id, short(rt.rec.BuildID), cloud.ErrNotReady)
	}
	if missing := missingSecrets(&rt.rec, secrets); missing != "" {
		return fmt.Errorf("warming pool %s: secret %s was not passed to start it with", id, missing)
	}
	logf := func(format string, args ...any) { s.log.Printf("pool %s: "+format, append([]any{id}, args...)...) }
	if err := s.bringUp(ctx, rt, img, secrets, false, logf); err != nil {
		s.stopPool(rt, 0)
		s.mu.Lock()
		rt.rec.Servers = nil
		rt.rec.Reason = "warming failed: " + err.Error()
		_ = s.save(&rt.rec)
		s.mu.Unlock()
		return fmt.Errorf("warming pool %s: %v: %w", id, err, cloud.ErrNotReady)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rt.rec.State, rt.rec.Reason, rt.rec.WarmOnUp = cloud.PoolReady, "", false
	return s.save(&rt.rec)
}

func missingSecrets(rec *poolRec, secrets map[string]string) string {
	names := make([]string, 0, len(rec.Spec.Secrets))
	for n := range rec.Spec.Secrets {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if _, ok := secrets[n]; !ok {
			return n
		}
	}
	return ""
}

// setWarm implements SetWarm. Cooling checks that no endpoint routes to
// the pool and marks it cold in the same critical section, so a swap that
// comes after sees it cold (and would start it again) rather than routing
// to servers about to stop.
func (s *supervisor) setWarm(ctx context.Context, req *warmReq) error {
	key := string(recKey(req.Project, req.Pool))
	s.mu.Lock()
	rt, ok := s.pools[key]
	if !ok {
		s.mu.Unlock()
		return fmt.Errorf("setting pool %s warm=%v: %w", req.Pool, req.Warm, cloud.ErrNotFound)
	}
	if req.Warm {
		state, reason := rt.rec.State, rt.rec.Reason
		s.mu.Unlock()
		if state == cloud.PoolFailed {
			return fmt.Errorf("warming pool %s: %w: it failed: %s", req.Pool, cloud.ErrNotReady, reason)
		}
		return s.warm(ctx, rt, req.Secrets)
	}
	if ep := s.keepingEndpoint(req.Project, req.Pool); ep != "" {
		s.mu.Unlock()
		return fmt.Errorf("cooling pool %s: endpoint %s routes to it: %w", req.Pool, ep, cloud.ErrServing)
	}
	rt.rec.WarmOnUp = false
	if rt.rec.State == cloud.PoolReady {
		rt.rec.State, rt.rec.Reason = cloud.PoolCold, ""
		if err := s.save(&rt.rec); err != nil {
			s.mu.Unlock()
			return err
		}
	}
	s.mu.Unlock()
	rt.life.Lock()
	defer rt.life.Unlock()
	s.stopPool(rt, 30*time.Second)
	s.mu.Lock()
	defer s.mu.Unlock()
	rt.rec.Servers = nil
	return s.save(&rt.rec)
}

// deletePool implements DeletePool: refused while an endpoint routes to the
// pool or a swap to it is under way (checked under the mutex every swap
// takes to check and pin its pools); otherwise the pool
// leaves the map at once (no swap can pick it), its servers stop after
// their requests in flight, and its record goes last, so a crash in
// between leaves a record the next supervisor still knows.
func (s *supervisor) deletePool(project, id string) error {
	key := string(recKey(project, id))
	s.mu.Lock()
	rt, ok := s.pools[key]
	if !ok {
		s.mu.Unlock()
		return nil
	}
	if ep := s.keepingEndpoint(project, id); ep != "" {
		s.mu.Unlock()
		return fmt.Errorf("deleting pool %s: endpoint %s routes to it: %w", id, ep, cloud.ErrServing)
	}
	delete(s.pools, key)
	s.deleting[key] = true
	s.mu.Unlock()

	rt.life.Lock()
	s.stopPool(rt, 30*time.Second)
	rt.life.Unlock()

	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.deleting, key)
	if err := s.st.update(func(tx *bolt.Tx) error { return del(tx, bucketPools, recKey(project, id)) }); err != nil {
		return fmt.Errorf("deleting pool %s: %w", id, err)
	}
	s.log.Printf("pool %s deleted", id)
	s.pruneLogsSoon()
	s.sweepTrees(rt.rec.BuildID) // the tree a rebake replaced, if this pool was its last user
	return nil
}

// poolRecord returns a pool's record (secret references, never values).
func (s *supervisor) poolRecord(project, id string) (*poolRec, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rt, ok := s.pools[string(recKey(project, id))]
	if !ok {
		return nil, fmt.Errorf("pool %s: %w", id, cloud.ErrNotFound)
	}
	rec := rt.rec
	return &rec, nil
}

// coldServing lists the pools `phoenix cloud up` starts again: serving
// pools whose servers are stopped and pools that `down` stopped.
func (s *supervisor) coldServing() []coldServing {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []coldServing
	for _, rt := range s.pools {
		if rt.rec.State == cloud.PoolCold && (rt.rec.WarmOnUp || s.servingEndpoint(rt.rec.Project, rt.rec.ID) != "") {
			out = append(out, coldServing{Project: rt.rec.Project, Pool: rt.rec.ID, Secrets: rt.rec.Spec.Secrets})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Pool < out[j].Pool })
	return out
}

// observe returns everything recorded for project, with live health and
// the images' drift (checked outside s.mu: a first check of a tree hashes
// it whole).
func (s *supervisor) observe(project string) (*cloud.Live, error) {
	if project == "" {
		return nil, errors.New("observing: no project given")
	}
	recs := map[string]*imageRec{}
	live, err := s.observeRecorded(project, recs)
	if err != nil {
		return nil, err
	}
	markDrift(live.Images, recs)
	return live, nil
}

// observeRecorded returns what observe does but the images' drift, and
// fills recs with the image records by build id.
func (s *supervisor) observeRecorded(project string, recs map[string]*imageRec) (*cloud.Live, error) {
	live := &cloud.Live{Images: []cloud.Image{}, Pools: []cloud.Pool{}, Endpoints: []cloud.Endpoint{}}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.st.view(func(tx *bolt.Tx) error {
		if err := each(tx, bucketImages, projectPrefix(project), func(r *imageRec) error {
			live.Images = append(live.Images, r.live())
			recs[r.BuildID] = r
			return nil
		}); err != nil {
			return err
		}
		return each(tx, bucketLocks, projectPrefix(project), func(r *lockRec) error {
			if r.Expires.After(now) {
				live.Locks = append(live.Locks, cloud.LockInfo{Env: r.Env, Owner: r.Owner, Expires: r.Expires})
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	for _, rt := range s.pools {
		if rt.rec.Project == project {
			serving := s.servingEndpoint(project, rt.rec.ID) != ""
			live.Pools = append(live.Pools, poolView(&rt.rec, rt, serving))
		}
	}
	for _, ep := range s.endpoints {
		if ep.Project == project {
			live.Endpoints = append(live.Endpoints, cloud.Endpoint{
				Cloud: "local", Env: ep.Env, Role: ep.Role, Address: ep.Address,
				Backends: append([]cloud.Backend(nil), ep.Backends...),
			})
		}
	}
	sortLive(live)
	return live, nil
}

func sortStatus(st *Status) {
	sort.Slice(st.Endpoints, func(i, j int) bool { return st.Endpoints[i].Address < st.Endpoints[j].Address })
	sort.Slice(st.Pools, func(i, j int) bool { return st.Pools[i].ID < st.Pools[j].ID })
}
