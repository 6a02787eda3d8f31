// Package planner compares the desired state with the live state and
// returns a plan: a DAG of bake, create, swap and prune steps. It is a pure
// function: no I/O, no clock (the time comes in Options).
package planner

import (
	"errors"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// Options steer a plan.
type Options struct {
	// Envs limits the plan to these environments; empty means all.
	Envs []string
	// Now is the time ages are measured against.
	Now time.Time
	// Destroy allows destroying what left the spec (rule 7); such steps are
	// marked destructive.
	Destroy bool
	// ImageKeep is how many unused images per image name survive image
	// pruning (rule 5); negative means the default.
	ImageKeep int
}

// Make returns the plan that takes live to desired.
func Make(desired *model.Desired, live *cloud.Live, opts Options) (*Plan, error) {
	return nil, errors.New("planner: not implemented yet")
}
