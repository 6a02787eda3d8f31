package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

func specFS() fstest.MapFS {
	return fstest.MapFS{
		"base/etc/motd":   {Data: []byte("welcome\n"), Mode: 0o644},
		"base/etc/issue":  {Data: []byte("phoenix\n"), Mode: 0o644},
		"app/main.txt":    {Data: []byte("x\n"), Mode: 0o644},
		"app/sub/run.sh":  {Data: []byte("#!/bin/sh\necho run\n"), Mode: 0o755},
		"config/app.conf": {Data: []byte("a=1\n"), Mode: 0o644},
	}
}

func bake(t *testing.T, c *Cloud, im *model.Image, parent *cloud.Image, log *bytes.Buffer) (cloud.Image, error) {
	t.Helper()
	req := cloud.BakeRequest{Project: "p", Image: im, Parent: parent, Source: specFS()}
	if log != nil {
		req.Log = log
	}
	return c.Bake(context.Background(), req)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A chain from a directory source, with files and steps: the tree holds
// what each layer put in, steps see the image env, the result is
// read-only, recorded with its parent and a digest that matches.
func TestBakeChainFromDirWithFilesAndSteps(t *testing.T) {
	c := newTestCloud(t)
	base := &model.Image{Name: "base", From: "dir:base", BuildID: "ba5e" + strings.Repeat("0", 60)}
	app := &model.Image{
		Name: "app", Parent: "base", BuildID: "a99" + strings.Repeat("1", 61),
		Files: []model.File{{Dest: "/srv/app", Source: "app"}, {Dest: "etc/app.conf", Source: "config/app.conf"}},
		Steps: []string{"cat srv/app/main.txt > out.txt", "echo $GREETING >> out.txt", "sh srv/app/sub/run.sh >> out.txt"},
		Env:   map[string]string{"GREETING": "hello"},
	}
	b, err := bake(t, c, base, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	a, err := bake(t, c, app, &b, &log)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(a.Ref, "out.txt")); got != "x\nhello\nrun\n" {
		t.Errorf("out.txt = %q", got)
	}
	for _, p := range []string{"etc/motd", "etc/app.conf", "srv/app/sub/run.sh"} {
		if _, err := os.Stat(filepath.Join(a.Ref, p)); err != nil {
			t.Errorf("image app lacks %s: %v", p, err)
		}
	}
	if !strings.Contains(log.String(), "+ echo $GREETING >> out.txt") {
		t.Errorf("bake log lacks the steps:\n%s", log.String())
	}
	info, err := os.Stat(filepath.Join(a.Ref, "srv/app/sub/run.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o555 {
		t.Errorf("baked file mode %v, want read-only 0555", info.Mode().Perm())
	}
	if a.ParentBuildID != b.BuildID {
		t.Errorf("parent build id %q, want %q", a.ParentBuildID, b.BuildID)
	}
	if _, err := os.Stat(filepath.Join(c.Home(), "logs", "bake", "app", app.BuildID+".log")); err != nil {
		t.Errorf("no bake log: %v", err)
	}
	// A pool starts from it: the supervisor checked the tree against the
	// digest recorded at the bake.
	f := &fixture{c: c, project: "p", image: a}
	f.spec = newFixture(t, c, 1).spec
	f.create(t, "A")
}

// A child whose steps write into a file it inherited must not change the
// parent's copy (steps get copies, never hard links); a child without
// steps shares its parent's files by hard link, and its own files replace
// the link instead of writing through it.
func TestBakeNeverChangesTheParent(t *testing.T) {
	c := newTestCloud(t)
	base := &model.Image{Name: "base", From: "dir:base", BuildID: "ba5e" + strings.Repeat("2", 60)}
	b, err := bake(t, c, base, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	before := mustDigest(t, b.Ref)
	stepper := &model.Image{Name: "stepper", Parent: "base", BuildID: "57e9" + strings.Repeat("3", 60),
		Steps: []string{"chmod u+w etc/motd && echo changed >> etc/motd"}}
	s, err := bake(t, c, stepper, &b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(s.Ref, "etc/motd")); got != "welcome\nchanged\n" {
		t.Errorf("child's motd = %q", got)
	}
	linker := &model.Image{Name: "linker", Parent: "base", BuildID: "11e4" + strings.Repeat("4", 60),
		Files: []model.File{{Dest: "etc/motd", Source: "config/app.conf"}, {Dest: "etc/extra", Source: "app/main.txt"}}}
	l, err := bake(t, c, linker, &b, nil)
	if err != nil {
		t.Fatal(err)
	}
	pi, _ := os.Stat(filepath.Join(b.Ref, "etc/issue"))
	li, _ := os.Stat(filepath.Join(l.Ref, "etc/issue"))
	if !os.SameFile(pi, li) {
		t.Errorf("a child without steps copied etc/issue instead of linking it")
	}
	if got := readFile(t, filepath.Join(l.Ref, "etc/motd")); got != "a=1\n" {
		t.Errorf("linker's motd = %q", got)
	}
	if got := readFile(t, filepath.Join(b.Ref, "etc/motd")); got != "welcome\n" {
		t.Errorf("the parent's motd changed to %q", got)
	}
	if after := mustDigest(t, b.Ref); after != before {
		t.Errorf("the parent's tree changed: digest %s -> %s", before[:8], after[:8])
	}
}

// A failing step fails the bake with the step and the tail of its output,
// and leaves no image and no tree behind.
func TestBakeFailureLeavesNothing(t *testing.T) {
	c := newTestCloud(t)
	base := &model.Image{Name: "base", From: "scratch", BuildID: "ba5e" + strings.Repeat("5", 60),
		Steps: []string{"echo fine", "echo boom-output >&2; exit 3"}}
	_, err := bake(t, c, base, nil, nil)
	if err == nil {
		t.Fatal("a failing step did not fail the bake")
	}
	for _, want := range []string{"step 2", "exit status 3", "boom-output"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("bake error lacks %q: %v", want, err)
		}
	}
	l, err := c.Observe(context.Background(), "p")
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Images) != 0 {
		t.Errorf("a failed bake left an image: %+v", l.Images)
	}
	entries, _ := os.ReadDir(filepath.Join(c.Home(), "images"))
	for _, e := range entries {
		if e.Name() != ".tmp" {
			t.Errorf("a failed bake left %s in images/", e.Name())
		}
	}
	tmp, _ := os.ReadDir(filepath.Join(c.Home(), "images", ".tmp"))
	if len(tmp) != 0 {
		t.Errorf("a failed bake left %d trees in images/.tmp", len(tmp))
	}
	// Sources the local cloud cannot bake are refused clearly.
	_, err = bake(t, c, &model.Image{Name: "ami", From: "ami:ami-123", BuildID: "a" + strings.Repeat("6", 63)}, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "not supported on the local cloud") {
		t.Errorf("an AMI source: %v", err)
	}
}

// A server refuses to start from an image changed after its bake.
func TestDriftedImageRefused(t *testing.T) {
	c := newTestCloud(t)
	f := newFixture(t, c, 1)
	path := filepath.Join(f.image.Ref, "VERSION")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("tampered\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	spec := f.variant("A")
	id := cloud.PoolID(spec.Env, spec.Role, spec.Key, 1)
	_, err := c.CreatePool(context.Background(), cloud.CreateRequest{Project: f.project, Pool: spec, ID: id, Generation: 1, Image: f.image})
	if err == nil || !strings.Contains(err.Error(), "drift") {
		t.Fatalf("creating from a tampered image: %v, want a drift error", err)
	}
	p := f.pool(t, id)
	if p.State != cloud.PoolFailed || p.Servers != 0 {
		t.Fatalf("pool from a tampered image: %+v", p)
	}
	if errors.Is(err, cloud.ErrNotFound) {
		t.Fatal("drift reported as not found")
	}
}

func mustDigest(t *testing.T, dir string) string {
	t.Helper()
	d, err := treeDigest(dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A bake directory left by a killed process is swept by the next bake;
// one of a live process is left alone.
func TestBakeSweepsDeadBakes(t *testing.T) {
	c := newTestCloud(t)
	tmp := filepath.Join(c.Home(), "images", ".tmp")
	dead := filepath.Join(tmp, "deadbeef-999999999-123")
	live := filepath.Join(tmp, "deadbeef-1-456") // pid 1 runs
	for _, d := range []string{dead, live} {
		if err := os.MkdirAll(filepath.Join(d, "x"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := bake(t, c, &model.Image{Name: "base", From: "scratch", BuildID: "ba5e" + strings.Repeat("7", 60)}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead); !os.IsNotExist(err) {
		t.Errorf("a dead bake's directory was not swept: %v", err)
	}
	if _, err := os.Stat(live); err != nil {
		t.Errorf("a live bake's directory was swept: %v", err)
	}
}

// A running pool whose image tree is changed is reported with Drift and
// unhealthy (the planner replaces it), and a swap onto it is refused.
func TestDriftOfARunningPoolIsObserved(t *testing.T) {
	t.Setenv("PHOENIX_DRIFT_CHECK", "200ms") // read by the supervisor at start
	c := newTestCloud(t)
	f := newFixture(t, c, 1)
	a := f.create(t, "A")
	path := filepath.Join(f.image.Ref, "VERSION")
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("tampered\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, func() error {
		p := f.pool(t, a.ID)
		if !p.Drift || p.Healthy || !strings.Contains(p.Reason, "digest") {
			return fmt.Errorf("pool on a tampered image: drift=%v healthy=%v reason=%q", p.Drift, p.Healthy, p.Reason)
		}
		return nil
	})
	if err := f.swap(context.Background(), only(a.ID)); !errors.Is(err, cloud.ErrNotReady) {
		t.Fatalf("swap onto a drifted pool: %v, want ErrNotReady", err)
	}
}
