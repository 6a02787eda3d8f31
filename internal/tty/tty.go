// Package tty decides how to talk to the user's terminal: colour only on a
// terminal and never with NO_COLOR or TERM=dumb; live views only on a
// terminal outside CI.
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

// Color reports whether to write ANSI colours to w.
func Color(w io.Writer) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	return IsTerminal(w)
}

// Live reports whether w may show a live, redrawn view (spinners), which
// is never the case in CI (CI=true) or off a terminal.
func Live(w io.Writer) bool {
	if os.Getenv("CI") == "true" || os.Getenv("CI") == "1" {
		return false
	}
	return Color(w) || (IsTerminal(w) && os.Getenv("TERM") != "dumb")
}

// Paint wraps s in an ANSI SGR code when on is true ("1" bold, "31" red,
// "32" green, "33" yellow, "36" cyan, "2" dim).
func Paint(on bool, code, s string) string {
	if !on || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
