package planfile

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse, as a saved plan handed to
// phoenix apply --plan may be anything: it must never panic, and must
// either refuse with an error that names the file, or return a whole plan
// that writes and reads back the same and that Check judges without
// panicking. The seeds are a real saved plan of the test world and the
// ways a file goes wrong: another format version, a hand edit, a plan or
// fingerprint missing, and not JSON at all.
func FuzzParse(f *testing.F) {
	w := newWorld(f)
	live := w.live()
	saved, err := New(w.plan, w.d, live, Options{Envs: []string{"test"}})
	if err != nil {
		f.Fatal(err)
	}
	good, err := json.MarshalIndent(saved, "", "  ")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	for _, edit := range [][2]string{
		{`"version": 2`, `"version": 1`},
		{`"version": 2`, `"version": 99`},
		{`"reason": "rollback"`, `"reason": "rollback!"`},
		{`"plan": {`, `"plan": null, "x": {`},
		{`"live": {`, `"live": {"view": "not a view"}, "y": {`},
		{`"kind": "phoenix-plan"`, `"kind": "terraform"`},
	} {
		f.Add([]byte(strings.Replace(string(good), edit[0], edit[1], 1)))
	}
	for _, s := range []string{"", "null", "{}", "[]", `{"kind":"phoenix-plan","version":2}`, "not json"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pf, err := Parse("fuzz.plan", b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "reading plan fuzz.plan: ") {
				t.Fatalf("a refusal that does not name the file: %v", err)
			}
			return
		}
		path := filepath.Join(t.TempDir(), "again.plan")
		if err := Write(path, pf); err != nil {
			t.Fatalf("a plan that parsed does not write: %v", err)
		}
		back, err := Read(path)
		if err != nil {
			t.Fatalf("a plan that parsed does not read back: %v", err)
		}
		if back.PlanHash != pf.PlanHash || back.Spec.Hash != pf.Spec.Hash || back.Live.Hash != pf.Live.Hash {
			t.Fatalf("a plan read back differs: %+v, was %+v", back, pf)
		}
		_ = Check(pf, w.d, live)
	})
}
