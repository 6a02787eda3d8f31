// Package planfile saves a plan with fingerprints of the spec and of the
// live state it was made from, and checks them before the plan is applied:
// applying a plan made against a world that has since changed could swap
// traffic to the wrong pool or prune the one that now serves. Check refuses
// and names what changed.
package planfile

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

// Version is the saved-plan format version; Read refuses others. Version
// 2 fingerprints facts instead of times (a pool's health class, whether it
// is released, its place in the served order); a version 1 file compared
// last-served times, which made a plan stale as time passed.
const Version = 2

// Kind marks the file as a Phoenix saved plan.
const Kind = "phoenix-plan"

// File is a saved plan.
type File struct {
	Kind    string    `json:"kind"`
	Version int       `json:"version"`
	Created time.Time `json:"created"`
	Project string    `json:"project"`
	// Commit is the spec's git commit, if known.
	Commit string `json:"commit,omitempty"`
	// Envs are the environments the plan was made for (empty: all).
	Envs []string `json:"envs,omitempty"`
	// Destroy records that the plan was made with --destroy.
	Destroy bool        `json:"destroy,omitempty"`
	Spec    Fingerprint `json:"spec"`
	Live    Fingerprint `json:"live"`
	// PlanHash is the hash of Plan's JSON, to catch a hand-edited file.
	PlanHash string        `json:"plan_hash"`
	Plan     *planner.Plan `json:"plan"`

	specView SpecView
	liveView LiveView
}

// Fingerprint is the hash of a canonical view, with the view itself kept so
// that a refusal can name what changed.
type Fingerprint struct {
	Hash string          `json:"hash"`
	View json.RawMessage `json:"view"`
}

// Options record how the plan was made.
type Options struct {
	Envs    []string
	Destroy bool
	Created time.Time // default: the plan's Now
}

// New fingerprints the spec and live state a plan was made from.
func New(p *planner.Plan, d *model.Desired, live *cloud.Live, o Options) (*File, error) {
	if p == nil || d == nil {
		return nil, errors.New("saving a plan: no plan or spec")
	}
	created := o.Created
	if created.IsZero() {
		created = p.Now
	}
	envs := scope(p)
	sv := NewSpecView(d, envs)
	lv := NewLiveView(live, envs, wantedBuilds(sv, p))
	f := &File{
		Kind: Kind, Version: Version, Created: created.UTC(), Project: d.Project, Commit: d.Commit,
		Envs: o.Envs, Destroy: o.Destroy, Plan: p, specView: sv, liveView: lv,
	}
	var err error
	if f.Spec, err = fingerprint(sv); err != nil {
		return nil, err
	}
	if f.Live, err = fingerprint(lv); err != nil {
		return nil, err
	}
	if f.PlanHash, err = planHash(p); err != nil {
		return nil, err
	}
	return f, nil
}

func fingerprint(v any) (Fingerprint, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return Fingerprint{}, fmt.Errorf("fingerprinting: %w", err)
	}
	return Fingerprint{Hash: hashOf(v), View: b}, nil
}

func planHash(p *planner.Plan) (string, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return "", fmt.Errorf("hashing the plan: %w", err)
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// Write saves f at path atomically (a temporary file renamed into place),
// so a crash never leaves half a plan.
func Write(path string, f *File) error {
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("writing plan %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".phoenix-plan-*")
	if errors.Is(err, os.ErrNotExist) {
		// Not the temporary file's name: the folder is what the user can fix.
		return fmt.Errorf("writing plan %s: folder %s does not exist", path, filepath.Dir(path))
	}
	if err != nil {
		return fmt.Errorf("writing plan %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("writing plan %s: %w", path, err)
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return fmt.Errorf("writing plan %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("writing plan %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing plan %s: %w", path, err)
	}
	return nil
}

// Read loads a saved plan, refusing a file that is not one, of another
// format version, or edited by hand.
func Read(path string) (*File, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading plan %s: no such file (write one with phoenix plan --out FILE)", path)
	}
	if err != nil {
		return nil, fmt.Errorf("reading plan %s: %w", path, err)
	}
	return Parse(path, b)
}

// Parse is Read from bytes; name is used in errors.
func Parse(name string, b []byte) (*File, error) {
	var head struct {
		Kind    string `json:"kind"`
		Version int    `json:"version"`
	}
	if err := json.Unmarshal(b, &head); err != nil || head.Kind != Kind {
		return nil, fmt.Errorf("reading plan %s: not a saved Phoenix plan (write one with phoenix plan --out FILE)", name)
	}
	if err := checkVersion(head.Version); err != nil {
		return nil, fmt.Errorf("reading plan %s: %w", name, err)
	}
	var f File
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("reading plan %s: %w", name, err)
	}
	if f.Plan == nil {
		return nil, fmt.Errorf("reading plan %s: it holds no plan", name)
	}
	if h, err := planHash(f.Plan); err != nil || h != f.PlanHash {
		return nil, fmt.Errorf("reading plan %s: the plan does not match its checksum (edited by hand?); run phoenix plan again", name)
	}
	if err := json.Unmarshal(f.Spec.View, &f.specView); err != nil {
		return nil, fmt.Errorf("reading plan %s: spec fingerprint: %w", name, err)
	}
	if err := json.Unmarshal(f.Live.View, &f.liveView); err != nil {
		return nil, fmt.Errorf("reading plan %s: live fingerprint: %w", name, err)
	}
	return &f, nil
}

// checkVersion refuses a file of another format version, saying which
// side is older: an older file is remade with phoenix plan, a newer one
// needs a newer phoenix.
func checkVersion(v int) error {
	switch {
	case v == Version:
		return nil
	case v < Version:
		return fmt.Errorf("format version %d was written by an older phoenix, this one reads version %d; run phoenix plan again", v, Version)
	default:
		return fmt.Errorf("format version %d was written by a newer phoenix, this one reads version %d; upgrade phoenix or run phoenix plan again", v, Version)
	}
}

// ErrStale is wrapped by Check's errors.
var ErrStale = errors.New("saved plan is stale")

// StaleError says what changed since a plan was saved.
type StaleError struct {
	// What is "spec" or "live state".
	What    string
	Changes []string
}

func (e *StaleError) Error() string {
	const show = 5
	ch := e.Changes
	more := ""
	if len(ch) > show {
		more = fmt.Sprintf(" (and %d more)", len(ch)-show)
		ch = ch[:show]
	}
	return fmt.Sprintf("the %s changed since the plan was made: %s%s; run phoenix plan again", e.What, strings.Join(ch, "; "), more)
}

func (e *StaleError) Unwrap() error { return ErrStale }

// Check refuses a saved plan whose spec or live state differs from desired
// and live now. The spec is checked first: a changed spec explains a
// changed plan better than its effects on the live state do.
func Check(f *File, desired *model.Desired, live *cloud.Live) error {
	if f == nil || f.Plan == nil {
		return errors.New("checking plan: no saved plan")
	}
	if desired == nil {
		return errors.New("checking plan: no spec")
	}
	if desired.Project != f.Project {
		return fmt.Errorf("checking plan: it was made for project %s, the spec is project %s", f.Project, desired.Project)
	}
	envs := scope(f.Plan)
	sv := NewSpecView(desired, envs)
	if hashOf(sv) != f.Spec.Hash {
		return &StaleError{What: "spec", Changes: diffSpec(f.specView, sv)}
	}
	lv := NewLiveView(live, envs, wantedBuilds(sv, f.Plan))
	if hashOf(lv) != f.Live.Hash {
		return &StaleError{What: "live state", Changes: diffLive(f.liveView, lv)}
	}
	return nil
}
