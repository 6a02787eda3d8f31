package local

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

func getBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", url, resp.Status, b)
	}
	return string(b)
}

// Servers get their config, resolved secrets and Phoenix's identity
// variables; secret values never reach the state, the logs or the
// supervisor's own environment.
func TestServerEnvAndSecrets(t *testing.T) {
	c := newTestCloud(t)
	f := newFixture(t, c, 1)
	const envSecret, fileSecret = "s3cr3t-from-env-7f3a", "s3cr3t-from-file-9b1c"
	t.Setenv("TEST_DB_PASSWORD", envSecret) // after the supervisor started
	keyFile := filepath.Join(t.TempDir(), "api-key")
	if err := os.WriteFile(keyFile, []byte(fileSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	spec := f.variant("A")
	spec.Secrets = map[string]string{"DB_PASSWORD": "env:TEST_DB_PASSWORD", "API_KEY": "file:" + keyFile}
	id := cloud.PoolID(spec.Env, spec.Role, spec.Key, 7)
	var log bytes.Buffer
	if _, err := c.CreatePool(context.Background(), cloud.CreateRequest{Project: f.project, Pool: spec, ID: id, Generation: 7, Image: f.image, Log: &log}); err != nil {
		t.Fatal(err)
	}
	// The progress lines a person reads count one server in the singular.
	if got := log.String(); strings.Contains(got, " 1 servers") || !strings.Contains(got, "starting 1 server of web") {
		t.Errorf("create log of a one-server pool:\n%s", got)
	}
	if err := f.swap(context.Background(), only(id)); err != nil {
		t.Fatal(err)
	}
	base := "http://" + f.spec.Endpoint + "/env/"
	for name, want := range map[string]string{
		"DB_PASSWORD": envSecret, "API_KEY": fileSecret, "VERSION": "A",
		"PHOENIX_PROJECT": "p", "PHOENIX_ENV": "test", "PHOENIX_ROLE": "web", "PHOENIX_POOL": id,
	} {
		if got := getBody(t, base+name); got != want {
			t.Errorf("server sees %s=%q, want %q", name, got, want)
		}
	}
	if getBody(t, base+"PORT") == "" {
		t.Error("server has no PORT")
	}
	if !strings.Contains(log.String(), "server 0 started") {
		t.Errorf("create log:\n%s", log.String())
	}
	// Cool and warm it again: the secrets are resolved again by the caller.
	if err := f.swap(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := c.SetWarm(context.Background(), f.project, id, false); err != nil {
		t.Fatal(err)
	}
	if err := f.swap(context.Background(), only(id)); err != nil {
		t.Fatal(err)
	}
	if got := getBody(t, base+"DB_PASSWORD"); got != envSecret {
		t.Errorf("after a cold start the server sees DB_PASSWORD=%q", got)
	}
	// Nothing on disk holds a secret value.
	_ = filepath.Walk(c.Home(), func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || strings.HasSuffix(p, ".sock") {
			return nil
		}
		b, _ := os.ReadFile(p)
		for _, s := range []string{envSecret, fileSecret} {
			if bytes.Contains(b, []byte(s)) {
				t.Errorf("%s holds a secret value", p)
			}
		}
		return nil
	})
	// AWS references are refused clearly, before anything starts.
	spec2 := f.variant("B")
	spec2.Secrets = map[string]string{"X": "ssm:/prod/x"}
	id2 := cloud.PoolID(spec2.Env, spec2.Role, spec2.Key, 1)
	_, err := c.CreatePool(context.Background(), cloud.CreateRequest{Project: f.project, Pool: spec2, ID: id2, Generation: 1, Image: f.image})
	if err == nil || !strings.Contains(err.Error(), "ssm references are not supported on the local cloud") {
		t.Fatalf("an ssm secret: %v", err)
	}
	l, _ := c.Observe(context.Background(), f.project)
	if len(l.Pools) != 1 {
		t.Fatalf("a refused create recorded a pool: %+v", l.Pools)
	}
}

// A pool whose smoke check fails is reported failed with the check and the
// response, its servers stopped; its logs stay after it is deleted.
func TestSmokeFailureAndLogsOutliveThePool(t *testing.T) {
	c := newTestCloud(t)
	f := newFixture(t, c, 2)
	spec := f.variant("A")
	spec.Smoke = []model.Smoke{{Path: "/", Status: 200, Contains: "version=A"}, {Path: "/", Status: 200, Contains: "version=Z"}}
	spec.Warm = []string{"/slow"}
	id := cloud.PoolID(spec.Env, spec.Role, spec.Key, 1)
	p, err := c.CreatePool(context.Background(), cloud.CreateRequest{Project: f.project, Pool: spec, ID: id, Generation: 1, Image: f.image})
	if err == nil {
		t.Fatal("a failing smoke check did not fail the create")
	}
	for _, want := range []string{"smoke check GET /", `does not contain "version=Z"`, "version=A pool=" + id} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("create error lacks %q: %v", want, err)
		}
	}
	// The executor says "creating pool ID:"; the cloud does not say it again.
	if strings.Contains(err.Error(), "creating pool") {
		t.Errorf("create error repeats the caller's words: %v", err)
	}
	if p.State != cloud.PoolFailed {
		t.Errorf("CreatePool returned state %s", p.State)
	}
	got := f.pool(t, id)
	if got.State != cloud.PoolFailed || got.Servers != 0 || !strings.Contains(got.Reason, "smoke check") {
		t.Fatalf("observed failed pool: %+v", got)
	}
	// The same id again reports the failure instead of retrying blindly.
	if _, err := c.CreatePool(context.Background(), cloud.CreateRequest{Project: f.project, Pool: spec, ID: id, Generation: 1, Image: f.image}); err == nil || !strings.Contains(err.Error(), "failed") {
		t.Errorf("creating the failed id again: %v", err)
	}
	if err := c.DeletePool(context.Background(), f.project, id); err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(c.Home(), "logs", "test", "web", id+"-1.log")
	if b, err := os.ReadFile(logPath); err != nil || !strings.Contains(string(b), "test server listening") {
		t.Fatalf("the deleted pool's log %s: %v %q", logPath, err, b)
	}
	// Server command failing at once: the error carries its output.
	spec3 := f.variant("C")
	spec3.Command = "echo cannot-start >&2; exit 7"
	id3 := cloud.PoolID(spec3.Env, spec3.Role, spec3.Key, 1)
	_, err = c.CreatePool(context.Background(), cloud.CreateRequest{Project: f.project, Pool: spec3, ID: id3, Generation: 1, Image: f.image})
	if err == nil || !strings.Contains(err.Error(), "exit status 7") || !strings.Contains(err.Error(), "cannot-start") {
		t.Fatalf("a server that exits at once: %v", err)
	}
}
