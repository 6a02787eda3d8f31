package executor

import (
	"context"
	"errors"
	"fmt"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/planner"
)

// Preflight asks every cloud that can (cloud.Preflighter) whether the
// pools the plan starts (creates, and swaps, which start a cold pool)
// can run there, once per environment and role. It returns every problem
// at once, each naming its environment and role, and changes nothing.
func (e *Executor) Preflight(ctx context.Context, p *planner.Plan) error {
	asked := map[[2]string]bool{}
	var errs []error
	for i := range p.Steps {
		s := &p.Steps[i]
		if s.Kind != planner.Create && s.Kind != planner.Swap {
			continue // starts nothing
		}
		k := [2]string{s.Env, s.Role}
		pool := e.desiredPool(s.Env, s.Role)
		if asked[k] || pool == nil || pool.Cloud != s.Cloud {
			continue // asked already, or a swap of what left the spec
		}
		asked[k] = true
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
