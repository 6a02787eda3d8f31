package compiler

import (
	"context"
	"testing"
	"testing/fstest"
)

// A failed bake step is reported at the step the spec wrote, in the file
// that wrote it.
func TestStepPosition(t *testing.T) {
	fsys := fstest.MapFS{
		"a.cue":      {Data: []byte("package phoenix\n\nproject: \"shop\"\n")},
		"images.cue": {Data: []byte("package phoenix\n\nimages: web: {\n\tfrom: \"scratch\"\n\tsteps: [\n\t\t\"mkdir etc\",\n\t\t\"false\",\n\t]\n}\n")},
	}
	pos, ok := StepPosition(context.Background(), fsys, "environments", "web", 2)
	if !ok || pos.String() != "environments/images.cue:7:3" {
		t.Errorf("step 2 at %v (%v), want environments/images.cue:7:3", pos, ok)
	}
	if _, ok := StepPosition(context.Background(), fsys, "environments", "web", 3); ok {
		t.Error("a step the image does not have has a position")
	}
	if _, ok := StepPosition(context.Background(), fsys, "environments", "api", 1); ok {
		t.Error("an image the spec does not have has a position")
	}
}
