package local

import (
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// Whatever the state database holds (a record written by another version,
// a file damaged on disk), reading it while the cloud is down decodes each
// record or fails with an error naming it: it never panics, and what it
// reports keeps to its project.
func FuzzStateRecords(f *testing.F) {
	f.Add([]byte(`{"project":"p","id":"prod.web.0123abcd.1","spec":{"env":"prod","role":"web","key":"0123abcd","count":2},"state":"ready","servers":[{"index":0,"port":40000,"pid":1}]}`),
		[]byte(`{"project":"p","env":"prod","role":"web","address":"127.0.0.1:1","backends":[{"pool":"prod.web.0123abcd.1","weight":100}]}`),
		[]byte(`{"project":"p","build_id":"b0","name":"web"}`))
	f.Add([]byte(`{"state":"creating","spec":{"count":-5},"servers":[{"pid":-1}]}`), []byte(`{"backends":null}`), []byte(`[]`))
	f.Add([]byte(`null`), []byte(`{"backends":[{"weight":-1}]}`), []byte(`{`))
	f.Fuzz(func(t *testing.T, pool, endpoint, image []byte) {
		db, err := bolt.Open(filepath.Join(t.TempDir(), "state.db"), 0o600, &bolt.Options{NoSync: true, Timeout: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		err = db.Update(func(tx *bolt.Tx) error {
			for _, r := range []struct {
				bucket, v []byte
			}{{bucketPools, pool}, {bucketEndpoints, endpoint}, {bucketImages, image}, {bucketLocks, []byte(`{}`)}} {
				b, err := tx.CreateBucketIfNotExists(r.bucket)
				if err != nil {
					return err
				}
				if err := b.Put(recKey("p", "x"), r.v); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		live := &cloud.Live{}
		err = db.View(func(tx *bolt.Tx) error { return readLive(tx, "p", time.Now(), live) })
		if err != nil {
			return // refused, naming the record: fine
		}
		for _, p := range live.Pools {
			if p.Cloud != "local" || p.Count < 1 || p.Servers < 0 {
				t.Errorf("pool %+v read from a record", p)
			}
		}
	})
}
