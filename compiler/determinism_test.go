package compiler

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/phoenix-gitops/phoenix/model"
)

// chainSpec has two independent chains (base → mid → leaf, other →
// other-app) and roles on both, in two environments.
const chainSpec = `package phoenix

project: "shop"
images: {
	base: {from: "scratch", steps: ["echo base"]}
	mid: {parent: "base", steps: ["echo mid"]}
	leaf: {parent: "mid", files: "app": "src"}
	other: {from: "scratch", steps: ["echo other"]}
	"other-app": {parent: "other"}
}
roles: {
	web: {image: "leaf", config: V: "1"}
	worker: image: "other-app"
}
environments: {
	staging: {roles: {web: endpoint: "127.0.0.1:18001", worker: endpoint: "127.0.0.1:18002"}, config: E: "s"}
	prod: {roles: {web: endpoint: "127.0.0.1:18003", worker: endpoint: "127.0.0.1:18004"}, config: E: "p"}
}
`

func chainFS(spec string) fstest.MapFS {
	return fstest.MapFS{
		"spec.cue":    {Data: []byte(spec)},
		"src/main.go": {Data: []byte("package main\n"), Mode: 0o644},
		"src/run.sh":  {Data: []byte("#!/bin/sh\n"), Mode: 0o755},
	}
}

func mustLoad(t *testing.T, fsys fstest.MapFS) *model.Desired {
	t.Helper()
	d, err := Load(context.Background(), fsys, Options{})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	return d
}

func buildIDs(d *model.Desired) map[string]string {
	out := map[string]string{}
	for n, im := range d.Images {
		out[n] = im.BuildID
	}
	return out
}

func poolKeys(d *model.Desired) map[string]string {
	out := map[string]string{}
	for _, p := range d.Pools {
		out[p.Env+"/"+p.Role] = p.Key
	}
	return out
}

// changed lists the names whose value differs between a and b.
func changed(a, b map[string]string) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		if a[k] != b[k] {
			out[k] = true
		}
	}
	return out
}

func assertChanged(t *testing.T, what string, got map[string]bool, want ...string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s changed: %v, want exactly %v", what, got, want)
		return
	}
	for _, w := range want {
		if !got[w] {
			t.Errorf("%s changed: %v, want exactly %v", what, got, want)
		}
	}
}

func TestBaseStepChangesEveryDescendantAndNothingElse(t *testing.T) {
	before := mustLoad(t, chainFS(chainSpec))
	after := mustLoad(t, chainFS(strings.Replace(chainSpec, `"echo base"`, `"echo base v2"`, 1)))
	assertChanged(t, "build ids", changed(buildIDs(before), buildIDs(after)), "base", "mid", "leaf")
	assertChanged(t, "pool keys", changed(poolKeys(before), poolKeys(after)), "staging/web", "prod/web")
}

func TestFileChangeRebuildsItsImageOnly(t *testing.T) {
	before := mustLoad(t, chainFS(chainSpec))
	fsys := chainFS(chainSpec)
	fsys["src/main.go"] = &fstest.MapFile{Data: []byte("package main // v2\n")}
	after := mustLoad(t, fsys)
	assertChanged(t, "build ids", changed(buildIDs(before), buildIDs(after)), "leaf")

	// The executable bit is part of the content; other permission bits
	// (a checkout's umask) are not.
	fsys = chainFS(chainSpec)
	fsys["src/main.go"].Mode = 0o600
	assertChanged(t, "build ids after chmod 600", changed(buildIDs(before), buildIDs(mustLoad(t, fsys))))
	fsys["src/main.go"].Mode = 0o700
	assertChanged(t, "build ids after chmod +x", changed(buildIDs(before), buildIDs(mustLoad(t, fsys))), "leaf")
}

func TestConfigChangeChangesPoolKeysOnly(t *testing.T) {
	before := mustLoad(t, chainFS(chainSpec))
	after := mustLoad(t, chainFS(strings.Replace(chainSpec, `config: E: "s"`, `config: E: "s2"`, 1)))
	assertChanged(t, "build ids", changed(buildIDs(before), buildIDs(after)))
	assertChanged(t, "pool keys", changed(poolKeys(before), poolKeys(after)), "staging/web", "staging/worker")

	after = mustLoad(t, chainFS(strings.Replace(chainSpec, `config: V: "1"`, `config: V: "2"`, 1)))
	assertChanged(t, "build ids", changed(buildIDs(before), buildIDs(after)))
	assertChanged(t, "pool keys", changed(poolKeys(before), poolKeys(after)), "staging/web", "prod/web")
}

// What steers the plan but does not shape a server leaves keys alone.
func TestPlanSettingsAreNotInTheKey(t *testing.T) {
	before := mustLoad(t, chainFS(chainSpec))
	spec := strings.Replace(chainSpec, `config: E: "p"}`,
		`config: E: "p", retention: {keep: 5, warm: 3}, maxAge: "3d", traffic: strategy: "canary", after: ["staging"]}`, 1)
	spec = strings.Replace(spec, "127.0.0.1:18003", "127.0.0.1:18013", 1)
	after := mustLoad(t, chainFS(spec))
	assertChanged(t, "pool keys", changed(poolKeys(before), poolKeys(after)))
	for _, p := range after.Pools {
		if p.Env == "prod" && (p.Retention.Keep != 5 || p.MaxAge == 0 || p.Traffic.Strategy != "canary") {
			t.Errorf("pool %s/%s does not carry its environment's settings: %+v", p.Env, p.Role, p)
		}
	}
}

func TestSameInputSameOutput(t *testing.T) {
	a, _ := json.Marshal(mustLoad(t, chainFS(chainSpec)))
	for range 5 {
		b, _ := json.Marshal(mustLoad(t, chainFS(chainSpec)))
		if string(a) != string(b) {
			t.Fatalf("two compiles of one spec differ:\n%s\n%s", a, b)
		}
	}
}

// TestExampleSpec compiles environments/, the example the demo deploys.
func TestExampleSpec(t *testing.T) {
	d, err := LoadDir(context.Background(), "../environments")
	if err != nil {
		t.Fatalf("the example spec does not compile:\n%v", err)
	}
	if len(d.Images) != 3 || len(d.Environments) != 3 || len(d.Pools) < 6 {
		t.Errorf("example: %d images, %d environments, %d pools", len(d.Images), len(d.Environments), len(d.Pools))
	}
	if got := d.Images["app"].Chain; strings.Join(got, ",") != "base,runtime,app" {
		t.Errorf("app chain = %v", got)
	}
	if got := d.Environments["prod"].After; len(got) != 1 || got[0] != "staging" {
		t.Errorf("prod after = %v", got)
	}
}
