package compiler

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
)

// digestSource hashes a `files` source: for a file its mode and bytes; for
// a directory, walked in lexical order, every entry's relative path, kind,
// mode and bytes. Modes are reduced to what git records (executable or
// not), so that a checkout's umask does not change a build id.
func digestSource(fsys fs.FS, src string) (string, error) {
	h := newHasher("phoenix files v1")
	err := fs.WalkDir(fsys, src, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := "."
		if p != src {
			rel = p[len(src)+1:]
			if src == "." {
				rel = p
			}
		}
		switch t := e.Type(); {
		case t.IsDir():
			h.str("d")
			h.str(rel)
		case t&fs.ModeSymlink != 0:
			// A bake copies what the link points at: it must point
			// inside the spec (a dangling link fails at the bake).
			if _, err := fs.Stat(fsys, p); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			target, err := readLink(fsys, p)
			if err != nil {
				return err
			}
			h.str("l")
			h.str(rel)
			h.str(target)
		case t.IsRegular():
			info, err := e.Info()
			if err != nil {
				return err
			}
			h.str("f")
			h.str(rel)
			h.uint(uint64(normMode(info.Mode())))
			if err := h.file(fsys, p); err != nil {
				return err
			}
		default:
			h.str("?")
			h.str(rel)
		}
		return nil
	})
	return h.sum(), err
}

// file writes a file's length and bytes, streaming: sources may be
// large build artefacts.
func (h *hasher) file(fsys fs.FS, p string) error {
	f, err := fsys.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	h.uint(uint64(info.Size()))
	n, err := io.Copy(h.h, f)
	if err != nil {
		return err
	}
	if n != info.Size() {
		return fmt.Errorf("%s changed while it was read", p)
	}
	return nil
}

func normMode(m fs.FileMode) fs.FileMode {
	if m.Perm()&0o111 != 0 {
		return 0o755
	}
	return 0o644
}

// readLink returns a symlink's target when the file system can tell.
func readLink(fsys fs.FS, p string) (string, error) {
	if rl, ok := fsys.(fs.ReadLinkFS); ok {
		return rl.ReadLink(p)
	}
	return path.Base(p), nil
}
