package local

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/internal/logfiles"
	"github.com/phoenix-gitops/phoenix/model"
)

// Options configure a Cloud.
type Options struct {
	// Home is PHOENIX_HOME: state, images, logs and the supervisor's socket.
	Home string
	// ReadOnly makes a cloud for commands that only look: it never starts
	// the supervisor, and when none runs Observe reads the recorded state
	// (see offline.go) and every other call fails.
	ReadOnly bool
	// Spec is the spec this process plans or applies, if any. The secret
	// references it gives a pool are this process's own choice too, so a
	// cold pool the spec still describes (same environment, role and key)
	// may be started with them when the home holds no record of the pool's
	// references (a pool created before Phoenix kept records).
	Spec *model.Desired
	// SupervisorCommand returns the command that runs the supervisor for
	// home in the foreground (it is started detached, in its own session).
	// The default runs this executable as `phoenix supervise --home HOME`;
	// tests of this package run their own test binary.
	SupervisorCommand func(home string) (*exec.Cmd, error)
}

// Cloud is the local cloud as seen by the CLI: a client of the home's
// supervisor, which it starts when it is not running. It is safe for
// concurrent use by many goroutines, and many processes may use the same
// home at once (they all talk to the one supervisor).
type Cloud struct {
	home   string
	opts   Options
	client *http.Client

	startMu sync.Mutex
	// offline is set once Observe read the records of a cloud that is down.
	offline atomic.Bool
}

var _ cloud.Cloud = (*Cloud)(nil)

// Open returns the local cloud of home. It does not start the supervisor;
// the first call that needs it does.
func Open(opts Options) (*Cloud, error) {
	if err := checkPlatform(); err != nil {
		return nil, err
	}
	if opts.Home == "" {
		return nil, errors.New("opening local cloud: no PHOENIX_HOME")
	}
	home, err := filepath.Abs(opts.Home)
	if err != nil {
		return nil, err
	}
	opts.Home = home
	if opts.SupervisorCommand == nil {
		opts.SupervisorCommand = defaultSupervisorCommand
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dialSupervisor(ctx, home)
		},
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     30 * time.Second,
	}
	return &Cloud{home: home, opts: opts, client: &http.Client{Transport: tr}}, nil
}

func defaultSupervisorCommand(home string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return exec.Command(exe, "supervise", "--home", home), nil
}

// ObservedOffline reports whether Observe read the records of a cloud
// whose supervisor was not running (ReadOnly only).
func (c *Cloud) ObservedOffline() bool { return c.offline.Load() }

// Home returns the cloud's PHOENIX_HOME.
func (c *Cloud) Home() string { return c.home }

// Name implements cloud.Cloud.
func (c *Cloud) Name() string { return "local" }

// Running reports whether the supervisor answers.
func (c *Cloud) Running(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return c.do(ctx, http.MethodGet, pathPing, nil, nil) == nil
}

// Up starts the supervisor if it is not running and waits until it
// answers. Pools that `Down` stopped (and serving pools left cold) are
// started again, with their secrets resolved from this process's
// environment: the references this home recorded when it created them,
// never others the supervisor names (see secret_refs.go).
func (c *Cloud) Up(ctx context.Context) error {
	if err := c.ensure(ctx); err != nil {
		return err
	}
	var cold []coldServing
	if err := c.do(ctx, http.MethodGet, pathColdServing, nil, &cold); err != nil {
		return err
	}
	var errs []error
	for _, p := range cold {
		secrets, err := resolvePoolSecrets(c.home, p.Project, p.Pool, p.Secrets, specRefs(c.opts.Spec, p.Project, p.Pool))
		if err == nil {
			err = c.call(ctx, pathSetWarm, warmReq{Project: p.Project, Pool: p.Pool, Warm: true, Secrets: secrets}, nil)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("starting serving pool %s: %w", p.Pool, err))
		}
	}
	return errors.Join(errs...)
}

// Down stops every server and proxy and the supervisor, and waits until
// its process is gone. Records and images stay: pools that ran are cold.
//
// When no supervisor answers but servers one started still run (it was
// killed, or stopped by a signal, which leaves them for the next one to
// adopt), Down starts a supervisor, which adopts them by pid and start
// time, and stops it with them: nothing recorded is left running. It does
// nothing when nothing runs. It fails, naming them, if servers still run
// afterwards.
func (c *Cloud) Down(ctx context.Context) error {
	var st Status
	err := c.do(ctx, http.MethodGet, pathStatus, nil, &st)
	if isNotRunning(err) {
		pools, rerr := readPoolsOffline(c.home)
		switch {
		case rerr == nil && len(runningServers(pools)) == 0:
			return nil
		case rerr != nil && !errors.Is(rerr, errStateBusy):
			return rerr
		}
		// Servers run without a supervisor (or one is starting): start
		// one to adopt them, then stop it with everything.
		if err := c.ensure(ctx); err != nil {
			return fmt.Errorf("starting a supervisor to stop the servers left running: %w", c.hungSupervisor(err))
		}
		err = c.do(ctx, http.MethodGet, pathStatus, nil, &st)
	}
	if err != nil {
		return err
	}
	// Everything that must be gone afterwards: the supervisor's servers
	// as it sees them, and any recorded server it did not adopt.
	procs := map[int]uint64{}
	addStartTimes(procs, st.Pools)
	if err := c.do(ctx, http.MethodPost, pathShutdown, struct{}{}, nil); err != nil && !isNotRunning(err) {
		return fmt.Errorf("stopping the supervisor: %w", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for pidAlive(st.PID) && !isZombie(st.PID) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if pidAlive(st.PID) && !isZombie(st.PID) {
		return fmt.Errorf("the supervisor (pid %d) did not exit", st.PID)
	}
	return c.checkNothingRuns(procs)
}

// checkNothingRuns fails if a process of procs (pid to start time) or a
// server recorded in the state still runs after Down.
func (c *Cloud) checkNothingRuns(procs map[int]uint64) error {
	if pools, err := readPoolsOffline(c.home); err == nil {
		addStartTimes(procs, runningServers(pools))
	}
	var left []int
	for pid, start := range procs {
		if processMatches(pid, start) {
			left = append(left, pid)
		}
	}
	if len(left) > 0 {
		sort.Ints(left)
		return fmt.Errorf("servers still run after stopping the supervisor: pids %v", left)
	}
	return nil
}

// addStartTimes adds to procs each pid of pools with its start time now,
// so that a pid the kernel gives to another program later is not counted.
func addStartTimes(procs map[int]uint64, pools []PoolStatus) {
	for _, p := range pools {
		for _, pid := range p.PIDs {
			procs[pid] = processStartTime(pid)
		}
	}
}

// hungSupervisor adds to err the pid of a supervisor that holds the home
// but does not answer, when there is one.
func (c *Cloud) hungSupervisor(err error) error {
	pid := lockFilePID(c.home)
	if pid <= 0 || !pidAlive(pid) || isZombie(pid) {
		return err
	}
	return fmt.Errorf("%w (supervisor pid %d holds %s but does not answer: stop it with kill %d, then run this again)", err, pid, c.home, pid)
}

func isZombie(pid int) bool { return processStartTime(pid) == 0 }

// Status returns the supervisor's view, or an error wrapping ErrNotRunning.
func (c *Cloud) Status(ctx context.Context) (*Status, error) {
	var st Status
	if err := c.do(ctx, http.MethodGet, pathStatus, nil, &st); err != nil {
		if isNotRunning(err) {
			return nil, ErrNotRunning
		}
		return nil, err
	}
	return &st, nil
}

// ErrNotRunning says no supervisor runs for the home.
var ErrNotRunning = errors.New("the local cloud is not running")

// notRunningError marks a failure to reach the supervisor's socket.
type notRunningError struct{ err error }

func (e *notRunningError) Error() string {
	return "the local cloud's supervisor is not reachable: " + e.err.Error()
}
func (e *notRunningError) Unwrap() error { return e.err }

func isNotRunning(err error) bool {
	var nr *notRunningError
	return errors.As(err, &nr)
}

// ensure starts the supervisor unless it answers. Concurrent callers in
// this process start it once; concurrent processes may each start one, and
// all but one exit at once (the home's flock decides).
func (c *Cloud) ensure(ctx context.Context) error {
	if err := c.ping(ctx); err == nil || isUnsafeSocket(err) {
		return err
	}
	if c.opts.ReadOnly {
		return errReadOnly
	}
	c.startMu.Lock()
	defer c.startMu.Unlock()
	if err := c.ping(ctx); err == nil || isUnsafeSocket(err) {
		return err
	}
	if err := EnsureHome(c.home); err != nil {
		return err
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := c.startSupervisor(ctx, deadline)
		if !errors.Is(err, errLockHeld) || time.Now().After(deadline) {
			return err
		}
		// The supervisor holding the home's lock does not answer: it is
		// dying (a killed process keeps its lock until its last thread
		// is gone), so start another once it has let go.
	}
}

// errLockHeld: the supervisor started exited because another holds the
// home's lock, and that one does not answer.
var errLockHeld = errors.New("another supervisor holds this PHOENIX_HOME but does not answer")

// startSupervisor starts one supervisor and waits until the home's
// supervisor answers, that one exits, or deadline passes.
func (c *Cloud) startSupervisor(ctx context.Context, deadline time.Time) error {
	cmd, err := c.opts.SupervisorCommand(c.home)
	if err != nil {
		return fmt.Errorf("starting the local cloud's supervisor: %w", err)
	}
	logf, err := os.OpenFile(filepath.Join(c.home, "supervisor.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	if cmd.Env == nil {
		cmd.Env = supervisorEnv()
	}
	cmd.Stdin = nil
	cmd.Stdout = logf
	cmd.Stderr = logf
	newSession(cmd)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting the local cloud's supervisor: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	logPath := filepath.Join(c.home, "supervisor.log")
	wait := 5 * time.Millisecond
	for {
		if c.ping(ctx) == nil {
			return nil
		}
		select {
		case err := <-exited:
			// It lost the race to another supervisor, which answers soon,
			// or it failed: its log says why.
			if c.waitPing(ctx, 2*time.Second) == nil {
				return nil
			}
			if err == nil {
				return fmt.Errorf("%w; see %s", errLockHeld, logPath)
			}
			return fmt.Errorf("the local cloud's supervisor exited (%v); see %s", err, logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the local cloud's supervisor did not answer within 20s; see %s", logPath)
		}
		wait = min(wait*2, 100*time.Millisecond)
	}
}

// supervisorEnv is the supervisor's environment: a few variables of the
// caller, not all of it, so that the secrets a CLI holds in its
// environment do not live on in a long-running process.
func supervisorEnv() []string {
	var env []string
	for _, k := range append([]string{"PATH", "HOME", "TMPDIR", "XDG_RUNTIME_DIR", "LANG", "PHOENIX_DRIFT_CHECK"}, logfiles.Vars...) {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func (c *Cloud) waitPing(ctx context.Context, d time.Duration) error {
	deadline := time.Now().Add(d)
	for {
		err := c.ping(ctx)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (c *Cloud) ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	return c.do(ctx, http.MethodGet, pathPing, nil, nil)
}

// call starts the supervisor if needed and POSTs body to path.
func (c *Cloud) call(ctx context.Context, path string, body, out any) error {
	if err := c.ensure(ctx); err != nil {
		return &cloud.TransientError{Err: err}
	}
	err := c.do(ctx, http.MethodPost, path, body, out)
	if isNotRunning(err) {
		return &cloud.TransientError{Err: err}
	}
	return err
}

// getJSON starts the supervisor if needed and GETs path with query.
func (c *Cloud) getJSON(ctx context.Context, path string, q url.Values, out any) error {
	if err := c.ensure(ctx); err != nil {
		return &cloud.TransientError{Err: err}
	}
	err := c.do(ctx, http.MethodGet, path+"?"+q.Encode(), nil, out)
	if isNotRunning(err) {
		return &cloud.TransientError{Err: err}
	}
	return err
}

// do makes one request to the supervisor and decodes the answer or its
// error.
func (c *Cloud) do(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.send(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return decodeReply(resp, out)
}

func (c *Cloud) send(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://supervisor"+path, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		var unsafe *unsafeSocketError
		if errors.As(err, &unsafe) {
			return nil, unsafe
		}
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil, &notRunningError{err}
		}
		return nil, &cloud.TransientError{Err: fmt.Errorf("talking to the local cloud's supervisor: %w", err)}
	}
	return resp, nil
}

func decodeReply(resp *http.Response, out any) error {
	if resp.StatusCode != http.StatusOK {
		var e apiError
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Message == "" {
			return fmt.Errorf("local cloud supervisor: %s", resp.Status)
		}
		return e.toError()
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// Observe implements cloud.Cloud. A ReadOnly cloud whose supervisor is
// not running reads the recorded state instead of starting it.
func (c *Cloud) Observe(ctx context.Context, project string) (*cloud.Live, error) {
	if c.opts.ReadOnly {
		if err := c.ping(ctx); isNotRunning(err) {
			live, err := observeOffline(c.home, project, time.Now())
			if err == nil {
				c.offline.Store(true)
			}
			return live, err
		}
	}
	var live cloud.Live
	if err := c.getJSON(ctx, pathObserve, url.Values{"project": {project}}, &live); err != nil {
		return nil, err
	}
	return &live, nil
}

// CreatePool implements cloud.Cloud. Secrets are resolved here, in the
// caller's environment, and sent to the supervisor in the request body.
func (c *Cloud) CreatePool(ctx context.Context, req cloud.CreateRequest) (cloud.Pool, error) {
	if req.Pool == nil || req.ID == "" {
		return cloud.Pool{}, errors.New("local cloud: create request without a pool or id")
	}
	secrets, err := resolveSecrets(req.Pool.Secrets)
	if err != nil {
		return cloud.Pool{}, err
	}
	if err := c.ensure(ctx); err != nil {
		return cloud.Pool{}, &cloud.TransientError{Err: err}
	}
	if err := recordRefs(c.home, req.Project, req.ID, req.Pool.Secrets); err != nil {
		return cloud.Pool{}, err
	}
	body := createReq{Project: req.Project, ID: req.ID, Generation: req.Generation, Spec: *req.Pool, Image: req.Image, Commit: req.Commit, Secrets: secrets}
	resp, err := c.send(ctx, http.MethodPost, pathCreatePool, body)
	if err != nil {
		return cloud.Pool{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return cloud.Pool{}, decodeReply(resp, nil)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		var ev createEvent
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return cloud.Pool{}, fmt.Errorf("decoding the supervisor's answer: %w", err)
		}
		if ev.Log != "" && req.Log != nil {
			fmt.Fprintln(req.Log, ev.Log)
		}
		if ev.Pool != nil || ev.Error != nil {
			var p cloud.Pool
			if ev.Pool != nil {
				p = *ev.Pool
			}
			if ev.Error != nil {
				return p, ev.Error.toError()
			}
			return p, nil
		}
	}
	if ctx.Err() != nil {
		return cloud.Pool{}, ctx.Err()
	}
	return cloud.Pool{}, &cloud.TransientError{Err: fmt.Errorf("the supervisor stopped answering: %v", sc.Err())}
}

// Swap implements cloud.Cloud. Secrets of cold backends are resolved here
// so the supervisor can start them.
func (c *Cloud) Swap(ctx context.Context, req cloud.SwapRequest) error {
	body := swapReq{SwapRequest: req}
	for _, b := range req.Backends {
		if b.Weight <= 0 {
			continue
		}
		s, err := c.coldSecrets(ctx, req.Project, b.Pool)
		if err != nil {
			return fmt.Errorf("swapping %s/%s: %w", req.Env, req.Role, err)
		}
		if s != nil {
			if body.Secrets == nil {
				body.Secrets = map[string]map[string]string{}
			}
			body.Secrets[b.Pool] = s
		}
	}
	return c.call(ctx, pathSwap, body, nil)
}

// coldSecrets resolves the secrets of a cold pool (nil for a warm pool or
// one without secrets, or one that does not exist: the supervisor says so).
func (c *Cloud) coldSecrets(ctx context.Context, project, id string) (map[string]string, error) {
	var rec poolRec
	err := c.getJSON(ctx, pathPool, url.Values{"project": {project}, "id": {id}}, &rec)
	if errors.Is(err, cloud.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if rec.State != cloud.PoolCold || len(rec.Spec.Secrets) == 0 {
		return nil, nil
	}
	return resolvePoolSecrets(c.home, project, id, rec.Spec.Secrets, specRefs(c.opts.Spec, project, id))
}

// SetWarm implements cloud.Cloud.
func (c *Cloud) SetWarm(ctx context.Context, project, poolID string, warm bool) error {
	req := warmReq{Project: project, Pool: poolID, Warm: warm}
	if warm {
		s, err := c.coldSecrets(ctx, project, poolID)
		if err != nil {
			return fmt.Errorf("warming pool %s: %w", poolID, err)
		}
		req.Secrets = s
	}
	return c.call(ctx, pathSetWarm, req, nil)
}

// DeletePool implements cloud.Cloud.
func (c *Cloud) DeletePool(ctx context.Context, project, poolID string) error {
	if err := c.call(ctx, pathDeletePool, deletePoolReq{Project: project, Pool: poolID}, nil); err != nil {
		return err
	}
	forgetRefs(c.home, project, poolID)
	return nil
}

// DeleteImage implements cloud.Cloud.
func (c *Cloud) DeleteImage(ctx context.Context, project, buildID string) error {
	return c.call(ctx, pathDeleteImage, deleteImageReq{Project: project, BuildID: buildID}, nil)
}

// Lock implements cloud.Cloud.
func (c *Cloud) Lock(ctx context.Context, req cloud.LockRequest) error {
	return c.call(ctx, pathLock, lockReq{Project: req.Project, Env: req.Env, Owner: req.Owner, Lease: req.Lease}, nil)
}

// Unlock implements cloud.Cloud.
func (c *Cloud) Unlock(ctx context.Context, project, env, owner string) error {
	return c.call(ctx, pathUnlock, unlockReq{Project: project, Env: env, Owner: owner}, nil)
}
