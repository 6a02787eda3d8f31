package history

import (
	"slices"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// TestServingCommitsTakeTheHeaviestBackendAndOnlyHashes: history is read
// only for endpoints in scope whose serving pool (the heaviest backend)
// has another key than the spec, made at another commit named by a hash.
func TestServingCommitsTakeTheHeaviestBackendAndOnlyHashes(t *testing.T) {
	const spec, old, canary = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "cccccccccccccccccccccccccccccccccccccccc"
	live := &cloud.Live{
		Pools: []cloud.Pool{
			{Cloud: "local", ID: "prod.web.1", Key: "k1", Commit: old + "-dirty"},
			{Cloud: "local", ID: "prod.web.2", Key: "k2", Commit: canary},
			{Cloud: "local", ID: "qa.web.1", Key: "k1", Commit: spec},
			{Cloud: "local", ID: "ci.web.1", Key: "k1", Commit: "main"},
			{Cloud: "local", ID: "dev.web.1", Key: "k2", Commit: old},
			{Cloud: "local", ID: "lab.web.1", Key: "k1", Commit: old},
		},
		Endpoints: []cloud.Endpoint{
			{Cloud: "local", Env: "prod", Role: "web", Backends: []cloud.Backend{{Pool: "prod.web.2", Weight: 10}, {Pool: "prod.web.1", Weight: 90}}},
			{Cloud: "local", Env: "qa", Role: "web", Backends: []cloud.Backend{{Pool: "qa.web.1", Weight: 100}}},
			{Cloud: "local", Env: "ci", Role: "web", Backends: []cloud.Backend{{Pool: "ci.web.1", Weight: 100}}},
			{Cloud: "local", Env: "dev", Role: "web", Backends: []cloud.Backend{{Pool: "dev.web.1", Weight: 100}}},
			{Cloud: "local", Env: "lab", Role: "web", Backends: []cloud.Backend{{Pool: "lab.web.1", Weight: 100}}},
		},
	}
	d := &model.Desired{Commit: spec}
	for _, env := range []string{"ci", "dev", "lab", "prod", "qa"} {
		d.Pools = append(d.Pools, &model.Pool{Env: env, Role: "web", Key: "k2"})
	}
	got := servingCommits(d, live, []string{"ci", "dev", "prod", "qa"})
	// -dirty dropped; qa is the spec's commit; "main" is no hash; dev
	// serves the desired key; lab is out of scope.
	want := map[[2]string]string{{"prod", "web"}: old}
	if len(got) != len(want) || got[[2]string{"prod", "web"}] != old {
		t.Fatalf("serving commits %v, want %v", got, want)
	}
	if all := servingCommits(d, live, nil); len(all) != 2 || all[[2]string{"lab", "web"}] != old {
		t.Fatalf("with no scope, every environment counts: %v", all)
	}
}

func TestOrderedCommitsPutTheMostServedFirst(t *testing.T) {
	from := map[[2]string]string{{"a", "web"}: "c2", {"b", "web"}: "c1", {"c", "web"}: "c2", {"d", "web"}: "c3"}
	if got := orderedCommits(from); !slices.Equal(got, []string{"c2", "c1", "c3"}) {
		t.Fatalf("order %v", got)
	}
}
