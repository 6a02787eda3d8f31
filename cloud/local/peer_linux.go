package local

import "golang.org/x/sys/unix"

// socketPeerUID reads the uid of the process at the other end of the unix
// socket fd (SO_PEERCRED).
func socketPeerUID(fd uintptr) (int, error) {
	cred, err := unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	if err != nil {
		return -1, err
	}
	return int(cred.Uid), nil
}
