package main

import (
	"strings"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/local"
)

// TestPrintNotRunningOrphans: `cloud status` with no supervisor names the
// servers a killed supervisor left running and says what stops them.
func TestPrintNotRunningOrphans(t *testing.T) {
	var b strings.Builder
	printNotRunning(&b, "/h", []local.PoolStatus{
		{Project: "demo", ID: "ci.web.65c143db.1", State: cloud.PoolReady, Count: 2, PIDs: []int{101, 102}},
		{Project: "demo", ID: "ci.api.1a2b3c4d.2", State: cloud.PoolReady, Count: 1, PIDs: []int{103}},
	})
	got := b.String()
	for _, want := range []string{
		"local cloud is not running (home /h)\n",
		"but 3 servers it started still run without it",
		"demo     ci.web.65c143db.1  ready  2/2      101,102",
		"demo     ci.api.1a2b3c4d.2  ready  1/1      103",
		"phoenix cloud down stops them",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing %q in:\n%s", want, got)
		}
	}

	b.Reset()
	printNotRunning(&b, "/h", nil)
	if got := b.String(); got != "local cloud is not running (home /h)\n"+localDownText+"\n" {
		t.Errorf("with no orphans: %q", got)
	}
	if got := orphanPools([]local.PoolStatus{{ID: "a", PIDs: []int{1}}, {ID: "b", PIDs: []int{2, 3}}}); got != "pool a pid 1; pool b pids 2, 3" {
		t.Errorf("orphanPools: %q", got)
	}
}

// TestPrintCloudStatusColdServing: with the supervisor running again after
// `cloud down` (any command starts it), `cloud status` says the serving
// pool is cold, why, and what starts it; a cold retained pool is not named.
func TestPrintCloudStatusColdServing(t *testing.T) {
	st := &local.Status{PID: 7, Home: "/h",
		Endpoints: []local.EndpointStatus{{Project: "demo", Env: "ci", Role: "web", Address: "127.0.0.1:17081",
			Backends: []cloud.Backend{{Pool: "ci.web.65c143db.2", Weight: 100}}}},
		Pools: []local.PoolStatus{
			{Project: "demo", ID: "ci.web.65c143db.2", State: cloud.PoolCold, Count: 2, Reason: "stopped by phoenix cloud down"},
			{Project: "demo", ID: "ci.web.65c143db.1", State: cloud.PoolCold, Count: 2},
		}}
	var b strings.Builder
	printCloudStatus(&b, st)
	want := "\nServing pool ci.web.65c143db.2 is cold, so its endpoint answers 503: stopped by phoenix cloud down.\nphoenix cloud up starts it.\n"
	if got := b.String(); !strings.HasSuffix(got, want) || strings.Count(got, "is cold") != 1 {
		t.Errorf("cloud status lacks %q (once):\n%s", want, got)
	}
}
