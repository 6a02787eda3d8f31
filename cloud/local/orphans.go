package local

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Orphans. A supervisor that dies (kill -9, or SIGTERM, which by design
// leaves the servers running for the next supervisor to adopt) leaves its
// servers running with no one to stop them. `phoenix cloud down` must still
// stop them and `phoenix cloud status` must still show them, so both read
// the state database directly when no supervisor answers. A recorded
// server counts only while its pid runs with the start time recorded for
// it: a pid the kernel has since given to another program is never
// reported, let alone signalled.

// errStateBusy says the state database is held by a process that does not
// answer on the socket: a supervisor starting, or one that hangs.
var errStateBusy = errors.New("the state database is held by a supervisor that does not answer")

// Orphans returns the pools whose recorded servers still run while no
// supervisor answers, each with the pids that run. It returns nothing when
// a supervisor runs (its servers are not orphans) or the home has no state.
// It never starts the supervisor.
func (c *Cloud) Orphans(ctx context.Context) ([]PoolStatus, error) {
	if c.ping(ctx) == nil {
		return nil, nil
	}
	pools, err := readPoolsOffline(c.home)
	if errors.Is(err, errStateBusy) && c.ping(ctx) == nil {
		return nil, nil // it was starting
	}
	if err != nil {
		return nil, err
	}
	return runningServers(pools), nil
}

// runningServers keeps the pools with servers that still run, with only
// the pids that do.
func runningServers(pools []poolRec) []PoolStatus {
	var out []PoolStatus
	for _, rec := range pools {
		ps := PoolStatus{Project: rec.Project, ID: rec.ID, State: rec.State, Count: max(rec.Spec.Count, 1)}
		for _, sr := range rec.Servers {
			if processMatches(sr.PID, sr.StartTime) {
				ps.PIDs = append(ps.PIDs, sr.PID)
			}
		}
		if len(ps.PIDs) > 0 {
			ps.Servers = len(ps.PIDs)
			out = append(out, ps)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// readPoolsOffline reads every pool record from the state database of a
// home whose supervisor is not running (see viewStateOffline). A home
// without state has no pools.
func readPoolsOffline(home string) ([]poolRec, error) {
	var pools []poolRec
	err := viewStateOffline(home, func(tx *bolt.Tx) (err error) {
		pools, err = allPools(tx)
		return err
	})
	return pools, err
}

// viewStateOffline runs fn in a read-only transaction of home's state
// database, for a reader while no supervisor runs: the database is opened
// read-only (a shared lock, so a supervisor that starts meanwhile waits
// for us, and we time out at once if one holds it, naming the holder). A
// home without state runs nothing.
func viewStateOffline(home string, fn func(tx *bolt.Tx) error) error {
	path := filepath.Join(home, "state.db")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 500 * time.Millisecond})
	if errors.Is(err, bolt.ErrTimeout) {
		return fmt.Errorf("%w: %w", errStateBusy, heldStateError(home, path))
	}
	if err != nil {
		return fmt.Errorf("reading state %s: %w", path, err)
	}
	defer db.Close()
	if err := db.View(fn); err != nil {
		return fmt.Errorf("reading state %s: %w", path, err)
	}
	return nil
}
