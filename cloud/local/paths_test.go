package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phoenix-gitops/phoenix/model"
)

// TestFilesStayInsideTheImage: a parent's step made links out of its tree
// (srv -> a host directory, etc/conf -> a host file); a child's `files`
// written under or onto them are refused, naming the image and the
// destination, and the host files are untouched. Links that stay inside
// the tree are still written through.
func TestFilesStayInsideTheImage(t *testing.T) {
	c := newTestCloud(t)
	host := t.TempDir()
	hostFile := filepath.Join(host, "index.html")
	if err := os.WriteFile(hostFile, []byte("the host's own\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := &model.Image{Name: "base", From: "scratch", BuildID: "ba5e" + strings.Repeat("5", 60),
		Steps: []string{
			"ln -s " + host + " srv",
			"ln -s " + hostFile + " conf",
			"mkdir www && ln -s www site",
		}}
	b, err := bake(t, c, base, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, dest := range []string{"srv/index.html", "srv", "conf", "srv/new/app.conf"} {
		child := &model.Image{Name: "web", Parent: "base", BuildID: "c0" + strings.Repeat("0", 61) + string(rune('a'+i)),
			Files: []model.File{{Dest: dest, Source: "config/app.conf"}}}
		if dest == "srv" {
			// A directory source over a link is replaced, never walked
			// into: it must not land in the host directory either.
			child.Files[0].Source = "app"
		}
		_, err := bake(t, c, child, &b, nil)
		t.Logf("files %s: %v", dest, err)
		switch {
		case dest == "srv" || dest == "conf":
			// The link itself is the destination: replacing it is
			// inside the image.
			if err != nil {
				t.Errorf("files %s replaces a link of the parent: %v", dest, err)
			}
		case err == nil:
			t.Errorf("files %s through a link out of the image was baked", dest)
		case !strings.Contains(err.Error(), "image web") || !strings.Contains(err.Error(), dest) || !strings.Contains(err.Error(), "outside the image"):
			t.Errorf("files %s: error does not name the image and the destination and say it leaves the image:\n%v", dest, err)
		}
	}
	if got := readFile(t, hostFile); got != "the host's own\n" {
		t.Errorf("a bake overwrote a host file: %q", got)
	}
	entries, _ := os.ReadDir(host)
	if len(entries) != 1 {
		t.Errorf("a bake wrote into the host directory: %v", entries)
	}
	inside := &model.Image{Name: "site", Parent: "base", BuildID: "5173" + strings.Repeat("6", 60),
		Files: []model.File{{Dest: "site/app.conf", Source: "config/app.conf"}}}
	s, err := bake(t, c, inside, &b, nil)
	if err != nil {
		t.Fatalf("files through a link inside the image: %v", err)
	}
	if got := readFile(t, filepath.Join(s.Ref, "www", "app.conf")); got != "a=1\n" {
		t.Errorf("www/app.conf = %q", got)
	}
}
