package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newLogsCmd() *cobra.Command {
	var follow bool
	var pool string
	cmd := &cobra.Command{
		Use:   "logs ENV ROLE",
		Short: "Print the output of the local cloud's servers of an environment and role",
		Long: `Print what the servers of ENV and ROLE wrote to stdout and stderr, oldest
pool first, each line prefixed with its pool and server. Logs outlive their
pools: pruned pools' output stays in PHOENIX_HOME/logs/ENV/ROLE for
PHOENIX_LOG_MAX_AGE (30d) while the folder is within PHOENIX_LOG_MAX_TOTAL
(1G); the logs of pools still on record always stay.
Exit 1 when there are no logs for ENV and ROLE (without --follow).`,
		Example: `  phoenix logs prod web
  phoenix logs prod web --follow       keep printing until Ctrl-C
  phoenix logs prod web --pool web@7d2e.1      as status and plan name pools
  phoenix logs prod web --pool prod.web.7d2e1a3b.1`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := filepath.Join(localHome(), "logs", args[0], args[1])
			files, err := logFiles(dir, pool)
			if err != nil {
				return err
			}
			if len(files) == 0 && !follow {
				if pool != "" {
					return fmt.Errorf("no logs for pool %s of %s/%s in %s", pool, args[0], args[1], dir)
				}
				return fmt.Errorf("no logs for %s/%s in %s", args[0], args[1], dir)
			}
			return printLogs(cmd.Context(), cmd.OutOrStdout(), dir, pool, follow)
		},
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "keep printing new output until interrupted")
	cmd.Flags().StringVar(&pool, "pool", "", "only the servers of this pool: its id or its short name (web@7d2e.1)")
	return cmd
}

// logFiles lists the server logs in dir (of pool, if set), oldest first.
func logFiles(dir, pool string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	type file struct {
		path string
		mod  time.Time
	}
	var fs []file
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".log") || (pool != "" && !logOfPool(e.Name(), pool)) {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue
		}
		fs = append(fs, file{filepath.Join(dir, e.Name()), info.ModTime()})
	}
	sort.Slice(fs, func(i, j int) bool {
		if !fs[i].mod.Equal(fs[j].mod) {
			return fs[i].mod.Before(fs[j].mod)
		}
		return fs[i].path < fs[j].path
	})
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.path
	}
	return out, nil
}

// logOfPool reports whether the log file name ("prod.web.7d2e1a3b.1-0.log")
// is a server's of pool, given as its id ("prod.web.7d2e1a3b.1") or as the
// short name that status, plan and apply print ("web@7d2e.1"); only the
// id was accepted, so the name on the screen found no logs.
func logOfPool(name, pool string) bool {
	server := strings.TrimSuffix(name, ".log")
	id := server
	if i := strings.LastIndexByte(server, '-'); i >= 0 {
		id = server[:i]
	}
	role, rest, short := strings.Cut(pool, "@")
	if !short {
		return id == pool
	}
	prefix, gen, ok := strings.Cut(rest, ".")
	parts := strings.Split(id, ".")
	if !ok || prefix == "" || len(parts) < 4 {
		return false
	}
	n := len(parts)
	return parts[n-3] == role && strings.HasPrefix(parts[n-2], prefix) && parts[n-1] == gen
}

// printLogs prints every log in dir, then with follow polls for new lines
// (and new servers' files) until ctx ends.
func printLogs(ctx context.Context, w io.Writer, dir, pool string, follow bool) error {
	offsets := map[string]int64{}
	for {
		files, err := logFiles(dir, pool)
		if err != nil {
			return err
		}
		for _, f := range files {
			n, err := copyLines(w, f, offsets[f])
			if err != nil {
				return err
			}
			offsets[f] = n
		}
		if !follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// copyLines prints the complete lines of path from offset, prefixed with
// the server's name ("test.web.7d2e1a3b.1-0"), and returns the new offset.
func copyLines(w io.Writer, path string, offset int64) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return offset, nil // pruned in between: nothing to print
	}
	defer f.Close()
	if _, err := f.Seek(offset, io.SeekStart); err != nil {
		return offset, err
	}
	prefix := strings.TrimSuffix(filepath.Base(path), ".log")
	r := bufio.NewReader(f)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return offset, nil // an incomplete line waits for its end
		}
		offset += int64(len(line))
		if _, err := fmt.Fprintf(w, "%s | %s", prefix, line); err != nil {
			return offset, err
		}
	}
}
