package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phoenix-gitops/phoenix/model"
)

// Preflight resolves secret references as a server start would, without
// a supervisor or a home: env and file references that resolve pass; an
// unset variable, a missing file and an AWS reference are refused with
// the secret's name, and no value appears in any message.
func TestPreflightResolvesSecretReferences(t *testing.T) {
	token := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(token, []byte("s3cret-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PHOENIX_TEST_TOKEN", "s3cret-env")
	c := &Cloud{}
	for _, tc := range []struct {
		ref, want string
	}{
		{"env:PHOENIX_TEST_TOKEN", ""},
		{"file:" + token, ""},
		{"env:PHOENIX_TEST_UNSET", "secret TOKEN: environment variable PHOENIX_TEST_UNSET is not set"},
		{"file:" + token + ".missing", "secret TOKEN: reading " + token + ".missing"},
		{"ssm:/prod/token", "secret TOKEN: ssm references are not supported on the local cloud"},
	} {
		err := c.Preflight(context.Background(), &model.Pool{Env: "prod", Role: "web", Secrets: map[string]string{"TOKEN": tc.ref}})
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v, want no error", tc.ref, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: %v, want %q", tc.ref, err, tc.want)
		case err != nil && strings.Contains(err.Error(), "s3cret"):
			t.Errorf("%s: the message shows a secret value: %v", tc.ref, err)
		}
	}
}
