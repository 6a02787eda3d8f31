package local

import "golang.org/x/sys/unix"

// socketPeerUID reads the uid of the process at the other end of the unix
// socket fd (LOCAL_PEERCRED, macOS's SO_PEERCRED).
func socketPeerUID(fd uintptr) (int, error) {
	cred, err := unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
	if err != nil {
		return -1, err
	}
	return int(cred.Uid), nil
}
