package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// openPTY opens a pseudo-terminal pair with the kernel's ioctls (Linux),
// so that the test needs no pty package.
func openPTY() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	var n uint32
	if err := ioctl(master, syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("TIOCGPTN: %w", err)
	}
	var unlock int32
	if err := ioctl(master, syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); err != nil {
		master.Close()
		return nil, nil, fmt.Errorf("TIOCSPTLCK: %w", err)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY|syscall.O_CLOEXEC, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

func ioctl(f *os.File, req, arg uintptr) error {
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), req, arg); e != 0 {
		return e
	}
	return nil
}

// ptyOutput collects what the program writes to its terminal.
type ptyOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
	// drained is closed once the terminal is gone (read fails with EIO):
	// all the program wrote has been read.
	drained chan struct{}
}

func (o *ptyOutput) String() string { o.mu.Lock(); defer o.mu.Unlock(); return o.buf.String() }

// startOnPTY runs phoenix (this test binary, as testscript's TestMain set
// it up on PATH) in a new session whose controlling terminal is a pty, as
// a person's shell would, and returns the terminal's master side.
func startOnPTY(t *testing.T, args ...string) (*exec.Cmd, *os.File, *ptyOutput) {
	t.Helper()
	bin, err := exec.LookPath("phoenix")
	if err != nil {
		t.Skip("phoenix is not on PATH (run under TestMain):", err)
	}
	master, slave, err := openPTY()
	if err != nil {
		t.Skip("no pseudo-terminal:", err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	slave.Close()
	out := &ptyOutput{drained: make(chan struct{})}
	go func() {
		defer close(out.drained)
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			out.mu.Lock()
			out.buf.Write(b[:n])
			out.mu.Unlock()
			if err != nil {
				return // EIO once the program and its terminal are gone
			}
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		master.Close()
	})
	return cmd, master, out
}

// waitFor waits until the terminal shows s.
func waitFor(t *testing.T, out *ptyOutput, s string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if strings.Contains(out.String(), s) {
			return
		}
	}
	t.Fatalf("the terminal never showed %q:\n%s", s, out.String())
}

// exitOf waits for cmd and for the last of its output, and returns its
// exit code. (Without waiting for the output, a loaded machine let the
// test read the terminal before the program's last line reached it.)
func exitOf(t *testing.T, cmd *exec.Cmd, out *ptyOutput) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		select {
		case <-out.drained:
		case <-time.After(10 * time.Second):
			t.Errorf("the terminal stayed open 10s after phoenix exited")
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatalf("phoenix did not exit:\n%s", out.String())
		return -1
	}
}

// TestCtrlCAtThePromptOnATerminal types Ctrl-C at "Apply this plan?" on a
// real pseudo-terminal (the line discipline sends SIGINT), sends SIGTERM
// at it, then applies with "yes".
func TestCtrlCAtThePromptOnATerminal(t *testing.T) {
	home := memoryCLI(t) // the child inherits the memory cloud and the home
	dir := filepath.Join(t.TempDir(), "shop")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "spec.cue"), []byte(shopSpec("1")), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(home, "memory-local.json")
	const prompt = "Apply this plan? Only 'yes' is accepted: "

	cmd, term, out := startOnPTY(t, "apply", dir)
	waitFor(t, out, prompt)
	if envs := lockedEnvs(t, state); envs != "prod,staging" {
		t.Fatalf("at the prompt the locked environments are %q, want prod,staging", envs)
	}
	if _, err := term.Write([]byte{3}); err != nil { // Ctrl-C
		t.Fatal(err)
	}
	if code := exitOf(t, cmd, out); code != exitError {
		t.Fatalf("exit %d after Ctrl-C at the prompt, want 1:\n%s", code, out.String())
	}
	if !strings.Contains(out.String(), "apply cancelled by an interrupt at the prompt; nothing was changed") {
		t.Fatalf("Ctrl-C at the prompt said:\n%s", out.String())
	}
	if envs := lockedEnvs(t, state); envs != "" {
		t.Fatalf("locks of %s left after Ctrl-C at the prompt", envs)
	}
	var live map[string]*cloud.Live
	if b, err := os.ReadFile(state); err != nil || json.Unmarshal(b, &live) != nil {
		t.Fatalf("reading the memory cloud's state: %v", err)
	}
	if l := live["shop"]; l != nil && len(l.Pools)+len(l.Images)+len(l.Endpoints) > 0 {
		t.Fatalf("the cloud changed although the apply was cancelled: %+v", l)
	}

	// SIGTERM (a CI runner's cancel, a process manager) at the prompt.
	cmd, _, out = startOnPTY(t, "apply", dir)
	waitFor(t, out, prompt)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := exitOf(t, cmd, out); code != exitError || !strings.Contains(out.String(), "nothing was changed") {
		t.Fatalf("exit %d after SIGTERM at the prompt, want 1 and nothing changed:\n%s", code, out.String())
	}
	if envs := lockedEnvs(t, state); envs != "" {
		t.Fatalf("locks of %s left after SIGTERM at the prompt", envs)
	}

	cmd, term, out = startOnPTY(t, "apply", dir)
	waitFor(t, out, prompt)
	if _, err := term.Write([]byte("yes\r")); err != nil {
		t.Fatal(err)
	}
	if code := exitOf(t, cmd, out); code != 0 || !strings.Contains(out.String(), "Applied: ") {
		t.Fatalf("exit %d after 'yes':\n%s", code, out.String())
	}
}
