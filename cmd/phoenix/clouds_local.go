package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/local"
	"github.com/phoenix-gitops/phoenix/model"
)

// openLocalCloud opens the local cloud at PHOENIX_HOME for a spec: only to
// look (never starting its supervisor) when ctx says so.
func openLocalCloud(ctx context.Context, d *model.Desired) (cloud.Cloud, error) {
	return local.Open(local.Options{Home: localHome(), ReadOnly: readOnly(ctx), Spec: d})
}

// openLocal opens the local cloud at PHOENIX_HOME. Its supervisor is this
// same binary run as the hidden `phoenix supervise` command.
func openLocal() (*local.Cloud, error) {
	return local.Open(local.Options{Home: localHome()})
}

// localHome is PHOENIX_HOME: by default $XDG_STATE_HOME/phoenix, i.e.
// ~/.local/state/phoenix. With no home directory it is a directory of this
// user's in the temp directory (phoenix-UID), which local.EnsureHome
// refuses if another user made it first.
func localHome() string {
	if h := os.Getenv("PHOENIX_HOME"); h != "" {
		return h
	}
	if x := os.Getenv("XDG_STATE_HOME"); x != "" {
		return filepath.Join(x, "phoenix")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return filepath.Join(os.TempDir(), "phoenix-"+strconv.Itoa(os.Getuid()))
	}
	return filepath.Join(home, ".local", "state", "phoenix")
}
