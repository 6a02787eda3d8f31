package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// The store is a bbolt file, PHOENIX_HOME/state.db, opened only by the
// supervisor (bbolt holds an exclusive file lock while the file is open, so
// one process owns it; every other process goes through the supervisor's
// API, except that a client reads it read-only when no supervisor runs, to
// find the servers a dead one left: see orphans.go). Every change is one bbolt transaction, fsynced on commit: a kill -9
// of any process at any instant leaves the last committed picture, never a
// torn one. Keys are "project\x00id" so that Observe reads one project's
// records with a prefix scan and never returns another project's.

var (
	bucketImages    = []byte("images")
	bucketPools     = []byte("pools")
	bucketEndpoints = []byte("endpoints")
	bucketLocks     = []byte("locks")
)

// imageRec is a baked image as recorded. Dir holds the read-only tree whose
// digest is Digest; a server refuses to start if they no longer match.
type imageRec struct {
	Project       string    `json:"project"`
	Name          string    `json:"name"`
	BuildID       string    `json:"build_id"`
	ParentBuildID string    `json:"parent_build_id,omitempty"`
	From          string    `json:"from,omitempty"`
	Dir           string    `json:"dir"`
	Digest        string    `json:"digest"`
	CreatedAt     time.Time `json:"created_at"`
}

// serverRec is one server process of a pool, enough to find it again after
// a supervisor restart: the pid alone could be reused by another process,
// so the kernel's start time of the process is recorded with it.
type serverRec struct {
	Index     int    `json:"index"`
	PID       int    `json:"pid"`
	StartTime uint64 `json:"start_time"`
	Port      int    `json:"port"`
	Log       string `json:"log"`
}

// poolRec is a pool as recorded: its desired settings (secret references
// only, never values), its image, its state and its processes.
type poolRec struct {
	Project    string     `json:"project"`
	ID         string     `json:"id"`
	Generation int        `json:"generation"`
	Spec       model.Pool `json:"spec"`
	ImageName  string     `json:"image_name"`
	BuildID    string     `json:"build_id"`
	// ImageDir and ImageDigest are the image tree the pool's servers were
	// started from (and start from again when warmed): a rebake of BuildID
	// records a new tree for the image but leaves this one in place while
	// the pool exists. Drift is checked against it.
	ImageDir    string          `json:"image_dir,omitempty"`
	ImageDigest string          `json:"image_digest,omitempty"`
	Commit      string          `json:"commit,omitempty"`
	CreatedAt   time.Time       `json:"created_at"`
	State       cloud.PoolState `json:"state"`
	Reason      string          `json:"reason,omitempty"`
	LastServed  time.Time       `json:"last_served,omitzero"`
	// Released is when a swap first put all traffic on the pool (see
	// cloud.Pool.Released).
	Released time.Time `json:"released,omitzero"`
	// Rejected is why release analysis rejected the pool, and when (see
	// cloud.Pool.Rejected).
	Rejected   string      `json:"rejected,omitempty"`
	RejectedAt time.Time   `json:"rejected_at,omitzero"`
	Servers    []serverRec `json:"servers,omitempty"`
	// WarmOnUp marks a pool that ran until `phoenix cloud down` stopped
	// it: `phoenix cloud up` starts it again.
	WarmOnUp bool `json:"warm_on_up,omitempty"`
}

// endpointRec is an endpoint's address and the backends it routes to.
type endpointRec struct {
	Project  string          `json:"project"`
	Env      string          `json:"env"`
	Role     string          `json:"role"`
	Address  string          `json:"address"`
	Backends []cloud.Backend `json:"backends"`
}

// lockRec is a lease on (project, env).
type lockRec struct {
	Project string    `json:"project"`
	Env     string    `json:"env"`
	Owner   string    `json:"owner"`
	Expires time.Time `json:"expires"`
}

func recKey(parts ...string) []byte {
	n := 0
	for _, p := range parts {
		n += len(p) + 1
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return b
}

func (r *imageRec) key() []byte    { return recKey(r.Project, r.BuildID) }
func (r *poolRec) key() []byte     { return recKey(r.Project, r.ID) }
func (r *endpointRec) key() []byte { return recKey(r.Project, r.Env, r.Role) }
func (r *lockRec) key() []byte     { return recKey(r.Project, r.Env) }

// store wraps the bbolt database with typed reads and writes.
type store struct{ db *bolt.DB }

// storeLockWait bounds the wait for bbolt's file lock, which only a
// second supervisor or a hung reader would hold.
var storeLockWait = 5 * time.Second

// openStore opens (creating) the database at path (PHOENIX_HOME/state.db);
// a database held too long is reported with its holder.
func openStore(path string) (*store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: storeLockWait})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("opening state: %w", heldStateError(filepath.Dir(path), path))
	}
	if err != nil {
		return nil, fmt.Errorf("opening state %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketImages, bucketPools, bucketEndpoints, bucketLocks} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("initialising state %s: %w", path, err)
	}
	return &store{db: db}, nil
}

func (s *store) Close() error { return s.db.Close() }

// update runs fn in one read-write transaction.
func (s *store) update(fn func(tx *bolt.Tx) error) error { return s.db.Update(fn) }

// view runs fn in one read-only transaction.
func (s *store) view(fn func(tx *bolt.Tx) error) error { return s.db.View(fn) }

func put(tx *bolt.Tx, bucket, key []byte, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put(key, b)
}

func del(tx *bolt.Tx, bucket, key []byte) error { return tx.Bucket(bucket).Delete(key) }

// get decodes the record at key into v; it reports false when absent.
func get(tx *bolt.Tx, bucket, key []byte, v any) (bool, error) {
	b := tx.Bucket(bucket).Get(key)
	if b == nil {
		return false, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("decoding record %q: %w", key, err)
	}
	return true, nil
}

// each decodes every record of bucket whose key starts with prefix (nil:
// all) and calls fn with it.
func each[T any](tx *bolt.Tx, bucket []byte, prefix []byte, fn func(*T) error) error {
	c := tx.Bucket(bucket).Cursor()
	var k, v []byte
	if prefix == nil {
		k, v = c.First()
	} else {
		k, v = c.Seek(prefix)
	}
	for ; k != nil; k, v = c.Next() {
		if prefix != nil && !hasPrefix(k, prefix) {
			break
		}
		var r T
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decoding record %q: %w", k, err)
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	return nil
}

// allPools reads every pool record. A file a supervisor died creating has
// no buckets yet, so no pools.
func allPools(tx *bolt.Tx) ([]poolRec, error) {
	if tx.Bucket(bucketPools) == nil {
		return nil, nil
	}
	var pools []poolRec
	err := each(tx, bucketPools, nil, func(r *poolRec) error { pools = append(pools, *r); return nil })
	return pools, err
}

func hasPrefix(b, p []byte) bool { return len(b) >= len(p) && string(b[:len(p)]) == string(p) }

// projectPrefix is the key prefix of one project's records.
func projectPrefix(project string) []byte { return append([]byte(project), 0) }

var errStop = errors.New("stop")
