package cloudtest

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/phoenix-gitops/phoenix/model"
)

// SpecOptions shape the small spec that Spec builds for a harness.
type SpecOptions struct {
	Project string // default "conformance"
	Cloud   string // the spec's cloud name: "memory", "local", "aws"
	// From is the source of the root image ("scratch", "ami:ami-…").
	From string
	// Endpoint is the endpoint address of the one (environment, role):
	// a loopback address for local, a listener ARN for aws.
	Endpoint string
	// Command, Port and HealthPath are the role's; local servers need them.
	Command    string
	Port       int
	HealthPath string
	Count      int // default 2
	// Steps of the child image (default a harmless echo).
	Steps []string
	// AWS is the environment's identity layer, for aws.
	AWS *model.AWS
}

// Spec returns a small, valid desired state: images "base" (From) and "app"
// (parent base), one environment "test" with one role "web" on app.
// Build ids and pool keys are derived from the inputs like the compiler's
// (same inputs, same ids), so two calls agree.
func Spec(o SpecOptions) *model.Desired {
	if o.Project == "" {
		o.Project = "conformance"
	}
	if o.Count == 0 {
		o.Count = 2
	}
	if o.HealthPath == "" {
		o.HealthPath = "/healthz"
	}
	if o.Steps == nil {
		o.Steps = []string{"echo phoenix > VERSION"}
	}
	base := &model.Image{Name: "base", From: o.From, BuildID: hash("image", o.From), Chain: []string{"base"}}
	app := &model.Image{Name: "app", Parent: "base", Steps: o.Steps, Chain: []string{"base", "app"}}
	app.BuildID = hash(append([]string{"image", base.BuildID}, o.Steps...)...)
	env := &model.Environment{
		Name:      "test",
		Cloud:     o.Cloud,
		Roles:     []string{"web"},
		Retention: model.Retention{Keep: 2, Warm: 1},
		Traffic:   model.Traffic{Strategy: "blue-green"},
		AWS:       o.AWS,
	}
	pool := &model.Pool{
		Env: "test", Role: "web", Cloud: o.Cloud, Image: "app", BuildID: app.BuildID,
		Endpoint: o.Endpoint, Command: o.Command, Count: o.Count, Port: o.Port, Size: "small",
		Health:    model.Health{Path: o.HealthPath, Interval: time.Second, Timeout: time.Second},
		Config:    map[string]string{"VERSION": "1"},
		Retention: env.Retention, Traffic: env.Traffic,
	}
	pool.Key = PoolKey(pool)
	return &model.Desired{
		Project:      o.Project,
		Images:       map[string]*model.Image{"base": base, "app": app},
		Environments: map[string]*model.Environment{"test": env},
		Pools:        []*model.Pool{pool},
		Commit:       "c0ffee0000000000000000000000000000000000",
	}
}

// PoolKey derives a stand-in pool key from what shapes a server. It is not
// the compiler's key, only stable and sensitive to the same inputs.
func PoolKey(p *model.Pool) string {
	parts := []string{"pool", p.BuildID, p.Command, p.Size, p.Health.Path}
	for _, k := range sortedKeys(p.Config) {
		parts = append(parts, k+"="+p.Config[k])
	}
	return hash(parts...)
}

func hash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}
