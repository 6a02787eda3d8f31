package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// TestUnlockOwnerReleasesOnlyThatApplysLock: unlock --owner names one
// apply (by its id or its whole owner); a lock held by any other apply is
// left alone and the refusal names the holder.
func TestUnlockOwnerReleasesOnlyThatApplysLock(t *testing.T) {
	home := memoryCLI(t)
	dir := filepath.Join(t.TempDir(), "shop")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "spec.cue"), []byte(shopSpec("1")), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(home, "memory-local.json")
	mem, err := openFileMemory(state, "local")
	if err != nil {
		t.Fatal(err)
	}
	const holder = "ann@ci:7#a1b2c3d4e5f6"
	if err := mem.Lock(context.Background(), cloud.LockRequest{Project: "shop", Env: "prod", Owner: holder, Lease: time.Hour}); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"unlock", "prod", dir, "--owner", "ffffffffffff"}, &stdout, &stderr); code == 0 || !strings.Contains(stderr.String(), "held by "+holder) {
		t.Fatalf("unlock --owner of another apply: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	if envs := lockedEnvs(t, state); envs != "prod" {
		t.Fatalf("after a refused unlock the locked environments are %q, want prod", envs)
	}
	stdout.Reset()
	phoenix(t, &stdout, "unlock", "prod", dir, "--owner", "a1b2c3d4e5f6")
	if !strings.Contains(stdout.String(), "held by "+holder) {
		t.Fatalf("unlock said %q, want it to name the holder %s", stdout.String(), holder)
	}
	if envs := lockedEnvs(t, state); envs != "" {
		t.Fatalf("after unlock --owner of the holder, %q is still locked", envs)
	}
}
