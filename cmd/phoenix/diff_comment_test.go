package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud/memory"
	"github.com/phoenix-gitops/phoenix/internal/mdtext"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/render"
)

// hostileValue is a config value a pull request's author could write
// (as a CUE string: \n are newlines): a team mention, an image from
// anywhere, a disguised link, HTML, and a fence that would close the code
// block of the full plan.
const hostileValue = `@org/team ![x](https://evil.example/p.png) [docs](https://evil.example/phish) <img src=https://evil.example/i.png> <details open><summary>LGTM</summary>\n` +
	"```\\n# Approved\\n```"

// liveMarkup is what GitHub would act on if hostileValue reached a
// comment outside a code block.
var liveMarkup = []string{"@org", "![", "[x](", "[docs](", "<img", "<details open", "<summary>LGTM", "\n# Approved"}

// TestCommentRendersSpecTextInert: a config value full of markup reaches
// the comment's tables, desired-state list and full plan, and does
// nothing in any of them.
func TestCommentRendersSpecTextInert(t *testing.T) {
	r := newGitopsRepo(t)
	r.specVersion("1", "1", 2)
	r.commit("v1")
	r.specVersion(hostileValue, "1", 2)
	r.commit("a friendly change")
	c := memory.New(memory.WithName(model.CloudLocal))
	res, err := computeDiff(context.Background(), diffOptions{Base: "HEAD~1", Head: "HEAD", Dir: r.spec(), Now: time.Now()}, memoryClouds(c))
	if err != nil {
		t.Fatal(err)
	}
	var md bytes.Buffer
	if err := writeDiff(&md, res, "markdown"); err != nil {
		t.Fatal(err)
	}
	out := mdtext.OutsideFences(md.String())
	for _, live := range liveMarkup {
		if strings.Contains(out, live) {
			t.Errorf("%q reaches the comment outside a code block:\n%s", live, out)
		}
	}
	for _, section := range []string{"#### staging", "<summary>Desired-state changes</summary>", "<summary>Full plan</summary>"} {
		if !strings.Contains(out, section) {
			t.Errorf("%q is missing outside code blocks (a fence closed early?):\n%s", section, out)
		}
	}
	if !strings.Contains(out, `\!\[x\](https://evil.example/p.png)`) {
		t.Errorf("the value should still show, escaped:\n%s", out)
	}
}

// TestFailureCommentHoldsTheErrorInert: the error of a failed diff quotes
// the spec; the comment shows it in a code block it cannot close.
func TestFailureCommentHoldsTheErrorInert(t *testing.T) {
	err := errors.New("spec/web.cue:3:12: conflicting values \"@org/team <img src=x>\" and\n```\n# Approved <details open><summary>LGTM</summary>\n```\n![x](https://evil.example/p.png)")
	var md bytes.Buffer
	if werr := render.FailureComment(&md, err); werr != nil {
		t.Fatal(werr)
	}
	if !strings.HasPrefix(md.String(), diffCommentMarker+"\n**Phoenix:** the preview failed.") {
		t.Fatalf("no marker or verdict:\n%s", md.String())
	}
	out := mdtext.OutsideFences(md.String())
	for _, live := range liveMarkup {
		if strings.Contains(out, live) {
			t.Errorf("%q reaches the comment outside a code block:\n%s", live, out)
		}
	}
	if !strings.Contains(md.String(), err.Error()) {
		t.Errorf("the error is not shown as it is:\n%s", md.String())
	}
	var long bytes.Buffer
	_ = render.FailureComment(&long, errors.New(strings.Repeat("an error line\n", 10000)))
	if long.Len() > render.DefaultMarkdownMax || !strings.Contains(long.String(), "Cut to fit a comment") {
		t.Errorf("a long error: %d bytes, over %d or cut without saying so", long.Len(), render.DefaultMarkdownMax)
	}
}

// TestDiffMarkdownWritesTheFailureComment: `phoenix diff --format
// markdown` that fails still prints a comment, and exits 1.
func TestDiffMarkdownWritesTheFailureComment(t *testing.T) {
	r := newGitopsRepo(t)
	r.specVersion("1", "1", 2)
	r.commit("v1")
	r.write("environments/broken.cue", "package phoenix\nproject: \"@org/team <img src=x>\"\nproject: \"other\"\n")
	r.commit("broken")
	var stdout, stderr bytes.Buffer
	code := run([]string{"diff", "HEAD~1", "HEAD", r.spec(), "--offline", "--format", "markdown"}, &stdout, &stderr)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), diffCommentMarker+"\n**Phoenix:** the preview failed.") || !strings.Contains(stdout.String(), "two different values") {
		t.Fatalf("stdout is not the failure comment:\n%s", stdout.String())
	}
	if out := mdtext.OutsideFences(stdout.String()); strings.Contains(out, "@org") || strings.Contains(out, "<img") {
		t.Errorf("the spec's text reaches the comment outside a code block:\n%s", out)
	}
}
