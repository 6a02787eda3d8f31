// Package tty decides how to talk to the user's terminal: colour and live
// views only on a terminal, never in CI (CI=true or CI=1); colour never
// with NO_COLOR (any non-empty value, as no-color.org defines it) or
// TERM=dumb.
package tty

import (
	"io"
	"os"

	"golang.org/x/term"
)

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// Color reports whether to write ANSI colours to w. CI logs are kept as
// plain text even when the runner allocates a terminal, so they read the
// same in a browser, a file and a grep.
func Color(w io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" || inCI() {
		return false
	}
	return IsTerminal(w)
}

// Live reports whether w may show a live, redrawn view (spinners), which
// is never the case in CI or off a terminal. NO_COLOR leaves it on: it
// asks for no colour, not for no redrawing.
func Live(w io.Writer) bool {
	return !inCI() && IsTerminal(w) && os.Getenv("TERM") != "dumb"
}

// inCI reports whether the CI convention variable says we run in CI.
func inCI() bool {
	ci := os.Getenv("CI")
	return ci == "true" || ci == "1"
}

// Paint wraps s in an ANSI SGR code when on is true ("1" bold, "31" red,
// "32" green, "33" yellow, "36" cyan, "2" dim).
func Paint(on bool, code, s string) string {
	if !on || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
