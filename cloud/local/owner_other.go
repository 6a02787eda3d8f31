//go:build !unix

package local

import "io/fs"

// fileOwner cannot tell a file's owner here: callers refuse what they
// cannot check.
func fileOwner(fs.FileInfo) (int, bool) { return -1, false }

// fileInode cannot tell a file's inode here.
func fileInode(fs.FileInfo) (uint64, bool) { return 0, false }
