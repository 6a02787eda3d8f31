// Package history answers "is a revert of this commit instant?": it walks
// first-parent history, compiles the spec only at the commits where its
// tree changed (a batch at a time, one per core), keeps the commits that
// changed one environment's pools, and asks the planner what going back to
// each takes against the live state. It decides nothing itself: the rules
// are the planner's (planner.Decide), so history never promises a swap
// where plan would bake. Its renderings are render.HistoryText and JSON.
//
// Reasons reads the spec back at the commits the serving pools were made
// from, so that the plan's reasons say what moved (config VERSION "1" →
// "2").
package history

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/gitspec"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/specdiff"
)

// Options are the inputs of a history walk.
type Options struct {
	Env     string
	Dir     string
	Rev     string // where the walk starts
	Limit   int    // how many changes to show
	Offline bool
	Now     time.Time // ages are measured against it; zero: the clock
	// Plan are the planner options phoenix plan uses; history sets Envs
	// and Now, so that it judges each commit exactly as plan would.
	Plan planner.Options
	// Compile compiles the spec at rel in a commit (the CLI's, so that
	// diagnostics name files as everywhere else).
	Compile Compiler
}

// Compiler compiles the spec at rel in commit c, read from git objects.
type Compiler func(ctx context.Context, repo *gitspec.Repo, c *gitspec.Commit, rel, dir string) (*model.Desired, error)

// Opener opens the clouds a spec names, only to look.
type Opener func(ctx context.Context, d *model.Desired) (cloud.Set, error)

// History is what phoenix history reports, newest change first.
type History struct {
	Env     string   `json:"env"`
	Dir     string   `json:"dir"`
	Start   string   `json:"start"`
	Changes []Change `json:"changes"`
	// Live is false with --offline: pool states are unknown.
	Live bool `json:"live"`
	// Notes say where the walk stopped early (a shallow clone) and which
	// commits were skipped because their spec does not compile.
	Notes []string `json:"notes,omitempty"`
	// Simulation is true when the live state came from the in-memory
	// simulation (PHOENIX_CLOUD_OVERRIDE=memory): nothing in it is real.
	Simulation bool `json:"simulation,omitempty"`
}

// Change is one commit that changed what runs in the environment.
type Change struct {
	Commit  string    `json:"commit"`
	When    time.Time `json:"when"`
	Author  string    `json:"author"`
	Subject string    `json:"subject"`
	Event   string    `json:"event,omitempty"` // "environment added" / "environment removed"
	Roles   []Role    `json:"roles"`
	// Back says what returning the environment to this commit's spec
	// takes, as the planner decides it: "current" (it serves now), "swap"
	// (an instant rollback: swaps to retained pools only), "release"
	// (swaps to existing pools, but not an instant rollback: a canary
	// walks, or a cold serving pool starts), "rebuild" (bake and create),
	// "held" (release analysis rejected its pool: a plain apply changes
	// nothing for it, apply --retry-rejected tries it again), or "unknown"
	// without the live cloud.
	Back string `json:"back"`
}

// Role is the desired pool of one role at the commit and the live
// pool that has its key, if any.
type Role struct {
	Role    string `json:"role"`
	Key     string `json:"key,omitempty"`
	Changed bool   `json:"changed"` // the commit changed this role's key
	Why     string `json:"why,omitempty"`
	Pool    string `json:"pool,omitempty"` // live pool id with the key
	// State is "serving", "retained (warm)", "retained (cold)", "failed",
	// "creating" or "gone".
	State string `json:"state,omitempty"`
	// MadeAt is the commit recorded on the live pool, when it differs from
	// this one (a revert reuses a pool made by an older commit).
	MadeAt string `json:"made_at,omitempty"`
	// Plan is the planner's reason when going back does not simply reuse
	// Pool: why a live pool with the key is not reused (a create), or why
	// its swap is a release and not an instant rollback.
	Plan string `json:"plan,omitempty"`
}

// Compute lists the changes of o.Env, newest first.
func Compute(ctx context.Context, o Options, open Opener) (*History, error) {
	repo, err := gitspec.Open(o.Dir)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	start, err := repo.Resolve(o.Rev)
	if err != nil {
		return nil, err
	}
	rel, err := repo.SpecDir(o.Dir, start)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	if o.Limit <= 0 {
		o.Limit = 20
	}
	h := &History{Env: o.Env, Dir: rel, Start: start.Hash.String(), Changes: []Change{}}
	// The commits where the spec's tree changed, newest first: cheap, no
	// compiles. Then compile from the newest down until enough changes of
	// this environment are found.
	var changes []gitspec.SpecCommit
	walkErr := repo.Changes(ctx, start, rel, func(c gitspec.SpecCommit) error {
		changes = append(changes, c)
		return nil
	})
	if walkErr != nil && !errors.Is(walkErr, gitspec.ErrShallow) {
		return nil, walkErr
	}
	sc := newSpecCompiler(repo, o.Compile, rel, o.Dir, o.Env, changes)
	var newest *model.Desired
	var specs []*model.Desired // the spec of each change, for the planner
	broken := 0
	for i := 0; i < len(changes) && len(h.Changes) < o.Limit; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		cur := sc.get(ctx, i)
		if cur.err != nil {
			broken++
			sc.release(i)
			continue
		}
		if newest == nil && cur.d != nil {
			newest = cur.d
		}
		prev, complete := olderSpec(ctx, sc, i+1, walkErr == nil)
		if !complete {
			break // the oldest visible change has nothing to compare with
		}
		if hc, ok := envChange(o.Env, changes[i].Commit, prev, cur.d); ok {
			h.Changes = append(h.Changes, hc)
			specs = append(specs, cur.d)
		}
		sc.release(i)
	}
	if walkErr != nil {
		h.Notes = append(h.Notes, walkErr.Error())
	}
	if broken > 0 {
		h.Notes = append(h.Notes, fmt.Sprintf("%s whose spec does not compile skipped", commitsOf(broken)))
	}
	if newest == nil && len(h.Changes) == 0 {
		if err := unknownEnv(ctx, o.Compile, repo, start, rel, o.Dir, o.Env); err != nil {
			return nil, err
		}
	}
	if o.Offline || newest == nil {
		for i := range h.Changes {
			h.Changes[i].Back = "unknown"
		}
		return h, nil
	}
	clouds, err := open(ctx, newest)
	if err != nil {
		return nil, err
	}
	live, err := clouds.Observe(ctx, newest.Project)
	if err != nil {
		return nil, err
	}
	h.Live = true
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	markLive(h, specs, live, o.Plan, now)
	return h, nil
}

// unknownEnv says so when env is not in the spec at start: a typo'd --env
// is an error, not an empty history. An environment that left the spec
// has a history (its removal), so this is asked only when none was found.
func unknownEnv(ctx context.Context, compileAt Compiler, repo *gitspec.Repo, start *gitspec.Commit, rel, dir, env string) error {
	d, err := compileAt(ctx, repo, start, rel, dir)
	if err != nil || d.Environments[env] != nil {
		return nil // the notes say why nothing compiled
	}
	return fmt.Errorf("environment %q is not in the spec at %s and no commit in reach changed it; defined environments: %s",
		env, start.Short(), strings.Join(d.EnvNames(), ", "))
}

// olderSpec returns the nearest older spec that compiles, from changes[i]
// on (its state is the state before the change being judged; nil when the
// spec or environment did not exist). complete is false when the walk
// stopped early (a shallow clone) before one was found.
func olderSpec(ctx context.Context, sc *specCompiler, i int, walkedToRoot bool) (*model.Desired, bool) {
	for ; i < len(sc.changes); i++ {
		if s := sc.get(ctx, i); s.err == nil {
			return s.d, true
		}
	}
	return nil, walkedToRoot
}

// envChange compares env's pools between two specs (prev may be nil: the
// spec or the environment did not exist).
func envChange(env string, c *gitspec.Commit, prev, cur *model.Desired) (Change, bool) {
	before, after := envPools(prev, env), envPools(cur, env)
	hc := Change{Commit: c.Hash.String(), When: c.When, Author: c.Author, Subject: c.Subject}
	switch {
	case before == nil && after == nil:
		return hc, false
	case before == nil:
		hc.Event = "environment added"
	case after == nil:
		hc.Event = "environment removed"
		return hc, true
	}
	changed := false
	diff := specdiff.Compare(prev, cur)
	for _, role := range sortedRoles(after) {
		p := after[role]
		r := Role{Role: role, Key: p.Key}
		if b, ok := before[role]; !ok || b.Key != p.Key {
			r.Changed = true
			changed = true
			if pc := diff.Pool(env, role); pc != nil {
				r.Why = pc.Why()
			}
		}
		hc.Roles = append(hc.Roles, r)
	}
	for role := range before {
		if _, ok := after[role]; !ok {
			changed = true
			hc.Roles = append(hc.Roles, Role{Role: role, Changed: true, Why: "role left this environment"})
		}
	}
	return hc, changed
}

func envPools(d *model.Desired, env string) map[string]*model.Pool {
	if d == nil || d.Environments[env] == nil {
		return nil
	}
	out := map[string]*model.Pool{}
	for _, p := range d.Pools {
		if p.Env == env {
			out[p.Role] = p
		}
	}
	return out
}

func sortedRoles(m map[string]*model.Pool) []string {
	out := make([]string, 0, len(m))
	for r := range m {
		out = append(out, r)
	}
	sort.Strings(out)
	return out
}

// commitsOf counts commits for a note: "1 commit", "2 commits".
func commitsOf(n int) string {
	if n == 1 {
		return "1 commit"
	}
	return fmt.Sprintf("%d commits", n)
}
