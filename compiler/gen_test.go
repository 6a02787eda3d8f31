package compiler

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// largeSpec writes a generated spec into dir: images 3 deep (base →
// runtime → one app image per role group), roles, and one file per
// environment with every role, an endpoint, a count, config and a
// secret. It is the spec of the speed benchmark and of the fast path's
// equality tests.
func largeSpec(tb testing.TB, dir string, envs, roles int) {
	tb.Helper()
	var b strings.Builder
	b.WriteString("package phoenix\n\nproject: \"large\"\n\nimages: {\n")
	b.WriteString("\tbase: {from: \"scratch\", steps: [\"mkdir -p etc\", \"echo base > etc/motd\"], maxAge: \"30d\"}\n")
	b.WriteString("\truntime: {parent: \"base\", steps: [\"mkdir -p bin srv\"], env: {LANG: \"C\"}}\n")
	const groups = 4
	for g := range groups {
		fmt.Fprintf(&b, "\t\"app-%d\": {parent: \"runtime\", files: \"srv/app\": \"app\", steps: [\"echo build %d\"]}\n", g, g)
	}
	b.WriteString("}\n\nroles: {\n")
	for r := range roles {
		fmt.Fprintf(&b, "\t\"role-%02d\": {\n\t\timage: \"app-%d\"\n\t\tcommand: \"srv/app/run role-%02d\"\n", r, r%groups, r)
		fmt.Fprintf(&b, "\t\tcount: %d\n\t\tport: %d\n", 1+r%3, 8000+r)
		b.WriteString("\t\thealth: {path: \"/healthz\", interval: \"2s\", timeout: \"1s\"}\n")
		b.WriteString("\t\tsmoke: [{path: \"/\", contains: \"ok\"}]\n\t\twarm: [\"/\"]\n")
		fmt.Fprintf(&b, "\t\tconfig: {ROLE: \"role-%02d\", LOG_LEVEL: \"info\"}\n\t}\n", r)
	}
	b.WriteString("}\n")
	writeFile(tb, filepath.Join(dir, "images.cue"), b.String())
	writeFile(tb, filepath.Join(dir, "app", "run"), "#!/bin/sh\nexec ./server \"$@\"\n")
	for e := range envs {
		b.Reset()
		fmt.Fprintf(&b, "package phoenix\n\nenvironments: \"env-%04d\": {\n\troles: {\n", e)
		for r := range roles {
			port := 20000 + e*roles + r
			fmt.Fprintf(&b, "\t\t\"role-%02d\": {endpoint: \"127.0.0.1:%d\"", r, port)
			if r%5 == 0 {
				fmt.Fprintf(&b, ", count: %d", 2+e%3)
			}
			if r%7 == 0 {
				fmt.Fprintf(&b, ", config: SHARD: \"%d\"", e%16)
			}
			b.WriteString("}\n")
		}
		fmt.Fprintf(&b, "\t}\n\tconfig: {VERSION: \"1.%d.0\", REGION: \"r%d\"}\n", e%10, e%4)
		b.WriteString("\tsecrets: DB_PASSWORD: \"env:DB_PASSWORD\"\n")
		fmt.Fprintf(&b, "\tretention: {keep: %d, warm: 1}\n\tmaxAge: \"%dd\"\n", 1+e%3, 7+e%7)
		if e > 0 {
			fmt.Fprintf(&b, "\tafter: [\"env-%04d\"]\n", e-1)
		}
		b.WriteString("}\n")
		writeFile(tb, filepath.Join(dir, fmt.Sprintf("env-%04d.cue", e)), b.String())
	}
}

func writeFile(tb testing.TB, path, data string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		tb.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		tb.Fatal(err)
	}
}
