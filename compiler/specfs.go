package compiler

import (
	"fmt"
	"io/fs"
	"os"

	"github.com/phoenix-gitops/phoenix/internal/inroot"
)

// A spec in the work tree is read through an os.Root: a path of the spec
// (a .cue file, a `files` source, a `dir:` base, and every file a bake
// copies from them) is resolved inside the spec's directory, symbolic
// links included, never on the host. os.DirFS follows a committed
// `leak -> ../../secret` wherever it points; the git reader (gitspec)
// already refuses such links, and the work tree must not be weaker than
// a commit.

// openDir returns the spec directory dir as a file system confined to it.
// The root is closed when the file system is garbage (os.Root has a
// finalizer): the compiled spec keeps it as its Source for the bakes.
func openDir(dir string) (fs.FS, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("opening the spec directory: %w", err)
	}
	return &rootFS{r: r, fsys: r.FS()}, nil
}

// rootFS is an os.Root's fs.FS whose errors say which link leaves the
// spec, rather than the standard library's bare "path escapes from
// parent".
type rootFS struct {
	r    *os.Root
	fsys fs.FS
}

var (
	_ fs.ReadDirFS  = (*rootFS)(nil)
	_ fs.ReadFileFS = (*rootFS)(nil)
	_ fs.StatFS     = (*rootFS)(nil)
	_ fs.ReadLinkFS = (*rootFS)(nil)
)

func (f *rootFS) Open(name string) (fs.File, error) {
	file, err := f.fsys.Open(name)
	return file, f.explain(name, err)
}

func (f *rootFS) ReadDir(name string) ([]fs.DirEntry, error) {
	es, err := fs.ReadDir(f.fsys, name)
	return es, f.explain(name, err)
}

func (f *rootFS) ReadFile(name string) ([]byte, error) {
	b, err := fs.ReadFile(f.fsys, name)
	return b, f.explain(name, err)
}

func (f *rootFS) Stat(name string) (fs.FileInfo, error) {
	fi, err := fs.Stat(f.fsys, name)
	return fi, f.explain(name, err)
}

func (f *rootFS) ReadLink(name string) (string, error) {
	t, err := fs.ReadLink(f.fsys, name)
	return t, f.explain(name, err)
}

func (f *rootFS) Lstat(name string) (fs.FileInfo, error) {
	fi, err := fs.Lstat(f.fsys, name)
	return fi, f.explain(name, err)
}

// LinkOutError is the error of a path of the spec that resolves outside
// it through a symbolic link. It matches fs.ErrPermission.
type LinkOutError struct {
	Path   string // the path asked for, inside the spec
	Link   string // the link on it that leaves the spec ("" if not found)
	Target string // that link's target
}

func (e *LinkOutError) Error() string {
	switch {
	case e.Link == "":
		return fmt.Sprintf("%s points outside the spec (through a symbolic link)", e.Path)
	case e.Link == e.Path:
		return fmt.Sprintf("%s is a symbolic link to %s, which points outside the spec", e.Path, e.Target)
	}
	return fmt.Sprintf("%s points outside the spec: %s is a symbolic link to %s", e.Path, e.Link, e.Target)
}

func (e *LinkOutError) Unwrap() error { return fs.ErrPermission }

// explain turns os.Root's escape error into a LinkOutError naming the
// link; other errors pass unchanged.
func (f *rootFS) explain(name string, err error) error {
	if err == nil || !inroot.Escapes(err) {
		return err
	}
	e := &LinkOutError{Path: name}
	e.Link, e.Target = inroot.LinkOut(f.r, name)
	return e
}
