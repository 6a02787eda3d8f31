package local

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/phoenix-gitops/phoenix/model"
)

// Preflight resolves secret references as a server start would, without
// a supervisor or a home: env and file references that resolve pass; an
// unset variable, a missing file and an AWS reference are refused with
// the secret's name, and no value appears in any message.
func TestPreflightResolvesSecretReferences(t *testing.T) {
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("s3cret-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PHOENIX_TEST_TOKEN", "s3cret-env")
	c := &Cloud{}
	for _, tc := range []struct {
		ref, want string
	}{
		{"env:PHOENIX_TEST_TOKEN", ""},
		{"file:" + token, ""},
		{"env:PHOENIX_TEST_UNSET", "secret TOKEN: environment variable PHOENIX_TEST_UNSET is not set"},
		{"file:" + token + ".missing", "secret TOKEN: reading " + token + ".missing"},
		{"ssm:/prod/token", "secret TOKEN: ssm references are not supported on the local cloud"},
	} {
		err := c.Preflight(context.Background(), &model.Pool{Env: "prod", Role: "web", Secrets: map[string]string{"TOKEN": tc.ref}})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want no error", tc.ref, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", tc.ref, err, tc.want)
		case err != nil && strings.Contains(err.Error(), "s3cret"):
			t.Errorf("%s: the message shows a secret value: %v", tc.ref, err)
		}
	}
}

// An endpoint address another program listens on is refused before
// anything changes, naming the address and (on Linux) the holder's pid
// and command; a free address and one the local cloud's own proxy serves
// pass.
func TestPreflightRefusesAnAddressHeldByAnotherProgram(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	held := ln.Addr().String()
	c := newTestCloud(t)
	f := newFixture(t, c, 1)
	ctx := context.Background()
	pool := func(addr string) *model.Pool { return &model.Pool{Env: "test", Role: "web", Endpoint: addr} }

	err = c.Preflight(ctx, pool(held))
	want := "endpoint address " + held + " is in use by another program"
	if runtime.GOOS == "linux" {
		want += fmt.Sprintf(" (pid %d: %s", os.Getpid(), os.Args[0])
	}
	if err == nil || !strings.HasPrefix(err.Error(), want) || !strings.HasSuffix(err.Error(), "; stop it or choose another address") {
		t.Fatalf("preflight of an address another program holds: %v, want it to start %q", err, want)
	}
	if err := c.Preflight(ctx, pool(freeAddr(t))); err != nil {
		t.Fatalf("preflight of a free address: %v", err)
	}
	f.serve(t, "A")
	if err := c.Preflight(ctx, f.spec); err != nil {
		t.Fatalf("preflight of the address the local cloud's proxy serves: %v", err)
	}
}
