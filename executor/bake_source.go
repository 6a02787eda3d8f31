package executor

import (
	"errors"
	"fmt"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// atStep puts the spec's place of a failed bake step in front of err
// ("environments/images.cue:7:3: step 2 `make` failed: …"), as a spec
// error names its place; err as it is when the step or its place is not
// known.
func (r *run) atStep(image string, err error) error {
	var se *cloud.BakeStepError
	if r.exec.StepSource == nil || !errors.As(err, &se) {
		return err
	}
	where := r.exec.StepSource(image, se.Step)
	if where == "" {
		return err
	}
	return fmt.Errorf("%s: %w", where, err)
}
