//go:build !linux && !darwin

package local

import "errors"

// socketPeerUID cannot tell the peer of a socket here, so every peer is
// refused: the local cloud runs on Linux and macOS only.
func socketPeerUID(uintptr) (int, error) {
	return -1, errors.New("checking a socket's peer is not supported on this system")
}
