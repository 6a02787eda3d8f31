// Package compiler turns a directory of CUE files (package phoenix) into the
// validated, typed desired state of package model.
//
// A compile runs in stages, each reporting into one list of diagnostics so
// that a user sees every problem of a spec at once: read and parse the
// files; evaluate them as one package unified with the embedded schema
// (types, closed structs, defaults); check the rules CUE cannot express
// well, in Go; and only when all is clean, build the model: build ids,
// file digests, merged pool settings and pool keys.
package compiler

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/phoenix-gitops/phoenix/diag"
	"github.com/phoenix-gitops/phoenix/model"
)

// Options steer a compile.
type Options struct {
	// Name prefixes file names in diagnostics (the spec's path as the user
	// wrote it, e.g. "environments"); empty means bare file names.
	Name string

	// Limits bound the compile in time and memory (see limits.go).
	Limits Limits

	// wholePackage skips the fast path (tests compare the two).
	wholePackage bool
}

// Load compiles the spec whose files are at the root of fsys. Spec errors
// come back as a diag.List with every problem, sorted by position; so
// does a compile that runs past its Limits.
func Load(ctx context.Context, fsys fs.FS, opts Options) (*model.Desired, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	lim, err := opts.Limits.resolve()
	if err != nil {
		return nil, err
	}
	// Both paths, fast and whole-package, run inside the bound.
	return bounded(ctx, lim, diag.Pos{File: opts.Name}, func(ctx context.Context) (*model.Desired, error) {
		return load(ctx, fsys, opts)
	})
}

// load is Load without its bounds.
func load(ctx context.Context, fsys fs.FS, opts Options) (*model.Desired, error) {
	d := &diags{prefix: opts.Name}
	files, err := readSpec(fsys, d)
	if err != nil {
		return nil, err
	}
	if len(d.list) > 0 {
		return nil, d.list.Sort()
	}
	if !opts.wholePackage {
		if out, ok := compileFast(ctx, files, fsys); ok {
			return out, nil
		}
	}
	files = parseAll(files, d)
	if len(d.list) > 0 {
		return nil, d.list.Sort()
	}
	ev := evaluate(files, d)
	if ev == nil {
		return nil, d.list.Sort()
	}
	applyDefaults(ev.raw)
	check(ev.raw, ev.broken, fsys, d)
	if len(d.list) == 0 && len(d.failed) > 0 {
		// A value failed to decode and nothing said why: never compile
		// it as if it were absent or zero.
		p := d.failed[0]
		d.add(d.posOf(p), place(labelsOf(p))+": this value cannot be read as the spec language says", "")
	}
	if len(d.list) > 0 {
		return nil, d.list.Sort()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := buildModel(ev.raw, fsys, d)
	if len(d.list) > 0 {
		return nil, d.list.Sort()
	}
	return out, nil
}

// compileFast compiles a valid spec by the fast path (see fast.go); ok is
// false when the path does not apply or found any problem, which the
// whole-package evaluation then reports with positions.
func compileFast(ctx context.Context, files []*specFile, fsys fs.FS) (*model.Desired, bool) {
	raw, ok := loadFast(files)
	if !ok || ctx.Err() != nil {
		return nil, false
	}
	d := &diags{quiet: true}
	applyDefaults(raw)
	check(raw, nil, fsys, d)
	if len(d.list) > 0 {
		return nil, false
	}
	out := buildModel(raw, fsys, d)
	return out, len(d.list) == 0
}

// LoadDir compiles the spec in a directory on disk. Every path of the spec
// is resolved inside dir (see openDir): a symbolic link out of it is an
// error, never followed.
func LoadDir(ctx context.Context, dir string) (*model.Desired, error) {
	switch fi, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("no spec directory %s\n    commands read ./environments unless given the spec's directory, as in: phoenix plan path/to/spec", dir)
	case err != nil:
		return nil, fmt.Errorf("reading the spec: %w", err)
	case !fi.IsDir():
		return nil, fmt.Errorf("%s is not a directory: a spec is a directory of .cue files", dir)
	}
	fsys, err := openDir(dir)
	if err != nil {
		return nil, err
	}
	return Load(ctx, fsys, Options{Name: dir})
}
