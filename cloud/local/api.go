package local

import (
	"errors"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// The supervisor's API: JSON over HTTP on a unix socket in a directory
// only the user can enter, whose two ends check each other's uid (see
// socket.go). Secrets
// travel in request bodies over this socket and live only in the
// supervisor's memory and the servers' environments.

const (
	pathPing        = "/v1/ping"
	pathStatus      = "/v1/status"
	pathShutdown    = "/v1/shutdown"
	pathObserve     = "/v1/observe"
	pathImage       = "/v1/image"        // GET ?project=&build=
	pathCommitImage = "/v1/image/commit" // POST commitImageReq
	pathDeleteImage = "/v1/image/delete" // POST deleteImageReq
	pathPool        = "/v1/pool"         // GET ?project=&id=
	pathCreatePool  = "/v1/pool/create"  // POST createReq, streams createEvent
	pathSetWarm     = "/v1/pool/warm"    // POST warmReq
	pathDeletePool  = "/v1/pool/delete"  // POST deletePoolReq
	pathSwap        = "/v1/swap"         // POST swapReq
	pathLock        = "/v1/lock"         // POST lockReq
	pathUnlock      = "/v1/unlock"       // POST unlockReq
	pathColdServing = "/v1/cold-serving" // GET: serving pools that are cold
)

// Error kinds carried over the wire so the client can wrap the sentinels.
const (
	kindServing   = "serving"
	kindInUse     = "in_use"
	kindNotFound  = "not_found"
	kindLocked    = "locked"
	kindNotReady  = "not_ready"
	kindTransient = "transient"
)

type apiError struct {
	Message string          `json:"error"`
	Kind    string          `json:"kind,omitempty"`
	Lock    *cloud.LockInfo `json:"lock,omitempty"`
}

// toAPIError classifies err by the sentinels it wraps.
func toAPIError(err error) *apiError {
	e := &apiError{Message: err.Error()}
	var le *cloud.LockedError
	switch {
	case errors.As(err, &le):
		e.Kind = kindLocked
		e.Lock = &cloud.LockInfo{Env: le.Env, Owner: le.Owner, Expires: le.Expires}
	case errors.Is(err, cloud.ErrServing):
		e.Kind = kindServing
	case errors.Is(err, cloud.ErrInUse):
		e.Kind = kindInUse
	case errors.Is(err, cloud.ErrNotFound):
		e.Kind = kindNotFound
	case errors.Is(err, cloud.ErrNotReady):
		e.Kind = kindNotReady
	case cloud.IsTransient(err):
		e.Kind = kindTransient
	}
	return e
}

// remoteError is an error the supervisor returned: its message as the
// supervisor wrote it, wrapping the matching sentinel.
type remoteError struct {
	msg      string
	sentinel error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }

// toError turns a wire error back into a Go error with its sentinel.
func (e *apiError) toError() error {
	switch e.Kind {
	case kindLocked:
		if e.Lock != nil {
			return &cloud.LockedError{Env: e.Lock.Env, Owner: e.Lock.Owner, Expires: e.Lock.Expires}
		}
		return &remoteError{e.Message, cloud.ErrLocked}
	case kindServing:
		return &remoteError{e.Message, cloud.ErrServing}
	case kindInUse:
		return &remoteError{e.Message, cloud.ErrInUse}
	case kindNotFound:
		return &remoteError{e.Message, cloud.ErrNotFound}
	case kindNotReady:
		return &remoteError{e.Message, cloud.ErrNotReady}
	case kindTransient:
		return &cloud.TransientError{Err: errors.New(e.Message)}
	}
	return errors.New(e.Message)
}

type commitImageReq struct {
	Project       string `json:"project"`
	Name          string `json:"name"`
	BuildID       string `json:"build_id"`
	ParentBuildID string `json:"parent_build_id,omitempty"`
	From          string `json:"from,omitempty"`
	// TmpDir is the finished, read-only tree in PHOENIX_HOME/images/.tmp
	// that the supervisor renames into place.
	TmpDir string `json:"tmp_dir"`
	Digest string `json:"digest"`
	// Replace commits the tree as a rebake of a recorded build id: under a
	// new directory, the record pointed at it (see rebakes in
	// sup_images.go).
	Replace bool `json:"replace,omitempty"`
}

type deleteImageReq struct {
	Project string `json:"project"`
	BuildID string `json:"build_id"`
}

type createReq struct {
	Project    string      `json:"project"`
	ID         string      `json:"id"`
	Generation int         `json:"generation"`
	Spec       model.Pool  `json:"spec"`
	Image      cloud.Image `json:"image"`
	Commit     string      `json:"commit,omitempty"`
	// Secrets are the resolved values, by name; never stored.
	Secrets map[string]string `json:"secrets,omitempty"`
}

// createEvent is one line of the streamed answer to a create: log lines
// while it runs, then the pool and, if it failed, the error.
type createEvent struct {
	Log   string      `json:"log,omitempty"`
	Pool  *cloud.Pool `json:"pool,omitempty"`
	Error *apiError   `json:"error,omitempty"`
}

type swapReq struct {
	cloud.SwapRequest
	// Secrets of cold backend pools, by pool id, to start them with.
	Secrets map[string]map[string]string `json:"secrets,omitempty"`
}

type warmReq struct {
	Project string            `json:"project"`
	Pool    string            `json:"pool"`
	Warm    bool              `json:"warm"`
	Secrets map[string]string `json:"secrets,omitempty"`
}

type deletePoolReq struct {
	Project string `json:"project"`
	Pool    string `json:"pool"`
}

type lockReq struct {
	Project string        `json:"project"`
	Env     string        `json:"env"`
	Owner   string        `json:"owner"`
	Lease   time.Duration `json:"lease"`
}

type unlockReq struct {
	Project string `json:"project"`
	Env     string `json:"env"`
	Owner   string `json:"owner"`
}

// coldServing names a pool to start again on `phoenix cloud up` (serving
// but stopped, or stopped by `down`), with its secret references.
type coldServing struct {
	Project string            `json:"project"`
	Pool    string            `json:"pool"`
	Secrets map[string]string `json:"secrets,omitempty"` // name -> reference
}

// Status is what `phoenix cloud status` shows.
type Status struct {
	PID       int              `json:"pid"`
	Home      string           `json:"home"`
	StartedAt time.Time        `json:"started_at"`
	Endpoints []EndpointStatus `json:"endpoints"`
	Pools     []PoolStatus     `json:"pools"`
}

// EndpointStatus is one reverse proxy.
type EndpointStatus struct {
	Project  string          `json:"project"`
	Env      string          `json:"env"`
	Role     string          `json:"role"`
	Address  string          `json:"address"`
	Backends []cloud.Backend `json:"backends"`
	Served   uint64          `json:"served"`
}

// PoolStatus is one pool and its processes.
type PoolStatus struct {
	Project string          `json:"project"`
	ID      string          `json:"id"`
	State   cloud.PoolState `json:"state"`
	Healthy bool            `json:"healthy"`
	Servers int             `json:"servers"`
	Count   int             `json:"count"`
	PIDs    []int           `json:"pids,omitempty"`
	Reason  string          `json:"reason,omitempty"`
}
