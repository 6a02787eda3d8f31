package render

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/planner"
)

// golden compares got with testdata/name, or rewrites it with
// UPDATE_GOLDEN=1.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden %s (run with UPDATE_GOLDEN=1 to create it): %v", path, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (UPDATE_GOLDEN=1 rewrites it)\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

var fixtures = []struct {
	name string
	plan func() *planner.Plan
	info Info
}{
	{"ux", uxPlan, Info{Commit: "3f2a1c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b"}},
	{"empty", emptyPlan, Info{Commit: "3f2a1c9d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b"}},
	{"canary", canaryPlan, Info{}},
	{"hostile", hostilePlan, Info{}}, // inject_test.go
	{"fleet", fleetPlan, Info{}},     // fleet_test.go: 96 steps, prod after four staging environments
}

// formats are the renderings with a golden file per fixture, named
// fixture.ext in testdata.
var formats = []struct {
	ext    string
	render func(*bytes.Buffer, *Doc) error
}{
	{"txt", func(b *bytes.Buffer, d *Doc) error { return Text(b, d, TextOptions{}) }},
	{"color.txt", func(b *bytes.Buffer, d *Doc) error { return Text(b, d, TextOptions{Color: true}) }},
	{"json", func(b *bytes.Buffer, d *Doc) error { return WriteJSON(b, d) }},
	{"md", func(b *bytes.Buffer, d *Doc) error { return Markdown(b, d, MarkdownOptions{}) }},
	{"dot", func(b *bytes.Buffer, d *Doc) error { return DOT(b, d) }},
	{"mmd", func(b *bytes.Buffer, d *Doc) error { return Mermaid(b, d) }},
}

func TestGoldens(t *testing.T) {
	for _, fx := range fixtures {
		for _, f := range formats {
			t.Run(fx.name+"."+f.ext, func(t *testing.T) {
				var b bytes.Buffer
				if err := f.render(&b, FromPlan(fx.plan(), fx.info)); err != nil {
					t.Fatal(err)
				}
				golden(t, fx.name+"."+f.ext, b.Bytes())
			})
		}
	}
}

// Every file in testdata is the golden of one fixture in one format, so a
// renamed or removed fixture (or format) cannot leave a stale golden that
// nothing compares any more.
func TestNoOrphanGoldens(t *testing.T) {
	owned := map[string]bool{}
	for _, fx := range fixtures {
		for _, f := range formats {
			owned[fx.name+"."+f.ext] = true
		}
	}
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !owned[e.Name()] {
			t.Errorf("testdata/%s belongs to no fixture and format: remove it, or add its fixture", e.Name())
		}
	}
}

// The JSON form is the source of truth: text rendered from JSON read back
// is the text rendered from the plan.
func TestTextDerivesFromJSON(t *testing.T) {
	for _, fx := range fixtures {
		d := FromPlan(fx.plan(), fx.info)
		var js, direct, viaJSON bytes.Buffer
		if err := WriteJSON(&js, d); err != nil {
			t.Fatal(err)
		}
		back, err := ReadJSON(&js)
		if err != nil {
			t.Fatal(err)
		}
		_ = Text(&direct, d, TextOptions{})
		_ = Text(&viaJSON, back, TextOptions{})
		if direct.String() != viaJSON.String() {
			t.Errorf("%s: text from JSON differs\n%s\n---\n%s", fx.name, direct.String(), viaJSON.String())
		}
	}
}

// The fields of the contract in issue 3 are present on every step, even
// where they do not apply, and steps keep the plan's order.
func TestJSONContract(t *testing.T) {
	p := uxPlan()
	var b bytes.Buffer
	if err := WriteJSON(&b, FromPlan(p, Info{})); err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(b.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if raw["format_version"] != "1" {
		t.Errorf("format_version = %v", raw["format_version"])
	}
	steps := raw["steps"].([]any)
	if len(steps) != len(p.Steps) {
		t.Fatalf("%d steps, want %d", len(steps), len(p.Steps))
	}
	for i, s := range steps {
		m := s.(map[string]any)
		for _, k := range []string{"id", "kind", "env", "role", "image", "pool", "reason", "destructive", "after"} {
			if _, ok := m[k]; !ok {
				t.Errorf("step %d lacks %q", i, k)
			}
		}
		if _, ok := m["after"].([]any); !ok {
			t.Errorf("step %d: after is %T, want a list", i, m["after"])
		}
		if m["id"] != p.Steps[i].ID {
			t.Errorf("step %d is %v, want %s (plan order)", i, m["id"], p.Steps[i].ID)
		}
	}
	sum := raw["summary"].(map[string]any)
	want := map[string]float64{"bake": 2, "create": 1, "swap": 2, "prune": 1}
	for k, v := range want {
		if sum[k] != v {
			t.Errorf("summary.%s = %v, want %v", k, sum[k], v)
		}
	}
	if _, err := ReadJSON(strings.NewReader(`{"format_version":"9","steps":[]}`)); err == nil {
		t.Error("ReadJSON accepted an unknown format version")
	}
}

// NO_COLOR is the caller's decision; without Color there is no escape.
func TestNoEscapesWithoutColor(t *testing.T) {
	for _, fx := range fixtures {
		var b bytes.Buffer
		_ = Text(&b, FromPlan(fx.plan(), fx.info), TextOptions{})
		if strings.Contains(b.String(), "\x1b[") {
			t.Errorf("%s: escape codes without colour", fx.name)
		}
	}
}

// A giant plan still fits a comment, keeps its verdict and table head, and
// says what was cut.
func TestMarkdownCap(t *testing.T) {
	for _, n := range []int{10, 300, 3000} {
		d := FromPlan(bigPlan(n), Info{})
		for _, limit := range []int{4000, 20000, DefaultMarkdownMax} {
			var b bytes.Buffer
			if err := Markdown(&b, d, MarkdownOptions{MaxBytes: limit}); err != nil {
				t.Fatal(err)
			}
			out := b.String()
			if len(out) > limit {
				t.Errorf("n=%d limit=%d: %d bytes", n, limit, len(out))
			}
			if !strings.HasPrefix(out, "**Phoenix:** ") || !strings.Contains(out, "| env | role | change | why |") {
				t.Errorf("n=%d limit=%d: verdict or table missing:\n%.300s", n, limit, out)
			}
			var full bytes.Buffer
			_ = Markdown(&full, d, MarkdownOptions{MaxBytes: 1 << 30})
			if full.Len() > limit && !strings.Contains(out, "_Cut to fit a comment:") {
				t.Errorf("n=%d limit=%d: cut without saying so", n, limit)
			}
			if full.Len() <= limit && out != full.String() {
				t.Errorf("n=%d limit=%d: cut although it fits", n, limit)
			}
		}
	}
	// The cut order: the full plan goes first, the graph later.
	d := FromPlan(bigPlan(20), Info{})
	var full, capped bytes.Buffer
	_ = Markdown(&full, d, MarkdownOptions{MaxBytes: 1 << 30})
	_ = Markdown(&capped, d, MarkdownOptions{MaxBytes: full.Len() - 200})
	if !strings.Contains(capped.String(), "```mermaid") || !strings.Contains(capped.String(), "the full plan after line") {
		t.Errorf("a slightly too large comment should keep the graph and truncate the full plan:\n%s", capped.String())
	}
}

func TestShort(t *testing.T) {
	for id, want := range map[string]string{
		"prod.web.7d2e1a3b.2":    "web@7d2e.2",
		"pr.42.web.7d2e1a3b.10":  "web@7d2e.10",
		"not-a-pool":             "not-a-pool",
		"prod.web.7d2e1a3b.x":    "prod.web.7d2e1a3b.x",
		"prod.web.7d2e1a3b.2abc": "prod.web.7d2e1a3b.2abc",
		".web.7d2e1a3b.2":        ".web.7d2e1a3b.2",
	} {
		if got := Short(id); got != want {
			t.Errorf("Short(%q) = %q, want %q", id, got, want)
		}
	}
}

// TestSwapOntoTheServingPoolNamesItOnce: the swap that starts a cold
// serving pool keeps the same pool; the text names it once (was
// "web@7d2e.1 → web@7d2e.1", a swap that seemed to do nothing).
func TestSwapOntoTheServingPoolNamesItOnce(t *testing.T) {
	key := strings.Repeat("7d2e", 16)
	id := "prod.web." + key[:8] + ".1"
	p := &planner.Plan{Project: "shop", Envs: []string{"prod"}, Steps: []planner.Step{{
		ID: "swap:prod/web", Kind: planner.Swap, Cloud: "local", Env: "prod", Role: "web", Pool: id, Key: key, Generation: 1,
		From: []cloud.Backend{{Pool: id, Weight: 100}}, Reason: "serving pool web@7d2e.1 is cold: start it", After: []string{},
	}}}
	var b bytes.Buffer
	if err := Text(&b, FromPlan(p, Info{}), TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "web@7d2e.1 → web@7d2e.1") || !strings.Contains(out, "~ swap    web@7d2e.1    serving pool web@7d2e.1 is cold: start it") {
		t.Errorf("swap onto the serving pool:\n%s", out)
	}
}
