package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phoenix-gitops/phoenix/planfile"
	"github.com/phoenix-gitops/phoenix/planner"
)

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
