package gitspec

import (
	"container/heap"
	"context"
	"errors"
	"fmt"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// MergeBase returns the best common ancestor of a and b, as
// `git merge-base a b` does: the base a pull request is shown against.
//
// It paints down from both commits newest first (git's own algorithm), so
// it visits only the commits above the merge base, not the whole history;
// for a pull request that is a handful of commits however long the history.
// In a shallow clone it stops at the cut as git does; when that leaves no
// common ancestor the error wraps ErrShallow and says how to deepen.
func (r *Repo) MergeBase(ctx context.Context, a, b *Commit) (*Commit, error) {
	if a.Hash == b.Hash {
		return a, nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	const (
		p1 = 1 << iota
		p2
		stale
		result
	)
	flags := map[plumbing.Hash]uint8{}
	q := &commitQueue{}
	push := func(c *object.Commit, f uint8) {
		flags[c.Hash] |= f
		heap.Push(q, c)
	}
	ca, err := object.GetCommit(r.repo.Storer, a.Hash)
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", a.Short(), err)
	}
	cb, err := object.GetCommit(r.repo.Storer, b.Hash)
	if err != nil {
		return nil, fmt.Errorf("reading commit %s: %w", b.Short(), err)
	}
	push(ca, p1)
	push(cb, p2)
	var results []*object.Commit
	cut := plumbing.ZeroHash // the first shallow boundary the walk could not cross
	for q.Len() > 0 && !allStale(q, flags, stale) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c := heap.Pop(q).(*object.Commit)
		f := flags[c.Hash] & (p1 | p2 | stale)
		if f&(p1|p2) == p1|p2 {
			if flags[c.Hash]&result == 0 {
				flags[c.Hash] |= result
				results = append(results, c)
			}
			f |= stale
		}
		if len(c.ParentHashes) > 0 && r.shallow[c.Hash] {
			// A shallow boundary is a root here, as it is to git: a
			// clone cut at main's old tip still finds that tip as the
			// base of a branch on top of it. Only when no base turns up
			// is the cut to blame.
			if f&stale == 0 && cut == plumbing.ZeroHash {
				cut = c.Hash
			}
			continue
		}
		for _, ph := range c.ParentHashes {
			if flags[ph]&f == f {
				continue
			}
			p, err := object.GetCommit(r.repo.Storer, ph)
			if err != nil {
				if errors.Is(err, plumbing.ErrObjectNotFound) && r.Shallow() {
					return nil, r.shallowError(c.Hash)
				}
				return nil, fmt.Errorf("reading commit %s: %w", ph, err)
			}
			push(p, f)
		}
	}
	// A result that became stale is an ancestor of another result, so not
	// a best common ancestor. Of several best ones the newest wins (what
	// `git merge-base` prints without --all).
	var best *object.Commit
	for _, c := range results {
		if flags[c.Hash]&stale != 0 {
			continue
		}
		if best == nil || c.Committer.When.After(best.Committer.When) {
			best = c
		}
	}
	if best == nil && len(results) > 0 {
		best = results[0] // clock skew made every result look stale
	}
	if best == nil && cut != plumbing.ZeroHash {
		return nil, r.shallowError(cut)
	}
	if best == nil {
		return nil, fmt.Errorf("commits %s and %s have no common ancestor", a.Short(), b.Short())
	}
	return toCommit(best), nil
}

func allStale(q *commitQueue, flags map[plumbing.Hash]uint8, stale uint8) bool {
	for _, c := range *q {
		if flags[c.Hash]&stale == 0 {
			return false
		}
	}
	return true
}

// commitQueue is a max-heap of commits by committer time.
type commitQueue []*object.Commit

func (q commitQueue) Len() int { return len(q) }
func (q commitQueue) Less(i, j int) bool {
	return q[i].Committer.When.After(q[j].Committer.When)
}
func (q commitQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *commitQueue) Push(x any)   { *q = append(*q, x.(*object.Commit)) }
func (q *commitQueue) Pop() any {
	old := *q
	c := old[len(old)-1]
	*q = old[:len(old)-1]
	return c
}

// SpecCommit is one commit of a first-parent walk with the hash of the
// spec directory's tree in it (zero when the directory does not exist).
type SpecCommit struct {
	*Commit
	Spec plumbing.Hash
	// ParentSpec is the spec's tree hash in the first parent (zero when the
	// commit introduced the directory or has no parent).
	ParentSpec plumbing.Hash
}

// Changes walks first-parent history from start, newest first, and calls
// fn for every commit whose spec directory dir differs from its first
// parent's (the commit that introduced the directory included). It
// compares subtree hashes only, never file contents or diffs, so a long
// history where the spec rarely changes is cheap. fn may return ErrStop.
//
// In a shallow clone the walk ends with an error wrapping ErrShallow at the
// boundary, after reporting every change it could see.
func (r *Repo) Changes(ctx context.Context, start *Commit, dir string, fn func(c SpecCommit) error) error {
	cur := start
	curSpec, err := r.specHash(cur, dir)
	if err != nil {
		return err
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		parents, err := r.parentsOf(cur)
		if err != nil {
			return err
		}
		var parent *Commit
		parentSpec := plumbing.ZeroHash
		if len(parents) > 0 {
			if parent, err = r.Commit(parents[0]); err != nil {
				if errors.Is(err, plumbing.ErrObjectNotFound) && r.Shallow() {
					return r.shallowError(cur.Hash)
				}
				return err
			}
			if parentSpec, err = r.specHash(parent, dir); err != nil {
				return err
			}
		}
		if curSpec != parentSpec {
			if err := fn(SpecCommit{Commit: cur, Spec: curSpec, ParentSpec: parentSpec}); err != nil {
				if errors.Is(err, ErrStop) {
					return nil
				}
				return err
			}
		}
		if parent == nil {
			return nil
		}
		cur, curSpec = parent, parentSpec
	}
}

// ErrStop ends a walk early without an error.
var ErrStop = errors.New("stop")

func (r *Repo) specHash(c *Commit, dir string) (plumbing.Hash, error) {
	h, ok, err := r.SubtreeHash(c, dir)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if !ok {
		return plumbing.ZeroHash, nil
	}
	return h, nil
}
