// Package cloud defines the one interface every cloud implements (local,
// aws, and the in-memory stand-in used by tests) and the live state it
// reports. Live state is rebuilt from the tags Phoenix puts on what it
// creates; there is no state file.
package cloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/phoenix-gitops/phoenix/model"
)

// Cloud is what the planner reads and the executor drives. Implementations
// must be safe for concurrent use: the executor runs independent steps at
// once. Every method that acts is idempotent where it can be (baking an
// image that exists returns it; deleting what is gone succeeds), so an
// interrupted apply can simply be run again.
type Cloud interface {
	// Name is the spec's name for this cloud: "local", "aws", "memory".
	Name() string
	// Observe returns everything tagged for project. It never returns
	// resources without the project's ownership tags.
	Observe(ctx context.Context, project string) (*Live, error)
	// Bake builds req.Image on top of req.Parent (nil for an image with
	// From) and records it under its build id. It refuses a parent whose
	// Drift is set (an error wrapping ErrDrift), and bakes again an
	// existing image of the build id that drifted, as with Replace.
	Bake(ctx context.Context, req BakeRequest) (Image, error)
	// CreatePool creates a pool off traffic, waits until every server is
	// healthy, then runs smoke checks and warm-up requests. A pool that
	// fails is left behind, reported with State PoolFailed, for the planner
	// to prune; the error says why.
	CreatePool(ctx context.Context, req CreateRequest) (Pool, error)
	// Swap points an endpoint at the given backends atomically (one backend
	// of weight 100 for blue-green). A cold pool is started first. It
	// refuses a backend pool that is not healthy now. No backends detaches
	// the endpoint: it routes to no pool (e.g. an AWS listener answers with
	// a fixed 503), so the pools of an environment that left the spec can
	// be destroyed; the address itself stays (it is not Phoenix's).
	Swap(ctx context.Context, req SwapRequest) error
	// SetWarm keeps a non-serving pool's servers running (warm) or stops
	// them while keeping its record and image (cold).
	SetWarm(ctx context.Context, project, poolID string, warm bool) error
	// DeletePool destroys a pool. It returns an error wrapping ErrServing,
	// checked at that moment, if any endpoint still routes to it.
	DeletePool(ctx context.Context, project, poolID string) error
	// DeleteImage destroys an image. It returns an error wrapping ErrInUse
	// if a pool still uses it.
	DeleteImage(ctx context.Context, project, buildID string) error
	// Lock takes or renews (same owner) the lock of (project, env) for the
	// lease. It returns an error wrapping ErrLocked, with the holder, when
	// another owner holds an unexpired lease. It does not wait.
	Lock(ctx context.Context, req LockRequest) error
	// Unlock releases the lock if owner holds it; an empty owner forces it.
	Unlock(ctx context.Context, project, env, owner string) error
}

// EnvObserver is implemented by clouds that can read one environment's
// resources alone (AWS, by tags). The executor re-checks the live cloud
// before each swap and prune; reading the whole project for each would
// make a release's reads grow with the number of endpoints, and AWS
// throttles per account. The Live it returns holds env's endpoints and
// every pool of env that can take traffic; it may leave out images, locks
// and what is left of an interrupted create or prune, which the re-checks
// do not read.
type EnvObserver interface {
	ObserveEnv(ctx context.Context, project, env string) (*Live, error)
}

// Preflighter is implemented by clouds that can tell, before anything is
// changed, that a pool of the spec cannot be started on them: a secret
// reference this machine cannot resolve, say. Apply asks before its first
// step, so that such input is refused whole and changes nothing, rather
// than failing after bakes and other environments' swaps. It must not
// keep or print secret values.
type Preflighter interface {
	Preflight(ctx context.Context, pool *model.Pool) error
}

// QuotaChecker is implemented by clouds whose account caps how many of a
// resource may exist (AWS: auto scaling groups, target groups, listener
// rules per load balancer). Apply asks once per cloud, before its first
// step, with the pools the plan creates there (the plan says which; the
// cloud knows what a pool is made of), so that a release that would pass
// a limit is refused whole, naming the limit, rather than failing at a
// create after its bakes and other environments' swaps. Prunes are not
// counted: they run after the swaps, so the peak is what exists now plus
// the creates. A limit the cloud cannot read (access denied, an API that
// does not answer) is not checked: each such limit comes back as one line
// in skipped, never as an error.
type QuotaChecker interface {
	CheckQuotas(ctx context.Context, creates []*model.Pool) (skipped []string, err error)
}

// Errors every implementation wraps so callers can tell cases apart with
// errors.Is.
var (
	ErrServing  = errors.New("pool is serving traffic")
	ErrInUse    = errors.New("image is in use")
	ErrNotFound = errors.New("not found")
	ErrLocked   = errors.New("locked")
	ErrNotReady = errors.New("pool is not healthy")
	// ErrDrift: an image no longer holds what its bake made (Image.Drift);
	// a bake refuses it as a parent.
	ErrDrift = errors.New("image drifted")
)

// TransientError marks an error worth retrying (throttling, a timeout of
// the cloud's API). Everything else is permanent.
type TransientError struct{ Err error }

func (e *TransientError) Error() string { return e.Err.Error() }
func (e *TransientError) Unwrap() error { return e.Err }

// IsTransient reports whether err is worth retrying.
func IsTransient(err error) bool {
	var t *TransientError
	return errors.As(err, &t)
}

// LockedError is returned by Lock when another owner holds the lease.
type LockedError struct {
	Env     string
	Owner   string
	Expires time.Time
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("environment %s is locked by %s until %s", e.Env, e.Owner, e.Expires.UTC().Format(time.RFC3339))
}
func (e *LockedError) Unwrap() error { return ErrLocked }

// Live is the observed state of one project in one or more clouds.
type Live struct {
	Images    []Image    `json:"images"`
	Pools     []Pool     `json:"pools"`
	Endpoints []Endpoint `json:"endpoints"`
	Locks     []LockInfo `json:"locks,omitempty"`
}

// Image is a baked image as the cloud reports it.
type Image struct {
	Cloud   string `json:"cloud"`
	Name    string `json:"name"`
	BuildID string `json:"build_id"`
	// ParentBuildID is empty for an image baked from an external source.
	ParentBuildID string    `json:"parent_build_id,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	// Ref is the cloud's own handle: an AMI id, a directory.
	Ref string `json:"ref,omitempty"`
	// Drift is true when the image no longer holds what its bake made
	// (local: its tree does not match the digest recorded at the bake).
	// Such an image is rebaked, never used: not for a pool, not as the
	// parent of a bake (which would launder the change into a child with a
	// fresh digest). Clouds whose images cannot change (AWS) leave it false.
	Drift bool `json:"drift,omitempty"`
}

// PoolState is the lifecycle state of a pool.
type PoolState string

const (
	PoolCreating PoolState = "creating" // being made; a crash leaves this
	PoolReady    PoolState = "ready"    // passed health, smoke and warm-up
	PoolFailed   PoolState = "failed"   // did not become ready; prune it
	PoolCold     PoolState = "cold"     // retained with servers stopped
)

// Pool is a group of identical servers of one role in one environment.
type Pool struct {
	Cloud      string    `json:"cloud"`
	ID         string    `json:"id"` // PoolID(env, role, key, generation)
	Env        string    `json:"env"`
	Role       string    `json:"role"`
	Key        string    `json:"key"`
	Generation int       `json:"generation"`
	Image      string    `json:"image"` // image name
	BuildID    string    `json:"build_id"`
	Commit     string    `json:"commit,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	State      PoolState `json:"state"`
	// Healthy is true when every one of Count servers passes its health
	// check now (a cold pool is not healthy but may be swapped to).
	Healthy bool `json:"healthy"`
	// Servers is how many servers run and pass health checks; Count is how
	// many the pool was created with.
	Servers int `json:"servers"`
	Count   int `json:"count"`
	// Drift is true when a server does not match its image.
	Drift bool `json:"drift,omitempty"`
	// LastServed is when an endpoint last routed to this pool (zero if
	// never); retention prunes the oldest-served first.
	LastServed time.Time `json:"last_served,omitzero"`
	// Released is when a swap put all of its endpoint's traffic on this
	// pool, completing a release (zero if never). Only a released pool is a
	// rollback target (swapped to at once); a pool that carried part of an
	// unfinished canary, or never served, is released like a new one. The
	// cloud records it in its own tags/state, so every machine sees it.
	Released time.Time `json:"released,omitzero"`
	// Rejected is why release analysis rejected the pool, with its figures
	// ("5xx 33.8% of 212 requests > 1%"); empty if it never was. A
	// rejected pool is never swapped to again by a plain plan (rule 8).
	// The cloud records it in its own tags/state (see Rejecter).
	Rejected   string    `json:"rejected,omitempty"`
	RejectedAt time.Time `json:"rejected_at,omitzero"`
	// Reason says why a pool failed or is unhealthy.
	Reason string `json:"reason,omitempty"`
}

// Endpoint is the stable address of one (environment, role) and the pools
// it routes to.
type Endpoint struct {
	Cloud    string    `json:"cloud"`
	Env      string    `json:"env"`
	Role     string    `json:"role"`
	Address  string    `json:"address"`
	Backends []Backend `json:"backends"`
}

// Backend is one pool behind an endpoint with its share of traffic in
// percent; the weights of an endpoint sum to 100.
type Backend struct {
	Pool   string `json:"pool"`
	Weight int    `json:"weight"`
}

// LockInfo describes a held lock.
type LockInfo struct {
	Env     string    `json:"env"`
	Owner   string    `json:"owner"`
	Expires time.Time `json:"expires"`
}

// BakeRequest asks a cloud to bake one image.
type BakeRequest struct {
	Project string
	Image   *model.Image
	// Parent is the live parent image; nil when Image.From is set.
	Parent *Image
	// Source holds the spec's files, for Image.Files.
	Source fs.FS
	// Log receives the bake's output (steps' stdout and stderr); may be nil.
	Log io.Writer
	// Replace bakes the image even if one with this build id exists (it is
	// past its maxAge, or older than its parent's new bake) and replaces the
	// cloud's record of that build id, with a new CreatedAt. Without it, Bake
	// of an existing build id returns the existing image.
	Replace bool
}

// CreateRequest asks a cloud to create one pool.
type CreateRequest struct {
	Project    string
	Pool       *model.Pool
	ID         string // PoolID(...)
	Generation int
	Image      Image // the live image to start servers from
	Commit     string
	Log        io.Writer // may be nil
}

// SwapRequest points an endpoint at backends.
type SwapRequest struct {
	Project  string
	Env      string
	Role     string
	Endpoint string // the address from the spec
	Backends []Backend
	// MoveFrom is the address the endpoint serves at until this swap, when
	// the spec moved it to Endpoint: once Endpoint serves, MoveFrom is
	// released (a local proxy closes; an AWS listener is detached). Empty
	// when the endpoint does not move.
	MoveFrom string
}

// LockRequest takes or renews a lock.
type LockRequest struct {
	Project string
	Env     string
	Owner   string
	Lease   time.Duration
}

// PoolID is the stable id of a pool: environment, role, the first 8 hex
// digits of its key and its generation ("prod.web.7d2e1a3b.2").
func PoolID(env, role, key string, generation int) string {
	if len(key) > 8 {
		key = key[:8]
	}
	return fmt.Sprintf("%s.%s.%s.%d", env, role, key, generation)
}

// ShortPool renders a pool for people: "web@7d2e.2".
func ShortPool(role, key string, generation int) string {
	if len(key) > 4 {
		key = key[:4]
	}
	return fmt.Sprintf("%s@%s.%d", role, key, generation)
}

// Serving returns the ids of the pools an endpoint routes to.
func (e Endpoint) Serving() []string {
	ids := make([]string, 0, len(e.Backends))
	for _, b := range e.Backends {
		if b.Weight > 0 {
			ids = append(ids, b.Pool)
		}
	}
	return ids
}

// SoleBackend returns the pool that takes all of a swap's traffic (one
// backend of weight 100), or "" for a canary step or a detach. A swap to a
// sole backend completes a release: the clouds record it as Pool.Released.
func SoleBackend(bs []Backend) string {
	if len(bs) == 1 && bs[0].Weight == 100 {
		return bs[0].Pool
	}
	return ""
}

// CheckBackends validates a swap's backends the same way in every cloud:
// weights within 0..100, no pool twice, and a sum of 100 unless nothing is
// left (a detach). It returns the backends with zero weight dropped, so a
// pool that takes no traffic is not referenced and can be pruned.
func CheckBackends(in []Backend) ([]Backend, error) {
	var out []Backend
	sum := 0
	seen := map[string]bool{}
	for _, b := range in {
		if b.Weight < 0 || b.Weight > 100 {
			return nil, fmt.Errorf("weight %d of pool %s is not within 0..100", b.Weight, b.Pool)
		}
		if seen[b.Pool] {
			return nil, fmt.Errorf("pool %s is given twice", b.Pool)
		}
		seen[b.Pool] = true
		if b.Weight == 0 {
			continue
		}
		sum += b.Weight
		out = append(out, b)
	}
	if len(out) > 0 && sum != 100 {
		return nil, fmt.Errorf("backend weights sum to %d, not 100", sum)
	}
	return out, nil
}
