package cloud

import "fmt"

// BakeStepError is a bake that failed in one of its image's steps. It
// says which step (counted from 1, as the spec lists them), so that the
// report can point at the line of the spec that wrote it.
type BakeStepError struct {
	Step    int    // 1-based
	Command string // the step as the spec wrote it
	Log     string // where the bake's output is kept, if anywhere
	Err     error
}

func (e *BakeStepError) Error() string {
	msg := fmt.Sprintf("step %d `%s` failed: %v", e.Step, e.Command, e.Err)
	if e.Log != "" {
		msg += " (log " + e.Log + ")"
	}
	return msg
}

func (e *BakeStepError) Unwrap() error { return e.Err }
