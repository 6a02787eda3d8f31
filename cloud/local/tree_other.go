//go:build !linux && !darwin

package local

import (
	"errors"
	"os"
)

// cloneFile has no copy-on-write clone to use on this system: the caller
// copies.
func cloneFile(out, in *os.File) error { return errors.ErrUnsupported }
