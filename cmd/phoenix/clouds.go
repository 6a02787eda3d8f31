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

// readOnlyKey marks a context whose clouds are opened only to look.
type readOnlyKey struct{}

// openCloudsReadOnly opens the clouds of d for a command that only looks
// (status, plan, graph, diff, history): the local cloud is read from its
// records when it is down, never started (see local.Options.ReadOnly).
func openCloudsReadOnly(ctx context.Context, d *model.Desired) (cloud.Set, error) {
	return openClouds(context.WithValue(ctx, readOnlyKey{}, true), d)
}

// readOnly reports whether ctx opens clouds only to look.
func readOnly(ctx context.Context) bool { v, _ := ctx.Value(readOnlyKey{}).(bool); return v }

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
