package executor

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

// Quotas asks every cloud that can (cloud.QuotaChecker), once each,
// whether the pools the plan creates there fit the account's limits. What
// a release adds is read from the plan's own create steps, in plan order;
// prunes are not subtracted, since they run after the swaps. It returns
// the limits a cloud could not check (one line each, to show as
// warnings) and every refusal at once, and changes nothing. `phoenix apply`
// runs it with Preflight, before the prompt and the first step: a refused
// release bakes nothing.
func (e *Executor) Quotas(ctx context.Context, p *planner.Plan) (skipped []string, err error) {
	creates := map[string][]*model.Pool{}
	for i := range p.Steps {
		s := &p.Steps[i]
		if s.Kind != planner.Create {
			continue
		}
		if pool := e.desiredPool(s.Env, s.Role); pool != nil && pool.Cloud == s.Cloud {
			creates[s.Cloud] = append(creates[s.Cloud], pool)
		}
	}
	var errs []error
	for _, name := range slices.Sorted(maps.Keys(creates)) {
		c, err := e.Clouds.Get(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		qc, ok := c.(cloud.QuotaChecker)
		if !ok {
			continue
		}
		sk, err := qc.CheckQuotas(ctx, creates[name])
		skipped = append(skipped, sk...)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s cloud: %w", name, err))
		}
	}
	return skipped, errors.Join(errs...)
}
