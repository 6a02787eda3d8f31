package executor

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/memory"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/planner/plantest"
)

// knobs is the part of a spec a sequence edits: one edit turns one knob.
type knobs struct {
	version  map[string]int  // env -> config VERSION
	count    int             // servers per pool
	step     int             // the app image's step (a bake)
	moved    map[string]bool // env -> its endpoint is at the other address
	canary   map[string]bool // env -> canary traffic, else blue-green
	keep     map[string]int  // env -> retention keep
	bigFleet bool            // a second role in prod
}

var seqEnvs = []string{"staging", "prod"}

// desired builds the spec of k: base -> app, role web (and api), staging
// then prod.
func (k knobs) desired() *model.Desired {
	s := plantest.NewSpec("seq").Image("base", "", "os").Image("app", "base", fmt.Sprintf("app v%d", k.step))
	for i, env := range seqEnvs {
		opts := []plantest.EnvOption{plantest.Keep(k.keep[env], min(k.keep[env], 1))}
		if k.canary[env] {
			opts = append(opts, plantest.Canary(25, 50, 100))
		}
		if i > 0 {
			opts = append(opts, plantest.After(seqEnvs[:i]...))
		}
		s.Env(env, opts...)
		s.Role(env, "web", "app", k.count, fmt.Sprintf("VERSION=%d", k.version[env]))
		if env == "prod" && k.bigFleet {
			s.Role(env, "api", "base", 1, fmt.Sprintf("VERSION=%d", k.version[env]))
		}
	}
	d := s.Desired()
	for _, p := range d.Pools {
		if k.moved[p.Env] {
			p.Endpoint = "moved-" + p.Endpoint
		}
	}
	return d
}

// edit turns one random knob.
func (k knobs) edit(t *rapid.T) (knobs, string) {
	n := knobs{version: maps.Clone(k.version), count: k.count, step: k.step, moved: maps.Clone(k.moved),
		canary: maps.Clone(k.canary), keep: maps.Clone(k.keep), bigFleet: k.bigFleet}
	env := rapid.SampledFrom(seqEnvs).Draw(t, "env")
	switch what := rapid.SampledFrom([]string{"config", "revert", "count", "image", "move", "strategy", "retention", "role"}).Draw(t, "edit"); what {
	case "config":
		n.version[env]++
	case "revert":
		n.version[env] = max(n.version[env]-1, 1)
	case "count":
		n.count = 1 + n.count%2
	case "image":
		n.step = 1 + n.step%2
	case "move":
		n.moved[env] = !n.moved[env]
	case "strategy":
		n.canary[env] = !n.canary[env]
	case "retention":
		n.keep[env] = rapid.IntRange(0, 3).Draw(t, "keep")
	case "role":
		n.bigFleet = !n.bigFleet
	}
	return n, env
}

// recorder remembers every mutating call the memory cloud served.
type recorder struct {
	mu  sync.Mutex
	ops map[memory.Op][]string
}

func (r *recorder) hook(_ context.Context, op memory.Op, target string) error {
	switch op {
	case memory.OpObserve, memory.OpLock, memory.OpUnlock:
		return nil
	}
	r.mu.Lock()
	r.ops[op] = append(r.ops[op], target)
	r.mu.Unlock()
	return nil
}

func (r *recorder) take() map[memory.Op][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.ops
	r.ops = map[memory.Op][]string{}
	return out
}

// interrupter cancels the apply once n steps have finished (never if n is
// 0), or as a canary starts (atCanary), as a Ctrl-C does, and lists the
// steps that started.
type interrupter struct {
	NopHooks
	mu       sync.Mutex
	n        int
	atCanary bool
	finished int
	cancel   context.CancelFunc
	started  map[string]bool
}

func (h *interrupter) StepStarted(s *planner.Step) {
	h.mu.Lock()
	h.started[s.ID] = true
	h.mu.Unlock()
	if h.atCanary && s.Kind == planner.Swap && len(s.Weights) > 0 {
		h.cancel()
	}
}

func (h *interrupter) StepFinished(s *planner.Step, _ time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.finished++
	if h.n > 0 && h.finished == h.n {
		h.cancel()
	}
}

// TestApplySequences drives the real executor on the in-memory cloud
// through random sequences of spec edits (config, reverts, count, image
// steps, endpoint moves, strategy switches, retention, a role added or
// removed), each applied with a random Ctrl-C at a step boundary, then
// applied again. It checks that the cloud calls equal, one to one, the
// steps of the plan that was shown (a subset of those that started when
// interrupted), that a canary cut short comes back as a canary and never as
// a rollback, and that after the re-apply the next plan is empty.
func TestApplySequences(t *testing.T) {
	if f := flag.Lookup("rapid.checks"); f != nil && f.Value.String() == f.DefValue {
		_ = f.Value.Set("150")
		defer func() { _ = f.Value.Set(f.DefValue) }()
	}
	var interrupts, resumed, plans int
	rapid.Check(t, func(t *rapid.T) {
		rec := &recorder{ops: map[memory.Op][]string{}}
		mem := memory.New(memory.WithHook(rec.hook))
		k := knobs{version: map[string]int{"staging": 1, "prod": 1}, count: 1, step: 1, moved: map[string]bool{},
			canary: map[string]bool{"prod": rapid.Bool().Draw(t, "canary")}, keep: map[string]int{"staging": 1, "prod": 2}}
		edits := rapid.IntRange(1, 6).Draw(t, "edits")
		for i := 0; i <= edits; i++ {
			what := "first deploy"
			if i > 0 {
				k, what = k.edit(t)
			}
			d := k.desired()
			p, live := seqPlan(t, mem, d)
			plans++
			stop, atCanary := 0, false
			switch rapid.IntRange(0, 3).Draw(t, "interrupt") {
			case 0:
				stop = rapid.IntRange(1, max(len(p.Steps), 1)).Draw(t, "stopAfter")
			case 1:
				atCanary = true
			}
			started := seqApply(t, mem, d, live, p, stop, atCanary)
			interrupted := stop > 0 || atCanary
			checkCalls(t, what, p, started, rec.take(), interrupted)
			if !interrupted {
				again, after := seqPlan(t, mem, d)
				if !again.Empty() {
					t.Fatalf("after %s the next plan is not empty:\n%s", what, seqDump(again))
				}
				checkAddresses(t, what, d, after)
				continue
			}
			interrupts++
			p2, live2 := seqPlan(t, mem, d)
			resumed += checkResumed(t, p, p2, live2)
			seqApply(t, mem, d, live2, p2, 0, false)
			checkCalls(t, what+" (re-applied)", p2, nil, rec.take(), false)
			if again, _ := seqPlan(t, mem, d); !again.Empty() {
				t.Fatalf("after %s, interrupted and re-applied, the next plan is not empty:\n%s", what, seqDump(again))
			}
		}
	})
	t.Logf("%d plans applied, %d interrupted and re-applied, %d cut-short canaries resumed as canaries", plans, interrupts, resumed)
}

// checkAddresses asserts that every endpoint serves at the spec's address.
func checkAddresses(t *rapid.T, what string, d *model.Desired, live *cloud.Live) {
	for _, p := range d.Pools {
		for _, e := range live.Endpoints {
			if e.Env == p.Env && e.Role == p.Role && e.Address != p.Endpoint {
				t.Fatalf("after %s %s/%s serves at %q, the spec says %q", what, p.Env, p.Role, e.Address, p.Endpoint)
			}
		}
	}
}

func seqPlan(t *rapid.T, mem *memory.Cloud, d *model.Desired) (*planner.Plan, *cloud.Live) {
	live, err := mem.Observe(context.Background(), d.Project)
	if err != nil {
		t.Fatal(err)
	}
	p, err := planner.Make(d, live, planner.Options{})
	if err != nil {
		t.Fatalf("planning: %v", err)
	}
	return p, live
}

// seqApply applies p, interrupting after stop finished steps (0: never) or
// as a canary starts, and returns the ids of the steps that started.
func seqApply(t *rapid.T, mem *memory.Cloud, d *model.Desired, live *cloud.Live, p *planner.Plan, stop int, atCanary bool) map[string]bool {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	h := &interrupter{n: stop, atCanary: atCanary, cancel: cancel, started: map[string]bool{}}
	e := &Executor{Clouds: cloud.Set{"memory": mem}, Desired: d, Live: live, Hooks: h, CanaryHold: time.Millisecond}
	rep, err := e.Apply(ctx, p)
	if err != nil {
		t.Fatalf("applying: %v", err)
	}
	if stop == 0 && !atCanary && !rep.OK() {
		t.Fatalf("apply failed: %v\n%s", rep.Err(), seqDump(p))
	}
	return h.started
}

// checkCalls holds the cloud's mutating calls against the plan: each bake,
// create and prune step made exactly its one call, swaps touched only the
// endpoints of swap steps, pools were cooled only as swap steps said, and
// nothing else changed. When interrupted, only steps that started count.
func checkCalls(t *rapid.T, what string, p *planner.Plan, started map[string]bool, ops map[memory.Op][]string, interrupted bool) {
	want := map[memory.Op][]string{}
	swaps, cools := map[string]bool{}, map[string]bool{}
	for _, s := range p.Steps {
		if interrupted && !started[s.ID] {
			continue
		}
		switch {
		case s.Kind == planner.Bake:
			want[memory.OpBake] = append(want[memory.OpBake], s.BuildID)
		case s.Kind == planner.Create:
			want[memory.OpCreatePool] = append(want[memory.OpCreatePool], s.Pool)
		case s.Kind == planner.Prune && s.Pool != "":
			want[memory.OpDeletePool] = append(want[memory.OpDeletePool], s.Pool)
		case s.Kind == planner.Prune:
			want[memory.OpDeleteImage] = append(want[memory.OpDeleteImage], s.BuildID)
		case s.Kind == planner.Swap:
			swaps[s.Env+"/"+s.Role] = true
			for _, c := range s.Cool {
				cools[c] = true
			}
		}
	}
	for _, op := range []memory.Op{memory.OpBake, memory.OpCreatePool, memory.OpDeletePool, memory.OpDeleteImage} {
		got, exp := slices.Sorted(slices.Values(ops[op])), slices.Sorted(slices.Values(want[op]))
		if !slices.Equal(got, exp) {
			t.Fatalf("%s: %s calls %v, the plan's steps want %v\n%s", what, op, got, exp, seqDump(p))
		}
	}
	for _, target := range ops[memory.OpSwap] {
		if !swaps[target] {
			t.Fatalf("%s: a swap of %s, which the plan does not swap\n%s", what, target, seqDump(p))
		}
	}
	for _, id := range ops[memory.OpSetWarm] {
		if !cools[id] {
			t.Fatalf("%s: pool %s was cooled or warmed, which no swap step lists\n%s", what, id, seqDump(p))
		}
	}
}

// checkResumed holds the plan after an interruption against the one cut
// short: a swap onto a pool the cut-short plan put in service, which never
// completed its release (a canary undone), is no rollback, and walks the
// canary again when the spec asks for one. It returns how many it saw.
func checkResumed(t *rapid.T, cut, next *planner.Plan, live *cloud.Live) int {
	pools := map[string]cloud.Pool{}
	for _, p := range live.Pools {
		pools[p.ID] = p
	}
	was := map[string]*planner.Step{}
	for i, s := range cut.Steps {
		if s.Kind == planner.Swap && len(s.Weights) > 0 {
			was[s.Env+"/"+s.Role] = &cut.Steps[i]
		}
	}
	n := 0
	for _, s := range next.Steps {
		old := was[s.Env+"/"+s.Role]
		p, ok := pools[s.Pool]
		if s.Kind != planner.Swap || old == nil || old.Pool != s.Pool || !ok || !p.Released.IsZero() {
			continue
		}
		if s.Rollback {
			t.Fatalf("%s swaps back to %s, which only carried part of an undone canary, as a rollback", s.ID, s.Pool)
		}
		if p.LastServed.IsZero() {
			continue // the canary never started: a plain release
		}
		if !strings.HasPrefix(s.Reason, "resuming an interrupted canary") || len(s.Weights) == 0 {
			t.Fatalf("%s resumes an undone canary onto %s with weights %v, reason %q", s.ID, s.Pool, s.Weights, s.Reason)
		}
		n++
	}
	return n
}

func seqDump(p *planner.Plan) string {
	var b strings.Builder
	for _, s := range p.Steps {
		fmt.Fprintf(&b, "  %s pool=%s weights=%v cool=%v move=%s after=%v: %s\n", s.ID, s.Pool, s.Weights, s.Cool, s.MoveFrom, s.After, s.Reason)
	}
	return b.String()
}
