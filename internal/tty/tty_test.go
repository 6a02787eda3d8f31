package tty

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// env sets the variables the decisions read, for one test: "" unsets one
// (t.Setenv first, so it is restored afterwards).
func env(t *testing.T, noColor, term, ci string) {
	t.Helper()
	for k, v := range map[string]string{"NO_COLOR": noColor, "TERM": term, "CI": ci} {
		t.Setenv(k, v)
		if v == "" {
			_ = os.Unsetenv(k)
		}
	}
}

// A pipe, a file and a buffer are not terminals: no colour, no live view,
// whatever the environment says.
func TestNotATerminal(t *testing.T) {
	env(t, "", "xterm-256color", "")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	f, err := os.Create(t.TempDir() + "/out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for name, out := range map[string]io.Writer{
		"pipe": w, "file": f, "buffer": &bytes.Buffer{},
	} {
		if IsTerminal(out) || Color(out) || Live(out) {
			t.Errorf("%s: IsTerminal=%v Color=%v Live=%v, want all false",
				name, IsTerminal(out), Color(out), Live(out))
		}
	}
}

// On a terminal the environment decides: colour unless NO_COLOR is set to
// something, TERM=dumb or CI; a live view needs TERM other than dumb and
// CI unset (CI=true or CI=1 turn both off, other values do not).
func TestTerminal(t *testing.T) {
	pts := openPTY(t)
	for _, c := range []struct {
		name              string
		noColor, term, ci string
		color, live       bool
	}{
		{"plain", "", "xterm-256color", "", true, true},
		{"TERM unset", "", "", "", true, true},
		{"NO_COLOR", "1", "xterm-256color", "", false, true},
		{"TERM=dumb", "", "dumb", "", false, false},
		{"NO_COLOR and TERM=dumb", "1", "dumb", "", false, false},
		{"CI=true", "", "xterm-256color", "true", false, false},
		{"CI=1", "", "xterm-256color", "1", false, false},
		{"CI=true and NO_COLOR", "1", "xterm-256color", "true", false, false},
		{"CI=false", "", "xterm-256color", "false", true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			env(t, c.noColor, c.term, c.ci)
			if !IsTerminal(pts) {
				t.Fatal("IsTerminal = false on a pseudo-terminal")
			}
			if got := Color(pts); got != c.color {
				t.Errorf("Color = %v, want %v", got, c.color)
			}
			if got := Live(pts); got != c.live {
				t.Errorf("Live = %v, want %v", got, c.live)
			}
		})
	}
}

// Paint adds an SGR code and a reset only when on, and never around an
// empty string (which would print a stray reset).
func TestPaint(t *testing.T) {
	for _, c := range []struct {
		on      bool
		code, s string
		want    string
	}{
		{true, "32", "+ create", "\x1b[32m+ create\x1b[0m"},
		{true, "1", "", ""},
		{false, "31", "- prune", "- prune"},
	} {
		if got := Paint(c.on, c.code, c.s); got != c.want {
			t.Errorf("Paint(%v, %q, %q) = %q, want %q", c.on, c.code, c.s, got, c.want)
		}
	}
}

// NO_COLOR set to the empty string does not turn colour off: no-color.org
// asks for a non-empty value, so `NO_COLOR= phoenix plan` still colours.
func TestEmptyNoColor(t *testing.T) {
	pts := openPTY(t)
	env(t, "", "xterm-256color", "")
	t.Setenv("NO_COLOR", "")
	if !Color(pts) {
		t.Error("Color = false with NO_COLOR set but empty, want true")
	}
}
