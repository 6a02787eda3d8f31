package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planfile"
	"github.com/phoenix-gitops/phoenix/planner"
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

// TestSavedPlanKeepsThePrintedReasons: the reasons a plan prints (text,
// JSON, Markdown) are the planner's, so a saved plan records the same
// ones, step for step, including what moved in the spec.
func TestSavedPlanKeepsThePrintedReasons(t *testing.T) {
	memoryCLI(t)
	r := newGitopsRepo(t)
	r.specVersion("1", "1", 2)
	r.commit("release 1")
	phoenix(t, nil, "apply", r.spec(), "--yes")
	r.specVersion("2", "2", 2)
	r.commit("release 2")

	saved := filepath.Join(t.TempDir(), "r.plan")
	printed := map[string]string{}
	for _, format := range []string{"json", "text", "markdown"} {
		var out, errOut bytes.Buffer
		args := []string{"plan", r.spec(), "--format", format}
		if format == "json" {
			args = append(args, "--out", saved)
		}
		if code := run(args, &out, &errOut); code != exitChanges {
			t.Fatalf("phoenix %s: exit %d\n%s", strings.Join(args, " "), code, errOut.String())
		}
		printed[format] = out.String()
	}
	var doc struct {
		Steps []struct{ ID, Reason string }
	}
	if err := json.Unmarshal([]byte(printed["json"]), &doc); err != nil {
		t.Fatal(err)
	}
	f, err := planfile.Read(saved)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Plan.Steps) != len(doc.Steps) || len(doc.Steps) == 0 {
		t.Fatalf("saved %d steps, printed %d", len(f.Plan.Steps), len(doc.Steps))
	}
	explained := 0
	for i, s := range f.Plan.Steps {
		if s.ID != doc.Steps[i].ID || s.Reason != doc.Steps[i].Reason {
			t.Errorf("step %d: saved %s %q, printed %s %q", i, s.ID, s.Reason, doc.Steps[i].ID, doc.Steps[i].Reason)
		}
		if s.Kind == planner.Create && s.Reason == `config VERSION "1" → "2"` {
			explained++
		}
	}
	if explained != 2 {
		t.Errorf("want both creates explained by the spec change, got %d:\n%s", explained, printed["json"])
	}
	for _, format := range []string{"text", "markdown"} {
		if !strings.Contains(printed[format], `config VERSION "1" → "2"`) {
			t.Errorf("the %s plan lacks the spec change:\n%s", format, printed[format])
		}
	}
}
