//go:build unix

package local

import (
	"io/fs"
	"syscall"
)

// diskSize is the disk a file takes (its allocated blocks), what du and a
// full disk count: a quiet server's log of 40 bytes takes a 4 KiB block,
// so limits on the log folder counted in sizes let it grow 100 times over.
func diskSize(info fs.FileInfo) int64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return max(int64(st.Blocks)*512, info.Size())
	}
	return info.Size()
}
