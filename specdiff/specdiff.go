// Package specdiff compares two compiled specs (the desired states at two
// commits) and says what a change does in the terms an operator reviews:
// which images get a new build id and why, which pools get a new key and
// which settings moved, which environments come or go, and which
// retention and traffic settings changed.
//
// It works on model.Desired only, which holds secret references and never
// secret values, so nothing it prints can leak a secret.
package specdiff

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/phoenix-gitops/phoenix/model"
)

// Status says whether a thing was added, removed or changed.
type Status string

const (
	Added   Status = "added"
	Removed Status = "removed"
	Changed Status = "changed"
)

// Diff is the desired-state difference between a base and a head spec.
type Diff struct {
	Base   string        `json:"base,omitempty"` // commit hashes, when known
	Head   string        `json:"head,omitempty"`
	Images []ImageChange `json:"images,omitempty"`
	Envs   []EnvChange   `json:"environments,omitempty"`
	Pools  []PoolChange  `json:"pools,omitempty"`
}

// Setting is one value that moved. From or To is empty for a setting that
// was added or removed.
type Setting struct {
	Name string `json:"name"` // "count", "config VERSION", "secret DB (reference)"
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
}

// String reads `config VERSION "1" → "2"`, `count 2 → 3`,
// `config DEBUG added "1"`.
func (s Setting) String() string {
	switch {
	case s.From == "" && s.To == "":
		return s.Name
	case s.From == "":
		return s.Name + " added " + s.To
	case s.To == "":
		return s.Name + " removed (was " + s.From + ")"
	default:
		return s.Name + " " + s.From + " → " + s.To
	}
}

// ImageChange is an image whose inputs changed.
type ImageChange struct {
	Name   string `json:"name"`
	Status Status `json:"status"`
	// FromBuildID and ToBuildID are the build ids at base and head; they
	// differ when the image is rebaked.
	FromBuildID string `json:"from_build_id,omitempty"`
	ToBuildID   string `json:"to_build_id,omitempty"`
	Rebake      bool   `json:"rebake"`
	// Reasons say why: "steps changed", "file app/ changed",
	// "env GOFLAGS changed", "parent base rebaked".
	Reasons []string `json:"reasons,omitempty"`
}

// EnvChange is an environment added, removed or with changed settings
// (retention, traffic, maxAge, after, cloud, region, assumeRole). Per-role
// changes are reported on pools.
type EnvChange struct {
	Name     string    `json:"name"`
	Status   Status    `json:"status"`
	Settings []Setting `json:"settings,omitempty"`
}

// PoolChange is the desired pool of one (environment, role) that changed.
type PoolChange struct {
	Env    string `json:"env"`
	Role   string `json:"role"`
	Status Status `json:"status"`
	// FromKey and ToKey are the pool keys at base and head; a new key means
	// a new pool (or a swap to a retained one with that key).
	FromKey    string    `json:"from_key,omitempty"`
	ToKey      string    `json:"to_key,omitempty"`
	KeyChanged bool      `json:"key_changed"`
	Settings   []Setting `json:"settings,omitempty"`
}

// Empty reports whether the two specs describe the same desired state.
func (d *Diff) Empty() bool {
	return len(d.Images) == 0 && len(d.Envs) == 0 && len(d.Pools) == 0
}

// Pool returns the change of one (environment, role), or nil.
func (d *Diff) Pool(env, role string) *PoolChange {
	for i := range d.Pools {
		if d.Pools[i].Env == env && d.Pools[i].Role == role {
			return &d.Pools[i]
		}
	}
	return nil
}

// Image returns the change of one image, or nil.
func (d *Diff) Image(name string) *ImageChange {
	for i := range d.Images {
		if d.Images[i].Name == name {
			return &d.Images[i]
		}
	}
	return nil
}

// Env returns the change of one environment, or nil.
func (d *Diff) Env(name string) *EnvChange {
	for i := range d.Envs {
		if d.Envs[i].Name == name {
			return &d.Envs[i]
		}
	}
	return nil
}

// Only keeps the changes of the named environments (all when envs is
// empty). Image changes are kept: images are shared between environments.
func (d *Diff) Only(envs []string) *Diff {
	if len(envs) == 0 {
		return d
	}
	keep := map[string]bool{}
	for _, e := range envs {
		keep[e] = true
	}
	out := &Diff{Base: d.Base, Head: d.Head, Images: d.Images}
	for _, e := range d.Envs {
		if keep[e.Name] {
			out.Envs = append(out.Envs, e)
		}
	}
	for _, p := range d.Pools {
		if keep[p.Env] {
			out.Pools = append(out.Pools, p)
		}
	}
	return out
}

// Compare returns what changes from base to head. Either may be nil (no
// spec at that commit).
func Compare(base, head *model.Desired) *Diff {
	if base == nil {
		base = &model.Desired{}
	}
	if head == nil {
		head = &model.Desired{}
	}
	d := &Diff{Base: base.Commit, Head: head.Commit}
	d.Images = compareImages(base, head)
	d.Envs = compareEnvs(base, head)
	d.Pools = comparePools(base, head)
	return d
}

func compareImages(base, head *model.Desired) []ImageChange {
	var out []ImageChange
	for _, name := range head.ImageNames() {
		h := head.Images[name]
		b, ok := base.Images[name]
		if !ok {
			out = append(out, ImageChange{Name: name, Status: Added, ToBuildID: h.BuildID, Rebake: true})
			continue
		}
		reasons := imageReasons(base, head, b, h)
		if b.BuildID == h.BuildID && len(reasons) == 0 {
			continue
		}
		if b.BuildID != h.BuildID && len(reasons) == 0 {
			reasons = []string{"inputs changed"}
		}
		out = append(out, ImageChange{Name: name, Status: Changed, FromBuildID: b.BuildID, ToBuildID: h.BuildID,
			Rebake: b.BuildID != h.BuildID, Reasons: reasons})
	}
	for _, name := range base.ImageNames() {
		if _, ok := head.Images[name]; !ok {
			out = append(out, ImageChange{Name: name, Status: Removed, FromBuildID: base.Images[name].BuildID})
		}
	}
	return out
}

// imageReasons says which inputs of an image differ.
func imageReasons(base, head *model.Desired, b, h *model.Image) []string {
	var r []string
	if b.From != h.From {
		r = append(r, fmt.Sprintf("source %s → %s", quote(b.From), quote(h.From)))
	}
	if b.Parent != h.Parent {
		r = append(r, fmt.Sprintf("parent %s → %s", orNone(b.Parent), orNone(h.Parent)))
	} else if h.Parent != "" {
		bp, hp := base.Images[b.Parent], head.Images[h.Parent]
		if bp != nil && hp != nil && bp.BuildID != hp.BuildID {
			r = append(r, "parent "+h.Parent+" rebaked")
		}
	}
	r = append(r, stepReasons(b.Steps, h.Steps)...)
	r = append(r, fileReasons(b.Files, h.Files)...)
	for _, s := range mapSettings("env", b.Env, h.Env, true) {
		r = append(r, s.String())
	}
	if b.MaxAge != h.MaxAge {
		r = append(r, Setting{Name: "maxAge", From: duration(b.MaxAge), To: duration(h.MaxAge)}.String())
	}
	return r
}

func stepReasons(b, h []string) []string {
	if equalStrings(b, h) {
		return nil
	}
	if len(b) != len(h) {
		return []string{fmt.Sprintf("steps changed (%d → %d steps)", len(b), len(h))}
	}
	var changed []string
	for i := range b {
		if b[i] != h[i] {
			changed = append(changed, strconv.Itoa(i+1))
		}
	}
	if len(changed) == 1 {
		return []string{"step " + changed[0] + " changed"}
	}
	return []string{"steps " + strings.Join(changed, ", ") + " changed"}
}

func fileReasons(b, h []model.File) []string {
	bm := map[string]model.File{}
	for _, f := range b {
		bm[f.Dest] = f
	}
	hm := map[string]model.File{}
	for _, f := range h {
		hm[f.Dest] = f
	}
	var r []string
	for _, dest := range sortedKeys(hm) {
		hf := hm[dest]
		bf, ok := bm[dest]
		switch {
		case !ok:
			r = append(r, fmt.Sprintf("file %s added (→ %s)", hf.Source, dest))
		case bf.Source != hf.Source:
			r = append(r, fmt.Sprintf("file for %s: %s → %s", dest, bf.Source, hf.Source))
		case bf.Digest != hf.Digest:
			r = append(r, fmt.Sprintf("file %s changed", hf.Source))
		}
	}
	for _, dest := range sortedKeys(bm) {
		if _, ok := hm[dest]; !ok {
			r = append(r, fmt.Sprintf("file %s removed (was → %s)", bm[dest].Source, dest))
		}
	}
	return r
}

func compareEnvs(base, head *model.Desired) []EnvChange {
	var out []EnvChange
	for _, name := range head.EnvNames() {
		h := head.Environments[name]
		b, ok := base.Environments[name]
		if !ok {
			out = append(out, EnvChange{Name: name, Status: Added})
			continue
		}
		if s := envSettings(b, h); len(s) > 0 {
			out = append(out, EnvChange{Name: name, Status: Changed, Settings: s})
		}
	}
	for _, name := range base.EnvNames() {
		if _, ok := head.Environments[name]; !ok {
			out = append(out, EnvChange{Name: name, Status: Removed})
		}
	}
	return out
}

func envSettings(b, h *model.Environment) []Setting {
	var s []Setting
	add := func(name, from, to string) {
		if from != to {
			s = append(s, Setting{Name: name, From: from, To: to})
		}
	}
	add("cloud", b.Cloud, h.Cloud)
	add("retention keep", strconv.Itoa(b.Retention.Keep), strconv.Itoa(h.Retention.Keep))
	add("retention warm", strconv.Itoa(b.Retention.Warm), strconv.Itoa(h.Retention.Warm))
	add("traffic", traffic(b.Traffic), traffic(h.Traffic))
	add("maxAge", duration(b.MaxAge), duration(h.MaxAge))
	add("after", list(b.After), list(h.After))
	add("region", region(b.AWS), region(h.AWS))
	add("assumeRole", assumeRole(b.AWS), assumeRole(h.AWS))
	return s
}

func comparePools(base, head *model.Desired) []PoolChange {
	type key struct{ env, role string }
	bm := map[key]*model.Pool{}
	for _, p := range base.Pools {
		bm[key{p.Env, p.Role}] = p
	}
	var out []PoolChange
	seen := map[key]bool{}
	for _, h := range head.Pools {
		k := key{h.Env, h.Role}
		seen[k] = true
		b, ok := bm[k]
		if !ok {
			out = append(out, PoolChange{Env: h.Env, Role: h.Role, Status: Added, ToKey: h.Key, KeyChanged: true})
			continue
		}
		s := poolSettings(base, head, b, h)
		if b.Key == h.Key && len(s) == 0 {
			continue
		}
		if b.Key != h.Key && len(s) == 0 {
			s = []Setting{{Name: "settings changed"}}
		}
		out = append(out, PoolChange{Env: h.Env, Role: h.Role, Status: Changed, FromKey: b.Key, ToKey: h.Key,
			KeyChanged: b.Key != h.Key, Settings: s})
	}
	for _, b := range base.Pools {
		if !seen[key{b.Env, b.Role}] {
			out = append(out, PoolChange{Env: b.Env, Role: b.Role, Status: Removed, FromKey: b.Key, KeyChanged: true})
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Env != out[j].Env {
			return out[i].Env < out[j].Env
		}
		return out[i].Role < out[j].Role
	})
	return out
}

// poolSettings lists what shapes a server and moved. Retention, maxAge and
// traffic belong to the environment and are reported there.
func poolSettings(base, head *model.Desired, b, h *model.Pool) []Setting {
	var s []Setting
	add := func(name, from, to string) {
		if from != to {
			s = append(s, Setting{Name: name, From: from, To: to})
		}
	}
	add("image", b.Image, h.Image)
	if b.Image == h.Image && b.BuildID != h.BuildID {
		s = append(s, Setting{Name: rebakedName(h.Image), From: short(b.BuildID), To: short(h.BuildID)})
	}
	add("cloud", b.Cloud, h.Cloud)
	add("endpoint", b.Endpoint, h.Endpoint)
	add("command", quoteOpt(b.Command), quoteOpt(h.Command))
	add("size", b.Size, h.Size)
	add("count", strconv.Itoa(b.Count), strconv.Itoa(h.Count))
	add("port", strconv.Itoa(b.Port), strconv.Itoa(h.Port))
	add("health", health(b.Health), health(h.Health))
	add("smoke", smoke(b.Smoke), smoke(h.Smoke))
	add("warm", list(b.Warm), list(h.Warm))
	s = append(s, mapSettings("config", b.Config, h.Config, true)...)
	s = append(s, mapSettings("secret", b.Secrets, h.Secrets, true)...)
	return s
}

// mapSettings compares two string maps key by key. Values are quoted; the
// maps Phoenix compares hold configuration and secret references, never
// secret values.
func mapSettings(prefix string, b, h map[string]string, showValues bool) []Setting {
	var s []Setting
	keys := map[string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range h {
		keys[k] = true
	}
	for _, k := range sortedKeys(keys) {
		bv, bok := b[k]
		hv, hok := h[k]
		if bok == hok && bv == hv {
			continue
		}
		st := Setting{Name: prefix + " " + k}
		if showValues {
			if bok {
				st.From = strconv.Quote(bv)
			}
			if hok {
				st.To = strconv.Quote(hv)
			}
		}
		s = append(s, st)
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func quote(s string) string { return strconv.Quote(s) }

func quoteOpt(s string) string {
	if s == "" {
		return ""
	}
	return strconv.Quote(s)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func list(l []string) string {
	if len(l) == 0 {
		return ""
	}
	return "[" + strings.Join(l, ", ") + "]"
}

func traffic(t model.Traffic) string {
	if len(t.Steps) == 0 {
		return t.Strategy
	}
	steps := make([]string, len(t.Steps))
	for i, p := range t.Steps {
		steps[i] = strconv.Itoa(p) + "%"
	}
	return t.Strategy + " " + strings.Join(steps, "/")
}

func region(a *model.AWS) string {
	if a == nil {
		return ""
	}
	return a.Region
}

func assumeRole(a *model.AWS) string {
	if a == nil {
		return ""
	}
	return a.AssumeRole
}

func health(h model.Health) string {
	return fmt.Sprintf("%s every %s (timeout %s)", h.Path, h.Interval, h.Timeout)
}

func smoke(s []model.Smoke) string {
	parts := make([]string, len(s))
	for i, c := range s {
		parts[i] = fmt.Sprintf("%s=%d", c.Path, c.Status)
		if c.Contains != "" {
			parts[i] += " contains " + strconv.Quote(c.Contains)
		}
	}
	return strings.Join(parts, ", ")
}

// duration prints days as the spec writes them ("7d").
func duration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	const day = 24 * time.Hour
	if d%day == 0 {
		return strconv.Itoa(int(d/day)) + "d"
	}
	return d.String()
}

// short abbreviates a build id or key for people.
func short(id string) string {
	if len(id) > 7 {
		return id[:7]
	}
	return id
}
