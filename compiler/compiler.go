// Package compiler turns a directory of CUE files (package phoenix) into the
// validated, typed desired state of package model.
package compiler

import (
	"context"
	"errors"
	"io/fs"
	"os"

	"github.com/phoenix-gitops/phoenix/model"
)

// Options steer a compile.
type Options struct {
	// Name prefixes file names in diagnostics (the spec's path as the user
	// wrote it, e.g. "environments"); empty means bare file names.
	Name string
}

// Load compiles the spec whose files are at the root of fsys. Spec errors
// come back as a diag.List with every problem, sorted by position.
func Load(ctx context.Context, fsys fs.FS, opts Options) (*model.Desired, error) {
	return nil, errors.New("compiler: not implemented yet")
}

// LoadDir compiles the spec in a directory on disk.
func LoadDir(ctx context.Context, dir string) (*model.Desired, error) {
	return Load(ctx, os.DirFS(dir), Options{Name: dir})
}
