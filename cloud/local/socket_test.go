package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// fakeSupervisor answers on a unix socket as a supervisor would, names
// secret references of its choosing, and records every request it gets:
// what another local user listening where the CLI looks would see.
type fakeSupervisor struct {
	mu       sync.Mutex
	requests []string // "METHOD PATH BODY"
}

func startFakeSupervisor(t *testing.T, sock string, refs map[string]string) *fakeSupervisor {
	t.Helper()
	f := &fakeSupervisor{}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.requests = append(f.requests, r.Method+" "+r.URL.Path+" "+string(b))
		f.mu.Unlock()
		switch r.URL.Path {
		case pathColdServing:
			writeJSON(w, []coldServing{{Project: "p", Pool: "pool-x", Secrets: refs}})
		case pathPool:
			writeJSON(w, poolRec{Project: "p", ID: "pool-x", State: cloud.PoolCold, Spec: model.Pool{Secrets: refs}})
		case pathStatus:
			writeJSON(w, Status{PID: os.Getpid()})
		default:
			writeJSON(w, struct{}{})
		}
	})
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close(); os.Remove(sock) })
	return f
}

// got reports whether any request the fake received holds s.
func (f *fakeSupervisor) got(s string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.requests {
		if strings.Contains(r, s) {
			return true
		}
	}
	return false
}

func (f *fakeSupervisor) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

// legacySocketPath is where a long home's socket used to be: a name in the
// shared temp directory that anyone could compute and take first.
func legacySocketPath(home string) string {
	sum := sha256.Sum256([]byte(home))
	return filepath.Join(os.TempDir(), "phoenix-"+hex.EncodeToString(sum[:8])+".sock")
}

// longHome is a home too long for a socket path inside it.
func longHome(t *testing.T) string {
	home := filepath.Join(t.TempDir(), strings.Repeat("h", 100))
	if inHome(home) {
		t.Fatalf("home %s is not long", home)
	}
	return home
}

const victimSecret = "victim-secret-value-5d2e"

// A process squatting the old predictable socket name of a long home (as
// another local user could) neither receives a secret on `cloud up` nor
// stops the real supervisor from starting.
func TestSquattedSocketNameGetsNoSecret(t *testing.T) {
	t.Setenv("PHX_VICTIM_SECRET", victimSecret)
	home := longHome(t)
	fake := startFakeSupervisor(t, legacySocketPath(home), map[string]string{"K": "env:PHX_VICTIM_SECRET"})
	c := newTestCloudAt(t, home)
	ctx := context.Background()
	if err := c.Up(ctx); err != nil {
		t.Fatalf("cloud up beside a squatted name: %v", err)
	}
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.PID == os.Getpid() || !pidAlive(st.PID) {
		t.Errorf("status answered by pid %d, not by a supervisor of its own", st.PID)
	}
	if fake.got(victimSecret) {
		t.Error("the squatter received the secret value")
	}
	if n := fake.count(); n != 0 {
		t.Errorf("the squatter received %d requests", n)
	}
	// The socket is in a private directory of its own, named in the home.
	b, err := os.ReadFile(filepath.Join(home, sockDirFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := checkPrivateDir(strings.TrimSpace(string(b)), false); err != nil {
		t.Error(err)
	}
}

// Whatever answers on the socket, the CLI resolves only the references it
// recorded when it created the pool: a supervisor naming others gets a
// refusal, not their values.
func TestSupervisorNamedSecretsAreRefused(t *testing.T) {
	t.Setenv("PHX_VICTIM_SECRET", victimSecret)
	home := t.TempDir()
	fake := startFakeSupervisor(t, filepath.Join(home, sockName), map[string]string{"K": "env:PHX_VICTIM_SECRET"})
	c, err := Open(Options{Home: home, SupervisorCommand: testSupervisor})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	err = c.Up(ctx)
	if err == nil || !strings.Contains(err.Error(), "refusing to resolve the secret references K=env:PHX_VICTIM_SECRET") {
		t.Errorf("cloud up with a supervisor naming secrets: %v", err)
	}
	if err := c.SetWarm(ctx, "p", "pool-x", true); err == nil || !strings.Contains(err.Error(), "no record of creating the pool") {
		t.Errorf("warming a pool the supervisor names secrets for: %v", err)
	}
	// A pool recorded with other references: still refused.
	if err := recordRefs(home, "p", "pool-x", map[string]string{"K": "env:PHX_OTHER"}); err != nil {
		t.Fatal(err)
	}
	if err := c.SetWarm(ctx, "p", "pool-x", true); err == nil || !strings.Contains(err.Error(), "differ from the ones it was created with") {
		t.Errorf("warming a pool whose references the supervisor changed: %v", err)
	}
	if fake.got(victimSecret) {
		t.Error("the supervisor received the value of a reference it named")
	}
}

// A socket directory that others can reach, or that is a symlink, or a
// home owned by another user, is refused with a clear error before any
// request is sent.
func TestUnsafeSocketDirIsRefused(t *testing.T) {
	t.Setenv("PHX_VICTIM_SECRET", victimSecret)
	for _, tc := range []struct {
		name, want string
		plant      func(t *testing.T, home, dir string) string // returns the recorded directory
	}{
		{"open to others", "other users can reach it", func(t *testing.T, home, dir string) string {
			if err := os.Chmod(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			return dir
		}},
		{"a symlink", "it is a symlink", func(t *testing.T, home, dir string) string {
			link := filepath.Join(t.TempDir(), "phoenix-link")
			if err := os.Symlink(dir, link); err != nil {
				t.Fatal(err)
			}
			return link
		}},
		{"home of another uid", "not by you", func(t *testing.T, home, dir string) string {
			if err := os.Chown(home, os.Getuid()+4242, -1); err != nil {
				t.Skipf("cannot give the home away: %v", err)
			}
			return dir
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := longHome(t)
			dir := filepath.Join(t.TempDir(), "phoenix-sock")
			for _, d := range []string{home, dir} {
				if err := os.Mkdir(d, 0o700); err != nil {
					t.Fatal(err)
				}
			}
			fake := startFakeSupervisor(t, filepath.Join(dir, sockName), map[string]string{"K": "env:PHX_VICTIM_SECRET"})
			recorded := tc.plant(t, home, dir)
			if err := os.WriteFile(filepath.Join(home, sockDirFile), []byte(recorded+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Open(Options{Home: home, SupervisorCommand: testSupervisor})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err = c.Up(ctx)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("cloud up: %v, want an error saying %q", err, tc.want)
			}
			if n := fake.count(); n != 0 {
				t.Errorf("the socket received %d requests", n)
			}
			if c.Running(ctx) {
				t.Error("Running says true")
			}
		})
	}
}

// Each end refuses a peer of another uid.
func TestPeerUIDIsChecked(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "s.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		conn, err := ln.Accept()
		if err == nil {
			accepted <- conn
		}
		close(accepted)
	}()
	conn, err := net.Dial("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	srvConn := <-accepted
	if srvConn == nil {
		t.Fatal("nothing accepted")
	}
	defer srvConn.Close()
	me := os.Getuid()
	for _, c := range []net.Conn{conn, srvConn} {
		if err := checkPeer(c, me); err != nil {
			t.Errorf("own uid refused: %v", err)
		}
		err := checkPeer(c, me+1)
		if err == nil || !isUnsafeSocket(err) || !strings.Contains(err.Error(), "runs as uid") {
			t.Errorf("another uid accepted or unclear: %v", err)
		}
	}
}

// The supervisor's listener drops connections from another uid before a
// request is read.
func TestPeerListenerDropsOtherUID(t *testing.T) {
	for _, tc := range []struct {
		uid  int
		want bool
	}{{os.Getuid(), true}, {os.Getuid() + 1, false}} {
		sock := filepath.Join(t.TempDir(), "s.sock")
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Fatal(err)
		}
		var dropped []string
		var mu sync.Mutex
		pl := &peerListener{Listener: ln, uid: tc.uid, logf: func(f string, a ...any) {
			mu.Lock()
			defer mu.Unlock()
			dropped = append(dropped, f)
		}}
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
		go srv.Serve(pl)
		client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		}}}
		resp, err := client.Get("http://supervisor/")
		if err == nil {
			resp.Body.Close()
		}
		if got := err == nil; got != tc.want {
			t.Errorf("listener for uid %d: request answered=%v (%v)", tc.uid, got, err)
		}
		mu.Lock()
		if !tc.want && len(dropped) == 0 {
			t.Error("the dropped connection was not logged")
		}
		mu.Unlock()
		srv.Close()
	}
}

// A cold pool created before this home recorded references (an upgrade)
// is started with the references the spec being applied gives it, when
// the spec still describes the pool; never with others, and never with
// references the supervisor alone names.
func TestSpecReferencesStartAPoolWithoutARecord(t *testing.T) {
	t.Setenv("PHX_VICTIM_SECRET", victimSecret)
	home := t.TempDir()
	key := strings.Repeat("ab", 32)
	id := cloud.PoolID("prod", "web", key, 3)
	refs := map[string]string{"K": "env:PHX_VICTIM_SECRET"}
	spec := &model.Desired{Project: "p", Pools: []*model.Pool{{Env: "prod", Role: "web", Cloud: model.CloudLocal, Key: key, Secrets: refs}}}

	if got := specRefs(spec, "p", id); !maps.Equal(got, refs) {
		t.Fatalf("the spec's references for %s: %v", id, got)
	}
	for _, other := range []string{cloud.PoolID("prod", "web", strings.Repeat("cd", 32), 3), cloud.PoolID("prod", "api", key, 3), id + ".9"} {
		if got := specRefs(spec, "p", other); got != nil {
			t.Errorf("the spec gives pool %s, which it does not describe, references %v", other, got)
		}
	}
	if got := specRefs(spec, "q", id); got != nil {
		t.Errorf("the spec of project p gives a pool of project q references %v", got)
	}
	if _, err := resolvePoolSecrets(home, "p", id, map[string]string{"K": "env:HOME"}, specRefs(spec, "p", id)); err == nil {
		t.Error("references the supervisor named, not the spec's, were resolved")
	}
	if _, err := resolvePoolSecrets(home, "p", id, refs, nil); err == nil {
		t.Error("with no record and no spec, the references were resolved")
	}
	got, err := resolvePoolSecrets(home, "p", id, refs, specRefs(spec, "p", id))
	if err != nil || got["K"] != victimSecret {
		t.Fatalf("the spec's references for a pool with no record: %v, %v", got, err)
	}
	// Recorded now, as a create would have: cloud up starts it later.
	if _, err := resolvePoolSecrets(home, "p", id, refs, nil); err != nil {
		t.Errorf("after starting it once with the spec's references: %v", err)
	}
}
