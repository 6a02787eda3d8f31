package local

import (
	"os"

	"golang.org/x/sys/unix"
)

// cloneFile makes out, just created empty, a clone of in (clonefile, on
// APFS): the two share blocks copy-on-write. clonefile only creates a new
// name, so the clone is made beside out and renamed over it, keeping the
// mode out was created with (a clone would carry in's read-only mode). It
// fails where the file system cannot (HFS+, network and FAT volumes), and
// the caller copies instead.
func cloneFile(out, in *os.File) error {
	info, err := out.Stat()
	if err != nil {
		return err
	}
	tmp := out.Name() + ".phoenix-clone"
	if err := unix.Fclonefileat(int(in.Fd()), unix.AT_FDCWD, tmp, unix.CLONE_NOFOLLOW); err != nil {
		return err
	}
	if err := os.Chmod(tmp, info.Mode().Perm()); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, out.Name()); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
