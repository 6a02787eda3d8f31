package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/internal/logfiles"
)

// writeLog writes a log of size bytes under dir/rel, last changed at mod.
func writeLog(t *testing.T, dir, rel string, size int, mod time.Time) string {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Repeat("x", size)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mod, mod); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestPruneLogsRules: logs of pools and images gone go past MaxAge, then
// oldest first while the folder is over MaxTotal; the logs of pools and
// images on record stay however old and large, as do a bake log young
// enough to be a bake in progress and files that are not Phoenix's.
func TestPruneLogsRules(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	live := []string{
		writeLog(t, dir, "prod/web/prod.web.aaaaaaaa.1-0.log", 5000, now.Add(-90*day)), // retained, old, large
		writeLog(t, dir, "prod/web/prod.web.bbbbbbbb.1-0.log", 5000, now.Add(-time.Minute)),
		writeLog(t, dir, "bake/app/"+strings.Repeat("c", 64)+".log", 300, now.Add(-90*day)),
		writeLog(t, dir, "bake/app/"+strings.Repeat("d", 64)+".log", 300, now.Add(-time.Minute)), // a bake in progress
		writeLog(t, dir, "prod/web/notes.log", 300, now.Add(-90*day)),                            // not Phoenix's
		writeLog(t, dir, "bake/web/bake.web.eeeeeeee.2-1.log", 100, now.Add(-time.Minute)),       // env "bake", on record
	}
	old := []string{
		writeLog(t, dir, "prod/web/prod.web.00000001.1-0.log", 100, now.Add(-40*day)),
		writeLog(t, dir, "bake/app/"+strings.Repeat("f", 64)+".log", 100, now.Add(-40*day)),
	}
	oldest := writeLog(t, dir, "ci/api/ci.api.00000002.3-0.log", 1000, now.Add(-3*day))
	newest := writeLog(t, dir, "ci/api/ci.api.00000003.1-1.log", 1000, now.Add(-2*day))
	rec := onRecord{
		pools:  map[string]bool{"prod.web.aaaaaaaa.1": true, "prod.web.bbbbbbbb.1": true, "bake.web.eeeeeeee.2": true},
		builds: map[string]bool{strings.Repeat("c", 64): true},
	}
	files, err := listLogs(dir)
	if err != nil {
		t.Fatal(err)
	}
	disk := map[string]int64{} // sizes count in blocks on disk
	for _, f := range files {
		disk[f.path] = f.size
	}
	var keptBytes int64
	for _, p := range live {
		keptBytes += disk[p]
	}
	keptBytes += disk[newest]
	l := logfiles.Limits{MaxAge: 30 * day, MaxTotal: keptBytes}
	st, err := pruneLogs(files, rec, l, now)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range live {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("a log that must stay was pruned: %s", p)
		}
	}
	for _, p := range append(old, oldest) {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("a log of a pool or image gone stayed: %s", p)
		}
	}
	if _, err := os.Stat(newest); err != nil {
		t.Errorf("the newest log of a pool gone was pruned although the folder was within its size: %v", err)
	}
	if st.Deleted != 3 || st.KeptBytes != keptBytes {
		t.Errorf("stats %+v, want 3 deleted and %d bytes kept", st, keptBytes)
	}

	// With the folder already over its size by live logs alone, every log
	// of a pool gone goes, and none of the live ones.
	files, _ = listLogs(dir)
	if _, err := pruneLogs(files, rec, logfiles.Limits{MaxTotal: 1}, now); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(newest); err == nil {
		t.Error("a log of a pool gone stayed in a folder over its size")
	}
	for _, p := range live {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("a live log was pruned to meet the size: %s", p)
		}
	}
}

// TestSupervisorPrunesLogsOfGonePools: over releases that delete the pools
// past retention, the supervisor prunes the deleted pools' logs (here the
// folder's limit is below the live logs alone), keeps every log of the
// pools on record, which `phoenix logs` reads, and rotates its own log.
// Before, every pool's log and supervisor.log stayed for ever.
func TestSupervisorPrunesLogsOfGonePools(t *testing.T) {
	t.Setenv("PHOENIX_LOG_MAX_TOTAL", "1")
	t.Setenv("PHOENIX_LOG_ROTATE_SIZE", "2K")
	t.Setenv("PHOENIX_LOG_ROTATE_KEEP", "2")
	c := newTestCloud(t)
	f := newFixture(t, c, 1)
	ctx := context.Background()
	var ids []string
	for i := range 8 {
		p, _ := f.serve(t, fmt.Sprintf("v%d", i))
		ids = append(ids, p.ID)
		if len(ids) > 3 { // the serving pool and two retained
			if err := c.DeletePool(ctx, f.project, ids[len(ids)-4]); err != nil {
				t.Fatal(err)
			}
		}
	}
	logDir := filepath.Join(c.Home(), "logs", f.spec.Env, f.spec.Role)
	waitFor(t, 10*time.Second, func() error {
		for _, id := range ids[:len(ids)-3] {
			if _, err := os.Stat(filepath.Join(logDir, id+"-0.log")); err == nil {
				return fmt.Errorf("the log of deleted pool %s is still there", id)
			}
		}
		return nil
	})
	for _, id := range ids[len(ids)-3:] {
		if b, err := os.ReadFile(filepath.Join(logDir, id+"-0.log")); err != nil || !strings.Contains(string(b), "test server listening") {
			t.Errorf("the log of pool %s on record: %v %q", id, err, b)
		}
	}
	// The supervisor still writes: a rotation may be half done at a look.
	sup := filepath.Join(c.Home(), "supervisor.log")
	waitFor(t, 5*time.Second, func() error {
		fi, err := os.Stat(sup)
		if err != nil {
			return err
		}
		rotated, _ := logfiles.Rotated(sup)
		if fi.Size() > 3<<10 || len(rotated) == 0 || len(rotated) > 2 {
			return fmt.Errorf("supervisor.log is %d bytes with %d rotated files; want at most 2K plus a line, and 1-2 rotated", fi.Size(), len(rotated))
		}
		return nil
	})
}

// TestSupervisorEnvCarriesLogLimits: a supervisor a command starts gets
// only a few of its variables; the log limits must be among them, or
// setting them for `phoenix apply` would change nothing.
func TestSupervisorEnvCarriesLogLimits(t *testing.T) {
	for _, k := range logfiles.Vars {
		t.Setenv(k, "7")
	}
	env := strings.Join(supervisorEnv(), "\n") + "\n"
	for _, k := range logfiles.Vars {
		if !strings.Contains(env, k+"=7\n") {
			t.Errorf("the supervisor's environment lacks %s:\n%s", k, env)
		}
	}
}
