package compiler

import (
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"pgregory.net/rapid"
)

// TestFastPathEqualsWholePackageProperty lays random specs out over files
// in random ways (an environment per file, several per file, one split
// over two files, shared hidden values, patterns, defaults written in
// CUE, files that refer to others) and checks that the fast path and the
// whole-package evaluation always agree.
func TestFastPathEqualsWholePackageProperty(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		fsys := randomSpec(t)
		fast := outcome(t, fsys, Options{Name: "spec"})
		whole := outcome(t, fsys, Options{Name: "spec", wholePackage: true})
		if fast != whole {
			var files []string
			for n, f := range fsys {
				files = append(files, "-- "+n+" --\n"+string(f.Data))
			}
			t.Fatalf("fast path differs from the whole package\nspec:\n%s\nfast:\n%s\nwhole:\n%s",
				strings.Join(files, "\n"), fast, whole)
		}
	})
}

// randomSpec draws a spec and a layout of it over files.
func randomSpec(t *rapid.T) fstest.MapFS {
	roles := rapid.IntRange(1, 4).Draw(t, "roles")
	envs := rapid.IntRange(1, 6).Draw(t, "envs")
	files := map[string]*strings.Builder{}
	file := func(name string) *strings.Builder {
		if files[name] == nil {
			files[name] = &strings.Builder{}
			files[name].WriteString("package phoenix\n\n")
		}
		return files[name]
	}
	base := file("base.cue")
	base.WriteString("project: \"prop\"\nimages: {\n\tos: from: \"scratch\"\n\tapp: {parent: \"os\", steps: [\"true\"]}\n}\n")
	if rapid.Bool().Draw(t, "hidden host") {
		base.WriteString("_host: \"127.0.0.1\"\n")
	}
	hostRef := strings.Contains(base.String(), "_host")
	if rapid.Bool().Draw(t, "role pattern") {
		base.WriteString("roles: [string]: image: \"app\"\n")
	}
	for r := range roles {
		f := base
		if rapid.Bool().Draw(t, fmt.Sprintf("role %d own file", r)) {
			f = file(fmt.Sprintf("role-%d.cue", r))
		}
		fmt.Fprintf(f, "roles: r%d: {image: \"app\"", r)
		switch rapid.IntRange(0, 2).Draw(t, fmt.Sprintf("role %d count", r)) {
		case 1:
			fmt.Fprintf(f, ", count: %d", 1+r)
		case 2:
			f.WriteString(", count: *3 | int")
		}
		f.WriteString("}\n")
	}
	for e := range envs {
		layout := rapid.IntRange(0, 3).Draw(t, fmt.Sprintf("env %d layout", e))
		var f *strings.Builder
		switch layout {
		case 0:
			f = file(fmt.Sprintf("env-%d.cue", e))
		case 1:
			f = file(fmt.Sprintf("group-%d.cue", e%2))
		default:
			f = file(fmt.Sprintf("env-%d.cue", e))
		}
		host := `"127.0.0.1`
		if hostRef && rapid.Bool().Draw(t, fmt.Sprintf("env %d uses _host", e)) {
			host = `"\(_host)`
		}
		fmt.Fprintf(f, "environments: e%d: roles: {", e)
		for r := range roles {
			if r > 0 {
				f.WriteString(", ")
			}
			fmt.Fprintf(f, "r%d: endpoint: %s:%d\"", r, host, 20000+e*10+r)
		}
		f.WriteString("}\n")
		if layout == 2 {
			// The same environment continued in another file.
			fmt.Fprintf(file(fmt.Sprintf("extra-%d.cue", e)), "environments: e%d: config: EXTRA: \"%d\"\n", e, e)
		}
		if layout == 3 && rapid.Bool().Draw(t, fmt.Sprintf("env %d counts", e)) {
			fmt.Fprintf(f, "environments: e%d: config: N: \"\\(len(environments))\"\n", e)
		}
		if rapid.IntRange(0, 9).Draw(t, fmt.Sprintf("env %d broken", e)) == 0 {
			fmt.Fprintf(f, "environments: e%d: retention: keep: -1\n", e)
		}
	}
	fsys := fstest.MapFS{}
	for n, b := range files {
		fsys[n] = &fstest.MapFile{Data: []byte(b.String())}
	}
	return fsys
}
