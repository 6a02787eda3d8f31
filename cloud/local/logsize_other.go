//go:build !unix

package local

import "io/fs"

// diskSize is the file's size where its allocated blocks are not known.
func diskSize(info fs.FileInfo) int64 { return info.Size() }
