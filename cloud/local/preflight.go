package local

import (
	"context"

	"github.com/phoenix-gitops/phoenix/model"
)

// Preflight resolves the pool's secret references as its servers would
// at start, and forgets the values: a missing variable or file is said
// before apply changes anything.
func (c *Cloud) Preflight(ctx context.Context, pool *model.Pool) error {
	_, err := resolveSecrets(pool.Secrets)
	return err
}
