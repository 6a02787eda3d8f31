package main

import (
	"context"
	"os"

	"github.com/phoenix-gitops/phoenix/compiler"
)

// stepSource is the executor's StepSource for a spec read from a work
// tree: where the spec writes an image's step, read again only when a
// bake fails (the compile's fast path keeps no positions). A spec read
// at a revision (--rev) gives no place.
func stepSource(ctx context.Context, src specSource) func(image string, step int) string {
	if src.Rev != "" {
		return nil
	}
	dir := src.Dir
	if dir == "" {
		dir = "environments"
	}
	return func(image string, step int) string {
		pos, ok := compiler.StepPosition(ctx, os.DirFS(dir), dir, image, step)
		if !ok {
			return ""
		}
		return pos.String()
	}
}
