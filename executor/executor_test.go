package executor

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/memory"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
)

const project = "shop"

// fixture is a small spec (base -> web image chain; staging and prod, one
// role each) and the steps of its first deploy, written by hand so that the
// executor's semantics are tested apart from the planner's choices.
type fixture struct {
	desired *model.Desired
	mem     *memory.Cloud
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	base := &model.Image{Name: "base", From: "scratch", BuildID: strings.Repeat("b", 64), Chain: []string{"base"}}
	web := &model.Image{Name: "web", Parent: "base", BuildID: strings.Repeat("w", 64), Chain: []string{"base", "web"}}
	d := &model.Desired{
		Project: project, Commit: "3f2a1c9",
		Images: map[string]*model.Image{"base": base, "web": web},
		Environments: map[string]*model.Environment{
			"staging": {Name: "staging", Cloud: "memory", Roles: []string{"web"}},
			"prod":    {Name: "prod", Cloud: "memory", Roles: []string{"web"}, After: []string{"staging"}},
		},
	}
	for _, env := range []string{"prod", "staging"} {
		d.Pools = append(d.Pools, &model.Pool{Env: env, Role: "web", Cloud: "memory", Image: "web", BuildID: web.BuildID,
			Endpoint: "127.0.0.1:0", Key: env + strings.Repeat("0", 60), Count: 2})
	}
	return &fixture{desired: d, mem: memory.New()}
}

func (f *fixture) pool(env string) *model.Pool {
	for _, p := range f.desired.Pools {
		if p.Env == env {
			return p
		}
	}
	return nil
}

func (f *fixture) poolID(env string, gen int) string {
	return cloud.PoolID(env, "web", f.pool(env).Key, gen)
}

// firstDeploy is bake base, bake web, then per environment create and
// swap; prod's swap waits for staging's.
func (f *fixture) firstDeploy() *planner.Plan {
	p := &planner.Plan{Project: project, Envs: []string{"prod", "staging"}}
	add := func(s planner.Step) { s.Cloud = "memory"; p.Steps = append(p.Steps, s) }
	add(planner.Step{ID: "bake:base", Kind: planner.Bake, Image: "base", BuildID: f.desired.Images["base"].BuildID})
	add(planner.Step{ID: "bake:web", Kind: planner.Bake, Image: "web", BuildID: f.desired.Images["web"].BuildID, After: []string{"bake:base"}})
	for _, env := range []string{"staging", "prod"} {
		pl := f.pool(env)
		id := f.poolID(env, 1)
		add(planner.Step{ID: "create:" + id, Kind: planner.Create, Env: env, Role: "web", Image: "web", Pool: id, Key: pl.Key, Generation: 1, After: []string{"bake:web"}})
		after := []string{"create:" + id}
		if env == "prod" {
			after = append(after, "swap:staging/web")
		}
		add(planner.Step{ID: "swap:" + env + "/web", Kind: planner.Swap, Env: env, Role: "web", Pool: id, Key: pl.Key, Generation: 1, Endpoint: pl.Endpoint, After: after})
	}
	return p
}

func (f *fixture) executor(h Hooks) *Executor {
	return &Executor{
		Clouds: cloud.Set{"memory": f.mem}, Desired: f.desired, Hooks: h,
		Retry: Retry{Attempts: 4, Base: time.Millisecond, Max: 5 * time.Millisecond}, CanaryHold: 5 * time.Millisecond,
	}
}

func (f *fixture) apply(t *testing.T, p *planner.Plan) *Report {
	t.Helper()
	live, err := f.mem.Observe(context.Background(), project)
	if err != nil {
		t.Fatal(err)
	}
	e := f.executor(nil)
	e.Live = live
	rep, err := e.Apply(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func (f *fixture) live(t *testing.T) *cloud.Live {
	t.Helper()
	l, err := f.mem.Observe(context.Background(), project)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func servingOf(l *cloud.Live, env string) []cloud.Backend {
	for _, e := range l.Endpoints {
		if e.Env == env {
			return e.Backends
		}
	}
	return nil
}

func poolOf(l *cloud.Live, id string) *cloud.Pool {
	for i := range l.Pools {
		if l.Pools[i].ID == id {
			return &l.Pools[i]
		}
	}
	return nil
}

func TestApplyFirstDeployServesBothEnvironments(t *testing.T) {
	f := newFixture(t)
	rep := f.apply(t, f.firstDeploy())
	if !rep.OK() {
		t.Fatalf("apply failed: %v", rep.Details())
	}
	l := f.live(t)
	for _, env := range []string{"staging", "prod"} {
		got := servingOf(l, env)
		if len(got) != 1 || got[0].Pool != f.poolID(env, 1) || got[0].Weight != 100 {
			t.Errorf("%s serves %v, want %s at 100", env, got, f.poolID(env, 1))
		}
		if p := poolOf(l, f.poolID(env, 1)); p == nil || p.Commit != "3f2a1c9" || p.Generation != 1 {
			t.Errorf("%s pool %+v: want commit and generation from the plan", env, p)
		}
	}
	for _, im := range l.Images {
		if im.Name == "web" && im.ParentBuildID != f.desired.Images["base"].BuildID {
			t.Errorf("web baked on parent %q, want base's build id", im.ParentBuildID)
		}
	}
	if got := rep.Line(); !strings.HasPrefix(got, "Applied: 2 bakes, 2 creates, 2 swaps in ") || !strings.Contains(got, "critical path") {
		t.Errorf("summary %q", got)
	}
}

func TestApplyFailedCreateNeverSwapsAndOtherBranchesFinish(t *testing.T) {
	f := newFixture(t)
	// prod is already served by an old pool; staging's create fails.
	f.apply(t, f.firstDeploy())
	f.mem.FailCreate("staging", "web", "smoke check /health: status 500")
	p := &planner.Plan{Project: project, Envs: []string{"prod", "staging"}}
	for _, env := range []string{"staging", "prod"} {
		id := f.poolID(env, 2)
		p.Steps = append(p.Steps,
			planner.Step{ID: "create:" + id, Kind: planner.Create, Cloud: "memory", Env: env, Role: "web", Pool: id, Key: f.pool(env).Key, Generation: 2},
			planner.Step{ID: "swap:" + env + "/web", Kind: planner.Swap, Cloud: "memory", Env: env, Role: "web", Pool: id, After: []string{"create:" + id}},
			planner.Step{ID: "prune:" + f.poolID(env, 1), Kind: planner.Prune, Cloud: "memory", Env: env, Role: "web", Pool: f.poolID(env, 1), After: []string{"swap:" + env + "/web"}},
		)
	}
	rep := f.apply(t, p)
	l := f.live(t)
	if got := servingOf(l, "staging"); len(got) != 1 || got[0].Pool != f.poolID("staging", 1) {
		t.Errorf("staging serves %v after a failed create, want the old pool", got)
	}
	if poolOf(l, f.poolID("staging", 1)) == nil {
		t.Error("staging's old pool was pruned although its replacement failed")
	}
	if got := servingOf(l, "prod"); len(got) != 1 || got[0].Pool != f.poolID("prod", 2) {
		t.Errorf("prod serves %v, want the new pool: an independent branch must finish", got)
	}
	fs := rep.Failures()
	if len(fs) != 1 || fs[0].Step.Kind != planner.Create || len(fs[0].Skipped) != 2 {
		t.Fatalf("failures %+v, want the staging create holding back its swap and prune", fs)
	}
	if rep.Err() == nil || !strings.HasPrefix(rep.Line(), "Apply failed: 1 failed, 2 skipped; applied 1 create, 1 swap, 1 prune") {
		t.Errorf("line %q err %v", rep.Line(), rep.Err())
	}
	// The error main prints names the step as the progress lines do, not by its id.
	if got := rep.Err().Error(); !strings.HasPrefix(got, "1 step failed: create staging/web web@") || strings.Contains(got, "create:") {
		t.Errorf("err %q, want 1 step failed: create staging/web web@…", got)
	}
}

func TestPruneIsRefusedWhenThePoolServesNow(t *testing.T) {
	f := newFixture(t)
	f.apply(t, f.firstDeploy())
	// A stale plan: it believed staging had moved on.
	old := f.poolID("staging", 1)
	rep := f.apply(t, &planner.Plan{Project: project, Steps: []planner.Step{
		{ID: "prune:" + old, Kind: planner.Prune, Cloud: "memory", Env: "staging", Role: "web", Pool: old},
	}})
	o := rep.Result.Outcomes["prune:"+old]
	if o.Status != Failed || !errors.Is(o.Err, cloud.ErrServing) {
		t.Fatalf("prune of a serving pool: %v %v, want failed with ErrServing", o.Status, o.Err)
	}
	if f.mem.Calls(memory.OpDeletePool) != 0 {
		t.Error("the executor asked the cloud to delete a serving pool")
	}
	if poolOf(f.live(t), old) == nil {
		t.Fatal("serving pool deleted")
	}
}

func TestSwapIsRefusedOntoAPoolUnhealthyNow(t *testing.T) {
	f := newFixture(t)
	f.apply(t, f.firstDeploy())
	next := f.poolID("staging", 2)
	rep := f.apply(t, &planner.Plan{Project: project, Steps: []planner.Step{
		{ID: "create:" + next, Kind: planner.Create, Cloud: "memory", Env: "staging", Role: "web", Pool: next, Key: f.pool("staging").Key, Generation: 2},
	}})
	if !rep.OK() {
		t.Fatal(rep.Details())
	}
	if err := f.mem.KillServers(project, next, 1); err != nil {
		t.Fatal(err)
	}
	rep = f.apply(t, &planner.Plan{Project: project, Steps: []planner.Step{
		{ID: "swap:staging/web", Kind: planner.Swap, Cloud: "memory", Env: "staging", Role: "web", Pool: next},
	}})
	if o := rep.Result.Outcomes["swap:staging/web"]; o.Status != Failed || !errors.Is(o.Err, cloud.ErrNotReady) {
		t.Fatalf("swap onto a pool with a dead server: %v %v", o.Status, o.Err)
	}
	if got := servingOf(f.live(t), "staging"); got[0].Pool != f.poolID("staging", 1) {
		t.Fatalf("staging serves %v, want the old pool", got)
	}
}

func TestTransientErrorsAreRetriedAndPermanentOnesAreNot(t *testing.T) {
	f := newFixture(t)
	f.mem.InjectTransient(memory.OpCreatePool, 2)
	if rep := f.apply(t, f.firstDeploy()); !rep.OK() {
		t.Fatalf("transient errors were not retried: %v", rep.Details())
	}
	if n := f.mem.Calls(memory.OpCreatePool); n != 4 {
		t.Errorf("%d create calls, want 2 creates + 2 retries", n)
	}

	g := newFixture(t)
	g.mem.FailBake("base", "step 1 exited 2")
	rep := g.apply(t, g.firstDeploy())
	if n := g.mem.Calls(memory.OpBake); n != 1 {
		t.Errorf("%d bake calls for a permanent failure, want 1", n)
	}
	if rep.Result.Count(Skipped) != 5 {
		t.Errorf("%d skipped, want every step after the failed base bake", rep.Result.Count(Skipped))
	}
}

func canaryPlan(f *fixture, weights []int) (*planner.Plan, string) {
	next := f.poolID("staging", 2)
	return &planner.Plan{Project: project, Steps: []planner.Step{
		{ID: "create:" + next, Kind: planner.Create, Cloud: "memory", Env: "staging", Role: "web", Pool: next, Key: f.pool("staging").Key, Generation: 2},
		{ID: "swap:staging/web", Kind: planner.Swap, Cloud: "memory", Env: "staging", Role: "web", Pool: next, Weights: weights,
			Cool: []string{f.poolID("staging", 1)}, After: []string{"create:" + next}},
	}}, next
}

func TestCanaryWalksTheWeightsThenCoolsTheOldPool(t *testing.T) {
	f := newFixture(t)
	f.apply(t, f.firstDeploy())
	var mu sync.Mutex
	var seen [][]cloud.Backend
	p, next := canaryPlan(f, []int{10, 50, 100})
	e := f.executor(hookFunc(func(s *planner.Step, line string) {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasPrefix(line, "canary:") {
			l, _ := f.mem.Observe(context.Background(), project)
			seen = append(seen, servingOf(l, "staging"))
		}
	}))
	rep, err := e.Apply(context.Background(), p)
	if err != nil || !rep.OK() {
		t.Fatalf("%v %v", err, rep.Details())
	}
	if len(seen) != 3 || seen[0][0].Weight != 10 || seen[1][0].Weight != 50 || seen[1][1].Weight != 50 ||
		len(seen[2]) != 1 || seen[2][0].Pool != next || seen[2][0].Weight != 100 {
		t.Fatalf("canary steps seen: %v, want 10%%, 50%% then 100%% on the new pool, each said as it is reached", seen)
	}
	l := f.live(t)
	if got := servingOf(l, "staging"); len(got) != 1 || got[0].Pool != next {
		t.Fatalf("after the canary staging serves %v", got)
	}
	if p := poolOf(l, f.poolID("staging", 1)); p == nil || p.State != cloud.PoolCold {
		t.Fatalf("old pool %+v, want kept cold", p)
	}
}

func TestCanaryGoesBackToTheOldPoolWhenTheNewOneSickens(t *testing.T) {
	f := newFixture(t)
	f.apply(t, f.firstDeploy())
	p, next := canaryPlan(f, []int{10, 50, 100})
	// The new pool loses a server as soon as it has taken traffic.
	before := f.mem.Calls(memory.OpSwap)
	f.mem.SetHook(func(_ context.Context, op memory.Op, _ string) error {
		if op == memory.OpObserve && f.mem.Calls(memory.OpSwap) > before {
			_ = f.mem.KillServers(project, next, 1)
		}
		return nil
	})
	rep := f.apply(t, p)
	f.mem.SetHook(nil)
	o := rep.Result.Outcomes["swap:staging/web"]
	if o.Status != Failed || !strings.Contains(o.Err.Error(), "traffic is back on") {
		t.Fatalf("swap: %v %v", o.Status, o.Err)
	}
	got := servingOf(f.live(t), "staging")
	if len(got) != 1 || got[0].Pool != f.poolID("staging", 1) || got[0].Weight != 100 {
		t.Fatalf("staging serves %v, want all traffic back on the old pool", got)
	}
}

func TestDestructiveSwapWithoutAPoolDetachesTheEndpoint(t *testing.T) {
	f := newFixture(t)
	f.apply(t, f.firstDeploy())
	rep := f.apply(t, &planner.Plan{Project: project, Steps: []planner.Step{
		{ID: "swap:staging/web", Kind: planner.Swap, Cloud: "memory", Env: "staging", Role: "web", Destructive: true},
		{ID: "prune:" + f.poolID("staging", 1), Kind: planner.Prune, Cloud: "memory", Env: "staging", Role: "web", Pool: f.poolID("staging", 1), Destructive: true, After: []string{"swap:staging/web"}},
	}})
	if !rep.OK() {
		t.Fatal(rep.Details())
	}
	l := f.live(t)
	if servingOf(l, "staging") != nil || poolOf(l, f.poolID("staging", 1)) != nil {
		t.Fatal("staging still has an endpoint or its pool")
	}
}

func TestCancelStopsStartingStepsAndSaysSo(t *testing.T) {
	f := newFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	f.mem.SetHook(func(_ context.Context, op memory.Op, _ string) error {
		if op == memory.OpBake {
			cancel() // Ctrl-C during the first bake
		}
		return nil
	})
	rep, err := f.executor(nil).Apply(ctx, f.firstDeploy())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Result.Outcomes["bake:base"].Status != Done || rep.Result.Count(NotStarted) != 5 {
		t.Fatalf("bake:base %v, %d not started; want the in-flight bake finished and nothing else started",
			rep.Result.Outcomes["bake:base"].Status, rep.Result.Count(NotStarted))
	}
	if !strings.HasPrefix(rep.Line(), "Apply interrupted: 5 not started; applied 1 bake") {
		t.Errorf("line %q", rep.Line())
	}
}

func TestJournalRecordsEveryStepAndTheApply(t *testing.T) {
	f := newFixture(t)
	dir := t.TempDir()
	j, err := OpenJournal(dir, NewApplyID(), "ann@host:1#a1b2c3d4e5f6")
	if err != nil {
		t.Fatal(err)
	}
	f.mem.FailCreate("prod", "web", "no capacity")
	if _, err := f.executor(j).Apply(context.Background(), f.firstDeploy()); err != nil {
		t.Fatal(err)
	}
	j.Close()
	file, err := os.Open(filepath.Join(dir, JournalFile))
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	ends := map[string]Entry{}
	var events []string
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		var e Entry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("journal line %q: %v", sc.Text(), err)
		}
		events = append(events, e.Event)
		if e.Event == "step_end" {
			ends[e.Step] = e
		}
		if e.Apply != j.ID() {
			t.Errorf("entry of apply %q, want %q", e.Apply, j.ID())
		}
	}
	if events[0] != "apply_start" || events[len(events)-1] != "apply_end" || len(ends) != 6 {
		t.Fatalf("events %v, %d step ends", events, len(ends))
	}
	c := ends["create:"+f.poolID("prod", 1)]
	if c.Result != "failed" || !strings.Contains(c.Error, "no capacity") {
		t.Errorf("failed create journaled as %+v", c)
	}
	if s := ends["swap:prod/web"]; s.Result != "skipped" || s.Cause != "create:"+f.poolID("prod", 1) {
		t.Errorf("skipped swap journaled as %+v", s)
	}
	if b := ends["bake:base"]; b.Result != "done" {
		t.Errorf("bake journaled as %+v", b)
	}
}

func TestLocksKeepASecondApplyOut(t *testing.T) {
	mem := memory.New()
	set := cloud.Set{"memory": mem}
	ctx := context.Background()
	first := &Locker{Clouds: set, Project: project, Owner: "ann@a:1", Lease: time.Minute}
	held, err := first.Acquire(ctx, map[string]string{"prod": "memory", "staging": "memory"})
	if err != nil {
		t.Fatal(err)
	}
	// Fail fast.
	second := &Locker{Clouds: set, Project: project, Owner: "bob@b:2", Lease: time.Minute, Timeout: 0}
	_, err = second.Acquire(ctx, map[string]string{"prod": "memory"})
	var le *cloud.LockedError
	if !errors.As(err, &le) || le.Owner != "ann@a:1" {
		t.Fatalf("second lock: %v, want locked by ann@a:1", err)
	}
	// Wait, with a message, until the first releases.
	var told *cloud.LockedError
	second.Timeout, second.Poll = 5*time.Second, 5*time.Millisecond
	second.Waiting = func(h *cloud.LockedError) { told = h }
	go func() { time.Sleep(30 * time.Millisecond); held.Release(ctx) }()
	h2, err := second.Acquire(ctx, map[string]string{"prod": "memory"})
	if err != nil {
		t.Fatalf("waiting for the lock: %v", err)
	}
	if told == nil || told.Owner != "ann@a:1" {
		t.Fatalf("waiting message named %+v", told)
	}
	// A failed acquisition keeps nothing; a killed holder's lease expires.
	mem.Advance(2 * time.Minute)
	h3, err := first.Acquire(ctx, map[string]string{"prod": "memory"})
	if err != nil {
		t.Fatalf("lock after the holder's lease expired: %v", err)
	}
	h3.Release(ctx)
	h2.Release(ctx)
}

func TestLocksAreRenewedWhileHeld(t *testing.T) {
	mem := memory.New()
	set := cloud.Set{"memory": mem}
	l := &Locker{Clouds: set, Project: project, Owner: "ann@a:1", Lease: time.Second}
	held, err := l.Acquire(context.Background(), map[string]string{"prod": "memory"})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release(context.Background())
	time.Sleep(2100 * time.Millisecond) // > 2 leases: only renewal keeps it
	other := &Locker{Clouds: set, Project: project, Owner: "bob@b:2", Lease: time.Minute}
	if _, err := other.Acquire(context.Background(), map[string]string{"prod": "memory"}); !errors.Is(err, cloud.ErrLocked) {
		t.Fatalf("lock was not renewed: %v", err)
	}
	select {
	case <-held.Lost():
		t.Fatalf("lock lost: %v", held.Err())
	default:
	}
}

// TestKeepReleasesOnlyTheLocksNotKept: after planning, an apply frees the
// environments it has no step for; the locks it keeps are still renewed.
func TestKeepReleasesOnlyTheLocksNotKept(t *testing.T) {
	mem := memory.New()
	set := cloud.Set{"memory": mem}
	ctx := context.Background()
	l := &Locker{Clouds: set, Project: project, Owner: "ann@a:1", Lease: time.Second}
	held, err := l.Acquire(ctx, map[string]string{"prod": "memory", "qa": "memory", "staging": "memory"})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release(ctx)
	dropped, err := held.Keep(ctx, func(env string) bool { return env == "prod" })
	if err != nil || strings.Join(dropped, ",") != "qa,staging" {
		t.Fatalf("Keep(prod) released %v (err %v), want qa and staging", dropped, err)
	}
	time.Sleep(2100 * time.Millisecond) // > 2 leases: only renewal keeps prod
	other := &Locker{Clouds: set, Project: project, Owner: "bob@b:2", Lease: time.Minute}
	h, err := other.Acquire(ctx, map[string]string{"qa": "memory", "staging": "memory"})
	if err != nil {
		t.Fatalf("a released environment is still locked: %v", err)
	}
	defer h.Release(ctx)
	if _, err := other.Acquire(ctx, map[string]string{"prod": "memory"}); !errors.Is(err, cloud.ErrLocked) {
		t.Fatalf("the kept lock of prod: %v, want still locked and renewed", err)
	}
	select {
	case <-held.Lost():
		t.Fatalf("lock lost: %v", held.Err())
	default:
	}
	if err := held.Release(ctx); err != nil {
		t.Fatalf("releasing what was kept: %v", err)
	}
}

// hookFunc turns a log callback into Hooks.
type hookFunc func(s *planner.Step, line string)

func (hookFunc) ApplyStarted(*planner.Plan)                     {}
func (hookFunc) StepStarted(*planner.Step)                      {}
func (hookFunc) StepFinished(*planner.Step, time.Duration)      {}
func (hookFunc) StepFailed(*planner.Step, time.Duration, error) {}
func (hookFunc) StepSkipped(*planner.Step, string)              {}
func (f hookFunc) Log(s *planner.Step, line string)             { f(s, line) }
func (hookFunc) ApplyFinished(*Report)                          {}

func TestALockOfADeadLocalProcessIsBrokenAtOnce(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skip("no true(1):", err)
	}
	host := localHost()
	dead := fmt.Sprintf("ann@%s:%d", host, cmd.Process.Pid)
	mem := memory.New()
	set := cloud.Set{"memory": mem}
	ctx := context.Background()
	if err := mem.Lock(ctx, cloud.LockRequest{Project: project, Env: "prod", Owner: dead, Lease: time.Hour}); err != nil {
		t.Fatal(err)
	}
	// A live holder on another host keeps its lock...
	if err := mem.Lock(ctx, cloud.LockRequest{Project: project, Env: "staging", Owner: "bob@elsewhere:1", Lease: time.Hour}); err != nil {
		t.Fatal(err)
	}
	l := &Locker{Clouds: set, Project: project, Owner: "carol@" + host + ":1", Timeout: 0}
	if _, err := l.Acquire(ctx, map[string]string{"staging": "memory"}); !errors.Is(err, cloud.ErrLocked) {
		t.Fatalf("lock held on another host: %v, want ErrLocked", err)
	}
	// ...but the dead local process's lock is broken without waiting.
	h, err := l.Acquire(ctx, map[string]string{"prod": "memory"})
	if err != nil {
		t.Fatalf("lock of a dead process: %v", err)
	}
	h.Release(ctx)
}

func TestInterruptDuringACanaryPutsTrafficBack(t *testing.T) {
	f := newFixture(t)
	f.apply(t, f.firstDeploy())
	p, _ := canaryPlan(f, []int{10, 50, 100})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	e := f.executor(hookFunc(func(_ *planner.Step, line string) {
		if strings.HasPrefix(line, "canary: 10%") {
			cancel() // Ctrl-C while 10% of traffic is on the new pool
		}
	}))
	rep, err := e.Apply(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	o := rep.Result.Outcomes["swap:staging/web"]
	if o.Status != Failed || !strings.Contains(o.Err.Error(), "interrupted during the canary") {
		t.Fatalf("swap: %v %v, want failed: interrupted", o.Status, o.Err)
	}
	got := servingOf(f.live(t), "staging")
	if len(got) != 1 || got[0].Pool != f.poolID("staging", 1) || got[0].Weight != 100 {
		t.Fatalf("staging serves %v, want all traffic back on the old pool", got)
	}
}

// TestInterruptEndsAWatchedWindowAtOnce: Ctrl-C in the middle of a long
// canary window (or the bake window after it) sends the traffic back
// then, as the interrupt line promises, not once the window is over: a
// window of production's analysis may last many minutes, and whoever
// pressed Ctrl-C wants the release off the traffic now.
func TestInterruptEndsAWatchedWindowAtOnce(t *testing.T) {
	for _, weights := range [][]int{{10, 50, 100}, {100}} {
		t.Run(fmt.Sprint(weights), func(t *testing.T) {
			f := newFixture(t)
			f.apply(t, f.firstDeploy())
			p, _ := canaryPlan(f, weights)
			for i := range p.Steps {
				if p.Steps[i].Kind == planner.Swap {
					p.Steps[i].Watch = &planner.Watch{Bake: time.Hour}
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			e := f.executor(hookFunc(func(_ *planner.Step, line string) {
				if strings.HasPrefix(line, "canary: 10%") || strings.HasPrefix(line, "bake: watching") {
					go func() { time.Sleep(20 * time.Millisecond); cancel() }() // Ctrl-C inside the window
				}
			}))
			e.CanaryHold = time.Hour
			done := make(chan *Report, 1)
			go func() {
				rep, err := e.Apply(ctx, p)
				if err != nil {
					t.Error(err)
				}
				done <- rep
			}()
			var rep *Report
			select {
			case rep = <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the apply was still in its window 10 s after Ctrl-C")
			}
			o := rep.Result.Outcomes["swap:staging/web"]
			if o.Status != Failed || !Interrupted(o.Err) {
				t.Fatalf("swap: %v %v, want failed: interrupted", o.Status, o.Err)
			}
			got := servingOf(f.live(t), "staging")
			if len(got) != 1 || got[0].Pool != f.poolID("staging", 1) || got[0].Weight != 100 {
				t.Fatalf("staging serves %v, want all traffic back on the old pool", got)
			}
		})
	}
}

func TestTransientSwapAndDeleteErrorsAreRetried(t *testing.T) {
	f := newFixture(t)
	f.mem.InjectTransient(memory.OpSwap, 1)
	f.apply(t, f.firstDeploy())
	next := f.poolID("staging", 2)
	old := f.poolID("staging", 1)
	f.mem.InjectTransient(memory.OpDeletePool, 2)
	f.mem.InjectTransient(memory.OpObserve, 1)
	// No live state given: the executor observes when it needs to.
	rep, err := f.executor(nil).Apply(context.Background(), &planner.Plan{Project: project, Steps: []planner.Step{
		{ID: "create:" + next, Kind: planner.Create, Cloud: "memory", Env: "staging", Role: "web", Pool: next, Key: f.pool("staging").Key, Generation: 2},
		{ID: "swap:staging/web", Kind: planner.Swap, Cloud: "memory", Env: "staging", Role: "web", Pool: next, After: []string{"create:" + next}},
		{ID: "prune:" + old, Kind: planner.Prune, Cloud: "memory", Env: "staging", Role: "web", Pool: old, After: []string{"swap:staging/web"}},
	}})
	if err != nil || !rep.OK() {
		t.Fatalf("transient errors were not retried: %v %v", err, rep.Details())
	}
	l := f.live(t)
	if poolOf(l, old) != nil || servingOf(l, "staging")[0].Pool != next {
		t.Fatalf("after the retries: old pool present=%v, staging serves %v", poolOf(l, old) != nil, servingOf(l, "staging"))
	}
}

func TestAStalePlanIsRefusedStepByStep(t *testing.T) {
	f := newFixture(t)
	p := f.firstDeploy()
	for i := range p.Steps {
		if p.Steps[i].Kind == planner.Create && p.Steps[i].Env == "prod" {
			p.Steps[i].Key = "0ld" + p.Steps[i].Key[3:] // the spec moved on since
		}
	}
	rep := f.apply(t, p)
	o := rep.Result.Outcomes["create:"+f.poolID("prod", 1)]
	if o.Status != Failed || !strings.Contains(o.Err.Error(), "stale") {
		t.Fatalf("create with a stale key: %v %v", o.Status, o.Err)
	}
	details := strings.Join(rep.Details(), "\n")
	if !strings.Contains(details, "✗ create prod/web") || !strings.Contains(details, "not done because of it: swap prod/web") {
		t.Fatalf("details do not name the root cause and what it held back:\n%s", details)
	}
}

func TestAResumedCanaryThatFailsPutsAllTrafficOnTheOldPool(t *testing.T) {
	f := newFixture(t)
	f.apply(t, f.firstDeploy())
	p, next := canaryPlan(f, []int{75, 100})
	f.apply(t, &planner.Plan{Project: project, Steps: p.Steps[:1]}) // the create
	// An earlier apply was cut short with 50% on the new pool.
	old := f.poolID("staging", 1)
	if err := f.mem.Swap(context.Background(), cloud.SwapRequest{Project: project, Env: "staging", Role: "web",
		Backends: []cloud.Backend{{Pool: next, Weight: 50}, {Pool: old, Weight: 50}}}); err != nil {
		t.Fatal(err)
	}
	before := f.mem.Calls(memory.OpSwap)
	f.mem.SetHook(func(_ context.Context, op memory.Op, _ string) error {
		if op == memory.OpObserve && f.mem.Calls(memory.OpSwap) > before {
			_ = f.mem.KillServers(project, next, 1)
		}
		return nil
	})
	swap := p.Steps[1]
	swap.After = nil
	rep := f.apply(t, &planner.Plan{Project: project, Steps: []planner.Step{swap}})
	f.mem.SetHook(nil)
	if rep.OK() {
		t.Fatal("the canary onto a sickening pool succeeded")
	}
	got := servingOf(f.live(t), "staging")
	if len(got) != 1 || got[0].Pool != old || got[0].Weight != 100 {
		t.Fatalf("staging serves %v, want all traffic on %s", got, old)
	}
}

// A command's first observe survives transient errors (throttling): it is
// retried, and a permanent error is not.
func TestObserveRetriesTransientErrors(t *testing.T) {
	mem := memory.New()
	mem.InjectTransient(memory.OpObserve, 2)
	live, err := Observe(context.Background(), cloud.Set{"memory": mem}, project)
	if err != nil || live == nil {
		t.Fatalf("observe after 2 transient errors: %v", err)
	}
	if n := mem.Calls(memory.OpObserve); n != 3 {
		t.Errorf("observe was called %d times, want 3", n)
	}
}
