package specdiff

import (
	"fmt"
	"io"
	"strings"

	"github.com/phoenix-gitops/phoenix/internal/mdtext"
)

// Text writes the diff for a terminal, one line per change. The keys and
// build ids of images and pools start in one column, however long the
// names (were padded to fixed widths that differed by kind, so images and
// pools did not line up, and a long name pushed its line out).
func (d *Diff) Text(w io.Writer) {
	if d.Empty() {
		fmt.Fprintln(w, "Desired state: no changes")
		return
	}
	fmt.Fprintf(w, "Desired state%s\n", commits(d.Base, d.Head))
	width := 0
	for _, im := range d.Images {
		width = max(width, len("image "+im.Name))
	}
	for _, p := range d.Pools {
		width = max(width, len("pool "+p.Env+"/"+p.Role))
	}
	for _, im := range d.Images {
		fmt.Fprintf(w, "  %s %-*s  %s\n", mark(im.Status), width, "image "+im.Name, im.describe())
	}
	for _, e := range d.Envs {
		fmt.Fprintf(w, "  %s environment %s%s\n", mark(e.Status), e.Name, settingsSuffix(e.Settings, ": "))
	}
	for _, p := range d.Pools {
		fmt.Fprintf(w, "  %s %-*s  %s\n", mark(p.Status), width, "pool "+p.Env+"/"+p.Role, p.describe())
	}
}

// Markdown writes the diff as a bullet list for a pull-request comment.
func (d *Diff) Markdown(w io.Writer) {
	if d.Empty() {
		fmt.Fprintln(w, "The desired state does not change.")
		return
	}
	for _, im := range d.Images {
		fmt.Fprintf(w, "- image **%s** %s\n", im.Name, mdEscape(im.describe()))
	}
	for _, e := range d.Envs {
		fmt.Fprintf(w, "- environment **%s** %s%s\n", e.Name, e.Status, mdEscape(settingsSuffix(e.Settings, ": ")))
	}
	for _, p := range d.Pools {
		fmt.Fprintf(w, "- pool **%s/%s** %s\n", p.Env, p.Role, mdEscape(p.describe()))
	}
}

// Why is the short reason for a pool's change, for a table cell:
// `config VERSION "1" → "2"; count 2 → 3`.
func (p *PoolChange) Why() string {
	switch p.Status {
	case Added:
		return "new role in this environment"
	case Removed:
		return "role left this environment"
	}
	parts := make([]string, len(p.Settings))
	for i, s := range p.Settings {
		parts[i] = s.String()
	}
	return strings.Join(parts, "; ")
}

// Reason says why the pool of (env, role) gets a new key, for a step of a
// plan: the settings that moved, with a rebaked image's own reasons in
// place of its build ids (`image web rebaked: steps changed (1 → 2
// steps)`). It is empty when the pool keeps its key, or is new or gone:
// the plan says those itself.
func (d *Diff) Reason(env, role string) string {
	pc := d.Pool(env, role)
	if pc == nil || !pc.KeyChanged || pc.Status != Changed {
		return ""
	}
	parts := make([]string, len(pc.Settings))
	for i, s := range pc.Settings {
		parts[i] = s.String()
		if name, ok := rebakedImage(s.Name); ok {
			if im := d.Image(name); im != nil && len(im.Reasons) > 0 {
				parts[i] = s.Name + ": " + strings.Join(im.Reasons, ", ")
			}
		}
	}
	return strings.Join(parts, "; ")
}

// rebakedName names the setting of a pool whose image has a new build id;
// rebakedImage reads the image back from it.
func rebakedName(image string) string { return "image " + image + " rebaked" }

func rebakedImage(setting string) (string, bool) {
	rest, ok := strings.CutPrefix(setting, "image ")
	if !ok {
		return "", false
	}
	return strings.CutSuffix(rest, " rebaked")
}

func (p *PoolChange) describe() string {
	switch p.Status {
	case Added:
		return "added (key " + short(p.ToKey) + ")"
	case Removed:
		return "removed (was key " + short(p.FromKey) + ")"
	}
	keys := "key unchanged"
	if p.KeyChanged {
		keys = short(p.FromKey) + " → " + short(p.ToKey)
	}
	return keys + "  " + p.Why()
}

func (im *ImageChange) describe() string {
	switch im.Status {
	case Added:
		return "added (build " + short(im.ToBuildID) + ")"
	case Removed:
		return "removed (was build " + short(im.FromBuildID) + ")"
	}
	ids := "build unchanged"
	if im.Rebake {
		ids = short(im.FromBuildID) + " → " + short(im.ToBuildID)
	}
	return ids + "  " + strings.Join(im.Reasons, "; ")
}

func settingsSuffix(s []Setting, sep string) string {
	if len(s) == 0 {
		return ""
	}
	parts := make([]string, len(s))
	for i, x := range s {
		parts[i] = x.String()
	}
	return sep + strings.Join(parts, "; ")
}

func mark(s Status) string {
	switch s {
	case Added:
		return "+"
	case Removed:
		return "-"
	}
	return "~"
}

func commits(base, head string) string {
	if base == "" && head == "" {
		return ""
	}
	return " " + orNone(short(base)) + " → " + orNone(short(head))
}

// mdEscape keeps spec text from being read as Markdown or HTML in a
// comment, or from mentioning anyone (see package mdtext).
func mdEscape(s string) string { return mdtext.Inline(s) }

// MarkdownCell escapes text for a Markdown table cell.
func MarkdownCell(s string) string { return mdEscape(s) }
