// Package inroot explains os.Root's refusals. Every path Phoenix opens from
// a spec or writes into an image is resolved inside its root with os.Root
// (symbolic links and ".." included); when os.Root refuses one, the user
// needs to know which link leads out, not the standard library's bare
// "path escapes from parent".
package inroot

import (
	"errors"
	"io/fs"
	"os"
	"path"
	"strings"
)

// escapeText is the text of os.Root's (unexported) error for a path that
// leaves the root. It is the error's only mark; TestEscapes pins it, so a
// Go release that changes it fails the tests rather than the users.
const escapeText = "path escapes from parent"

// Escapes reports whether err is, or wraps, os.Root's refusal of a path
// that resolves outside the root (MkdirAll wraps it twice: "mkdirat srv:
// statat srv: path escapes from parent").
func Escapes(err error) bool {
	for e := err; e != nil; e = errors.Unwrap(e) {
		if e.Error() == escapeText {
			return true
		}
	}
	return false
}

// LinkOut returns the first symbolic link on name (slash-separated,
// relative to r), from the root down, that resolves outside r, with its
// target; empty strings when there is none (name may have changed since).
func LinkOut(r *os.Root, name string) (link, target string) {
	parts := strings.Split(path.Clean(name), "/")
	for i := range parts {
		p := path.Join(parts[:i+1]...)
		fi, err := r.Lstat(p)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		if _, err := r.Stat(p); Escapes(err) {
			t, _ := r.Readlink(p)
			return p, t
		}
	}
	return "", ""
}
