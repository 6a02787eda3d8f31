package local

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Nothing the local cloud writes in its home is open to other users: the
// home, the state, the logs of bakes and servers, the recorded secret
// references (image trees, read-only and content-addressed, are the only
// exception). A home of ours that an older version left open is closed.
func TestHomeIsPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	home := filepath.Join(t.TempDir(), "home")
	if err := os.Mkdir(home, 0o755); err != nil {
		t.Fatal(err)
	}
	c := newTestCloudAt(t, home)
	f := newFixture(t, c, 1)
	spec := f.variant("A")
	spec.Secrets = map[string]string{"K": "env:PATH"}
	f.spec = spec
	f.create(t, "A")
	n := 0
	err := filepath.WalkDir(home, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "images" {
			return filepath.SkipDir
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		n++
		if fi.Mode().Perm()&0o077 != 0 {
			t.Errorf("%s has mode %04o: open to other users", p, fi.Mode().Perm())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"logs/bake", "logs/test/web", refsDir} {
		if _, err := os.Stat(filepath.Join(home, want)); err != nil {
			t.Errorf("the walk missed %s: %v", want, err)
		}
	}
	if n < 8 {
		t.Errorf("walked %d entries only", n)
	}
}

// A supervisor refuses a home that another user owns, at once.
func TestSupervisorRefusesAnotherUsersHome(t *testing.T) {
	home := t.TempDir()
	if err := os.Chown(home, os.Getuid()+4242, -1); err != nil {
		t.Skipf("cannot give the home away: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	err := RunSupervisor(ctx, home)
	if err == nil || !strings.Contains(err.Error(), "not by you") {
		t.Errorf("supervisor on another user's home: %v", err)
	}
	if _, err := os.Stat(filepath.Join(home, "state.db")); err == nil {
		t.Error("the supervisor wrote its state in another user's home")
	}
}
