// Package local is the local cloud: the whole cycle of bake, create, swap
// and prune on one machine, with no account. Images are read-only,
// content-addressed directory trees; a server is a real process started
// from its image; an endpoint is a real HTTP reverse proxy on a fixed
// loopback address whose backends are swapped atomically; health checks
// are real HTTP requests; logs outlive their pools.
//
// # Processes
//
// One supervisor process per PHOENIX_HOME owns everything that runs: the
// state database (bbolt, which allows one process at a time), the server
// processes, the proxies and the health loops. It is started detached (its
// own session) by the first command that needs it, or by `phoenix cloud
// up`, and stopped, with everything it runs, by `phoenix cloud down`. The
// CLI's Cloud is a client of its API (HTTP on a unix socket in the home),
// so any number of goroutines and processes can use one home at once and a
// decision such as "no endpoint routes to this pool, delete it" is made in
// one place, at that moment.
//
// A server gets its own free loopback port in PORT (the role's `port` is
// what a server listens on in a real cloud, where each has its own
// address; here the servers of a pool share one), its config and resolved
// secrets, and PHOENIX_PROJECT, PHOENIX_ENV, PHOENIX_ROLE, PHOENIX_POOL.
//
// Bakes run in the CLI (their steps need the caller's toolchain and write
// to the caller's log) and hand a finished tree to the supervisor to put in
// place and record. Secrets are resolved in the CLI from their references
// and travel to the supervisor in memory, over the socket.
//
// # Crash safety
//
// Every change is one bbolt transaction. A pool is recorded `creating`
// before its first process starts and each server's pid and start time are
// recorded as soon as it runs, so:
//   - the CLI killed during a create: the supervisor sees its request end,
//     stops the servers and records the pool failed;
//   - the supervisor killed: its servers keep running (own process groups,
//     output on files) and the next supervisor adopts those of ready pools
//     (a ready pool none of whose servers runs any more, as after a
//     machine restart, becomes cold, and `phoenix cloud up` starts it),
//     stops those of pools caught mid-create and records them failed, and
//     reopens every endpoint; `phoenix cloud down` with no supervisor
//     running still stops them (it starts one to adopt them and stops it
//     with them), and `phoenix cloud status` lists them (see orphans.go);
//   - a kill between renaming a baked tree into place and recording it
//     leaves an orphan directory that the next bake of that id replaces.
//
// # Drift
//
// A server refuses to start from an image whose tree no longer matches the
// digest recorded at its bake, and the supervisor re-checks the images of
// running pools every PHOENIX_DRIFT_CHECK (default 30s; one hash per image
// however many pools use it). A pool on a changed tree is reported with
// Drift and not healthy: the planner replaces it, never repairs it.
//
// Images are checked too, with or without pools: Observe and a bake's
// lookups report an image whose tree changed as Drift (the planner rebakes
// it and its descendants), and a child bake refuses a drifted parent
// rather than copy the change under a fresh digest. Digests are cached per
// tree with a signature of its metadata (change times, inodes, sizes), so
// a check walks the tree and hashes it again only when something changed
// (imagedrift.go).
//
// # Paths
//
// Phoenix's own writes into an image (its `files`, a dir: source) go
// through an os.Root of the tree: a link a parent's step left in it
// (srv -> /var/www) is refused, naming the image, the destination and the
// link, never followed onto the host.
//
// # Layout of PHOENIX_HOME
//
//	state.db                 bbolt: images, pools, endpoints, locks
//	supervisor.lock          flock held by the running supervisor (its pid)
//	supervisor.sock          the API; a home too long for a socket path has
//	supervisor.sockdir       instead the name of a private directory made at
//	                         random under $XDG_RUNTIME_DIR or the temp dir,
//	                         which holds the socket (see socket.go)
//	secret-refs/HASH.json    the secret references (never values) each pool
//	                         was created with: all the CLI will resolve for it
//	supervisor.log           the supervisor's own log, rotated past a size
//	                         into supervisor.log.TIMESTAMP (logprune.go)
//	images/BUILDID/          read-only image trees; images/.tmp/ bakes in progress
//	images/BUILDID.N/        a rebake's tree (Bake with Replace); the trees it
//	                         replaced stay while pools started from them exist
//	logs/ENV/ROLE/POOL-N.log each server's stdout and stderr, kept after its pool
//	logs/bake/IMAGE/ID.log   each bake's output; both pruned by age and size
//	                         once their pool or image is gone (logprune.go)
package local
