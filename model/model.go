// Package model holds the desired state that the compiler produces from a
// spec and that the planner compares with the live cloud. It is plain data:
// no I/O, no CUE, so every other package can depend on it cheaply.
package model

import (
	"io/fs"
	"slices"
	"sort"
	"time"
)

// Cloud names an implementation of the cloud interface.
const (
	CloudLocal = "local"
	CloudAWS   = "aws"
)

// Desired is the compiled, validated desired state of one spec.
type Desired struct {
	Project      string                  `json:"project"`
	Images       map[string]*Image       `json:"images"`
	Environments map[string]*Environment `json:"environments"`
	// Pools holds one desired pool per (environment, role), sorted by
	// environment then role.
	Pools []*Pool `json:"pools"`

	// Source holds the spec's files; bakes read `files` sources from it.
	// It is a directory on disk or a tree read from a git commit.
	Source fs.FS `json:"-"`
	// Commit is the git commit the spec was read from, when known; every
	// pool records it (provenance).
	Commit string `json:"commit,omitempty"`
}

// DirtySuffix ends the Commit of a spec read from a work tree that differs
// from it (--allow-dirty), so a pool never claims a commit it was not made
// from.
const DirtySuffix = "-dirty"

// Image is one layer of a machine image chain.
type Image struct {
	Name string `json:"name"`
	// From is the external source ("scratch", "dir:PATH", "ami:ami-…",
	// "ami-name:PATTERN"); empty when Parent is set.
	From   string            `json:"from,omitempty"`
	Parent string            `json:"parent,omitempty"`
	Files  []File            `json:"files,omitempty"`
	Steps  []string          `json:"steps,omitempty"`
	Env    map[string]string `json:"env,omitempty"`
	MaxAge time.Duration     `json:"max_age,omitempty"`
	// BuildID is the hex SHA-256 of the parent's build id (or the source),
	// the steps, the env and the bytes of every file: same inputs, same id.
	BuildID string `json:"build_id"`
	// Chain lists image names from the root of the chain down to this one.
	Chain []string `json:"chain"`
}

// File is one `files` entry: Source (relative to the spec directory, a file
// or a directory) copied to Dest inside the image.
type File struct {
	Dest   string `json:"dest"`
	Source string `json:"source"`
	// Digest is the hex SHA-256 over the source's contents (and, for a
	// directory, its relative paths and modes).
	Digest string `json:"digest"`
}

// Environment is one environment with its settings after defaults.
type Environment struct {
	Name      string            `json:"name"`
	Cloud     string            `json:"cloud"`
	Roles     []string          `json:"roles"` // sorted
	Config    map[string]string `json:"config,omitempty"`
	Secrets   map[string]string `json:"secrets,omitempty"` // name -> reference
	Retention Retention         `json:"retention"`
	MaxAge    time.Duration     `json:"max_age,omitempty"`
	After     []string          `json:"after,omitempty"`
	Traffic   Traffic           `json:"traffic"`
	AWS       *AWS              `json:"aws,omitempty"`
}

// Retention says how many non-serving pools an (environment, role) keeps
// for rollback, and how many of those stay warm.
type Retention struct {
	Keep int `json:"keep"`
	Warm int `json:"warm"`
}

// Traffic is the swap strategy: "blue-green" (one atomic swap) or "canary"
// (weighted steps, in percent of traffic on the new pool, ending at 100).
type Traffic struct {
	Strategy string `json:"strategy"`
	Steps    []int  `json:"steps,omitempty"`
	// Pause is how long each canary weight is watched before the next
	// (canary only).
	Pause time.Duration `json:"pause,omitempty"`
	// Bake is how long the new pool is still watched once it has all the
	// traffic; the previous pool stays warm and retained until it passes.
	// Zero: not watched.
	Bake time.Duration `json:"bake,omitempty"`
	// Analysis judges watched windows on the new pool's traffic; nil
	// watches health only.
	Analysis *Analysis `json:"analysis,omitempty"`
}

// Analysis is what a watched window of a release must show on the new
// pool's own traffic to pass.
type Analysis struct {
	// MaxErrorRate is the percent of requests that may fail (5xx or no
	// answer): 0 < MaxErrorRate <= 100.
	MaxErrorRate float64 `json:"max_error_rate"`
	// MaxLatency bounds the 99th percentile answer time; 0 is no limit.
	MaxLatency time.Duration `json:"max_latency,omitempty"`
	// MinRequests: a window with fewer is inconclusive (0 judges any).
	MinRequests int `json:"min_requests"`
}

// AWS holds the identity layer of an AWS environment, which Phoenix names but
// never creates or deletes.
type AWS struct {
	Region string `json:"region"`
	// AssumeRole is the ARN of an IAM role to assume for this
	// environment (another account, usually); empty uses the standard
	// credential chain as is. Environments of one (assumeRole, region)
	// share clients, rate limits and reads.
	AssumeRole      string   `json:"assume_role,omitempty"`
	Subnets         []string `json:"subnets"`
	SecurityGroups  []string `json:"security_groups,omitempty"`
	InstanceProfile string   `json:"instance_profile,omitempty"`
	Bucket          string   `json:"bucket"`
}

// Pool is the desired pool of one (environment, role): the role's settings
// merged with the environment's overrides.
type Pool struct {
	Env      string `json:"env"`
	Role     string `json:"role"`
	Cloud    string `json:"cloud"`
	Image    string `json:"image"`    // image name
	BuildID  string `json:"build_id"` // of Image
	Endpoint string `json:"endpoint"`
	// Key is the hex SHA-256 of everything that shapes a server: build id,
	// merged settings, config and secret references (never values).
	Key     string            `json:"key"`
	Command string            `json:"command,omitempty"`
	Size    string            `json:"size,omitempty"`
	Count   int               `json:"count"`
	Port    int               `json:"port"`
	Health  Health            `json:"health"`
	Smoke   []Smoke           `json:"smoke,omitempty"`
	Warm    []string          `json:"warm,omitempty"`
	Config  map[string]string `json:"config,omitempty"`  // role, env, env-role merged
	Secrets map[string]string `json:"secrets,omitempty"` // name -> reference
	// Retention, MaxAge and Traffic come from the environment; they steer
	// the plan but are not part of the key.
	Retention Retention     `json:"retention"`
	MaxAge    time.Duration `json:"max_age,omitempty"`
	Traffic   Traffic       `json:"traffic"`
}

// Health is a pool's HTTP health check.
type Health struct {
	Path     string        `json:"path"`
	Interval time.Duration `json:"interval"`
	Timeout  time.Duration `json:"timeout"`
	// Deadline bounds the wait for a new pool's first passing checks; 0
	// leaves it to the cloud. Not part of the pool key: it shapes the
	// create step, not a server.
	Deadline time.Duration `json:"deadline,omitempty"`
}

// Smoke is one smoke check run against a new pool before it takes traffic.
type Smoke struct {
	Path     string `json:"path"`
	Status   int    `json:"status"`
	Contains string `json:"contains,omitempty"`
}

// ImageNames returns the image names in a stable order, parents before
// children.
func (d *Desired) ImageNames() []string {
	names := make([]string, 0, len(d.Images))
	for n := range d.Images {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := d.Images[names[i]], d.Images[names[j]]
		if len(a.Chain) != len(b.Chain) {
			return len(a.Chain) < len(b.Chain)
		}
		return names[i] < names[j]
	})
	return names
}

// EnvNames returns the environment names sorted.
func (d *Desired) EnvNames() []string {
	names := make([]string, 0, len(d.Environments))
	for n := range d.Environments {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Clone returns a copy of t that shares nothing with it.
func (t Traffic) Clone() Traffic {
	t.Steps = slices.Clone(t.Steps)
	if t.Analysis != nil {
		a := *t.Analysis
		t.Analysis = &a
	}
	return t
}
