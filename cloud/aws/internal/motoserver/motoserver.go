// Package motoserver runs moto, the AWS emulator, for integration tests: a
// fresh server on a free loopback port per test binary, reset between tests.
// moto is a Python program (pip install 'moto[server]'); where it is absent
// the tests that need it skip and say how to get it.
package motoserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// Server is one running moto process.
type Server struct {
	// URL is the endpoint to point the SDK at ("http://127.0.0.1:PORT").
	URL string

	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	mu   sync.Mutex
}

// ErrUnavailable says python3 or moto is missing on this machine.
var ErrUnavailable = errors.New("moto is not installed (python3 -m moto.server); install it with: pip install 'moto[server]'")

// Available reports whether python3 with moto's server can be run here.
func Available() error {
	py, err := exec.LookPath("python3")
	if err != nil {
		return ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := exec.CommandContext(ctx, py, "-c", "import moto.server, flask").Run(); err != nil {
		return ErrUnavailable
	}
	return nil
}

// Start runs moto on a free loopback port and waits until it answers. The
// caller must Stop it.
func Start(ctx context.Context) (*Server, error) {
	if err := Available(); err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	out := &syncBuffer{}
	cmd := exec.Command("python3", "-m", "moto.server", "-H", "127.0.0.1", "-p", strconv.Itoa(port))
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, so Stop ends moto and anything it forked.
	newGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting moto: %w", err)
	}
	s := &Server{URL: fmt.Sprintf("http://127.0.0.1:%d", port), cmd: cmd, out: out, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(s.done) }()
	if err := s.waitReady(ctx, 60*time.Second); err != nil {
		s.Stop()
		return nil, fmt.Errorf("%w\nmoto output:\n%s", err, out.String())
	}
	return s, nil
}

// freePort asks the kernel for a free loopback port. There is a small race
// between closing it and moto binding it; Start reports it plainly.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("finding a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitReady polls moto's own API until it answers or the deadline passes.
func (s *Server) waitReady(ctx context.Context, max time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, max)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+"/moto-api/", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-s.done:
			return errors.New("moto exited before answering")
		case <-ctx.Done():
			return fmt.Errorf("moto did not answer within %s", max)
		case <-tick.C:
		}
	}
}

// Reset clears every resource moto holds.
func (s *Server) Reset(ctx context.Context) error {
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/moto-api/reset", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("resetting moto: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("resetting moto: %s", resp.Status)
	}
	return nil
}

// Stop ends moto and waits for it.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.done:
		return
	default:
	}
	_ = signalGroup(s.cmd.Process, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		_ = signalGroup(s.cmd.Process, syscall.SIGKILL)
		<-s.done
	}
}

// Output returns what moto printed, for failing tests.
func (s *Server) Output() string {
	return s.out.String()
}

// Env sets the standard variables that point the SDK at this server with
// dummy credentials, returning a function that restores them.
func (s *Server) Env() (restore func()) {
	vars := map[string]string{
		"AWS_ENDPOINT_URL":          s.URL,
		"AWS_ACCESS_KEY_ID":         "testing",
		"AWS_SECRET_ACCESS_KEY":     "testing",
		"AWS_SESSION_TOKEN":         "testing",
		"AWS_REGION":                "us-east-1",
		"AWS_EC2_METADATA_DISABLED": "true",
	}
	old := map[string]*string{}
	for k, v := range vars {
		if o, ok := os.LookupEnv(k); ok {
			old[k] = &o
		} else {
			old[k] = nil
		}
		os.Setenv(k, v)
	}
	return func() {
		for k, v := range old {
			if v == nil {
				os.Unsetenv(k)
			} else {
				os.Setenv(k, *v)
			}
		}
	}
}

// syncBuffer collects moto's output while tests may read it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
