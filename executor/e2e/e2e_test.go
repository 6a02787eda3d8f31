// Package e2e runs the phoenix binary end to end on the local cloud: real
// bakes, real server processes, real reverse proxies on free loopback
// ports. Each test has its own PHOENIX_HOME and stops its cloud when done.
package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Binaries built once for the package.
var (
	phoenixBin string // the CLI under test
	srvBin     string // the test server baked into images
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() || os.Getenv("PHOENIX_E2E") == "0" {
		fmt.Println("e2e: skipped (-short or PHOENIX_E2E=0)")
		return 0
	}
	if f := flag.Lookup("test.run"); f != nil && f.Value.String() == "^$" {
		return m.Run() // benchmarks only (make bench): nothing to build
	}
	dir, err := os.MkdirTemp("", "phoenix-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	phoenixBin = filepath.Join(dir, "phoenix")
	srvBin = filepath.Join(dir, "srv")
	for _, b := range []struct{ out, pkg string }{{phoenixBin, "../../cmd/phoenix"}, {srvBin, "./testdata/srv"}} {
		cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", b.pkg, err, out)
			return 1
		}
	}
	return m.Run()
}

// env is one test's world: a spec directory, a PHOENIX_HOME, a project
// name of its own and free ports for its endpoints.
type env struct {
	t       *testing.T
	dir     string // spec
	home    string
	project string
	ports   map[string]int // environment -> endpoint port
	// applyArgs are added to every apply (e.g. a short --canary-hold).
	applyArgs []string
}

func newEnv(t *testing.T, envs ...string) *env {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	root := t.TempDir()
	e := &env{t: t, dir: filepath.Join(root, "spec"), home: filepath.Join(root, "home"),
		project: "e2e" + hex.EncodeToString(b), ports: map[string]int{}}
	if err := os.MkdirAll(e.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(srvBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "srv"), data, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range envs {
		e.ports[name] = freePort(t)
	}
	t.Cleanup(func() {
		out, err := e.phoenix("cloud", "down")
		if err != nil {
			t.Logf("phoenix cloud down: %v\n%s", err, out)
		}
	})
	return e
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// release is what changes between deploys.
type release struct {
	Version string // config VERSION: a new pool, no bake
	Leaf    string // written by the leaf image's steps: a bake of that image only
}

// envSpec describes one environment of the test spec.
type envSpec struct {
	Name   string
	After  []string
	Keep   int
	Warm   int
	Canary []int // traffic steps; empty for blue-green
}

// write writes the spec: base -> app (the leaf, with the test server),
// one role "web" of count servers, and the given environments.
func (e *env) write(r release, count int, envs ...envSpec) {
	e.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, `package phoenix

project: %q
images: {
	base: {from: "scratch", steps: ["mkdir -p bin etc"]}
	app: {parent: "base", files: "bin/srv": "srv", steps: ["chmod 755 bin/srv", "echo %s > etc/release"]}
}
roles: web: {
	image:   "app"
	command: "bin/srv"
	count:   %d
	health: {path: "/healthz", interval: "200ms", timeout: "1s"}
	smoke: [{path: "/", status: 200, contains: "pool="}]
	warm: ["/"]
}
environments: {
`, e.project, r.Leaf, count)
	for _, en := range envs {
		after := ""
		if len(en.After) > 0 {
			q := make([]string, len(en.After))
			for i, a := range en.After {
				q[i] = fmt.Sprintf("%q", a)
			}
			after = fmt.Sprintf("\n\t\tafter: [%s]", strings.Join(q, ", "))
		}
		if len(en.Canary) > 0 {
			steps := make([]string, len(en.Canary))
			for i, w := range en.Canary {
				steps[i] = fmt.Sprint(w)
			}
			after += fmt.Sprintf("\n\t\ttraffic: {strategy: \"canary\", steps: [%s]}", strings.Join(steps, ", "))
		}
		fmt.Fprintf(&b, "\t%s: {\n\t\troles: web: endpoint: \"127.0.0.1:%d\"\n\t\tconfig: VERSION: %q\n\t\tretention: {keep: %d, warm: %d}%s\n\t}\n",
			en.Name, e.ports[en.Name], r.Version, en.Keep, en.Warm, after)
	}
	b.WriteString("}\n")
	if err := os.WriteFile(filepath.Join(e.dir, "spec.cue"), []byte(b.String()), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// command returns the phoenix command line with the test's environment.
func (e *env) command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, phoenixBin, args...)
	cmd.Env = append(os.Environ(), "PHOENIX_HOME="+e.home, "NO_COLOR=1", "CI=true")
	cmd.Dir = filepath.Dir(e.dir)
	return cmd
}

// phoenix runs a command to completion and returns its combined output.
func (e *env) phoenix(args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := e.command(ctx, args...).CombinedOutput()
	return string(out), err
}

// mustApply applies the spec and fails the test if it does not succeed.
func (e *env) mustApply() string {
	e.t.Helper()
	out, err := e.phoenix(append([]string{"apply", e.dir, "--yes"}, e.applyArgs...)...)
	if err != nil {
		e.t.Fatalf("phoenix apply: %v\n%s", err, out)
	}
	return out
}

// planSummary runs phoenix plan --format json and returns its summary and
// exit code (0 no changes, 2 changes).
func (e *env) planSummary() (map[string]int, int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := e.command(ctx, "plan", e.dir, "--format", "json")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok || ee.ExitCode() != 2 {
			e.t.Fatalf("phoenix plan: %v\n%s%s", err, out, stderr.String())
		}
		code = 2
	}
	var doc struct {
		Summary map[string]int `json:"summary"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		e.t.Fatalf("plan JSON: %v\n%s", err, out)
	}
	return doc.Summary, code
}

// status is `phoenix status --format json`.
type status struct {
	Endpoints []struct {
		Env, Role, Address string
		Backends           []struct {
			Pool   string
			Weight int
		} `json:"serving"` // status format_version 2
	} `json:"endpoints"`
	Pools []struct {
		ID, Env, Role, Key, State string
		Serving, Healthy, Desired bool
		Servers, Count            int
	} `json:"pools"`
	Images []struct{ Name, BuildID string } `json:"images"`
}

func (e *env) status() *status {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := e.command(ctx, "status", e.dir, "--format", "json").Output()
	if err != nil {
		e.t.Fatalf("phoenix status: %v\n%s", err, out)
	}
	var s status
	if err := json.Unmarshal(out, &s); err != nil {
		e.t.Fatalf("status JSON: %v\n%s", err, out)
	}
	return &s
}

// checkRetention asserts the end state of a converged apply: per endpoint
// one serving pool, healthy and matching the spec, and at most keep
// others, none of them failed or half-made.
func (e *env) checkRetention(keep map[string]int) {
	e.t.Helper()
	s := e.status()
	per := map[string]int{}
	for _, p := range s.Pools {
		per[p.Env]++
		if p.Serving && (!p.Healthy || !p.Desired) {
			e.t.Errorf("%s serves pool %s: healthy=%v desired=%v", p.Env, p.ID, p.Healthy, p.Desired)
		}
		if p.State == "failed" || p.State == "creating" {
			e.t.Errorf("pool %s left %s after a converged apply", p.ID, p.State)
		}
	}
	for name, k := range keep {
		if per[name] > 1+k {
			e.t.Errorf("%s has %d pools, want at most 1+keep = %d", name, per[name], 1+k)
		}
		if per[name] == 0 {
			e.t.Errorf("%s has no pools", name)
		}
	}
}

// get fetches http://127.0.0.1:port/ and returns the body.
func get(t *testing.T, port int) string {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
	if err != nil {
		t.Fatalf("GET :%d: %v", port, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("GET :%d: %s %s", port, resp.Status, b)
	}
	return string(b)
}

// load sends requests to endpoints from a few workers until stopped and
// counts answers and failures (a transport error or a status other than
// 200). It is bounded: it stops at Stop or after max.
type load struct {
	ok, failed atomic.Int64
	mu         sync.Mutex
	firstErr   string
	stop       chan struct{}
	stopOnce   sync.Once
	wg         sync.WaitGroup
}

func startLoad(ports []int, workers int, max time.Duration) *load {
	l := &load{stop: make(chan struct{})}
	tr := &http.Transport{MaxIdleConnsPerHost: workers, IdleConnTimeout: 10 * time.Second}
	c := &http.Client{Timeout: 10 * time.Second, Transport: tr}
	deadline := time.Now().Add(max)
	for w := 0; w < workers; w++ {
		port := ports[w%len(ports)]
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			url := fmt.Sprintf("http://127.0.0.1:%d/", port)
			for time.Now().Before(deadline) {
				select {
				case <-l.stop:
					return
				default:
				}
				resp, err := c.Get(url)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 {
						err = fmt.Errorf("%s: %s", url, resp.Status)
					}
				}
				if err != nil {
					l.failed.Add(1)
					l.mu.Lock()
					if l.firstErr == "" {
						l.firstErr = err.Error()
					}
					l.mu.Unlock()
				} else {
					l.ok.Add(1)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	return l
}

// Stop ends the load (once; later calls only report) and returns
// (served, failed, first error).
func (l *load) Stop() (int64, int64, string) {
	l.stopOnce.Do(func() { close(l.stop) })
	l.wg.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.ok.Load(), l.failed.Load(), l.firstErr
}
