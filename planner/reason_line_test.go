package planner_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
)

// A pool that failed because its server crashed carries the server's last
// output, many lines; the plan's reason (the "why" column of its tables)
// stays on one line, quotes the last line of it and says where the rest
// is.
func TestCrashedPoolReasonIsOneLine(t *testing.T) {
	d := shop().Env("prod", plantest.Keep(2, 1)).Desired()
	pr := pool(d, "prod", "web")
	live := plantest.Deployed(d, now.Add(-30*day))
	p := plantest.PoolFor(pr, 1, now.Add(-time.Hour))
	p.Key, p.ID, p.State = "eeeeeeee", cloud.PoolID("prod", "web", "eeeeeeee", 1), cloud.PoolFailed
	p.Healthy, p.Servers = false, 0
	p.Reason = "creating pool prod.web.eeeeeeee.1: server 0 (pid 41) exited with status 2 before passing its health check; last output:\n" +
		"starting web\n\tat main.go:12\npanic: open /etc/web.conf: no such file or directory\n"
	live.Pools = append(live.Pools, p)
	plan := mustPlan(t, d, live, planner.Options{Envs: []string{"prod"}})
	i := slices.IndexFunc(plan.Steps, func(s planner.Step) bool { return s.ID == "prune:"+p.ID })
	if i < 0 {
		t.Fatalf("the failed pool is not pruned: %v", ids(plan))
	}
	want := "failed: creating pool prod.web.eeeeeeee.1: server 0 (pid 41) exited with status 2 before passing its health check; last output: " +
		"panic: open /etc/web.conf: no such file or directory (all of it: phoenix logs prod web --pool web@eeee.1)"
	if got := plan.Steps[i].Reason; got != want || strings.Contains(got, "\n") {
		t.Errorf("reason %q, want %q", got, want)
	}
}
