// Package mdtext makes text that Phoenix did not write (spec values,
// names, reasons that quote them, error messages) safe to put in a
// GitHub comment. A pull request's spec is written by whoever opened it,
// and GitHub renders what it reads: "@org/team" notifies a team,
// "![x](https://…)" loads an image from anywhere (and tells its owner
// who read the comment), "[text](url)" hides where a link goes, and HTML
// draws whatever it likes. Everything from outside goes through Inline
// (running text, table cells) or Fence (a code block), so that it shows
// as the characters it is and does nothing.
package mdtext

import "strings"

// wordJoiner is an invisible character that cannot start a GitHub user
// or team name: "@\u2060team" shows as "@team" and notifies nobody.
// Backslash and HTML escapes do not help: GitHub looks for mentions in
// the rendered text, after they are undone.
const wordJoiner = "\u2060"

var inline = strings.NewReplacer(
	// HTML: no tags, no entities of the writer's choosing.
	"&", "&amp;", "<", "&lt;", ">", "&gt;",
	// Markdown: no links or images ([ and ! ), emphasis, code spans,
	// strikethrough, table cells (|), or escapes of the writer's own.
	`\`, `\\`, "[", `\[`, "]", `\]`, "!", `\!`, "*", `\*`, "_", `\_`,
	"`", "\\`", "~", `\~`, "|", `\|`,
	// One line: a newline could start a heading, a list or a fence.
	"\r\n", " ", "\n", " ", "\r", " ",
)

// Inline escapes s for running text or a table cell: it renders as the
// same characters, on one line, with no markup, mention or HTML.
func Inline(s string) string { return noMentions(inline.Replace(s)) }

// noMentions puts a word joiner after every @ that GitHub could read as
// a mention: one at the start or after a character that is not part of
// a word. An @ inside a word ("web@0a11.1", a pool; an email address)
// mentions nobody and stays as it is, so that it can be copied.
func noMentions(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(s[i])
		if s[i] == '@' && (i == 0 || !isWordByte(s[i-1])) {
			b.WriteString(wordJoiner)
		}
	}
	return b.String()
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// Fence puts s in a fenced code block (with info, e.g. "mermaid", on the
// opening line). The fence is longer than any run of backticks in s, so
// nothing in s can close it; inside it GitHub renders no markup, HTML or
// mention.
func Fence(info, s string) string {
	fence := "```"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return fence + info + "\n" + s + fence + "\n"
}

// OutsideFences drops fenced code blocks (whose content GitHub shows as it
// is) from a Markdown text, honouring the opening fence's length: what is
// left is what GitHub renders as Markdown, where text from the spec must
// be inert. The tests of every comment check it.
func OutsideFences(md string) string {
	var out strings.Builder
	fence := ""
	for _, line := range strings.SplitAfter(md, "\n") {
		trimmed := strings.TrimSpace(line)
		switch {
		case fence == "" && strings.HasPrefix(trimmed, "```"):
			fence = trimmed[:len(trimmed)-len(strings.TrimLeft(trimmed, "`"))]
		case fence != "" && strings.HasPrefix(trimmed, fence) && strings.Trim(trimmed, "`") == "":
			fence = ""
		case fence == "":
			out.WriteString(line)
		}
	}
	return out.String()
}
