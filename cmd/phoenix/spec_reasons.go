package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/gitspec"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/render"
	"github.com/phoenix-gitops/phoenix/specdiff"
)

// specReason says what moved in the spec for one (environment, role)
// (`config VERSION "1" → "2"`), or "" when it does not know.
type specReason func(env, role string) string

// withSpecReasons returns a copy of the plan whose steps say what moved in
// the spec diff d; see withReasons.
func withSpecReasons(doc *render.Doc, d *specdiff.Diff) *render.Doc {
	return withReasons(doc, d.Reason)
}

// withReasons returns a copy of the plan whose create steps say which spec
// settings moved rather than only that no live pool matches: the reason a
// person reviews is the change, in a diff as in a plan. The swap that puts
// such a pool in service then needs no reason of its own; a rollback swap
// says what it undoes. A nil why leaves the plan as it is.
func withReasons(doc *render.Doc, why specReason) *render.Doc {
	if why == nil {
		return doc
	}
	out := *doc
	out.Steps = append([]render.Step(nil), doc.Steps...)
	explained := map[[2]string]bool{}
	for i, s := range out.Steps {
		if s.Kind != string(planner.Create) {
			continue
		}
		if r := why(s.Env, s.Role); r != "" {
			out.Steps[i].Reason = r
			explained[[2]string{s.Env, s.Role}] = true
		}
	}
	for i, s := range out.Steps {
		if s.Kind != string(planner.Swap) {
			continue
		}
		if s.Rollback {
			if r := why(s.Env, s.Role); r != "" {
				out.Steps[i].Reason = s.Reason + "; " + r
			}
		} else if explained[[2]string{s.Env, s.Role}] {
			out.Steps[i].Reason = canaryReason(s.Weights)
		}
	}
	return &out
}

// canaryReason names a canary's traffic steps ("canary 25% → 50% →
// 100%"); a blue-green swap needs no words.
func canaryReason(weights []int) string {
	if len(weights) == 0 {
		return ""
	}
	parts := make([]string, len(weights))
	for i, w := range weights {
		parts[i] = fmt.Sprintf("%d%%", w)
	}
	return "canary " + strings.Join(parts, " → ")
}

// planDoc is the plan as plan and apply show it: its creates and rollbacks
// explained by what moved in the spec since the commit each endpoint's
// serving pool was made from (see historyReasons).
func planDoc(ctx context.Context, dir string, d *model.Desired, live *cloud.Live, p *planner.Plan, info render.Info) *render.Doc {
	return withReasons(render.FromPlan(p, info), historyReasons(ctx, dir, d, live, p))
}

// maxHistoryCommits bounds how many older specs one plan compiles: a
// plan's endpoints usually serve pools of one or two commits, and each
// compile costs about as much as loading the spec.
const maxHistoryCommits = 3

// historyReasons compares the spec with the spec at the commit that the
// serving pool of each (environment, role) with a create or a rollback in
// p was made from, read from the repository that holds dir. Every live
// pool records its commit (marked -dirty when made from uncommitted
// changes; the mark is dropped and the commit read as it is). Reading
// history is a nicety: with no repository, a shallow one, a commit it does
// not have, a spec that does not compile there, or more than
// maxHistoryCommits commits, the affected steps keep the planner's reasons
// and the plan never fails. It returns nil when it knows nothing.
func historyReasons(ctx context.Context, dir string, d *model.Desired, live *cloud.Live, p *planner.Plan) specReason {
	from := servingCommits(d, live, p)
	if len(from) == 0 {
		return nil
	}
	repo, rel, err := openSpecRepo(dir)
	if err != nil {
		return nil
	}
	defer repo.Close()
	if repo.Shallow() {
		return nil
	}
	rel = specRel(repo, dir, rel, d.Commit)
	diffs := map[string]*specdiff.Diff{}
	for _, commit := range orderedCommits(from) {
		if len(diffs) == maxHistoryCommits {
			break
		}
		diffs[commit] = specAt(ctx, repo, commit, rel, dir, d)
	}
	return func(env, role string) string {
		if df := diffs[from[[2]string{env, role}]]; df != nil {
			return df.Reason(env, role)
		}
		return ""
	}
}

// specRel is where the spec lives in the repository: DIR is read as the
// spec was (gitspec.Repo.SpecDir), from the current directory or else from
// the root, at the commit the spec came from; rel (from the current
// directory) when that commit is unknown.
func specRel(repo *gitspec.Repo, dir, rel, commit string) string {
	c, err := repo.Resolve(strings.TrimSuffix(commit, dirtySuffix))
	if commit == "" || err != nil {
		return rel
	}
	if at, err := repo.SpecDir(dir, c); err == nil {
		return at
	}
	return rel
}

// servingCommits returns, for each (environment, role) with a create or a
// rollback swap in p, the commit its serving pool (the heaviest backend)
// was made from, when that differs from the spec's.
func servingCommits(d *model.Desired, live *cloud.Live, p *planner.Plan) map[[2]string]string {
	want := map[[3]string]bool{}
	for _, s := range p.Steps {
		if s.Kind == planner.Create || (s.Kind == planner.Swap && s.Rollback) {
			want[[3]string{s.Cloud, s.Env, s.Role}] = true
		}
	}
	if len(want) == 0 {
		return nil
	}
	pools := make(map[[2]string]*cloud.Pool, len(live.Pools))
	for i := range live.Pools {
		pools[[2]string{live.Pools[i].Cloud, live.Pools[i].ID}] = &live.Pools[i]
	}
	out := map[[2]string]string{}
	for _, e := range live.Endpoints {
		if !want[[3]string{e.Cloud, e.Env, e.Role}] || len(e.Backends) == 0 {
			continue
		}
		top := e.Backends[0]
		for _, b := range e.Backends[1:] {
			if b.Weight > top.Weight {
				top = b
			}
		}
		pl := pools[[2]string{e.Cloud, top.Pool}]
		if pl == nil {
			continue
		}
		if c := strings.TrimSuffix(pl.Commit, dirtySuffix); isCommitHash(c) && c != d.Commit {
			out[[2]string{e.Env, e.Role}] = c
		}
	}
	return out
}

// orderedCommits lists the distinct commits of from, the ones the most
// endpoints serve first (ties by hash), so that the bound on compiles
// explains as many steps as it can, the same way every run.
func orderedCommits(from map[[2]string]string) []string {
	n := map[string]int{}
	for _, c := range from {
		n[c]++
	}
	out := make([]string, 0, len(n))
	for c := range n {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Or(cmp.Compare(n[b], n[a]), strings.Compare(a, b)) })
	return out
}

// specAt compares d with the spec at commit, or returns nil when that
// cannot be read (an unknown commit, no spec there, a compile error).
func specAt(ctx context.Context, repo *gitspec.Repo, commit, rel, dir string, d *model.Desired) *specdiff.Diff {
	c, err := repo.Resolve(commit)
	if err != nil {
		return nil
	}
	base, err := compileIfPresent(ctx, repo, c, rel, dir)
	if err != nil || base == nil {
		return nil
	}
	return specdiff.Compare(base, d)
}

// isCommitHash reports whether s looks like a git object name (hex, 7 to
// 64 characters): only those are looked up, never a ref name a tag might
// hold.
func isCommitHash(s string) bool {
	if len(s) < 7 || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	return true
}
