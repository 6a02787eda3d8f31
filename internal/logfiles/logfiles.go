// Package logfiles bounds the files Phoenix only ever appends to: the
// supervisor's log and the apply journal are rotated by size (a few old
// files kept), and the logs of servers and bakes whose pool or image is
// gone are pruned by age and by the total size of the log folder. Every
// limit has a default and an environment variable (Limits, FromEnv):
// without them a busy home grew by every release's output for ever.
package logfiles

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Limits bound the files of a home. A zero field turns its limit off.
type Limits struct {
	// RotateSize: supervisor.log and journal.jsonl are rotated once larger
	// (PHOENIX_LOG_ROTATE_SIZE, default 10MiB).
	RotateSize int64
	// RotateKeep: rotated files kept of each (PHOENIX_LOG_ROTATE_KEEP,
	// default 5); older ones are deleted.
	RotateKeep int
	// MaxAge: logs of pools and images no longer on record are deleted
	// once unchanged this long (PHOENIX_LOG_MAX_AGE, default 30d).
	MaxAge time.Duration
	// MaxTotal: while the log folder is larger, logs of pools and images
	// no longer on record are deleted, oldest first (PHOENIX_LOG_MAX_TOTAL,
	// default 1GiB). Logs of live and retained pools are never deleted.
	MaxTotal int64
	// Every: how often the supervisor prunes (PHOENIX_LOG_PRUNE_EVERY,
	// default 1h); it also prunes on starting and after deleting a pool.
	Every time.Duration
}

// Vars are the environment variables of the limits: a supervisor started
// by a command inherits them (and reads them once, on starting).
var Vars = []string{"PHOENIX_LOG_ROTATE_SIZE", "PHOENIX_LOG_ROTATE_KEEP", "PHOENIX_LOG_MAX_AGE", "PHOENIX_LOG_MAX_TOTAL", "PHOENIX_LOG_PRUNE_EVERY"}

// Defaults are the limits with no environment variable set.
var Defaults = Limits{RotateSize: 10 << 20, RotateKeep: 5, MaxAge: 30 * 24 * time.Hour, MaxTotal: 1 << 30, Every: time.Hour}

// FromEnv reads the limits from the environment. A variable that does not
// parse keeps its default and is named in the error, so that the caller
// can refuse it or report it and go on.
func FromEnv() (Limits, error) {
	l := Defaults
	var errs []error
	size := func(name string, v *int64) {
		if s := os.Getenv(name); s != "" {
			n, err := ParseSize(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				return
			}
			*v = n
		}
	}
	dur := func(name string, v *time.Duration) {
		if s := os.Getenv(name); s != "" {
			d, err := ParseAge(s)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				return
			}
			*v = d
		}
	}
	size("PHOENIX_LOG_ROTATE_SIZE", &l.RotateSize)
	size("PHOENIX_LOG_MAX_TOTAL", &l.MaxTotal)
	dur("PHOENIX_LOG_MAX_AGE", &l.MaxAge)
	dur("PHOENIX_LOG_PRUNE_EVERY", &l.Every)
	if s := os.Getenv("PHOENIX_LOG_ROTATE_KEEP"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			errs = append(errs, fmt.Errorf("PHOENIX_LOG_ROTATE_KEEP: %q is not a count of files", s))
		} else {
			l.RotateKeep = n
		}
	}
	return l, errors.Join(errs...)
}

// ParseSize reads a size in bytes, with an optional suffix K, M or G
// (also KB, KiB, ...; all powers of 1024).
func ParseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	units := []struct {
		suffix string
		shift  uint
	}{{"KIB", 10}, {"MIB", 20}, {"GIB", 30}, {"KB", 10}, {"MB", 20}, {"GB", 30}, {"K", 10}, {"M", 20}, {"G", 30}, {"B", 0}}
	var shift uint
	for _, u := range units {
		if strings.HasSuffix(strings.ToUpper(t), u.suffix) {
			t, shift = strings.TrimSpace(t[:len(t)-len(u.suffix)]), u.shift
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > (1<<62)>>shift {
		return 0, fmt.Errorf("%q is not a size (bytes, or with K, M, G: 10M)", s)
	}
	return n << shift, nil
}

// ParseAge reads a duration as Go writes them (90m, 12h) or in days (30d).
func ParseAge(s string) (time.Duration, error) {
	t := strings.TrimSpace(s)
	if days, ok := strings.CutSuffix(t, "d"); ok {
		n, err := strconv.Atoi(days)
		if err == nil && n >= 0 && n < 100000 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
	} else if d, err := time.ParseDuration(t); err == nil && d >= 0 {
		return d, nil
	}
	return 0, fmt.Errorf("%q is not a duration (30d, 12h, 90m)", s)
}

// stampLayout names rotated files: NAME.20261205T094951.123456789Z, so
// that their names sort by age and two rotations never pick one name.
const stampLayout = "20060102T150405.000000000Z"

// rotatedName is the name path is rotated to at now.
func rotatedName(path string, now time.Time) string {
	return path + "." + now.UTC().Format(stampLayout)
}

// Rotated lists the rotated files of path, oldest first.
func Rotated(path string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("listing rotated files of %s: %w", path, err)
	}
	prefix := filepath.Base(path) + "."
	var out []string
	for _, e := range entries {
		stamp, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || e.IsDir() {
			continue
		}
		if _, err := time.Parse(stampLayout, stamp); err == nil {
			out = append(out, filepath.Join(filepath.Dir(path), e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// RotateByRename moves path aside when it is larger than l.RotateSize, for
// a file each writer opens anew (the journal: one open per apply). Two
// writers rotating at once lose nothing: each rename either moves a whole
// file to a name of its own or finds it gone.
func RotateByRename(path string, l Limits, now time.Time) error {
	fi, err := os.Stat(path)
	if err != nil || l.RotateSize <= 0 || fi.Size() <= l.RotateSize {
		return nil // missing: nothing to rotate; the writer creates it
	}
	if err := os.Rename(path, rotatedName(path, now)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("rotating %s: %w", path, err)
	}
	return trimRotated(path, l.RotateKeep)
}

// RotateOpen rotates f, a file held open for appending at path (the
// supervisor's stderr), when it is larger than l.RotateSize: its content
// is copied to a rotated file and f truncated, so that every holder of the
// descriptor (the supervisor's logger, a panic, systemd's append:) writes
// on at its start. The caller keeps other writes of its own out meanwhile.
// A descriptor that is not path (a terminal, journald) is left alone.
func RotateOpen(f *os.File, path string, l Limits, now time.Time) error {
	if l.RotateSize <= 0 {
		return nil
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() <= l.RotateSize {
		return nil
	}
	if pi, err := os.Stat(path); err != nil || !os.SameFile(fi, pi) {
		return nil
	}
	if err := copyAside(path, rotatedName(path, now)); err != nil {
		return fmt.Errorf("rotating %s: %w", path, err)
	}
	if err := f.Truncate(0); err != nil {
		return fmt.Errorf("rotating %s: %w", path, err)
	}
	return trimRotated(path, l.RotateKeep)
}

// copyAside copies path to a new private file dst (path is opened again:
// the writer's descriptor is write-only).
func copyAside(path, dst string) error {
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, in)
	return errors.Join(err, out.Close())
}

// trimRotated deletes the oldest rotated files of path beyond keep.
func trimRotated(path string, keep int) error {
	old, err := Rotated(path)
	if err != nil {
		return err
	}
	var errs []error
	for len(old) > keep {
		if err := os.Remove(old[0]); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("deleting rotated file: %w", err))
		}
		old = old[1:]
	}
	return errors.Join(errs...)
}
