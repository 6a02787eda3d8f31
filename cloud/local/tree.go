package local

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/phoenix-gitops/phoenix/internal/inroot"
)

// Image trees. A child image starts as a copy of its parent's tree. How
// the copy is made decides whether a child can ever change its parent:
//
//   - A reflink (FICLONE on Linux's btrfs, xfs, ...; clonefile on macOS's
//     APFS) shares blocks copy-on-write: always safe and cheap, tried
//     first for every file (cloneFile, per system).
//   - A hard link shares the inode: cheap, but a step that writes a file in
//     place (`echo x >> f`) would write through to the parent, and file
//     modes do not stop root. So hard links are used only when the child has
//     no steps: its `files` are then written by Phoenix itself, which
//     removes the destination before writing (breaking the link).
//   - Otherwise the bytes are copied.
//
// A finished tree is made read-only (write bits cleared) and its digest
// (paths, modes, sizes, contents, link targets) recorded.

// copyMode says how copyTree may share a source file.
type copyMode int

const (
	copyBytes copyMode = iota // reflink, else copy bytes
	copyLink                  // reflink, else hard link, else copy bytes
)

// copyTree copies the tree at src into dst (which exists), preserving
// modes and symbolic links.
func copyTree(src, dst string, mode copyMode) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if rel == "." {
			return nil
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.Mkdir(target, 0o755)
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.Mode().IsRegular():
			return copyFile(path, target, info.Mode().Perm(), mode)
		default:
			return fmt.Errorf("%s: unsupported file type %s", rel, info.Mode().Type())
		}
	})
}

// copyFile copies one regular file, sharing it as mode allows.
func copyFile(src, dst string, perm fs.FileMode, mode copyMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm|0o200)
	if err != nil {
		return err
	}
	if cloneFile(out, in) == nil {
		return out.Close()
	}
	if mode == copyLink {
		out.Close()
		if err := os.Remove(dst); err != nil {
			return err
		}
		if os.Link(src, dst) == nil {
			return nil
		}
		if out, err = os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm|0o200); err != nil {
			return err
		}
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyFromFS copies name (a file or a directory) from fsys to dst, a
// slash-separated path inside the image root, replacing what is there: an
// existing destination is removed first, so a hard link shared with the
// parent is broken, never written through. Every path is resolved in root
// (os.Root): a link that a parent's step made out of the tree
// (srv -> /var/www) is refused, never followed onto the host.
func copyFromFS(fsys fs.FS, name string, root *os.Root, dst string) error {
	info, err := fs.Stat(fsys, name)
	if err != nil {
		return err
	}
	if err := root.MkdirAll(path.Dir(dst), 0o755); err != nil {
		return err
	}
	if !info.IsDir() {
		return writeFromFS(fsys, name, root, dst, info.Mode().Perm())
	}
	return fs.WalkDir(fsys, name, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		target := path.Join(dst, strings.TrimPrefix(strings.TrimPrefix(p, name), "/"))
		if d.IsDir() {
			return replaceDir(root, target)
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		return writeFromFS(fsys, p, root, target, fi.Mode().Perm())
	})
}

// replaceDir makes name a writable directory, keeping one that is there
// and replacing anything else (a file, a link) by an empty one.
func replaceDir(root *os.Root, name string) error {
	if fi, err := root.Lstat(name); err == nil && fi.IsDir() {
		return root.Chmod(name, 0o755)
	}
	if err := root.RemoveAll(name); err != nil {
		return err
	}
	return root.Mkdir(name, 0o755)
}

func writeFromFS(fsys fs.FS, name string, root *os.Root, dst string, perm fs.FileMode) error {
	if perm == 0 {
		perm = 0o644
	}
	in, err := fsys.Open(name)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := root.RemoveAll(dst); err != nil {
		return err
	}
	out, err := root.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm|0o200)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// makeReadOnly clears the write bits of every file and directory of the
// tree at root (the root itself included).
func makeReadOnly(root string) error {
	var dirs []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		if d.IsDir() {
			dirs = append(dirs, p) // after their contents
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.Chmod(p, info.Mode().Perm()&^0o222)
	})
	if err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		if err := os.Chmod(dirs[i], 0o555); err != nil {
			return err
		}
	}
	return nil
}

// removeTree deletes a tree that may be read-only.
func removeTree(root string) error {
	if _, err := os.Lstat(root); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(p, 0o755)
		}
		return nil
	})
	return os.RemoveAll(root)
}

// treeDigest returns the hex SHA-256 over the tree at root: for every
// entry in lexical order its relative path, type, permission bits, and the
// file's bytes or the link's target. Ownership and times are left out so
// that a copy of a tree has the same digest.
func treeDigest(root string) (string, error) {
	h := sha256.New()
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		paths = append(paths, p)
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(paths)
	var num [8]byte
	for _, p := range paths {
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			continue // the root's own mode changes when it is put in place
		}
		info, err := os.Lstat(p)
		if err != nil {
			return "", err
		}
		h.Write([]byte(filepath.ToSlash(rel)))
		h.Write([]byte{0})
		binary.BigEndian.PutUint32(num[:4], uint32(info.Mode().Type()|info.Mode().Perm()))
		h.Write(num[:4])
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return "", err
			}
			h.Write([]byte(link))
		case info.Mode().IsRegular():
			binary.BigEndian.PutUint64(num[:], uint64(info.Size()))
			h.Write(num[:])
			f, err := os.Open(p)
			if err != nil {
				return "", err
			}
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				return "", err
			}
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// insideRoot cleans a `files` destination into a slash-separated path
// relative to the image root, refusing the root itself; ".." cannot climb
// above the root (the compiler refuses it anyway). Links on the path are
// resolved later, in the root (see copyFromFS).
func insideRoot(dest string) (string, error) {
	clean := path.Clean("/" + filepath.ToSlash(dest))
	if clean == "/" {
		return "", fmt.Errorf("destination %q is the image root", dest)
	}
	return strings.TrimPrefix(clean, "/"), nil
}

// outsideImage explains an error of a write to rel in the image root:
// os.Root's refusal of a path that leaves the tree says which link leads
// out.
func outsideImage(root *os.Root, rel string, err error) error {
	if !inroot.Escapes(err) {
		return err
	}
	if link, target := inroot.LinkOut(root, rel); link != "" {
		return fmt.Errorf("it is outside the image: %s is a symbolic link to %s", link, target)
	}
	return errors.New("it is outside the image (through a symbolic link)")
}
