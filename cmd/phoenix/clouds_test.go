package main

import (
	"maps"
	"slices"
	"testing"
)

// The clouds a build opens are listed in defaultClouds, and the simulation
// replaces every one of them only when asked for.
func TestDefaultCloudsListTheRealOnesUnlessSimulated(t *testing.T) {
	t.Setenv(cloudOverrideEnv, "")
	real := defaultClouds()
	if got := slices.Sorted(maps.Keys(real.factories)); !slices.Equal(got, []string{"aws", "local"}) || real.simulation {
		t.Errorf("default clouds %v (simulation %v), want aws and local, real", got, real.simulation)
	}
	t.Setenv(cloudOverrideEnv, "memory")
	sim := defaultClouds()
	if got := slices.Sorted(maps.Keys(sim.factories)); !slices.Equal(got, []string{"aws", "local", "memory"}) || !sim.simulation {
		t.Errorf("simulated clouds %v (simulation %v), want aws, local and memory, simulated", got, sim.simulation)
	}
}
