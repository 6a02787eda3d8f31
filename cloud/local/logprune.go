package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/phoenix-gitops/phoenix/internal/logfiles"
)

// Pruning the logs of servers and bakes. Logs outlive their pools so that
// `phoenix logs` can still show what a pruned pool said, but every release
// left its servers' output behind for ever. The supervisor deletes the
// logs of pools and images that are no longer on record once older than
// MaxAge, and then, oldest first, while the log folder takes more disk than
// MaxTotal (logfiles.Limits). A log whose pool or image is on record (a
// serving, retained, cold or failed pool) is never deleted.

// bakeLogGrace: a bake log is written before its image is recorded (the
// CLI bakes, then commits), so one changed this recently may belong to a
// bake in progress and is left alone.
const bakeLogGrace = time.Hour

// logFile is one file under PHOENIX_HOME/logs.
type logFile struct {
	path  string
	size  int64 // on disk (diskSize)
	mod   time.Time
	pool  string // the pool whose server wrote it, or
	build string // the build id of the bake that wrote it, or neither
}

// pruneStats says what a prune did.
type pruneStats struct {
	Deleted      int
	DeletedBytes int64
	KeptBytes    int64
}

// onRecord holds the pool ids and image build ids a home records.
type onRecord struct{ pools, builds map[string]bool }

// gone reports whether f belongs to a pool or image no longer on record;
// a file of neither kind is not Phoenix's to delete.
func (r onRecord) gone(f logFile) bool {
	switch {
	case f.pool != "":
		return !r.pools[f.pool]
	case f.build != "":
		return !r.builds[f.build]
	}
	return false
}

// listLogs lists the files of logs/ENV/ROLE and logs/bake/IMAGE, the only
// depth Phoenix writes at.
func listLogs(dir string) ([]logFile, error) {
	var out []logFile
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		depth := len(strings.Split(filepath.ToSlash(rel), "/"))
		if d.IsDir() {
			if rel != "." && depth >= 3 {
				return fs.SkipDir
			}
			return nil
		}
		if depth != 3 || !d.Type().IsRegular() || !strings.HasSuffix(d.Name(), ".log") {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // deleted meanwhile
		}
		f := logFile{path: path, size: diskSize(info), mod: info.ModTime()}
		f.pool, f.build = logOwner(filepath.ToSlash(rel))
		out = append(out, f)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("listing logs in %s: %w", dir, err)
	}
	return out, nil
}

// logOwner reads whose log rel (ENV/ROLE/POOLID-N.log or
// bake/IMAGE/BUILDID.log) is; an environment named "bake" holds pool logs,
// told apart by their pool id.
func logOwner(rel string) (pool, build string) {
	parts := strings.Split(rel, "/")
	name := strings.TrimSuffix(parts[2], ".log")
	if i := strings.LastIndexByte(name, '-'); i > 0 && isDigits(name[i+1:]) {
		id := name[:i]
		if f := strings.Split(id, "."); len(f) >= 4 && f[0] == parts[0] && f[1] == parts[1] {
			return id, ""
		}
	}
	if parts[0] == "bake" && name != "" && !strings.ContainsAny(name, ".-") {
		return "", name
	}
	return "", ""
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// pruneLogs deletes from files (listed before rec was read, so that a pool
// created meanwhile is on record) the logs of pools and images gone: older
// than l.MaxAge, then oldest first while all files exceed l.MaxTotal.
func pruneLogs(files []logFile, rec onRecord, l logfiles.Limits, now time.Time) (pruneStats, error) {
	var st pruneStats
	var total int64
	var gone []logFile
	for _, f := range files {
		total += f.size
		if rec.gone(f) && (f.build == "" || now.Sub(f.mod) > bakeLogGrace) {
			gone = append(gone, f)
		}
	}
	sort.Slice(gone, func(i, j int) bool { return gone[i].mod.Before(gone[j].mod) })
	var errs []error
	for _, f := range gone {
		old := l.MaxAge > 0 && now.Sub(f.mod) > l.MaxAge
		over := l.MaxTotal > 0 && total > l.MaxTotal
		if !old && !over {
			continue
		}
		if err := os.Remove(f.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("pruning log %s: %w", f.path, err))
			continue
		}
		total -= f.size
		st.Deleted++
		st.DeletedBytes += f.size
	}
	st.KeptBytes = total
	return st, errors.Join(errs...)
}

// recorded reads the pool ids and build ids of every project in the home.
func (s *supervisor) recorded() (onRecord, error) {
	rec := onRecord{pools: map[string]bool{}, builds: map[string]bool{}}
	err := s.st.view(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketImages) == nil || tx.Bucket(bucketPools) == nil {
			return nil
		}
		return errors.Join(
			each(tx, bucketPools, nil, func(r *poolRec) error { rec.pools[r.ID] = true; return nil }),
			each(tx, bucketImages, nil, func(r *imageRec) error { rec.builds[r.BuildID] = true; return nil }),
		)
	})
	if err != nil {
		return onRecord{}, fmt.Errorf("reading the pools and images on record: %w", err)
	}
	return rec, nil
}

// pruneLogsOnce prunes the home's logs now and logs what it did.
func (s *supervisor) pruneLogsOnce(l logfiles.Limits) {
	files, err := listLogs(filepath.Join(s.home, "logs"))
	if err != nil {
		s.log.Printf("pruning logs: %v", err)
		return
	}
	st, err := s.pruneListed(files, l)
	if err != nil {
		s.log.Printf("pruning logs: %v", err)
	}
	if st.Deleted > 0 {
		s.log.Printf("pruned %d logs of pools and images gone (%d bytes); logs hold %d bytes", st.Deleted, st.DeletedBytes, st.KeptBytes)
	}
}

// pruneListed reads the records and deletes under s.mu, under which a
// pool is recorded before its servers open their logs: a pool created
// again with the id of one gone (same key and generation) is either on
// record here, or opens its log after the old one is deleted; never
// writes into a file deleted under it.
func (s *supervisor) pruneListed(files []logFile, l logfiles.Limits) (pruneStats, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, err := s.recorded()
	if err != nil {
		return pruneStats{}, err
	}
	return pruneLogs(files, rec, l, time.Now())
}

// pruneLogsLoop prunes on starting, every l.Every, and soon after a pool
// is deleted (pruneLogsSoon), until ctx ends or the supervisor quits.
func (s *supervisor) pruneLogsLoop(ctx context.Context, l logfiles.Limits) {
	every := l.Every
	if every <= 0 {
		every = logfiles.Defaults.Every
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		s.pruneLogsOnce(l)
		select {
		case <-ctx.Done():
			return
		case <-s.quit:
			return
		case <-t.C:
		case <-s.logPrune:
		}
	}
}

// pruneLogsSoon asks the prune loop for a run (a deleted pool's logs may
// now put the folder over its limit); one pending request is enough.
func (s *supervisor) pruneLogsSoon() {
	select {
	case s.logPrune <- struct{}{}:
	default:
	}
}

// supervisorLog is the supervisor's log output: its stderr, which the
// command that started it pointed at PHOENIX_HOME/supervisor.log (or
// systemd did, with append:), rotated past its size limit so that the log
// of a long-running supervisor (every proxy error is a line) stays bounded.
type supervisorLog struct {
	mu       sync.Mutex
	f        *os.File
	path     string
	limits   logfiles.Limits
	failedAt time.Time // the last rotation that failed: retried a minute on, not at every line
}

func newSupervisorLog(home string, f *os.File, l logfiles.Limits) *supervisorLog {
	return &supervisorLog{f: f, path: filepath.Join(home, "supervisor.log"), limits: l}
}

// Write rotates the log if it is full, then appends p. A failed rotation
// is not worth a lost line: the line is written anyway.
func (w *supervisorLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if now := time.Now(); now.Sub(w.failedAt) > time.Minute {
		if err := logfiles.RotateOpen(w.f, w.path, w.limits, now); err != nil {
			w.failedAt = now
			fmt.Fprintf(w.f, "phoenix-supervisor %v\n", err)
		}
	}
	return w.f.Write(p)
}
