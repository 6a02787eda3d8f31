package gitspec

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// maxSymlinks bounds how many symbolic links one lookup may follow in all,
// as Linux bounds a path's resolution (40). A bound per link instead lets
// links that name each other several times (l1 -> l0/l0/l0/l0, l2 ->
// l1/l1/l1/l1, ...) make one lookup exponential: a crafted spec hung diff.
const maxSymlinks = 40

// TreeFS is a read-only file system over a directory of a commit's tree.
// Trees are decoded when first visited and blobs read when a file is first
// read, so a compile that touches a few files reads only those. Symbolic
// links that stay inside the tree are followed, like os.DirFS does on disk.
// Every file has the commit's time as its modification time.
type TreeFS struct {
	r     *Repo
	root  plumbing.Hash // tree hash of the directory
	mtime time.Time
	trees map[string]*object.Tree // decoded subtrees by path ("." for root); guarded by r.mu
}

var (
	_ fs.FS         = (*TreeFS)(nil)
	_ fs.ReadDirFS  = (*TreeFS)(nil)
	_ fs.StatFS     = (*TreeFS)(nil)
	_ fs.ReadFileFS = (*TreeFS)(nil)
	_ fs.ReadLinkFS = (*TreeFS)(nil)
)

// FS returns the directory dir (slash-separated, relative to the
// repository's root; "" for the root) of commit c as a file system. It
// fails if dir does not exist at c or is not a directory.
func (r *Repo) FS(c *Commit, dir string) (*TreeFS, error) {
	h, ok, err := r.SubtreeHash(c, dir)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("%s does not exist at commit %s", displayDir(dir), c.Short())
	}
	return &TreeFS{r: r, root: h, mtime: c.When, trees: map[string]*object.Tree{}}, nil
}

// SubtreeHash returns the hash of the tree at dir in commit c, and false if
// dir does not exist there (or is not a directory). Comparing these hashes
// tells whether a spec changed between two commits without reading it.
func (r *Repo) SubtreeHash(c *Commit, dir string) (plumbing.Hash, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.subtreeLocked(c.Tree, dir)
}

func (r *Repo) subtreeLocked(tree plumbing.Hash, dir string) (plumbing.Hash, bool, error) {
	dir = strings.Trim(path.Clean("/"+dir), "/")
	if dir == "" {
		return tree, true, nil
	}
	h := tree
	for _, name := range strings.Split(dir, "/") {
		t, err := object.GetTree(r.repo.Storer, h)
		if err != nil {
			return plumbing.ZeroHash, false, fmt.Errorf("reading tree %s: %w", h, err)
		}
		e := findEntry(t, name)
		if e == nil || e.Mode != filemode.Dir {
			return plumbing.ZeroHash, false, nil
		}
		h = e.Hash
	}
	return h, true, nil
}

func displayDir(dir string) string {
	if dir == "" {
		return "the repository's root"
	}
	return dir + "/"
}

// findEntry finds name in t. Git keeps entries sorted with directories
// compared as "name/", so a binary search for both spellings finds it in
// a directory of thousands of files; a tree written out of order by some
// other tool still works through the linear fallback.
func findEntry(t *object.Tree, name string) *object.TreeEntry {
	for _, key := range []string{name, name + "/"} {
		i := sort.Search(len(t.Entries), func(i int) bool { return sortName(&t.Entries[i]) >= key })
		if i < len(t.Entries) && t.Entries[i].Name == name {
			return &t.Entries[i]
		}
	}
	for i := range t.Entries {
		if t.Entries[i].Name == name {
			return &t.Entries[i]
		}
	}
	return nil
}

func sortName(e *object.TreeEntry) string {
	if e.Mode == filemode.Dir {
		return e.Name + "/"
	}
	return e.Name
}

// tree returns the decoded tree at dir ("." is the root). r.mu is held.
func (f *TreeFS) tree(dir string) (*object.Tree, error) {
	if t, ok := f.trees[dir]; ok {
		return t, nil
	}
	var h plumbing.Hash
	if dir == "." {
		h = f.root
	} else {
		parent, err := f.tree(path.Dir(dir))
		if err != nil {
			return nil, err
		}
		e := findEntry(parent, path.Base(dir))
		if e == nil {
			return nil, fs.ErrNotExist
		}
		if e.Mode != filemode.Dir {
			return nil, errNotDir
		}
		h = e.Hash
	}
	t, err := object.GetTree(f.r.repo.Storer, h)
	if err != nil {
		return nil, fmt.Errorf("reading tree %s: %w", h, err)
	}
	f.trees[dir] = t
	return t, nil
}

var errNotDir = errors.New("not a directory")

// node is one resolved name: a directory, a file or a submodule.
type node struct {
	name string // base name as asked for
	path string // the resolved path inside the tree
	mode filemode.FileMode
	hash plumbing.Hash
}

// lookup resolves name (a valid fs path) to its entry, following symbolic
// links inside the tree. r.mu is held.
func (f *TreeFS) lookup(op, name string) (node, error) {
	if !fs.ValidPath(name) {
		return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	budget := maxSymlinks
	n, err := f.resolve(name, &budget)
	if err != nil {
		return node{}, &fs.PathError{Op: op, Path: name, Err: err}
	}
	n.name = path.Base(name)
	return n, nil
}

// resolve finds name, following links with what is left of the lookup's
// budget of links.
func (f *TreeFS) resolve(name string, budget *int) (node, error) {
	if name == "." {
		return node{path: ".", mode: filemode.Dir, hash: f.root}, nil
	}
	// Resolve the parent first so that a symlinked directory in the middle
	// of a path is followed too.
	parent, err := f.resolve(path.Dir(name), budget)
	if err != nil {
		return node{}, err
	}
	if parent.mode != filemode.Dir {
		return node{}, fs.ErrNotExist
	}
	t, err := f.tree(parent.path)
	if err != nil {
		return node{}, err
	}
	e := findEntry(t, path.Base(name))
	if e == nil {
		return node{}, fs.ErrNotExist
	}
	p := path.Join(parent.path, e.Name)
	if e.Mode != filemode.Symlink {
		return node{path: p, mode: e.Mode, hash: e.Hash}, nil
	}
	if *budget <= 0 {
		return node{}, errors.New("too many levels of symbolic links")
	}
	*budget--
	target, err := f.blob(e.Hash)
	if err != nil {
		return node{}, err
	}
	dest := string(target)
	if path.IsAbs(dest) {
		return node{}, fmt.Errorf("symbolic link to %s leaves the spec", dest)
	}
	dest = path.Join(parent.path, dest)
	if dest == ".." || strings.HasPrefix(dest, "../") {
		return node{}, fmt.Errorf("symbolic link to %s leaves the spec", string(target))
	}
	return f.resolve(dest, budget)
}

// blob reads a blob whole. r.mu is held. Small blobs are kept in the
// repository's cache: consecutive commits share most of their spec files,
// so walking history reads each version of a file once.
func (f *TreeFS) blob(h plumbing.Hash) ([]byte, error) {
	if b, ok := f.r.blobs.get(h); ok {
		return b, nil
	}
	b, err := object.GetBlob(f.r.repo.Storer, h)
	if err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", h, err)
	}
	rd, err := b.Reader()
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	w := bytes.NewBuffer(make([]byte, 0, b.Size))
	if _, err := io.Copy(w, rd); err != nil {
		return nil, fmt.Errorf("reading blob %s: %w", h, err)
	}
	f.r.blobs.put(h, w.Bytes())
	return w.Bytes(), nil
}

// blobCache keeps blob contents by hash up to a byte budget; when full it
// starts over (the next walk refills it with what is used now). Callers
// must not modify what they get.
type blobCache struct {
	m    map[plumbing.Hash][]byte
	size int
}

const (
	blobCacheMax     = 64 << 20 // bytes kept in all
	blobCacheMaxBlob = 1 << 20  // larger blobs are not kept
)

func (c *blobCache) get(h plumbing.Hash) ([]byte, bool) {
	b, ok := c.m[h]
	return b, ok
}

func (c *blobCache) put(h plumbing.Hash, b []byte) {
	if len(b) > blobCacheMaxBlob {
		return
	}
	if c.m == nil || c.size+len(b) > blobCacheMax {
		c.m, c.size = map[plumbing.Hash][]byte{}, 0
	}
	c.m[h] = b
	c.size += len(b)
}

// size returns a blob's size without reading its contents where the
// storage can tell. r.mu is held.
func (f *TreeFS) size(h plumbing.Hash) (int64, error) {
	if s, ok := f.r.repo.Storer.(interface {
		EncodedObjectSize(plumbing.Hash) (int64, error)
	}); ok {
		if n, err := s.EncodedObjectSize(h); err == nil {
			return n, nil
		}
	}
	o, err := f.r.repo.Storer.EncodedObject(plumbing.BlobObject, h)
	if err != nil {
		return 0, err
	}
	return o.Size(), nil
}

// Open opens a file or directory for reading.
func (f *TreeFS) Open(name string) (fs.File, error) {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	n, err := f.lookup("open", name)
	if err != nil {
		return nil, err
	}
	if n.mode == filemode.Dir {
		ents, err := f.readDirLocked(n.path)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &dirFile{info: f.info(n, 0), entries: ents}, nil
	}
	return &blobFile{fsys: f, n: n}, nil
}

// ReadFile reads a whole file into a slice the caller owns.
func (f *TreeFS) ReadFile(name string) ([]byte, error) {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	n, err := f.lookup("read", name)
	if err != nil {
		return nil, err
	}
	if n.mode == filemode.Dir || n.mode == filemode.Submodule {
		return nil, &fs.PathError{Op: "read", Path: name, Err: errors.New("is a directory")}
	}
	b, err := f.blob(n.hash)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: name, Err: err}
	}
	return bytes.Clone(b), nil
}

// lookupLink resolves name's directory but not name itself, so a symbolic
// link is returned as the link. r.mu is held.
func (f *TreeFS) lookupLink(op, name string) (node, error) {
	if !fs.ValidPath(name) {
		return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	if name == "." {
		return f.lookup(op, name)
	}
	budget := maxSymlinks
	parent, err := f.resolve(path.Dir(name), &budget)
	if err == nil && parent.mode != filemode.Dir {
		err = fs.ErrNotExist
	}
	var t *object.Tree
	if err == nil {
		t, err = f.tree(parent.path)
	}
	if err != nil {
		return node{}, &fs.PathError{Op: op, Path: name, Err: err}
	}
	e := findEntry(t, path.Base(name))
	if e == nil {
		return node{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrNotExist}
	}
	return node{name: e.Name, path: path.Join(parent.path, e.Name), mode: e.Mode, hash: e.Hash}, nil
}

// ReadLink returns the target of a symbolic link, as os.DirFS does, so a
// digest over a tree is the same read from git or from disk.
func (f *TreeFS) ReadLink(name string) (string, error) {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	n, err := f.lookupLink("readlink", name)
	if err != nil {
		return "", err
	}
	if n.mode != filemode.Symlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	b, err := f.blob(n.hash)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return string(b), nil
}

// Lstat describes a file without following a final symbolic link.
func (f *TreeFS) Lstat(name string) (fs.FileInfo, error) {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	n, err := f.lookupLink("lstat", name)
	if err != nil {
		return nil, err
	}
	var size int64
	if n.mode != filemode.Dir && n.mode != filemode.Submodule {
		if size, err = f.size(n.hash); err != nil {
			return nil, &fs.PathError{Op: "lstat", Path: name, Err: err}
		}
	}
	return f.info(n, size), nil
}

// ReadDir lists a directory sorted by name.
func (f *TreeFS) ReadDir(name string) ([]fs.DirEntry, error) {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	n, err := f.lookup("readdir", name)
	if err != nil {
		return nil, err
	}
	if n.mode != filemode.Dir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errNotDir}
	}
	ents, err := f.readDirLocked(n.path)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	return ents, nil
}

// Stat describes a file or directory.
func (f *TreeFS) Stat(name string) (fs.FileInfo, error) {
	f.r.mu.Lock()
	defer f.r.mu.Unlock()
	n, err := f.lookup("stat", name)
	if err != nil {
		return nil, err
	}
	var size int64
	if n.mode != filemode.Dir && n.mode != filemode.Submodule {
		if size, err = f.size(n.hash); err != nil {
			return nil, &fs.PathError{Op: "stat", Path: name, Err: err}
		}
	}
	return f.info(n, size), nil
}

func (f *TreeFS) readDirLocked(dir string) ([]fs.DirEntry, error) {
	t, err := f.tree(dir)
	if err != nil {
		return nil, err
	}
	out := make([]fs.DirEntry, 0, len(t.Entries))
	for _, e := range t.Entries {
		if !validName(e.Name) {
			// Git never writes one; a crafted tree can. Listed, ".."
			// would send a walk (a `files` digest) back up the tree
			// forever.
			return nil, fmt.Errorf("directory %s holds an entry named %q, which is not a file name", dir, e.Name)
		}
		out = append(out, &dirEntry{fsys: f, dir: dir, n: node{name: e.Name, path: path.Join(dir, e.Name), mode: e.Mode, hash: e.Hash}})
	}
	// Git orders a directory "a" as "a/", so "a.b" sorts before it; io/fs
	// wants plain name order.
	sort.Slice(out, func(i, j int) bool { return out[i].Name() < out[j].Name() })
	return out, nil
}

// validName reports whether name can be one element of a path.
func validName(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

func (f *TreeFS) info(n node, size int64) *fileInfo {
	return &fileInfo{name: n.name, mode: goMode(n.mode), size: size, mtime: f.mtime}
}

// goMode maps a git file mode onto io/fs's, with the permissions a
// checkout gets under the usual umask (git records only the executable
// bit), so a bake copies the same modes from a revision as from disk.
func goMode(m filemode.FileMode) fs.FileMode {
	switch m {
	case filemode.Dir, filemode.Submodule:
		return fs.ModeDir | 0o755
	case filemode.Executable:
		return 0o755
	case filemode.Symlink:
		return fs.ModeSymlink | 0o777
	default:
		return 0o644
	}
}

type fileInfo struct {
	name  string
	mode  fs.FileMode
	size  int64
	mtime time.Time
}

func (i *fileInfo) Name() string       { return i.name }
func (i *fileInfo) Size() int64        { return i.size }
func (i *fileInfo) Mode() fs.FileMode  { return i.mode }
func (i *fileInfo) ModTime() time.Time { return i.mtime }
func (i *fileInfo) IsDir() bool        { return i.mode.IsDir() }
func (i *fileInfo) Sys() any           { return nil }

type dirEntry struct {
	fsys *TreeFS
	dir  string
	n    node
}

func (d *dirEntry) Name() string      { return d.n.name }
func (d *dirEntry) IsDir() bool       { return d.n.mode == filemode.Dir || d.n.mode == filemode.Submodule }
func (d *dirEntry) Type() fs.FileMode { return goMode(d.n.mode).Type() }
func (d *dirEntry) Info() (fs.FileInfo, error) {
	d.fsys.r.mu.Lock()
	defer d.fsys.r.mu.Unlock()
	var size int64
	if !d.IsDir() {
		var err error
		if size, err = d.fsys.size(d.n.hash); err != nil {
			return nil, err
		}
	}
	return d.fsys.info(d.n, size), nil
}

// blobFile reads its blob on the first Read or Stat.
type blobFile struct {
	fsys   *TreeFS
	n      node
	data   *bytes.Reader
	closed bool
}

func (b *blobFile) load() error {
	if b.closed {
		return fs.ErrClosed
	}
	if b.data != nil {
		return nil
	}
	b.fsys.r.mu.Lock()
	defer b.fsys.r.mu.Unlock()
	if b.n.mode == filemode.Submodule {
		b.data = bytes.NewReader(nil)
		return nil
	}
	data, err := b.fsys.blob(b.n.hash)
	if err != nil {
		return err
	}
	b.data = bytes.NewReader(data)
	return nil
}

func (b *blobFile) Stat() (fs.FileInfo, error) {
	if err := b.load(); err != nil {
		return nil, err
	}
	return b.fsys.info(b.n, b.data.Size()), nil
}

func (b *blobFile) Read(p []byte) (int, error) {
	if err := b.load(); err != nil {
		return 0, err
	}
	return b.data.Read(p)
}

func (b *blobFile) Seek(off int64, whence int) (int64, error) {
	if err := b.load(); err != nil {
		return 0, err
	}
	return b.data.Seek(off, whence)
}

func (b *blobFile) ReadAt(p []byte, off int64) (int, error) {
	if err := b.load(); err != nil {
		return 0, err
	}
	return b.data.ReadAt(p, off)
}

func (b *blobFile) Close() error {
	if b.closed {
		return fs.ErrClosed
	}
	b.closed = true
	return nil
}

// dirFile is an open directory.
type dirFile struct {
	info    *fileInfo
	entries []fs.DirEntry
	off     int
}

func (d *dirFile) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *dirFile) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.info.name, Err: errors.New("is a directory")}
}
func (d *dirFile) Close() error { return nil }

// ReadDir implements fs.ReadDirFile.
func (d *dirFile) ReadDir(n int) ([]fs.DirEntry, error) {
	rest := d.entries[d.off:]
	if n <= 0 {
		d.off = len(d.entries)
		return rest, nil
	}
	if len(rest) == 0 {
		return nil, io.EOF
	}
	if n > len(rest) {
		n = len(rest)
	}
	d.off += n
	return rest[:n], nil
}
