package local

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// poolRT is a pool's runtime in the supervisor: its record (guarded by the
// supervisor's mutex), its servers (an atomic list the proxies read without
// locking), the requests in flight to it and its health loop.
type poolRT struct {
	rec poolRec // guarded by supervisor.mu
	// swapping is "env/role" while a swap to the pool is between its
	// check and its publication (guarded by supervisor.mu): the pool is
	// then kept as if it served.
	swapping string

	// life serialises the pool's lifecycle (start, stop, delete); it is
	// held across slow work, never together with supervisor.mu the other
	// way round (life before mu).
	life sync.Mutex

	servers     atomic.Pointer[[]*server]
	rr          atomic.Uint64
	inflight    atomic.Int64
	drift       atomic.Bool
	stopMonitor context.CancelFunc // guarded by life
	meter       poolMeter          // traffic through the endpoint (meter.go)
}

func (p *poolRT) serverList() []*server {
	if l := p.servers.Load(); l != nil {
		return *l
	}
	return nil
}

// pickServer returns a server by round robin, preferring healthy ones,
// then live ones; nil if none runs.
func (p *poolRT) pickServer() *server {
	list := p.serverList()
	if len(list) == 0 {
		return nil
	}
	n := p.rr.Add(1)
	for i := range list {
		s := list[(int(n)+i)%len(list)]
		if s.healthy.Load() && s.alive() {
			return s
		}
	}
	for i := range list {
		s := list[(int(n)+i)%len(list)]
		if s.alive() {
			return s
		}
	}
	return list[int(n)%len(list)]
}

// health counts the servers that run and pass their checks, and says why
// the others do not.
func (p *poolRT) health() (ok int, reasons []string) {
	for _, s := range p.serverList() {
		if s.alive() && s.healthy.Load() {
			ok++
			continue
		}
		if r := s.reason(); r != "" {
			reasons = append(reasons, r)
		} else {
			reasons = append(reasons, fmt.Sprintf("server %d has not passed a health check yet", s.rec.Index))
		}
	}
	return ok, reasons
}

// healthClient runs health checks, smoke checks and warm-up requests.
var healthClient = &http.Client{
	Transport: &http.Transport{
		Proxy:               nil,
		MaxIdleConnsPerHost: 4,
		IdleConnTimeout:     10 * time.Second,
	},
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// get does one GET against a server with a timeout and returns the status
// and up to 64 KiB of the body.
func httpGet(ctx context.Context, addr, path string, timeout time.Duration) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := healthClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(body), nil
}

// checkServer runs one health check and records its outcome.
func checkServer(ctx context.Context, s *server, path string, timeout time.Duration) bool {
	ok, _ := probeServer(ctx, s, path, timeout)
	return ok
}

// healthSettings returns the pool's check path, interval and timeout with
// defaults filled in.
func healthSettings(rec *poolRec) (path string, interval, timeout time.Duration) {
	h := rec.Spec.Health
	path, interval, timeout = h.Path, h.Interval, h.Timeout
	if path == "" {
		path = "/"
	}
	if interval <= 0 {
		interval = 2 * time.Second
	}
	if interval < 50*time.Millisecond {
		interval = 50 * time.Millisecond
	}
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	return path, interval, timeout
}

// startupTimeout is how long a new pool's servers get to pass their first
// health check: the spec's health deadline, else twenty intervals, between
// 10 s and 2 min.
func startupTimeout(rec *poolRec) time.Duration {
	if d := rec.Spec.Health.Deadline; d > 0 {
		return d
	}
	_, interval, _ := healthSettings(rec)
	return min(max(20*interval, 10*time.Second), 2*time.Minute)
}

// monitor checks every server at the pool's interval until ctx ends, and
// the image tree against its digest every driftEvery (a changed tree is
// drift: the pool is reported unhealthy, with Drift set, for the planner
// to replace).
func (p *poolRT) monitor(ctx context.Context, path string, interval, timeout, driftEvery time.Duration, verifyImage func() error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	lastVerify := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var wg sync.WaitGroup
		for _, s := range p.serverList() {
			wg.Add(1)
			go func() { defer wg.Done(); checkServer(ctx, s, path, timeout) }()
		}
		wg.Wait()
		if verifyImage != nil && time.Since(lastVerify) >= driftEvery {
			lastVerify = time.Now()
			p.drift.Store(verifyImage() != nil)
		}
	}
}

// waitHealthy polls every server until all pass, one exits, or the
// timeout passes, reporting each server's answers as they change.
func (p *poolRT) waitHealthy(ctx context.Context, rec *poolRec, logf func(string, ...any)) error {
	path, interval, timeout := healthSettings(rec)
	deadline := time.Now().Add(startupTimeout(rec))
	answers := newAnswerLog(path, interval, logf)
	poll := 50 * time.Millisecond
	for {
		all := true
		for _, s := range p.serverList() {
			if !s.alive() {
				return fmt.Errorf("%s before passing its health check%s", s.reason(), logTail(s.rec.Log))
			}
			if s.healthy.Load() {
				continue
			}
			ok, answer := probeServer(ctx, s, path, timeout)
			answers.saw(s.rec.Index, ok, answer)
			all = all && ok
		}
		if all {
			return nil
		}
		if time.Now().After(deadline) {
			ok, reasons := p.health()
			return fmt.Errorf("%d of %d servers healthy after %s (health deadline): %s", ok, len(p.serverList()), startupTimeout(rec), strings.Join(reasons, "; "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(poll):
		}
		if poll < 500*time.Millisecond {
			poll += poll / 2
		}
	}
}

// smokeAndWarm runs the role's smoke checks against every server, then its
// warm-up requests. A warm-up fails on a connection error or a 5xx.
func smokeAndWarm(ctx context.Context, rec *poolRec, servers []*server, logf func(string, ...any)) error {
	_, _, timeout := healthSettings(rec)
	timeout = max(timeout, 5*time.Second)
	for _, sm := range rec.Spec.Smoke {
		want := sm.Status
		if want == 0 {
			want = http.StatusOK
		}
		for _, s := range servers {
			code, body, err := httpGet(ctx, s.addr, sm.Path, timeout)
			if err != nil {
				return fmt.Errorf("smoke check GET %s on server %d: %w", sm.Path, s.rec.Index, err)
			}
			if code != want {
				return fmt.Errorf("smoke check GET %s on server %d: status %d, want %d; body: %s", sm.Path, s.rec.Index, code, want, clip(body))
			}
			if sm.Contains != "" && !strings.Contains(body, sm.Contains) {
				return fmt.Errorf("smoke check GET %s on server %d: body does not contain %q; body: %s", sm.Path, s.rec.Index, sm.Contains, clip(body))
			}
		}
		logf("smoke check GET %s passed on %s", sm.Path, serverCount(len(servers)))
	}
	for _, path := range rec.Spec.Warm {
		for _, s := range servers {
			code, body, err := httpGet(ctx, s.addr, path, timeout)
			if err != nil {
				return fmt.Errorf("warm-up GET %s on server %d: %w", path, s.rec.Index, err)
			}
			if code >= 500 {
				return fmt.Errorf("warm-up GET %s on server %d: status %d; body: %s", path, s.rec.Index, code, clip(body))
			}
		}
		logf("warm-up GET %s done on %s", path, serverCount(len(servers)))
	}
	return nil
}

func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// logTail returns ": last output: ..." with the end of a server's log, or
// "" if it has none.
func logTail(path string) string {
	t := tailFile(path, 1024)
	if t == "" {
		return ""
	}
	return "; last output:\n" + t
}

func tailFile(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return ""
	}
	off := max(info.Size()-n, 0)
	b := make([]byte, info.Size()-off)
	if _, err := f.ReadAt(b, off); err != nil && err != io.EOF {
		return ""
	}
	return strings.TrimRight(string(b), "\n")
}

// serverEnv is the environment of a server: a fixed PATH (servers do not
// inherit the environment of whoever ran Phoenix), the pool's config, its
// resolved secrets, Phoenix's identity variables and PORT.
func serverEnv(rec *poolRec, secrets map[string]string, port int) []string {
	vars := map[string]string{
		"PATH": "/usr/local/bin:/usr/bin:/bin",
	}
	for k, v := range rec.Spec.Config {
		vars[k] = v
	}
	for k, v := range secrets {
		vars[k] = v
	}
	vars["PHOENIX_PROJECT"] = rec.Project
	vars["PHOENIX_ENV"] = rec.Spec.Env
	vars["PHOENIX_ROLE"] = rec.Spec.Role
	vars["PHOENIX_POOL"] = rec.ID
	vars["PORT"] = strconv.Itoa(port)
	env := make([]string, 0, len(vars))
	for k, v := range vars {
		env = append(env, k+"="+v)
	}
	sort.Strings(env)
	return env
}

// startServer starts server index of a pool from the image at dir.
func startServer(home string, rec *poolRec, dir string, index int, secrets map[string]string) (*server, error) {
	port, err := freePort()
	if err != nil {
		return nil, fmt.Errorf("finding a free port: %w", err)
	}
	logPath := serverLogPath(home, rec, index)
	if err := os.MkdirAll(filepath.Dir(logPath), 0o700); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("opening server log: %w", err)
	}
	defer logf.Close()
	cmd := exec.Command("/bin/sh", "-c", rec.Spec.Command)
	cmd.Dir = dir
	cmd.Env = serverEnv(rec, secrets, port)
	cmd.Stdin = nil
	cmd.Stdout = logf
	cmd.Stderr = logf
	newGroup(cmd)
	fmt.Fprintf(logf, "--- phoenix: starting server %d of pool %s on port %d at %s\n", index, rec.ID, port, time.Now().UTC().Format(time.RFC3339))
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting server %d: %w", index, err)
	}
	sr := serverRec{Index: index, PID: cmd.Process.Pid, StartTime: processStartTime(cmd.Process.Pid), Port: port, Log: logPath}
	s := newServer(sr, true)
	go func() {
		err := cmd.Wait()
		// The server is its whole process group: when the leader exits
		// (crashed, or its sh killed alone), what it started goes too, so
		// no child keeps running unseen on the server's port. The group's
		// id cannot be taken by another process while a member remains.
		_ = signalGroup(sr.PID, syscall.SIGKILL)
		s.markExited(err)
	}()
	return s, nil
}

// serverLogPath is where a server's output goes: one file per server under
// logs/ENV/ROLE, kept after the pool is deleted.
func serverLogPath(home string, rec *poolRec, index int) string {
	return filepath.Join(home, "logs", rec.Spec.Env, rec.Spec.Role, fmt.Sprintf("%s-%d.log", rec.ID, index))
}

// recordView is what a pool's record says of it, the same whether the
// supervisor runs (poolView) or the cloud is read while down
// (offlinePoolView): the facts a plan rests on (released, rejected, when it
// served) must not depend on which of the two read them. A serving pool
// that has no served time (a record from before one was kept) reports its
// creation.
func recordView(rec *poolRec, serving bool) cloud.Pool {
	v := cloud.Pool{
		ID: rec.ID, Env: rec.Spec.Env, Role: rec.Spec.Role, Key: rec.Spec.Key,
		Generation: rec.Generation, Image: rec.ImageName, BuildID: rec.BuildID,
		Commit: rec.Commit, CreatedAt: rec.CreatedAt, State: rec.State,
		Count: max(rec.Spec.Count, 1), LastServed: rec.LastServed, Reason: rec.Reason,
		Released: rec.Released,
		Rejected: rec.Rejected, RejectedAt: rec.RejectedAt,
		Cloud: model.CloudLocal,
	}
	if serving && v.LastServed.IsZero() {
		v.LastServed = rec.CreatedAt
	}
	return v
}

// poolView builds the live picture of a pool from its record and runtime.
// LastServed is the record's: the time of the last swap that started or
// stopped the pool's traffic (or changed its share), so a serving pool
// says when it started serving and two observations agree. A serving pool
// whose record has no such time (written before swaps recorded it) says
// when it was created: it cannot have served before. The time of the
// observation (the last parameter) is deliberately unused: no fact of the
// view may move with the clock alone.
func poolView(rec *poolRec, p *poolRT, serving bool) cloud.Pool {
	v := recordView(rec, serving)
	if p != nil {
		v.Drift = p.drift.Load()
	}
	switch rec.State {
	case cloud.PoolReady:
		ok, reasons := p.health()
		v.Servers = ok
		v.Healthy = ok >= v.Count && !v.Drift
		if !v.Healthy && v.Reason == "" {
			if v.Drift {
				reasons = append(reasons, "image tree does not match its digest")
			}
			v.Reason = strings.Join(reasons, "; ")
		}
	case cloud.PoolCreating:
		ok, _ := p.health()
		v.Servers = ok
	}
	return v
}

// serverCount counts servers for a progress line: "1 server", "3 servers".
func serverCount(n int) string {
	if n == 1 {
		return "1 server"
	}
	return fmt.Sprintf("%d servers", n)
}

// passCount starts the health line: "the server passes", "all 3 servers pass".
func passCount(n int) string {
	if n == 1 {
		return "the server passes"
	}
	return fmt.Sprintf("all %d servers pass", n)
}
