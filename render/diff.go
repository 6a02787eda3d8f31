package render

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/specdiff"
)

// Diff is what phoenix diff found: the desired-state diff of a pull
// request (HEAD against the merge base) and the plan of HEAD against the
// live state. Its JSON, with a format_version, is diff --format json.
type Diff struct {
	BaseRev   string         `json:"base_rev"`
	HeadRev   string         `json:"head_rev"`
	Base      string         `json:"base"`       // the commit BASE names
	MergeBase string         `json:"merge_base"` // what HEAD is compared with
	Head      string         `json:"head"`
	Dir       string         `json:"dir"` // the spec's path in the repository
	Desired   *specdiff.Diff `json:"desired"`
	Plan      *Doc           `json:"plan,omitempty"` // nil with --offline
}

// Changes reports whether applying HEAD changes anything: the plan has
// steps, as phoenix plan's exit code says; with --offline (no plan), the
// desired state differs.
func (res *Diff) Changes() bool {
	if res.Plan != nil {
		return res.Plan.Changes
	}
	return !res.Desired.Empty()
}

// WriteDiffJSON writes diff --format json: the Diff with the plan's
// format_version.
func WriteDiffJSON(w io.Writer, res *Diff) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		FormatVersion string `json:"format_version"`
		*Diff
	}{planner.FormatVersion, res})
}

// header names what is compared: "main…HEAD · 3f2a1c9 → 7d2e0a1 · environments/".
func (res *Diff) header() string {
	return fmt.Sprintf("%s…%s · spec %s at %s → %s", res.BaseRev, res.HeadRev, specDirLabel(res.Dir),
		shortID(res.MergeBase, 7), shortID(res.Head, 7))
}

// DiffText writes phoenix diff for a person: what is compared, the
// desired-state diff, then the plan as phoenix plan prints it.
func DiffText(w io.Writer, res *Diff, color bool) error {
	fmt.Fprintf(w, "Phoenix diff · %s\n", res.header())
	if res.MergeBase != res.Base {
		fmt.Fprintf(w, "(compared with the merge base %s of %s and %s, as a pull request shows it)\n", shortID(res.MergeBase, 7), res.BaseRev, res.HeadRev)
	}
	fmt.Fprintln(w)
	res.Desired.Text(w)
	if res.Plan == nil {
		return nil
	}
	fmt.Fprintln(w)
	return Text(w, res.Plan, TextOptions{Color: color, Title: "Plan if " + res.HeadRev + " is applied"})
}

// desiredVerdict counts what the spec change touches, for an offline diff.
func desiredVerdict(d *specdiff.Diff) string {
	rebakes, pools := 0, 0
	for _, im := range d.Images {
		if im.Rebake {
			rebakes++
		}
	}
	for _, p := range d.Pools {
		if p.KeyChanged {
			pools++
		}
	}
	return fmt.Sprintf("%s with a new build id, %s with a new key, %s changed",
		countOf(rebakes, "image"), countOf(pools, "pool"), countOf(len(d.Envs), "environment"))
}

// cutLines cuts s to at most n bytes at a line boundary.
func cutLines(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[:i+1]
	}
	return s
}

// countOf writes n words, in the plural unless n is 1.
func countOf(n int, word string) string {
	return fmt.Sprintf("%d %s", n, plural(n, word, word+"s"))
}
