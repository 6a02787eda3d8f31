package local

import (
	"io/fs"
	"syscall"
)

// stampOf returns the change time and inode of a file from its lstat.
func stampOf(info fs.FileInfo) (stamp, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return stamp{}, false
	}
	return stamp{ctime: st.Ctim.Nano(), ino: st.Ino}, true
}
