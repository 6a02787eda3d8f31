package render

import (
	"bytes"
	"strings"
	"testing"

	"github.com/phoenix-gitops/phoenix/internal/mdtext"
	"github.com/phoenix-gitops/phoenix/planner"
)

// hostileText is what a pull request's author can put in a config value
// (reasons quote them) or provoke in a warning: a team mention, an image
// from anywhere, a disguised link, HTML, and a fence that would close the
// code block it is pasted into.
const hostileText = "@org/team ![x](https://evil.example/p.png) [docs](https://evil.example/phish) " +
	`<img src="https://evil.example/i.png"> <details open><summary>LGTM</summary>` + "\n```\n# Approved\n```"

// hostilePlan (a golden fixture too) carries hostileText in every field of a plan that holds
// text from outside: reasons of bakes, creates and swaps, and warnings.
func hostilePlan() *planner.Plan {
	p := uxPlan()
	p.Steps[0].Reason = "image base: " + hostileText
	p.Steps[2].Reason = `config NOTE "1" → "` + hostileText + `"`
	p.Warnings = []string{"pool staging.web.1 shows drift: " + hostileText}
	return p
}

func TestMarkdownInjectionIsInert(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, FromPlan(hostilePlan(), Info{}), MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	prose := mdtext.OutsideFences(md)
	for _, live := range []string{"@org", "![", "[x](", "[docs](", "<img", "<details open", "<summary>LGTM", "\n# Approved"} {
		if strings.Contains(prose, live) {
			t.Errorf("%q reaches the comment outside a code block:\n%s", live, prose)
		}
	}
	// What GitHub shows is still the text: the escapes are undone.
	if !strings.Contains(prose, `\!\[x\](https://evil.example/p.png)`) || !strings.Contains(prose, "&lt;img") {
		t.Errorf("the hostile text should show, escaped:\n%s", prose)
	}
	// The full plan holds the text as it is, in a fence it cannot close:
	// the comment's own sections all survive.
	for _, section := range []string{"<details><summary>Plan graph</summary>", "<details><summary>Full plan</summary>"} {
		if !strings.Contains(prose, section) {
			t.Errorf("section %q is missing outside code blocks: a fence was closed early\n%s", section, prose)
		}
	}
	if strings.Count(prose, "</details>") != 2 {
		t.Errorf("want the two sections closed outside code blocks:\n%s", prose)
	}
}
