package main

// The simulation, off unless asked for: with PHOENIX_CLOUD_OVERRIDE=memory,
// every cloud a spec names (local, aws) is replaced by an in-memory cloud
// whose state is kept in $PHOENIX_HOME/memory-<cloud>.json between
// commands. It lets a user try a spec, or see an AWS plan, with no account
// and nothing started; CLI scripts use it to plan and apply without
// servers, and can seed a live state by writing that file (a cloud.Live
// per project: {"demo": {"images": [...], "pools": [...]}}). Nothing runs,
// so every output says so: a line on stderr (simulationNotice) and
// "simulation": true in JSON.

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

// cloudOverrideEnv switches the simulation on (the value "memory").
const cloudOverrideEnv = "PHOENIX_CLOUD_OVERRIDE"

// simulationClouds stands an in-memory cloud saved under home in for each
// cloud a spec may name.
func simulationClouds(home string) *clouds {
	c := &clouds{factories: map[string]cloudFactory{}, simulation: true}
	for _, name := range []string{model.CloudLocal, model.CloudAWS, "memory"} {
		c.factories[name] = func(context.Context, *model.Desired) (cloud.Cloud, error) {
			return openFileMemory(filepath.Join(home, "memory-"+name+".json"), name)
		}
	}
	return c
}

// simulated reports whether set holds a simulated cloud, for the JSON
// outputs to say so.
func simulated(set cloud.Set) bool {
	for _, c := range set {
		if _, ok := c.(*fileMemory); ok {
			return true
		}
	}
	return false
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
