package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/compiler"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

const driftSpec = `package phoenix

project: "p"
images: {
	base: {
		from: "scratch"
		steps: ["mkdir etc && echo welcome > etc/motd"]
	}
	web: {
		parent: "base"
		files: "etc/app.conf": "app.conf"
	}
}
roles: web: image: "web"
environments: dev: roles: web: endpoint: "127.0.0.1:18087"
`

// tamper rewrites a file of a baked (read-only) tree, as someone with a
// shell on the machine could.
func tamper(t *testing.T, path, data string) {
	t.Helper()
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
}

func observedImage(t *testing.T, c *Cloud, project, name string) cloud.Image {
	t.Helper()
	live, err := c.Observe(context.Background(), project)
	if err != nil {
		t.Fatal(err)
	}
	for _, im := range live.Images {
		if im.Name == name {
			return im
		}
	}
	t.Fatalf("no image %s observed: %+v", name, live.Images)
	return cloud.Image{}
}

// A parent image whose tree was changed after its bake is not laundered
// into a child (the child bake is refused, naming the parent), is reported
// as drift by Observe, and the next plan rebakes it, and its child, with
// Replace; the rebake is no longer drift.
func TestTamperedParentIsRefusedAndRebaked(t *testing.T) {
	ctx := context.Background()
	d, err := compiler.Load(ctx, fstest.MapFS{
		"spec.cue": {Data: []byte(driftSpec)},
		"app.conf": {Data: []byte("a=1\n")},
	}, compiler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := newTestCloud(t)
	bakeOf := func(name string, parent *cloud.Image, replace bool) (cloud.Image, error) {
		return c.Bake(ctx, cloud.BakeRequest{Project: "p", Image: d.Images[name], Parent: parent, Source: d.Source, Replace: replace})
	}
	base, err := bakeOf("base", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	if observedImage(t, c, "p", "base").Drift {
		t.Fatal("a fresh bake is reported as drift")
	}
	tamper(t, filepath.Join(base.Ref, "etc", "motd"), "owned\n")

	if !observedImage(t, c, "p", "base").Drift {
		t.Error("Observe does not report the tampered image as drift")
	}
	_, err = bakeOf("web", &base, false)
	if err == nil {
		t.Fatal("a child was baked on a tampered parent")
	}
	if msg := err.Error(); !strings.Contains(msg, "parent image base") || !strings.Contains(msg, "does not match its digest") {
		t.Errorf("the refusal does not name the parent and say why:\n%s", msg)
	}
	if live, _ := c.Observe(ctx, "p"); len(live.Images) != 1 {
		t.Errorf("the refused bake left images: %+v", live.Images)
	}

	live, err := c.Observe(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	plan, err := planner.Make(d, live, planner.Options{Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var bake *planner.Step
	for i, s := range plan.Steps {
		if s.Kind == planner.Bake && s.Image == "base" {
			bake = &plan.Steps[i]
		}
	}
	if bake == nil || !bake.Replace || !strings.Contains(bake.Reason, "drift: image tree does not match its digest") {
		t.Fatalf("the next plan does not rebake the drifted image: %+v", plan.Steps)
	}

	rebaked, err := bakeOf("base", nil, true)
	if err != nil {
		t.Fatal(err)
	}
	if observedImage(t, c, "p", "base").Drift {
		t.Error("the rebake of a drifted image is still reported as drift")
	}
	if got := readFile(t, filepath.Join(rebaked.Ref, "etc", "motd")); got != "welcome\n" {
		t.Errorf("rebaked motd = %q", got)
	}
	if _, err := bakeOf("web", &rebaked, false); err != nil {
		t.Errorf("a child of the rebaked parent: %v", err)
	}
}

// A drifted image asked for without Replace (a plan saved before the
// change) is not handed out as a cache hit: it is baked again.
func TestBakeOfDriftedImageRebakes(t *testing.T) {
	ctx := context.Background()
	c := newTestCloud(t)
	im := &model.Image{Name: "base", From: "scratch", BuildID: "d1" + strings.Repeat("f", 62), Steps: []string{"echo ok > f"}}
	first, err := c.Bake(ctx, cloud.BakeRequest{Project: "p", Image: im})
	if err != nil {
		t.Fatal(err)
	}
	tamper(t, filepath.Join(first.Ref, "f"), "owned\n")
	again, err := c.Bake(ctx, cloud.BakeRequest{Project: "p", Image: im})
	if err != nil {
		t.Fatal(err)
	}
	if again.Drift || readFile(t, filepath.Join(again.Ref, "f")) != "ok\n" {
		t.Errorf("Bake handed out the tampered image: %+v", again)
	}
}

// The cached digest of a tree is not fooled by a change that keeps every
// file's size and modification time: the change time moves.
func TestDriftSeenThroughSameSizeAndMtime(t *testing.T) {
	c := newTestCloud(t)
	im := &model.Image{Name: "base", From: "scratch", BuildID: "d2" + strings.Repeat("e", 62), Steps: []string{"echo good > f"}}
	b, err := c.Bake(context.Background(), cloud.BakeRequest{Project: "p", Image: im})
	if err != nil {
		t.Fatal(err)
	}
	if observedImage(t, c, "p", "base").Drift { // primes the cache
		t.Fatal("a fresh bake is reported as drift")
	}
	p := filepath.Join(b.Ref, "f")
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	tamper(t, p, "evil\n")
	if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
	if !observedImage(t, c, "p", "base").Drift {
		t.Error("a same-size change with the old modification time is not seen as drift")
	}
}
