package local

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io/fs"
	"path/filepath"
	"sync"
)

// Image drift. An image's tree is read-only, but not to root nor to its
// owner, who can chmod it back: a tree changed after its bake would be
// copied into every child, which records a fresh digest over the change
// (laundering it), and an image without pools was never checked. So every
// read of an image, Observe and the lookups a bake makes, compares its
// tree with the digest recorded at its bake; a mismatch is drift, repaired
// like a drifted pool by replacement (a rebake).
//
// Hashing every byte of every image on every plan costs what the images
// weigh, so the digest of a tree is cached with a signature of its
// metadata: each entry's path, mode, size, modification and change times
// and inode. A change to a file's bytes changes its change time (ctime),
// which no user can set back; then the tree is hashed again. Where the
// change time cannot be read, nothing is cached.

// treeCheck is a cached digest of a tree and the signature it holds for.
type treeCheck struct {
	sig, digest string
}

var treeChecks = struct {
	sync.Mutex
	m map[string]treeCheck // by tree directory
}{m: map[string]treeCheck{}}

// drifted reports whether rec's tree no longer matches its recorded
// digest; a tree that cannot be read is drifted too (it must be rebaked).
func drifted(rec *imageRec) bool {
	got, err := currentDigest(rec.Dir)
	return err != nil || got != rec.Digest
}

// currentDigest returns treeDigest(dir), hashing the tree's contents again
// only when its signature changed since the last call.
func currentDigest(dir string) (string, error) {
	sig, ok, err := treeSignature(dir)
	if err != nil {
		return "", err
	}
	if ok {
		treeChecks.Lock()
		c, hit := treeChecks.m[dir]
		treeChecks.Unlock()
		if hit && c.sig == sig {
			return c.digest, nil
		}
	}
	digest, err := treeDigest(dir)
	if err != nil || !ok {
		return digest, err
	}
	// A change between the signature and the digest leaves a signature
	// that the next call does not find again: it hashes anew.
	treeChecks.Lock()
	treeChecks.m[dir] = treeCheck{sig: sig, digest: digest}
	treeChecks.Unlock()
	return digest, nil
}

// primeTree caches digest, computed by the bake that made the tree at
// dir, for the tree as it is now (just renamed into place).
func primeTree(dir, digest string) {
	if sig, ok, err := treeSignature(dir); err == nil && ok {
		treeChecks.Lock()
		treeChecks.m[dir] = treeCheck{sig: sig, digest: digest}
		treeChecks.Unlock()
	}
}

// forgetTree drops the cached digest of a tree that is removed (its
// directory name may be used again by a later bake).
func forgetTree(dir string) {
	treeChecks.Lock()
	delete(treeChecks.m, dir)
	treeChecks.Unlock()
}

// treeSignature hashes the metadata of every entry of the tree at root
// (lstat, no contents); ok is false when the system does not give the
// change times that make it trustworthy.
func treeSignature(root string) (sig string, ok bool, err error) {
	h := sha256.New()
	ok = true
	var num [8]byte
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st, known := stampOf(info)
		ok = ok && known
		h.Write([]byte(p))
		h.Write([]byte{0})
		for _, v := range []uint64{uint64(info.Mode()), uint64(info.Size()), uint64(info.ModTime().UnixNano()), uint64(st.ctime), st.ino} {
			binary.BigEndian.PutUint64(num[:], v)
			h.Write(num[:])
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil)), ok, err
}

// stamp is what a file's metadata says of changes beyond its modification
// time, which anyone who can write a file can set back.
type stamp struct {
	ctime int64 // change time, ns
	ino   uint64
}
