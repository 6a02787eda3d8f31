package history

import (
	"context"
	"runtime"
	"sync"

	"github.com/phoenix-gitops/phoenix/gitspec"
	"github.com/phoenix-gitops/phoenix/model"
)

// envSpec is the part of a compiled spec that history keeps: the desired
// state reduced to one environment (its pools, and the images for the
// reasons), nil when the spec or the environment does not exist there.
type envSpec struct {
	d   *model.Desired
	err error // the spec does not compile at that commit
}

// specCompiler compiles the spec at the commits where it changed, on
// demand and a batch at a time (one per core), keeping only what the walk
// has not passed yet, so memory stays flat over thousands of commits.
type specCompiler struct {
	repo     *gitspec.Repo
	compile  Compiler
	rel, dir string
	env      string
	changes  []gitspec.SpecCommit
	results  []envSpec
	done     []bool
	batch    int
}

func newSpecCompiler(repo *gitspec.Repo, compile Compiler, rel, dir, env string, changes []gitspec.SpecCommit) *specCompiler {
	return &specCompiler{repo: repo, compile: compile, rel: rel, dir: dir, env: env, changes: changes,
		results: make([]envSpec, len(changes)), done: make([]bool, len(changes)), batch: runtime.GOMAXPROCS(0)}
}

// get returns the spec at changes[i], compiling it and the next few at
// once if needed.
func (sc *specCompiler) get(ctx context.Context, i int) envSpec {
	if !sc.done[i] {
		var wg sync.WaitGroup
		for j := i; j < min(len(sc.changes), i+sc.batch); j++ {
			if sc.done[j] {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				sc.results[j] = sc.compileOne(ctx, sc.changes[j])
			}()
		}
		wg.Wait()
		for j := i; j < min(len(sc.changes), i+sc.batch); j++ {
			sc.done[j] = true
		}
	}
	return sc.results[i]
}

// release forgets the spec at changes[i]; the walk has passed it.
func (sc *specCompiler) release(i int) { sc.results[i] = envSpec{} }

func (sc *specCompiler) compileOne(ctx context.Context, c gitspec.SpecCommit) envSpec {
	if c.Spec.IsZero() {
		return envSpec{}
	}
	d, err := sc.compile(ctx, sc.repo, c.Commit, sc.rel, sc.dir)
	if err != nil {
		return envSpec{err: err}
	}
	return envSpec{d: reduceToEnv(d, sc.env)}
}

// reduceToEnv keeps the pools of one environment of d, or returns nil if d
// lacks it. The environments stay (they are small), so that the planner
// can plan the reduced spec with env in scope.
func reduceToEnv(d *model.Desired, env string) *model.Desired {
	if d.Environments[env] == nil {
		return nil
	}
	out := &model.Desired{Project: d.Project, Images: d.Images, Environments: d.Environments, Commit: d.Commit}
	for _, p := range d.Pools {
		if p.Env == env {
			out.Pools = append(out.Pools, p)
		}
	}
	return out
}
