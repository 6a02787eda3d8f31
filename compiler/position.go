package compiler

import (
	"context"
	"io/fs"

	"cuelang.org/go/cue/cuecontext"

	"github.com/phoenix-gitops/phoenix/diag"
)

// StepPosition is where the spec in fsys writes step (counted from 1) of
// image name, as file:line:col with files named under prefix as Options.Name
// names them; ok is false when the spec does not build or has no such
// step. It is for reports of what went wrong after a compile (a failed
// bake step): the compile's fast path keeps no positions, so the spec is
// read again, only then.
func StepPosition(ctx context.Context, fsys fs.FS, prefix, name string, step int) (diag.Pos, bool) {
	if step < 1 || ctx.Err() != nil {
		return diag.Pos{}, false
	}
	d := &diags{prefix: prefix}
	files, err := readSpec(fsys, d)
	if err != nil || len(d.list) > 0 {
		return diag.Pos{}, false
	}
	if files = parseAll(files, d); len(d.list) > 0 {
		return diag.Pos{}, false
	}
	user, ok := buildUser(cuecontext.New(), files, d)
	if !ok {
		return diag.Pos{}, false
	}
	d.user = user
	p := pathOf("images", name).field("steps").index(step - 1)
	if !user.LookupPath(p.path()).Exists() {
		return diag.Pos{}, false
	}
	pos := d.posOf(p)
	return pos, pos.Line > 0
}
