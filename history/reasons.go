package history

import (
	"cmp"
	"context"
	"slices"
	"strings"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/gitspec"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/specdiff"
)

// maxHistoryCommits bounds how many older specs one plan compiles: a
// plan's endpoints usually serve pools of one or two commits, and each
// compile costs about as much as loading the spec.
const maxHistoryCommits = 3

// Reasons compares the spec with the spec at the commit that the
// serving pool of each (environment, role) in envs (all when empty) was
// made from, where that pool's key is not the desired one (so the plan
// will create or swap there), read from the repository that holds dir.
// Every live pool records its commit (marked -dirty when made from
// uncommitted changes; the mark is dropped and the commit read as it is).
// Reading history is a nicety: with no repository, a shallow one, a
// commit it does not have, a spec that does not compile there, or more
// than maxHistoryCommits commits, the affected steps keep the planner's
// reasons and the plan never fails. It returns nil when it knows nothing.
// It reads everything before it returns: the planner calls it, and does
// no I/O.
// It returns the planner's Options.Explain, which says what moved in the
// spec for an (environment, role) (`config VERSION "1" → "2"`), and its
// Options.ExplainImage, which says which inputs of an image changed since
// its live build ("step 1 changed"), from the same older specs.
func Reasons(ctx context.Context, compile Compiler, dir string, d *model.Desired, live *cloud.Live, envs []string) (func(env, role string) string, func(name, liveBuildID string) string) {
	from := servingCommits(d, live, envs)
	if len(from) == 0 {
		return nil, nil
	}
	repo, err := gitspec.Open(dir)
	if err != nil {
		return nil, nil
	}
	defer repo.Close()
	rel, err := repo.RelPath(dir)
	if err != nil {
		return nil, nil
	}
	if repo.Shallow() {
		return nil, nil
	}
	rel = specRel(repo, dir, rel, d.Commit)
	diffs := map[string]*specdiff.Diff{}
	for _, commit := range orderedCommits(from) {
		if len(diffs) == maxHistoryCommits {
			break
		}
		diffs[commit] = specAt(ctx, compile, repo, commit, rel, dir, d)
	}
	pools := func(env, role string) string {
		if df := diffs[from[[2]string{env, role}]]; df != nil {
			return df.Reason(env, role)
		}
		return ""
	}
	return pools, func(name, liveBuildID string) string {
		for _, c := range orderedCommits(from) {
			if df := diffs[c]; df != nil {
				if r := df.ImageReason(name, liveBuildID); r != "" {
					return r
				}
			}
		}
		return ""
	}
}

// specRel is where the spec lives in the repository: DIR is read as the
// spec was (gitspec.Repo.SpecDir), from the current directory or else from
// the root, at the commit the spec came from; rel (from the current
// directory) when that commit is unknown.
func specRel(repo *gitspec.Repo, dir, rel, commit string) string {
	c, err := repo.Resolve(strings.TrimSuffix(commit, model.DirtySuffix))
	if commit == "" || err != nil {
		return rel
	}
	if at, err := repo.SpecDir(dir, c); err == nil {
		return at
	}
	return rel
}

// servingCommits returns, for each desired (environment, role) in envs
// (all when empty) whose serving pool (the heaviest backend) has another
// key than the desired pool, the commit that pool was made from, when
// that differs from the spec's. Those are the endpoints whose plan
// creates or swaps because the spec moved; the others need no history.
func servingCommits(d *model.Desired, live *cloud.Live, envs []string) map[[2]string]string {
	want := map[[2]string]string{} // (env, role) -> desired key
	for _, p := range d.Pools {
		if len(envs) == 0 || slices.Contains(envs, p.Env) {
			want[[2]string{p.Env, p.Role}] = p.Key
		}
	}
	pools := make(map[[2]string]*cloud.Pool, len(live.Pools))
	for i := range live.Pools {
		pools[[2]string{live.Pools[i].Cloud, live.Pools[i].ID}] = &live.Pools[i]
	}
	out := map[[2]string]string{}
	for _, e := range live.Endpoints {
		key, ok := want[[2]string{e.Env, e.Role}]
		if !ok || len(e.Backends) == 0 {
			continue
		}
		top := e.Backends[0]
		for _, b := range e.Backends[1:] {
			if b.Weight > top.Weight {
				top = b
			}
		}
		pl := pools[[2]string{e.Cloud, top.Pool}]
		if pl == nil || pl.Key == key {
			continue
		}
		if c := strings.TrimSuffix(pl.Commit, model.DirtySuffix); isCommitHash(c) && c != d.Commit {
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
func specAt(ctx context.Context, compile Compiler, repo *gitspec.Repo, commit, rel, dir string, d *model.Desired) *specdiff.Diff {
	c, err := repo.Resolve(commit)
	if err != nil {
		return nil
	}
	base, err := compile.IfPresent(ctx, repo, c, rel, dir)
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

// IfPresent compiles the spec at c, or returns nil when the spec directory
// does not exist there (a pull request that adds the spec).
func (compile Compiler) IfPresent(ctx context.Context, repo *gitspec.Repo, c *gitspec.Commit, rel, dir string) (*model.Desired, error) {
	if _, ok, err := repo.SubtreeHash(c, rel); err != nil || !ok {
		return nil, err
	}
	return compile(ctx, repo, c, rel, dir)
}
