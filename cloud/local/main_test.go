package local

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// The test binary plays three parts, chosen by its environment: the tests,
// the supervisor (PHOENIX_LOCAL_SUPERVISOR=HOME, started by the Cloud as
// the phoenix binary's hidden subcommand would be), and a small HTTP server
// that pools run (TEST_SERVER=1 in the pool's config).
func TestMain(m *testing.M) {
	if home := os.Getenv("PHOENIX_LOCAL_SUPERVISOR"); home != "" {
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		err := RunSupervisor(ctx, home)
		stop()
		if err != nil && !errors.Is(err, ErrSupervisorRunning) {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if os.Getenv("TEST_CREATE_CLIENT") == "1" {
		createClientMain()
		os.Exit(0)
	}
	if os.Getenv("TEST_SERVER") == "1" {
		runTestServer()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runTestServer serves on $PORT: /healthz (500 when HEALTH=fail), / with
// the pool and VERSION, /slow (SLOW_MS), /env/NAME (for the secret test).
func runTestServer() {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if os.Getenv("HEALTH") == "fail" {
			http.Error(w, "unhealthy on purpose", http.StatusInternalServerError)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "version=%s pool=%s\n", os.Getenv("VERSION"), os.Getenv("PHOENIX_POOL"))
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		ms, _ := strconv.Atoi(os.Getenv("SLOW_MS"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
		fmt.Fprintf(w, "pool=%s\n", os.Getenv("PHOENIX_POOL"))
	})
	mux.HandleFunc("/env/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, os.Getenv(strings.TrimPrefix(r.URL.Path, "/env/")))
	})
	if os.Getenv("START_DELAY_MS") != "" {
		ms, _ := strconv.Atoi(os.Getenv("START_DELAY_MS"))
		time.Sleep(time.Duration(ms) * time.Millisecond)
	}
	fmt.Println("test server listening on", os.Getenv("PORT"))
	srv := &http.Server{Addr: "127.0.0.1:" + os.Getenv("PORT"), Handler: mux}
	go func() {
		ch := make(chan os.Signal, 1)
		signal.Notify(ch, syscall.SIGTERM)
		<-ch
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// testSupervisor runs this test binary as the supervisor.
func testSupervisor(home string) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "PHOENIX_LOCAL_SUPERVISOR="+home)
	return cmd, nil
}

// newTestCloud opens a local cloud on a fresh home and brings everything
// down when the test ends.
func newTestCloud(t testing.TB) *Cloud {
	t.Helper()
	return newTestCloudAt(t, t.TempDir())
}

// newTestCloudAt is newTestCloud on the given home.
func newTestCloudAt(t testing.TB, home string) *Cloud {
	t.Helper()
	c, err := Open(Options{Home: home, SupervisorCommand: testSupervisor})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		st, _ := c.Status(ctx)
		if err := c.Down(ctx); err != nil {
			t.Errorf("cloud down: %v", err)
		}
		if st != nil {
			for _, p := range st.Pools {
				for _, pid := range p.PIDs {
					if pidAlive(pid) && !isZombie(pid) {
						t.Errorf("server pid %d of pool %s still runs after cloud down", pid, p.ID)
					}
				}
			}
		}
	})
	return c
}

// freeAddr returns a free loopback address for an endpoint.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// serverCommand is the role command that runs this binary as a test
// server.
func serverCommand(t testing.TB) string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return "exec '" + exe + "'"
}

// fixture is a baked image chain and a pool spec for one endpoint.
type fixture struct {
	c       *Cloud
	project string
	image   cloud.Image
	spec    *model.Pool
}

// newFixture bakes a scratch base and a child with one step, and returns a
// pool spec of count servers on a fresh endpoint.
func newFixture(t testing.TB, c *Cloud, count int) *fixture {
	t.Helper()
	ctx := context.Background()
	base := &model.Image{Name: "base", From: "scratch", BuildID: "b0" + strings.Repeat("0", 62), Chain: []string{"base"}}
	app := &model.Image{Name: "app", Parent: "base", Steps: []string{"echo phoenix > VERSION"}, BuildID: "a0" + strings.Repeat("1", 62), Chain: []string{"base", "app"}}
	b, err := c.Bake(ctx, cloud.BakeRequest{Project: "p", Image: base})
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.Bake(ctx, cloud.BakeRequest{Project: "p", Image: app, Parent: &b})
	if err != nil {
		t.Fatal(err)
	}
	spec := &model.Pool{
		Env: "test", Role: "web", Cloud: "local", Image: "app", BuildID: a.BuildID,
		Endpoint: freeAddr(t), Command: serverCommand(t), Count: count,
		Health: model.Health{Path: "/healthz", Interval: 100 * time.Millisecond, Timeout: time.Second},
		Config: map[string]string{"TEST_SERVER": "1", "VERSION": "1"},
	}
	return &fixture{c: c, project: "p", image: a, spec: spec}
}

// variant returns the spec with VERSION=v and a key of its own.
func (f *fixture) variant(v string) *model.Pool {
	p := *f.spec
	p.Config = map[string]string{}
	for k, val := range f.spec.Config {
		p.Config[k] = val
	}
	p.Config["VERSION"] = v
	p.Key = fmt.Sprintf("%08x", v) + strings.Repeat("0", 56)
	return &p
}

// create creates pool variant v (generation 1) and fails the test on error.
func (f *fixture) create(t testing.TB, v string) cloud.Pool {
	t.Helper()
	spec := f.variant(v)
	id := cloud.PoolID(spec.Env, spec.Role, spec.Key, 1)
	p, err := f.c.CreatePool(context.Background(), cloud.CreateRequest{Project: f.project, Pool: spec, ID: id, Generation: 1, Image: f.image})
	if err != nil {
		t.Fatalf("creating %s: %v", id, err)
	}
	return p
}

// serve creates pool variant v, puts it alone behind the endpoint and
// returns it with the supervisor's status of that moment (its pid and the
// pool's server pids), which the tests that kill processes start from.
func (f *fixture) serve(t testing.TB, v string) (cloud.Pool, *Status) {
	t.Helper()
	ctx := context.Background()
	p := f.create(t, v)
	if err := f.swap(ctx, only(p.ID)); err != nil {
		t.Fatal(err)
	}
	st, err := f.c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return p, st
}

func (f *fixture) swap(ctx context.Context, backends ...cloud.Backend) error {
	return f.c.Swap(ctx, cloud.SwapRequest{Project: f.project, Env: f.spec.Env, Role: f.spec.Role, Endpoint: f.spec.Endpoint, Backends: backends})
}

func (f *fixture) pool(t testing.TB, id string) cloud.Pool {
	t.Helper()
	l, err := f.c.Observe(context.Background(), f.project)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range l.Pools {
		if p.ID == id {
			return p
		}
	}
	t.Fatalf("pool %s not observed", id)
	return cloud.Pool{}
}

// waitFor polls cond every 50 ms until it returns nil or d passes.
func waitFor(t testing.TB, d time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func only(id string) cloud.Backend { return cloud.Backend{Pool: id, Weight: 100} }
