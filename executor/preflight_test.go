package executor

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/memory"
	"github.com/phoenix-gitops/phoenix/model"
)

// refusing is the memory cloud with a preflight that refuses the pools of
// one environment, as the local cloud refuses an unset secret.
type refusing struct {
	*memory.Cloud
	env     string
	checked []string
}

func (c *refusing) Preflight(_ context.Context, p *model.Pool) error {
	c.checked = append(c.checked, p.Env+"/"+p.Role)
	if p.Env == c.env {
		return errors.New("secret API_TOKEN: environment variable API_TOKEN is not set")
	}
	return nil
}

// Preflight asks once per environment and role the plan starts a pool
// for, names every refusal with its environment and role, and acts on
// nothing: the cloud is as empty afterwards as before.
func TestPreflightNamesEveryRefusalAndChangesNothing(t *testing.T) {
	f := newFixture(t)
	c := &refusing{Cloud: f.mem, env: "prod"}
	e := f.executor(nil)
	e.Clouds = cloud.Set{"memory": c}
	err := e.Preflight(context.Background(), f.firstDeploy())
	if err == nil || !strings.Contains(err.Error(), "prod/web: secret API_TOKEN: environment variable API_TOKEN is not set") {
		t.Fatalf("Preflight = %v, want prod/web's secret named", err)
	}
	if strings.Contains(err.Error(), "staging") {
		t.Errorf("Preflight = %v, staging was not refused", err)
	}
	if strings.Join(c.checked, " ") != "staging/web prod/web" {
		t.Errorf("checked %v, want each (env, role) with a create or swap once, in plan order", c.checked)
	}
	if l := f.live(t); len(l.Pools) != 0 || len(l.Images) != 0 || len(l.Endpoints) != 0 {
		t.Errorf("preflight changed the cloud: %d pools, %d images, %d endpoints", len(l.Pools), len(l.Images), len(l.Endpoints))
	}
	c.env = ""
	if err := e.Preflight(context.Background(), f.firstDeploy()); err != nil {
		t.Errorf("Preflight with nothing to refuse = %v", err)
	}
}
