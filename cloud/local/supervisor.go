package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/internal/logfiles"
)

// ErrSupervisorRunning is returned by RunSupervisor when another
// supervisor already owns the home.
var ErrSupervisorRunning = errors.New("a supervisor is already running for this PHOENIX_HOME")

// supervisor is the one process that owns a PHOENIX_HOME: the state
// database, every server process, every endpoint's reverse proxy and the
// health checks. Everything that acts goes through it, so a check such as
// "does an endpoint route to this pool" and the action that depends on it
// happen under one mutex, at that moment.
type supervisor struct {
	home    string
	st      *store
	started time.Time
	log     *log.Logger

	mu        sync.Mutex
	pools     map[string]*poolRT      // by recKey(project, id)
	deleting  map[string]bool         // pools being deleted
	endpoints map[string]*endpointRec // by recKey(project, env, role)
	proxies   map[string]*proxy       // by address
	claims    map[string]string       // addresses a swap is opening, to its endpoint's key
	epLocks   map[string]*sync.Mutex  // by endpoint key: queues its swaps

	// swapGate is held shared by each swap between its check and its
	// publication, and exclusively by stopAll, so that nothing a swap
	// publishes outlives a stop.
	swapGate sync.RWMutex
	// beforeCommit, when set (by tests), is called by a swap before it
	// commits, without the mutex: a slow disk.
	beforeCommit func(target string)

	quit     chan struct{}
	quitOnce sync.Once

	// driftEvery is how often running pools' image trees are checked
	// against their digests (PHOENIX_DRIFT_CHECK, default 30s).
	driftEvery time.Duration
	driftMu    sync.Mutex
	driftSeen  map[string]driftCheck // by image dir: one hash serves every pool of an image

	logPrune chan struct{} // asks the log pruner for a run (logprune.go)
}

type driftCheck struct {
	at  time.Time
	err error
}

// verifyCached checks an image's tree, reusing a check younger than half
// the drift interval.
func (s *supervisor) verifyCached(img *imageRec) error {
	s.driftMu.Lock()
	c, ok := s.driftSeen[img.Dir]
	s.driftMu.Unlock()
	if ok && time.Since(c.at) < s.driftEvery/2 {
		return c.err
	}
	err := verifyImage(img)
	s.driftMu.Lock()
	s.driftSeen[img.Dir] = driftCheck{at: time.Now(), err: err}
	s.driftMu.Unlock()
	return err
}

// RunSupervisor runs the supervisor of home until ctx ends (the servers
// keep running and are adopted by the next supervisor) or until a shutdown
// request or the removal of home (everything is stopped). It returns
// ErrSupervisorRunning if another supervisor holds home.
func RunSupervisor(ctx context.Context, home string) error {
	home, err := filepath.Abs(home)
	if err != nil {
		return err
	}
	if err := EnsureHome(home); err != nil {
		return err
	}
	lockFile, err := lockHome(home)
	if err != nil {
		return err
	}
	defer lockFile.Close()
	st, err := openStore(filepath.Join(home, "state.db"))
	if err != nil {
		return err
	}
	defer st.Close()
	limits, limitsErr := logfiles.FromEnv()
	s := newSupervisor(home, st)
	s.log = log.New(newSupervisorLog(home, os.Stderr, limits), "phoenix-supervisor ", log.LstdFlags|log.LUTC)
	if d, err := time.ParseDuration(os.Getenv("PHOENIX_DRIFT_CHECK")); err == nil && d > 0 {
		s.driftEvery = d
	}
	if err := s.recover(); err != nil {
		return fmt.Errorf("recovering state: %w", err)
	}
	// Any socket left in place is stale: we hold the home's lock, so no
	// one serves it, and listenSocket renames ours over it.
	sock, err := listenSocket(home, s.log.Printf)
	if err != nil {
		return err
	}
	defer sock.Close()
	srv := &http.Server{Handler: s.routes(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(sock)
	s.log.Printf("started pid %d home %s socket %s", os.Getpid(), home, sock.path)
	go s.watchdog(ctx)
	if limitsErr != nil {
		s.log.Printf("log limits: %v (its default applies)", limitsErr)
	}
	go s.pruneLogsLoop(ctx, limits)

	select {
	case <-ctx.Done():
		s.log.Printf("stopping on signal; servers keep running (the next supervisor adopts them; phoenix cloud down stops them)")
	case <-s.quit:
		s.log.Printf("stopped everything; exiting")
	}
	shut, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shut)
	s.mu.Lock()
	for _, p := range s.proxies {
		p.close()
	}
	s.mu.Unlock()
	return nil
}

// newSupervisor returns the supervisor of home over its open store, with
// nothing running yet.
func newSupervisor(home string, st *store) *supervisor {
	return &supervisor{
		home:      home,
		st:        st,
		started:   time.Now(),
		log:       log.New(os.Stderr, "phoenix-supervisor ", log.LstdFlags|log.LUTC),
		pools:     map[string]*poolRT{},
		deleting:  map[string]bool{},
		endpoints: map[string]*endpointRec{},
		proxies:   map[string]*proxy{},
		claims:    map[string]string{},
		epLocks:   map[string]*sync.Mutex{},
		logPrune:  make(chan struct{}, 1),
		quit:      make(chan struct{}),

		driftEvery: 30 * time.Second,
		driftSeen:  map[string]driftCheck{},
	}
}

// lockHome takes the home's supervisor lock (flock, released by the kernel
// when the process dies, however it dies) and writes the pid into it.
func lockHome(home string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(home, "supervisor.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := lockFile(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, ErrSupervisorRunning
		}
		return nil, fmt.Errorf("locking %s: %w", home, err)
	}
	_ = f.Truncate(0)
	_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return f, nil
}

// watchdog stops everything if the home disappears (a test's temporary
// directory removed, an operator's rm -rf): nothing must outlive it.
func (s *supervisor) watchdog(ctx context.Context) {
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.quit:
			return
		case <-t.C:
		}
		if _, err := os.Stat(filepath.Join(s.home, "supervisor.lock")); errors.Is(err, fs.ErrNotExist) {
			s.log.Printf("home %s is gone; stopping everything", s.home)
			s.stopAll("its home was removed")
			s.quitOnce.Do(func() { close(s.quit) })
			return
		}
		s.reopenEndpoints()
	}
}

// reopenEndpoints retries listening for endpoints whose address was taken
// when the supervisor started: an endpoint on record must serve.
func (s *supervisor) reopenEndpoints() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ep := range s.endpoints {
		if s.proxies[ep.Address] != nil {
			continue
		}
		p, err := startProxy(ep.Address, s.log.Printf)
		if err != nil {
			continue
		}
		p.set.Store(newBackendSet(ep.Backends, s.projectPools(ep.Project)))
		s.proxies[ep.Address] = p
		s.log.Printf("endpoint %s/%s listening again on %s", ep.Env, ep.Role, ep.Address)
	}
}

// recover rebuilds the runtime from the records after a start: running
// servers of ready pools are adopted, ready pools none of whose servers
// runs any more are cold (what `cloud up` starts again), pools caught
// mid-create are failed (no one is creating them any more) and their
// processes stopped, and each endpoint's proxy is opened again.
func (s *supervisor) recover() error {
	var pools []poolRec
	var eps []endpointRec
	err := s.st.view(func(tx *bolt.Tx) error {
		var err error
		if pools, err = allPools(tx); err != nil {
			return err
		}
		return each(tx, bucketEndpoints, nil, func(r *endpointRec) error { eps = append(eps, *r); return nil })
	})
	if err != nil {
		return err
	}
	for i := range pools {
		rec := pools[i]
		if rec.ImageDir == "" { // recorded before pools kept their tree: the image's is theirs
			if img, err := s.image(rec.Project, rec.BuildID); err == nil && img != nil {
				rec.ImageDir, rec.ImageDigest = img.Dir, img.Digest
			}
		}
		rt := &poolRT{rec: rec}
		var list []*server
		for _, sr := range rec.Servers {
			sv := newServer(sr, false)
			if !processMatches(sr.PID, sr.StartTime) {
				sv.markExited(errors.New("is gone (found dead when the supervisor started)"))
			}
			list = append(list, sv)
		}
		rt.servers.Store(&list)
		switch {
		case rec.State == cloud.PoolReady && len(list) > 0 && noneAlive(list):
			// Every server is gone (the machine restarted, or they were
			// killed with the supervisor): the pool is stopped, as `cloud
			// down` leaves it, so `cloud up` (or a swap) starts it again
			// rather than the planner replacing it as unhealthy.
			rt.rec.State, rt.rec.WarmOnUp, rt.rec.Servers = cloud.PoolCold, true, nil
			rt.rec.Reason = "none of its servers was running when the supervisor started (did the machine restart?)"
			rt.servers.Store(&[]*server{})
		case rec.State == cloud.PoolReady:
			checkAll(rt) // the picture is true from the first Observe
			s.startMonitor(rt)
		case rec.State == cloud.PoolCreating:
			stopServers(list, 2*time.Second)
			rt.rec.State, rt.rec.Reason, rt.rec.Servers = cloud.PoolFailed, "creation was interrupted (the supervisor stopped during it)", nil
			rt.servers.Store(&[]*server{})
		default:
			stopServers(list, 2*time.Second) // nothing of a cold or failed pool runs
			rt.rec.Servers = nil
			rt.servers.Store(&[]*server{})
		}
		if err := s.save(&rt.rec); err != nil {
			return err
		}
		s.pools[string(rec.key())] = rt
	}
	for i := range eps {
		ep := eps[i]
		s.endpoints[string(ep.key())] = &ep
		p, err := startProxy(ep.Address, s.log.Printf)
		if err != nil {
			s.log.Printf("endpoint %s/%s: %v (the next swap retries)", ep.Env, ep.Role, err)
			continue
		}
		p.set.Store(newBackendSet(ep.Backends, s.projectPools(ep.Project)))
		s.proxies[ep.Address] = p
	}
	return nil
}

// noneAlive reports whether every server of list has exited.
func noneAlive(list []*server) bool {
	for _, sv := range list {
		if sv.alive() {
			return false
		}
	}
	return true
}

// projectPools maps pool ids of project to their runtimes; s.mu held or
// single-threaded.
func (s *supervisor) projectPools(project string) map[string]*poolRT {
	out := map[string]*poolRT{}
	for _, rt := range s.pools {
		if rt.rec.Project == project {
			out[rt.rec.ID] = rt
		}
	}
	return out
}

// save writes a pool record in its own transaction.
func (s *supervisor) save(rec *poolRec) error {
	return s.st.update(func(tx *bolt.Tx) error { return put(tx, bucketPools, rec.key(), rec) })
}

// stopAll stops every server and proxy; pools that ran become cold (their
// records and images stay, a swap starts them again), pools mid-create
// fail. why completes "stopped by": it is the cold pool's reason.
func (s *supervisor) stopAll(why string) {
	s.swapGate.Lock()
	defer s.swapGate.Unlock()
	s.mu.Lock()
	pools := make([]*poolRT, 0, len(s.pools))
	for _, rt := range s.pools {
		pools = append(pools, rt)
	}
	for addr, p := range s.proxies {
		p.close()
		delete(s.proxies, addr)
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, rt := range pools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rt.life.Lock()
			defer rt.life.Unlock()
			s.stopPool(rt, 0)
			s.mu.Lock()
			defer s.mu.Unlock()
			switch rt.rec.State {
			case cloud.PoolReady:
				rt.rec.State, rt.rec.Reason, rt.rec.WarmOnUp = cloud.PoolCold, "stopped by "+why, true
			case cloud.PoolCreating:
				rt.rec.State, rt.rec.Reason = cloud.PoolFailed, "creation interrupted: stopped by "+why
			}
			rt.rec.Servers = nil
			if err := s.save(&rt.rec); err != nil {
				s.log.Printf("saving pool %s: %v", rt.rec.ID, err)
			}
		}()
	}
	wg.Wait()
}

// stopPool waits (up to drain) for the requests in flight to the pool to
// finish, stops its health loop and its servers. rt.life must be held.
func (s *supervisor) stopPool(rt *poolRT, drain time.Duration) {
	deadline := time.Now().Add(drain)
	for rt.inflight.Load() > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if rt.stopMonitor != nil {
		rt.stopMonitor()
		rt.stopMonitor = nil
	}
	stopServers(rt.serverList(), 5*time.Second)
	rt.servers.Store(&[]*server{})
}

// checkAll health-checks every server of a pool once, in parallel.
func checkAll(rt *poolRT) {
	path, _, timeout := healthSettings(&rt.rec)
	var wg sync.WaitGroup
	for _, sv := range rt.serverList() {
		wg.Add(1)
		go func() { defer wg.Done(); checkServer(context.Background(), sv, path, timeout) }()
	}
	wg.Wait()
}

func stopServers(list []*server, grace time.Duration) {
	var wg sync.WaitGroup
	for _, sv := range list {
		wg.Add(1)
		go func() { defer wg.Done(); sv.stop(grace) }()
	}
	wg.Wait()
}

// startMonitor starts the pool's health loop (rt.life held, or before the
// pool is visible).
func (s *supervisor) startMonitor(rt *poolRT) {
	ctx, cancel := context.WithCancel(context.Background())
	rt.stopMonitor = cancel
	path, interval, timeout := healthSettings(&rt.rec)
	s.mu.Lock()
	img, _ := s.image(rt.rec.Project, rt.rec.BuildID)
	img = rt.rec.tree(img) // the tree the servers run from, not a newer rebake's
	s.mu.Unlock()
	var verify func() error
	if img != nil {
		verify = func() error { return s.verifyCached(img) }
	}
	go rt.monitor(ctx, path, interval, timeout, s.driftEvery, verify)
}

// routes is the supervisor's API.
func (s *supervisor) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+pathPing, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{"pid": os.Getpid(), "home": s.home})
	})
	mux.HandleFunc("GET "+pathStatus, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.status()) })
	mux.HandleFunc("POST "+pathShutdown, func(w http.ResponseWriter, r *http.Request) {
		s.stopAll("phoenix cloud down")
		writeJSON(w, map[string]any{"pid": os.Getpid()})
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
		s.quitOnce.Do(func() { close(s.quit) })
	})
	mux.HandleFunc("GET "+pathObserve, func(w http.ResponseWriter, r *http.Request) {
		live, err := s.observe(r.URL.Query().Get("project"))
		reply(w, live, err)
	})
	mux.HandleFunc("GET "+pathImage, func(w http.ResponseWriter, r *http.Request) {
		im, err := s.getImage(r.URL.Query().Get("project"), r.URL.Query().Get("build"))
		reply(w, im, err)
	})
	handle(mux, pathCommitImage, s.commitImage)
	handle(mux, pathDeleteImage, func(_ context.Context, req *deleteImageReq) (any, error) {
		return nil, s.deleteImage(req.Project, req.BuildID)
	})
	mux.HandleFunc("GET "+pathPool, func(w http.ResponseWriter, r *http.Request) {
		rec, err := s.poolRecord(r.URL.Query().Get("project"), r.URL.Query().Get("id"))
		reply(w, rec, err)
	})
	mux.HandleFunc("POST "+pathCreatePool, s.handleCreate)
	handle(mux, pathSetWarm, func(ctx context.Context, req *warmReq) (any, error) {
		return nil, s.setWarm(ctx, req)
	})
	handle(mux, pathDeletePool, func(_ context.Context, req *deletePoolReq) (any, error) {
		return nil, s.deletePool(req.Project, req.Pool)
	})
	handle(mux, pathSwap, func(ctx context.Context, req *swapReq) (any, error) {
		return nil, s.swap(ctx, req)
	})
	handle(mux, pathLock, func(_ context.Context, req *lockReq) (any, error) { return nil, s.lock(req) })
	handle(mux, pathUnlock, func(_ context.Context, req *unlockReq) (any, error) { return nil, s.unlock(req) })
	mux.HandleFunc("GET "+pathColdServing, func(w http.ResponseWriter, r *http.Request) { writeJSON(w, s.coldServing()) })
	s.analysisRoutes(mux)
	return mux
}

// handle registers a POST handler that decodes a T, checks its names
// (when T has a check method: see validate.go) and replies with the
// result or the error.
func handle[T any](mux *http.ServeMux, path string, fn func(context.Context, *T) (any, error)) {
	mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
		var req T
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			replyErr(w, fmt.Errorf("decoding request: %w", err))
			return
		}
		if c, ok := any(&req).(interface{ check() error }); ok {
			if err := c.check(); err != nil {
				replyErr(w, err)
				return
			}
		}
		out, err := fn(r.Context(), &req)
		reply(w, out, err)
	})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		replyErr(w, err)
		return
	}
	if v == nil {
		v = struct{}{}
	}
	writeJSON(w, v)
}

func replyErr(w http.ResponseWriter, err error) {
	e := toAPIError(err)
	code := http.StatusBadRequest
	switch e.Kind {
	case kindNotFound:
		code = http.StatusNotFound
	case kindServing, kindInUse, kindLocked:
		code = http.StatusConflict
	case kindNotReady:
		code = http.StatusPreconditionFailed
	case kindTransient:
		code = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(e)
}

// status is the supervisor's own view, for `phoenix cloud status`.
func (s *supervisor) status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Status{PID: os.Getpid(), Home: s.home, StartedAt: s.started, Endpoints: []EndpointStatus{}, Pools: []PoolStatus{}}
	for _, ep := range s.endpoints {
		es := EndpointStatus{Project: ep.Project, Env: ep.Env, Role: ep.Role, Address: ep.Address, Backends: ep.Backends}
		if p := s.proxies[ep.Address]; p != nil {
			es.Served = p.served.Load()
		}
		st.Endpoints = append(st.Endpoints, es)
	}
	for _, rt := range s.pools {
		v := poolView(&rt.rec, rt, false)
		ps := PoolStatus{Project: rt.rec.Project, ID: rt.rec.ID, State: v.State, Healthy: v.Healthy, Servers: v.Servers, Count: v.Count, Reason: v.Reason}
		for _, sv := range rt.serverList() {
			if sv.alive() {
				ps.PIDs = append(ps.PIDs, sv.rec.PID)
			}
		}
		st.Pools = append(st.Pools, ps)
	}
	sortStatus(&st)
	return st
}

// keepingEndpoint returns "env/role" of an endpoint of project that
// routes to pool id or is being swapped to it, or "": what forbids
// cooling or deleting the pool. s.mu held.
func (s *supervisor) keepingEndpoint(project, id string) string {
	if rt := s.pools[string(recKey(project, id))]; rt != nil && rt.swapping != "" {
		return rt.swapping
	}
	return s.servingEndpoint(project, id)
}

// servingEndpoint returns "env/role" of an endpoint of project that routes
// to pool id, or ""; s.mu held.
func (s *supervisor) servingEndpoint(project, id string) string {
	for _, ep := range s.endpoints {
		if ep.Project != project {
			continue
		}
		for _, b := range ep.Backends {
			if b.Pool == id && b.Weight > 0 {
				return ep.Env + "/" + ep.Role
			}
		}
	}
	return ""
}
