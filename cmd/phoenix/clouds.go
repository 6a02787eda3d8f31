package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
	"sync"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// cloudFactory opens one cloud for a compiled spec (the environments on it
// carry their settings, e.g. an AWS region).
type cloudFactory func(ctx context.Context, d *model.Desired) (cloud.Cloud, error)

// clouds opens the clouds a spec names from an explicit list of factories,
// which the root command is given (newRoot): what a build or a test can
// open is said in one place, not assembled by init functions.
type clouds struct {
	factories map[string]cloudFactory
	// simulation is true when the factories are the in-memory simulation
	// (see clouds_simulation.go): nothing they do is real, and every
	// command that opens them says so.
	simulation bool
	// stderr is where the simulation is announced, once a command.
	stderr func() io.Writer
	once   sync.Once
}

// defaultClouds lists the clouds this build opens: the local cloud and
// AWS, or, with PHOENIX_CLOUD_OVERRIDE=memory, the simulation in their
// place (and under the name "memory").
func defaultClouds() *clouds {
	if os.Getenv(cloudOverrideEnv) == "memory" {
		return simulationClouds(localHome())
	}
	return &clouds{factories: map[string]cloudFactory{
		model.CloudLocal: openLocalCloud,
		model.CloudAWS:   openAWS,
	}}
}

// readOnlyKey marks a context whose clouds are opened only to look.
type readOnlyKey struct{}

// openReadOnly opens the clouds of d for a command that only looks
// (status, plan, graph, diff, history): the local cloud is read from its
// records when it is down, never started (see local.Options.ReadOnly).
func (c *clouds) openReadOnly(ctx context.Context, d *model.Desired) (cloud.Set, error) {
	return c.open(context.WithValue(ctx, readOnlyKey{}, true), d)
}

// readOnly reports whether ctx opens clouds only to look.
func readOnly(ctx context.Context) bool { v, _ := ctx.Value(readOnlyKey{}).(bool); return v }

// scopeClouds limits the reads of the clouds that can read environments
// apart (AWS, by tags) to envs, so that --env costs that environment's
// reads whatever the project's size. No envs leaves them whole.
func scopeClouds(set cloud.Set, envs []string) {
	if len(envs) == 0 {
		return
	}
	for _, c := range set {
		if s, ok := c.(interface{ Scope(envs []string) }); ok {
			s.Scope(envs)
		}
	}
}

// open opens every cloud that an environment of d uses.
func (c *clouds) open(ctx context.Context, d *model.Desired) (cloud.Set, error) {
	used := map[string]bool{}
	for _, e := range d.Environments {
		used[e.Cloud] = true
	}
	names := make([]string, 0, len(used))
	for n := range used {
		names = append(names, n)
	}
	sort.Strings(names)
	set := cloud.Set{}
	for _, n := range names {
		f, ok := c.factories[n]
		if !ok {
			return nil, fmt.Errorf("cloud %q is not supported by this build", n)
		}
		opened, err := f(ctx, d)
		if err != nil {
			return nil, fmt.Errorf("opening %s cloud: %w", n, err)
		}
		set[n] = opened
	}
	c.announce()
	return set, nil
}

// simulationNotice is the line every text output of the simulation starts
// with on stderr, so that no one mistakes it for a deployment.
const simulationNotice = "SIMULATION: the in-memory cloud (PHOENIX_CLOUD_OVERRIDE=memory), nothing is real"

// announce says once, on stderr, that the clouds are the simulation.
func (c *clouds) announce() {
	if !c.simulation || c.stderr == nil {
		return
	}
	c.once.Do(func() { fmt.Fprintln(c.stderr(), simulationNotice) })
}
