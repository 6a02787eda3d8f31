package main

import (
	"context"
	"fmt"
	"sort"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// cloudFactory opens one cloud for a compiled spec (the environments on it
// carry their settings, e.g. an AWS region).
type cloudFactory func(ctx context.Context, d *model.Desired) (cloud.Cloud, error)

// cloudFactories is filled by clouds_*.go in init functions.
var cloudFactories = map[string]cloudFactory{}

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

// openClouds opens every cloud that an environment of d uses.
func openClouds(ctx context.Context, d *model.Desired) (cloud.Set, error) {
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
		f, ok := cloudFactories[n]
		if !ok {
			return nil, fmt.Errorf("cloud %q is not supported by this build", n)
		}
		c, err := f(ctx, d)
		if err != nil {
			return nil, fmt.Errorf("opening %s cloud: %w", n, err)
		}
		set[n] = c
	}
	return set, nil
}
