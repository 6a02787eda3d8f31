package main

import (
	"slices"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

func TestServingCommitsTakeTheHeaviestBackendAndOnlyHashes(t *testing.T) {
	const spec, old, canary = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "cccccccccccccccccccccccccccccccccccccccc"
	live := &cloud.Live{
		Pools: []cloud.Pool{
			{Cloud: "local", ID: "prod.web.1", Commit: old + "-dirty"},
			{Cloud: "local", ID: "prod.web.2", Commit: canary},
			{Cloud: "local", ID: "qa.web.1", Commit: spec},
			{Cloud: "local", ID: "ci.web.1", Commit: "main"},
			{Cloud: "local", ID: "dev.web.1", Commit: old},
		},
		Endpoints: []cloud.Endpoint{
			{Cloud: "local", Env: "prod", Role: "web", Backends: []cloud.Backend{{Pool: "prod.web.2", Weight: 10}, {Pool: "prod.web.1", Weight: 90}}},
			{Cloud: "local", Env: "qa", Role: "web", Backends: []cloud.Backend{{Pool: "qa.web.1", Weight: 100}}},
			{Cloud: "local", Env: "ci", Role: "web", Backends: []cloud.Backend{{Pool: "ci.web.1", Weight: 100}}},
			{Cloud: "local", Env: "dev", Role: "web", Backends: []cloud.Backend{{Pool: "dev.web.1", Weight: 100}}},
		},
	}
	p := &planner.Plan{Steps: []planner.Step{
		{Kind: planner.Create, Cloud: "local", Env: "prod", Role: "web"},
		{Kind: planner.Create, Cloud: "local", Env: "qa", Role: "web"},
		{Kind: planner.Create, Cloud: "local", Env: "ci", Role: "web"},
		{Kind: planner.Swap, Cloud: "local", Env: "dev", Role: "web"}, // not a rollback: no reason needed
	}}
	got := servingCommits(&model.Desired{Commit: spec}, live, p)
	want := map[[2]string]string{{"prod", "web"}: old} // -dirty dropped; qa is the spec's; "main" is no hash
	if len(got) != len(want) || got[[2]string{"prod", "web"}] != old {
		t.Fatalf("serving commits %v, want %v", got, want)
	}
}

func TestOrderedCommitsPutTheMostServedFirst(t *testing.T) {
	from := map[[2]string]string{{"a", "web"}: "c2", {"b", "web"}: "c1", {"c", "web"}: "c2", {"d", "web"}: "c3"}
	if got := orderedCommits(from); !slices.Equal(got, []string{"c2", "c1", "c3"}) {
		t.Fatalf("order %v", got)
	}
}
