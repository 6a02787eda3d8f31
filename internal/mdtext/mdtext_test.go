package mdtext

import (
	"strings"
	"testing"
)

// hostile is text a pull request's author controls, each piece of which
// GitHub would act on if it reached a comment as it is.
var hostile = map[string]string{
	"mention":      "ping @org/team and @alice",
	"image":        "![x](https://evil.example/pixel.png)",
	"link":         "[docs](https://evil.example/phish)",
	"img tag":      `<img src="https://evil.example/p.png">`,
	"details":      "<details open><summary>hidden</summary>",
	"fence":        "```\n# Approved\n```",
	"table break":  "a | b",
	"entity":       "&lt;b&gt;",
	"emphasis":     "**bold** _it_ ~~gone~~",
	"own escape":   `\[not a link\](x)`,
	"heading line": "x\n# Heading",
}

func TestInlineIsInert(t *testing.T) {
	for name, s := range hostile {
		got := Inline(s)
		for _, bad := range []string{"\n", "<", "@o", "@a"} {
			if strings.Contains(got, bad) {
				t.Errorf("%s: Inline(%q) = %q still holds %q", name, s, got, bad)
			}
		}
		for _, c := range "[]!*_~`|" {
			if bare(got, c) {
				t.Errorf("%s: Inline(%q) = %q has a %c that is not escaped", name, s, got, c)
			}
		}
		if strings.Contains(got, "&lt;b") && !strings.Contains(got, "&amp;lt;b") {
			t.Errorf("%s: an entity in the text was left for GitHub to decode: %q", name, got)
		}
	}
	// Characters a reader sees stay: only escapes and invisible joiners
	// are added.
	if got := Inline("@org/team"); got != "@\u2060org/team" {
		t.Errorf("Inline(@org/team) = %q", got)
	}
	if got := Inline("pool web@0a11.1, mail ops@example.com"); got != "pool web@0a11.1, mail ops@example.com" {
		t.Errorf("an @ inside a word mentions nobody and must stay copyable: %q", got)
	}
	if got := Inline("(@alice)"); got != "(@\u2060alice)" {
		t.Errorf("Inline((@alice)) = %q", got)
	}
	if got := Inline("![x](u)"); got != `\!\[x\](u)` {
		t.Errorf("Inline(![x](u)) = %q", got)
	}
}

// bare says whether s holds c without a backslash before it (a
// backslash that is itself escaped does not count).
func bare(s string, c rune) bool {
	escaped := false
	for _, r := range s {
		switch {
		case escaped:
			escaped = false
		case r == '\\':
			escaped = true
		case r == c:
			return true
		}
	}
	return false
}

func TestFenceCannotBeClosedFromInside(t *testing.T) {
	for _, s := range []string{"plain", "```\nnot code\n```", "````x", "a ``````` b"} {
		got := Fence("", s)
		open, _, _ := strings.Cut(got, "\n")
		lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
		if lines[len(lines)-1] != open {
			t.Errorf("Fence(%q): does not end with its opening fence %q:\n%s", s, open, got)
		}
		for _, l := range lines[1 : len(lines)-1] {
			if strings.HasPrefix(strings.TrimLeft(l, " "), open) {
				t.Errorf("Fence(%q): line %q inside would close the fence %q", s, l, open)
			}
		}
	}
	if got := Fence("mermaid", "flowchart LR"); got != "```mermaid\nflowchart LR\n```\n" {
		t.Errorf("Fence(mermaid) = %q", got)
	}
}
