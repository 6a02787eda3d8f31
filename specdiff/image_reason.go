package specdiff

import "strings"

// ImageReason says which inputs of image name changed ("step 1 changed",
// "parent base rebaked") when the diff's base built it as fromBuildID,
// the build a cloud has live; "" when the diff does not know (the image
// is new, or the base built another id). It is the planner's
// Options.ExplainImage, so that a bake's reason in the plan says what
// diff says.
func (d *Diff) ImageReason(name, fromBuildID string) string {
	im := d.Image(name)
	if im == nil || im.Status != Changed || im.FromBuildID != fromBuildID || len(im.Reasons) == 0 {
		return ""
	}
	if len(im.Reasons) == 1 && im.Reasons[0] == "inputs changed" {
		return "" // the planner's own words name the live build
	}
	return strings.Join(im.Reasons, ", ")
}
