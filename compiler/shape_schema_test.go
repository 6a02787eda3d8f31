package compiler

import (
	"strings"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"

	"github.com/phoenix-gitops/phoenix/schema"
)

// TestSchemaHasOnlyBareTypes walks #Spec: every node must be a bare type
// (string, int, float, number, bool), a closed struct, a list or a map of
// them. The fast path refuses the rest by itself (a spec that sets such a
// field is compiled by whole-package evaluation), so a failure here is the
// cost of a schema change, not a wrong answer: check bounds, patterns and
// enums in Go, as the schema's header says, to keep the fast path.
func TestSchemaHasOnlyBareTypes(t *testing.T) {
	_, refused := deriveShape(schemaDef(t, string(schema.Source)))
	for _, r := range refused {
		t.Errorf("schema node that is not a bare type: %s", r)
	}
}

// TestShapeRefusesWhatIsNotABareType is the mutation and its
// kin: `size?: string` made a regex (or given a default, a bound, an enum,
// a value, or a map given a key pattern) must give a shape that no value
// fits, so that `size: "Not Valid!"` never passes the fast path.
func TestShapeRefusesWhatIsNotABareType(t *testing.T) {
	src := string(schema.Source)
	for _, c := range []struct{ name, from, to, json string }{
		{"regex", "size?: string", `size?: =~"^[a-z0-9.]+$"`, `{"image":"i","size":"Not Valid!"}`},
		{"regex and type", "size?: string", `size?: string & =~"^[a-z]+$"`, `{"image":"i","size":"m"}`},
		{"default", "count?: int", "count?: *2 | int", `{"image":"i","count":2}`},
		{"bound", "count?: int", "count?: >=1", `{"image":"i","count":0}`},
		{"enum", "command?: string", `command?: "a" | "b"`, `{"image":"i","command":"c"}`},
		{"value", "command?: string", `command?: "a"`, `{"image":"i","command":"c"}`},
		{"key pattern", "config?: [string]: string\n}", "config?: [=~\"^[A-Z]+$\"]: string\n}", `{"image":"i","config":{"bad key":"v"}}`},
		{"reference with a bound", "port?:   int", "port?: #Port\n#Port: int & <65536", `{"image":"i","port":70000}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !strings.Contains(src, c.from) {
				t.Fatalf("the schema no longer holds %q: update the case", c.from)
			}
			sh, refused := deriveShape(schemaDef(t, replaceInRole(t, src, c.from, c.to)))
			if len(refused) == 0 {
				t.Errorf("%s: no node refused", c.to)
			}
			if role := sh.fields["roles"].elem; role.fits([]byte(c.json)) {
				t.Errorf("%s: the fast path accepts %s", c.to, c.json)
			}
		})
	}
}

// TestShapeTakesNewBareFields: fields of bare types added to the schema
// (as under an environment's traffic) are checked with no change to the
// shape code.
func TestShapeTakesNewBareFields(t *testing.T) {
	// Names no schema will take, so that the case holds whatever the
	// schema's own traffic fields are.
	src := strings.Replace(string(schema.Source), "#Traffic: {", `#Traffic: {
	testPause?: #Duration
	testAnalysis?: {maxErrorRate?: number, ratio?: float, minRequests?: int, strict?: bool, maxLatency?: #Duration}`, 1)
	sh, refused := deriveShape(schemaDef(t, src))
	if len(refused) > 0 {
		t.Fatalf("bare fields refused: %v", refused)
	}
	env := sh.fields["environments"].elem
	for json, want := range map[string]bool{
		`{"roles":{},"traffic":{"testPause":"1m","testAnalysis":{"maxErrorRate":0.01,"ratio":0.5,"minRequests":100,"strict":true,"maxLatency":"2s"}}}`: true,
		`{"roles":{},"traffic":{"testAnalysis":{"maxErrorRate":1}}}`:                                                                                   true,
		`{"roles":{},"traffic":{"testAnalysis":{"maxErrorRate":"1%"}}}`:                                                                                false,
		`{"roles":{},"traffic":{"testAnalysis":{"ratio":1}}}`:                                                                                          false, // an int is not a CUE float
		`{"roles":{},"traffic":{"testAnalysis":{"minRequests":1.5}}}`:                                                                                  false,
		`{"roles":{},"traffic":{"testAnalysis":{"strict":"yes"}}}`:                                                                                     false,
		`{"roles":{},"traffic":{"testAnalysis":{"maxErrorRate":1e-2}}}`:                                                                                true,
		`{"roles":{},"traffic":{"testAnalysis":{"maxErrorRate":1.}}}`:                                                                                  false,
		`{"roles":{},"traffic":{"testAnalysis":{"unknown":1}}}`:                                                                                        false,
	} {
		if got := env.fits([]byte(json)); got != want {
			t.Errorf("fits(%s) = %v, want %v", json, got, want)
		}
	}
}

// replaceInRole replaces from with to once, inside #Role.
func replaceInRole(t *testing.T, src, from, to string) string {
	t.Helper()
	i := strings.Index(src, "#Role: {")
	j := strings.Index(src[i:], from)
	if i < 0 || j < 0 {
		t.Fatalf("no %q in #Role", from)
	}
	return src[:i+j] + to + src[i+j+len(from):]
}

func schemaDef(t *testing.T, src string) cue.Value {
	t.Helper()
	v := cuecontext.New().CompileString(src, cue.Filename(schema.Filename))
	if v.Err() != nil {
		t.Fatalf("compiling the schema: %v", v.Err())
	}
	return v.LookupPath(cue.MakePath(cue.Def("#Spec")))
}
