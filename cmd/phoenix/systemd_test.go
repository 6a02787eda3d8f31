package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/local"
	"github.com/phoenix-gitops/phoenix/model"
)

// TestCloudUpSystemdWritesUnit: `phoenix cloud up --systemd` writes a user
// unit under $XDG_CONFIG_HOME that runs this binary's supervisor of the
// home with Restart=always (servers outlive a restart: KillMode=process),
// prints the systemctl commands, and starts nothing.
func TestCloudUpSystemdWritesUnit(t *testing.T) {
	cfg := t.TempDir()
	home := filepath.Join(t.TempDir(), "my home")
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Setenv("PHOENIX_HOME", home)
	var stdout, stderr strings.Builder
	if code := run([]string{"cloud", "up", "--systemd"}, &stdout, &stderr); code != 0 {
		t.Fatalf("cloud up --systemd: exit %d\n%s%s", code, stdout.String(), stderr.String())
	}
	out := stdout.String()
	path := filepath.Join(cfg, "systemd", "user", "phoenix-supervisor.service")
	unit, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("no unit written: %v\n%s", err, out)
	}
	exe, _ := os.Executable()
	exe, _ = filepath.EvalSymlinks(exe)
	for _, want := range []string{
		"[Service]\n",
		"ExecStart=\"" + exe + "\" supervise --home \"" + home + "\"\n",
		"Environment=\"PHOENIX_HOME=" + home + "\"\n",
		"Restart=always\n",
		"KillMode=process\n",
		"StandardOutput=append:" + filepath.Join(home, "supervisor.log") + "\n",
		"[Install]\nWantedBy=default.target\n",
	} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("unit lacks %q:\n%s", want, unit)
		}
	}
	for _, want := range []string{path, "systemctl --user daemon-reload", "systemctl --user enable --now phoenix-supervisor.service"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, err := os.Stat(filepath.Join(home, "supervisor.lock")); err == nil {
		t.Error("cloud up --systemd started a supervisor")
	}
	if fi, err := os.Stat(home); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("the home systemd appends supervisor.log in is not made private: %v %v", fi, err)
	}
}

// TestSystemdUnitEscapes: a home with systemd's specifier and variable
// characters stays one literal path in ExecStart.
func TestSystemdUnitEscapes(t *testing.T) {
	unit := systemdUnit("/bin/phoenix", `/h/100% "$HOME"`)
	want := `ExecStart="/bin/phoenix" supervise --home "/h/100%% \"$$HOME\""` + "\n"
	if !strings.Contains(unit, want) {
		t.Errorf("unit lacks %q:\n%s", want, unit)
	}
}

// TestLocalDownNoteSaysEndpointsDown: status (and plan) of a local cloud
// whose supervisor is not running say that every endpoint is down and how
// to bring it back and keep it up; they only said it was "not running".
func TestLocalDownNoteSaysEndpointsDown(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	c, err := local.Open(local.Options{Home: home, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Observe(context.Background(), "demo"); err != nil {
		t.Fatal(err)
	}
	note := localDownNote(cloud.Set{model.CloudLocal: c})
	for _, want := range []string{"Every endpoint of the local cloud is down", "no proxy listens", "phoenix cloud up brings them back", "phoenix cloud up --systemd"} {
		if !strings.Contains(note, want) {
			t.Errorf("note lacks %q: %s", want, note)
		}
	}
}
