package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/encoding/yaml"
)

// The GitHub Actions workflow users copy (docs/github-actions/phoenix.yml)
// is checked here: its hardening settings, and its preview step run with
// a stand-in phoenix.

const workflowPath = "../../docs/github-actions/phoenix.yml"

func loadWorkflow(t *testing.T) cue.Value {
	t.Helper()
	src, err := os.ReadFile(workflowPath)
	if err != nil {
		t.Fatal(err)
	}
	f, err := yaml.Extract(workflowPath, src)
	if err != nil {
		t.Fatal(err)
	}
	v := cuecontext.New().BuildFile(f)
	if v.Err() != nil {
		t.Fatal(v.Err())
	}
	return v
}

// workflowSteps returns a job's steps.
func workflowSteps(t *testing.T, wf cue.Value, job string) []cue.Value {
	t.Helper()
	it, err := wf.LookupPath(cue.ParsePath("jobs." + job + ".steps")).List()
	if err != nil {
		t.Fatalf("job %s: %v", job, err)
	}
	var steps []cue.Value
	for it.Next() {
		steps = append(steps, it.Value())
	}
	return steps
}

func field(v cue.Value, path string) string {
	s, _ := v.LookupPath(cue.ParsePath(path)).String()
	return s
}

func TestWorkflowIsHardened(t *testing.T) {
	wf := loadWorkflow(t)
	if v := field(wf, "env.PHOENIX_VERSION"); v == "" || v == "latest" {
		t.Errorf("PHOENIX_VERSION = %q: pin a release", v)
	}
	for _, job := range []string{"preview", "apply"} {
		for _, s := range workflowSteps(t, wf, job) {
			if strings.HasPrefix(field(s, "uses"), "actions/checkout@") {
				if p, err := s.LookupPath(cue.ParsePath(`with["persist-credentials"]`)).Bool(); err != nil || p {
					t.Errorf("%s: checkout must set persist-credentials: false", job)
				}
			}
			if strings.Contains(field(s, "run"), "phoenix apply") && !strings.Contains(field(s, "run"), `--rev "$GITHUB_SHA"`) {
				t.Errorf("apply must read the merged commit: %q", field(s, "run"))
			}
		}
	}
	if env := field(wf, "jobs.apply.environment"); env != "production" {
		t.Errorf("apply runs in environment %q, want production (the deploy role trusts only it)", env)
	}
}

// TestWorkflowPreviewFailurePath runs the preview step with a stand-in
// phoenix: a fork's preview is offline; a failing phoenix's own comment
// is posted; a phoenix that dies without one leaves a comment that holds
// none of its stderr (which may quote the spec).
func TestWorkflowPreviewFailurePath(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	var script string
	for _, s := range workflowSteps(t, loadWorkflow(t), "preview") {
		if field(s, "id") == "diff" {
			script = field(s, "run")
		}
	}
	if script == "" {
		t.Fatal("no preview step with id diff")
	}
	for _, tc := range []struct {
		name, fork, fake string
		failed           bool
		want, wantNot    []string
	}{
		{"fork", "true", `echo "<!-- phoenix:diff -->"; echo "args: $*"`, false, []string{"--offline"}, nil},
		{"same repository", "false", `echo "<!-- phoenix:diff -->"; echo "args: $*"`, false, []string{"args: diff origin/main HEAD environments --format markdown"}, []string{"--offline"}},
		{"phoenix's failure comment", "false", `printf '<!-- phoenix:diff -->\n**Phoenix:** the preview failed.\n'; echo 'raw @org/team' >&2; exit 1`, true,
			[]string{"the preview failed."}, []string{"@org"}},
		{"changes (exit 2)", "false", `echo "<!-- phoenix:diff -->"; echo "**Phoenix:** 1 swap"; exit 2`, false, []string{"1 swap"}, nil},
		{"phoenix died", "false", "echo 'spec: \"@org/team <img src=x>\" ```\n# Approved' >&2; exit 137", true,
			[]string{"<!-- phoenix:diff -->", "see the job log"}, []string{"@org", "<img", "```", "Approved"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			bin := filepath.Join(dir, "bin")
			if err := os.Mkdir(bin, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(bin, "phoenix"), []byte("#!/bin/bash\n"+tc.fake+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "SPEC=environments", "BASE_REF=main", "FORK="+tc.fork,
				"GITHUB_OUTPUT="+filepath.Join(dir, "output"), "GITHUB_STEP_SUMMARY="+filepath.Join(dir, "summary"))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("the step failed: %v\n%s", err, out)
			}
			comment, _ := os.ReadFile(filepath.Join(dir, "phoenix-comment.md"))
			output, _ := os.ReadFile(filepath.Join(dir, "output"))
			if got := strings.Contains(string(output), "failed=true"); got != tc.failed {
				t.Errorf("failed=true in the step's output: %v, want %v", got, tc.failed)
			}
			for _, w := range tc.want {
				if !strings.Contains(string(comment), w) {
					t.Errorf("comment lacks %q:\n%s", w, comment)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(string(comment), w) {
					t.Errorf("comment holds %q:\n%s", w, comment)
				}
			}
		})
	}
}

// TestWorkflowAppliesMainNightly: phoenix servers are replaced past their
// maxAge only when something applies, so the workflow applies main every
// night, in the same job as a merge: the same environment, concurrency
// group and command.
func TestWorkflowAppliesMainNightly(t *testing.T) {
	wf := loadWorkflow(t)
	it, err := wf.LookupPath(cue.ParsePath("on.schedule")).List()
	if err != nil {
		t.Fatalf("no on.schedule: %v", err)
	}
	n := 0
	for it.Next() {
		n++
		if cron := field(it.Value(), "cron"); len(strings.Fields(cron)) != 5 || strings.Fields(cron)[2] != "*" || strings.Fields(cron)[4] != "*" {
			t.Errorf("schedule %q is not a daily cron line", cron)
		}
	}
	if n != 1 {
		t.Errorf("%d schedules, want one nightly run", n)
	}
	cond := field(wf, "jobs.apply.if")
	for _, want := range []string{"github.event_name == 'schedule'", "github.event_name == 'push'", "github.ref == 'refs/heads/main'"} {
		if !strings.Contains(cond, want) {
			t.Errorf("apply runs if %q: lacks %s", cond, want)
		}
	}
	if !strings.HasPrefix(cond, "github.ref == 'refs/heads/main' && (") {
		t.Errorf("apply runs if %q: both events must be on main", cond)
	}
	if g := field(wf, "jobs.apply.concurrency.group"); g != "phoenix-apply" {
		t.Errorf("apply concurrency group %q, want phoenix-apply", g)
	}
	if c := field(wf, "jobs.preview.if"); c != "github.event_name == 'pull_request'" {
		t.Errorf("preview runs if %q: a scheduled run must not preview", c)
	}
}
