package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/memory"
	"github.com/phoenix-gitops/phoenix/model"
)

// fullAccount is the memory cloud of an account with room for no more
// pools: it refuses every create in its quota check, saying what it could
// not check, and records whether anything was baked.
type fullAccount struct {
	*memory.Cloud
	mu     sync.Mutex
	asked  int
	bakes  int
	checks []int // creates per check
}

func (c *fullAccount) CheckQuotas(_ context.Context, creates []*model.Pool) ([]string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checks = append(c.checks, len(creates))
	return []string{"quota: servers not checked: AccessDenied"},
		errors.New("quota: pools: 10 in use + 2 this release adds = 12 > the account's limit of 10 (memory); ask to raise it or prune first")
}

func (c *fullAccount) Bake(ctx context.Context, req cloud.BakeRequest) (cloud.Image, error) {
	c.mu.Lock()
	c.bakes++
	c.mu.Unlock()
	return c.Cloud.Bake(ctx, req)
}

// `phoenix apply --yes` of a release the account has no room for is
// refused at its preflight, naming the limit, with the limits the cloud
// could not check as warnings: nothing is baked, made or swapped, and no
// lock is left.
func TestApplyRefusesAReleasePastAQuotaBeforeAnyBake(t *testing.T) {
	t.Setenv("PHOENIX_HOME", t.TempDir())
	t.Setenv("NO_COLOR", "1")
	dir := filepath.Join(t.TempDir(), "shop")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "spec.cue"), []byte(shopSpec("1")), 0o644); err != nil {
		t.Fatal(err)
	}
	acct := &fullAccount{Cloud: memory.New(memory.WithName(model.CloudLocal))}
	cl := &clouds{factories: map[string]cloudFactory{
		model.CloudLocal: func(context.Context, *model.Desired) (cloud.Cloud, error) { return acct, nil },
	}}
	var stdout bytes.Buffer
	err := runApply(context.Background(), cl, strings.NewReader(""), &stdout, applyFlags{
		src: specSource{Dir: dir}, parallelism: 4, maxBakes: 1, maxCreates: 1, yes: true,
	})
	if err == nil || !strings.Contains(err.Error(), "nothing was changed") ||
		!strings.Contains(err.Error(), "local cloud: quota: pools: 10 in use + 2 this release adds = 12 > the account's limit of 10") {
		t.Fatalf("apply = %v, want the quota refused by name", err)
	}
	if !strings.Contains(stdout.String(), "Warning: quota: servers not checked: AccessDenied") {
		t.Errorf("stdout %q does not warn of the limit not checked", stdout.String())
	}
	if len(acct.checks) != 1 || acct.checks[0] != 2 || acct.bakes != 0 {
		t.Errorf("quota checks %v and %d bakes, want one check of the 2 creates and no bake", acct.checks, acct.bakes)
	}
	live, err := acct.Observe(context.Background(), "shop")
	if err != nil {
		t.Fatal(err)
	}
	if len(live.Images)+len(live.Pools)+len(live.Locks) != 0 || len(live.Endpoints) != 0 {
		t.Errorf("a refused apply left %d images, %d pools, %d endpoints, %d locks", len(live.Images), len(live.Pools), len(live.Endpoints), len(live.Locks))
	}
}
