package executor

import (
	"context"
	"errors"
	"fmt"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

// Preflight asks every cloud that can (cloud.Preflighter) whether the
// pools the plan starts (creates, and swaps, which start a cold pool)
// can run there, once per environment and role. It returns every problem
// at once, each naming its environment and role, and changes nothing.
func (e *Executor) Preflight(ctx context.Context, p *planner.Plan) error {
	want := make(map[[2]string]*model.Pool, len(e.Desired.Pools))
	for _, pl := range e.Desired.Pools {
		want[[2]string{pl.Env, pl.Role}] = pl
	}
	var errs []error
	for i := range p.Steps {
		s := &p.Steps[i]
		k := [2]string{s.Env, s.Role}
		pool := want[k]
		if (s.Kind != planner.Create && s.Kind != planner.Swap) || pool == nil || pool.Cloud != s.Cloud {
			continue // starts nothing, or a swap of what left the spec
		}
		delete(want, k) // once per environment and role
		c, err := e.Clouds.Get(s.Cloud)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if pf, ok := c.(cloud.Preflighter); ok {
			if err := pf.Preflight(ctx, pool); err != nil {
				errs = append(errs, fmt.Errorf("%s/%s: %w", s.Env, s.Role, err))
			}
		}
	}
	return errors.Join(errs...)
}
