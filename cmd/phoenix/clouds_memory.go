package main

// A TEST SEAM, off unless asked for: with PHOENIX_CLOUD_OVERRIDE=memory,
// every cloud a spec names (local, aws) is replaced by an in-memory cloud
// whose state is kept in $PHOENIX_HOME/memory-<cloud>.json between
// commands. CLI scripts use it to plan and apply without starting servers
// or calling AWS, and can seed a live state by writing that file (a
// cloud.Live per project: {"demo": {"images": [...], "pools": [...]}}).
// Never use it for real deployments: nothing runs.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/memory"
	"github.com/phoenix-gitops/phoenix/model"
)

// cloudOverrideEnv selects the test seam.
const cloudOverrideEnv = "PHOENIX_CLOUD_OVERRIDE"

// This file's init runs after clouds_aws.go's and clouds_local.go's (Go
// runs a package's init functions in file-name order), so it can wrap
// their factories: the environment variable is read when a cloud is
// opened, and without it the real factory runs.
func init() {
	for _, name := range []string{model.CloudLocal, model.CloudAWS, "memory"} {
		real := cloudFactories[name]
		cloudFactories[name] = func(ctx context.Context, d *model.Desired) (cloud.Cloud, error) {
			if os.Getenv(cloudOverrideEnv) == "memory" {
				return openFileMemory(filepath.Join(localHome(), "memory-"+name+".json"), name)
			}
			if real == nil {
				return nil, fmt.Errorf("cloud %q is not supported by this build", name)
			}
			return real(ctx, d)
		}
	}
}

// fileMemory is a memory cloud saved to a file after every change.
type fileMemory struct {
	*memory.Cloud
	path string
	mu   sync.Mutex // one save at a time
}

func openFileMemory(path, name string) (*fileMemory, error) {
	c := &fileMemory{Cloud: memory.New(memory.WithName(name)), path: path}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, err
	}
	var state map[string]*cloud.Live
	if err := json.Unmarshal(b, &state); err != nil {
		return nil, fmt.Errorf("reading memory cloud state %s: %w", path, err)
	}
	for project, live := range state {
		c.Seed(project, live)
	}
	return c, nil
}

// save writes every project's state atomically.
func (c *fileMemory) save() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	state := map[string]*cloud.Live{}
	for _, p := range c.Projects() {
		state[p] = c.Export(p)
	}
	b, err := json.MarshalIndent(state, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(c.path), 0o700); err != nil {
		return err
	}
	tmp := c.path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, c.path)
}

// saved returns err, or the save's error if the call itself succeeded.
func (c *fileMemory) saved(err error) error {
	if serr := c.save(); serr != nil && err == nil {
		return fmt.Errorf("saving memory cloud state: %w", serr)
	}
	return err
}

func (c *fileMemory) Bake(ctx context.Context, req cloud.BakeRequest) (cloud.Image, error) {
	im, err := c.Cloud.Bake(ctx, req)
	return im, c.saved(err)
}

func (c *fileMemory) CreatePool(ctx context.Context, req cloud.CreateRequest) (cloud.Pool, error) {
	p, err := c.Cloud.CreatePool(ctx, req)
	return p, c.saved(err)
}

func (c *fileMemory) Swap(ctx context.Context, req cloud.SwapRequest) error {
	return c.saved(c.Cloud.Swap(ctx, req))
}

func (c *fileMemory) SetWarm(ctx context.Context, project, poolID string, warm bool) error {
	return c.saved(c.Cloud.SetWarm(ctx, project, poolID, warm))
}

func (c *fileMemory) DeletePool(ctx context.Context, project, poolID string) error {
	return c.saved(c.Cloud.DeletePool(ctx, project, poolID))
}

func (c *fileMemory) DeleteImage(ctx context.Context, project, buildID string) error {
	return c.saved(c.Cloud.DeleteImage(ctx, project, buildID))
}

func (c *fileMemory) Lock(ctx context.Context, req cloud.LockRequest) error {
	return c.saved(c.Cloud.Lock(ctx, req))
}

func (c *fileMemory) Unlock(ctx context.Context, project, env, owner string) error {
	return c.saved(c.Cloud.Unlock(ctx, project, env, owner))
}
