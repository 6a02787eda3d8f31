package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/cloud/local"
	"github.com/phoenix-gitops/phoenix/executor"
	"github.com/phoenix-gitops/phoenix/executor/progress"
	"github.com/phoenix-gitops/phoenix/history"
	"github.com/phoenix-gitops/phoenix/internal/tty"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planfile"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/render"
)

// applyFlags are the options of `phoenix apply`.
type applyFlags struct {
	src         specSource
	envs        []string
	planFile    string
	parallelism int
	yes         bool
	json        bool
	destroy     bool
	lockTimeout time.Duration
	canaryHold  time.Duration
	// retryRejected releases a pool release analysis rejected again.
	retryRejected bool
	maxBakes      int
	maxCreates    int
	// withYes is the user's own command line with --yes added, which the
	// refusal without a terminal tells them to run.
	withYes string
}

func newApplyCmd(cl *clouds) *cobra.Command {
	var f applyFlags
	cmd := &cobra.Command{
		Use:   "apply [DIR]",
		Short: "Carry out the plan: bake, create, swap and prune, in parallel where safe",
		Long: `Apply plans the spec against the live cloud, as phoenix plan does, and
carries the plan out. Each step starts as soon as the steps it waits for are
done. A failed step holds back only what depends on it; independent
environments and roles finish. A failed create never swaps, a failed swap
leaves the old pool serving, and a pool is pruned only if it serves nothing
at that moment.

Every environment in scope is locked while apply plans; then only those
the plan has steps for stay locked, until the apply ends (a lease that a
killed apply lets expire). An interrupted apply is simply applied again:
the next plan starts from the live state.

Before its first step, apply checks that each pool it starts can resolve
its secret references where it runs (local cloud: env: and file:); if one
cannot, it names them all and changes nothing.

A new pool has its role's health deadline (health: deadline: "40s" in the
spec; by default twenty health intervals, 10s to 2m, on AWS 15m) to pass
its health checks; while it waits, each server's health answer is shown
as it changes (a 404 at once, not at the deadline).

Without --yes, apply shows the plan and asks on a terminal, and refuses
when there is no terminal to ask on.

Exit 0 when every step is done (or there was nothing to do), 1 when a step
failed, the plan was refused or cancelled, or the spec has errors.`,
		Example: `  phoenix apply --yes                  plan environments/ and carry it out
  phoenix apply --env staging --yes    only staging
  phoenix plan --out release.plan && phoenix apply --plan release.plan --yes
  CI=true phoenix apply --yes --json   one JSON object per event, for a CI log`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f.src.Dir = specDir(args)
			f.src.RequireClean = true
			f.withYes = f.commandWithYes(args)
			return runApply(cmd.Context(), cl, cmd.InOrStdin(), cmd.OutOrStdout(), f)
		},
	}
	addSpecFlags(cmd, &f.src)
	fl := cmd.Flags()
	fl.StringArrayVar(&f.envs, "env", nil, "apply only this environment (repeatable)")
	fl.StringVar(&f.planFile, "plan", "", "apply this saved plan (phoenix plan --out FILE); refused if the spec or the live state changed since")
	fl.IntVar(&f.parallelism, "parallelism", executor.DefaultParallelism, "how many steps may run at once")
	fl.IntVar(&f.maxBakes, "max-bakes", executor.DefaultLimits()[planner.Bake], "how many bakes may run at once (within --parallelism)")
	fl.IntVar(&f.maxCreates, "max-creates", executor.DefaultLimits()[planner.Create], "how many creates may run at once (within --parallelism)")
	fl.BoolVar(&f.yes, "yes", false, "apply without asking")
	fl.BoolVar(&f.json, "json", false, "write one JSON object per event instead of text")
	fl.BoolVar(&f.destroy, "destroy", false, "also destroy what left the spec (those steps are marked destructive)")
	fl.DurationVar(&f.lockTimeout, "lock-timeout", 10*time.Minute, "how long to wait for another apply's lock on an environment (0: fail at once)")
	fl.DurationVar(&f.canaryHold, "canary-hold", 0, "how long a canary stays at each traffic weight before it is judged, for this apply (default: the spec's traffic.pause)")
	fl.BoolVar(&f.retryRejected, "retry-rejected", false, "release again a pool that release analysis rejected (otherwise its environment and role are held)")
	return cmd
}

func runApply(ctx context.Context, cl *clouds, stdin io.Reader, stdout io.Writer, f applyFlags) error {
	if f.parallelism < 1 {
		return fmt.Errorf("--parallelism must be at least 1, not %d", f.parallelism)
	}
	if f.maxBakes < 1 || f.maxCreates < 1 {
		return fmt.Errorf("--max-bakes and --max-creates must be at least 1")
	}
	if f.canaryHold < 0 {
		return fmt.Errorf("--canary-hold must be positive, not %s", f.canaryHold)
	}
	desired, err := loadSpec(ctx, f.src)
	if err != nil {
		return err
	}
	var saved *planfile.File
	if f.planFile != "" {
		if len(f.envs) > 0 || f.destroy {
			return errors.New("--env and --destroy come from the saved plan; do not give them with --plan")
		}
		if saved, err = readSavedPlan(f.planFile, desired); err != nil {
			return err
		}
		f.envs, f.destroy = saved.Envs, saved.Destroy
	}
	scope, err := envScope(desired, f.envs)
	if err != nil {
		return err
	}
	clouds, err := cl.open(ctx, desired)
	if err != nil {
		return err
	}
	scopeClouds(clouds, f.envs)
	view := newView(stdout, f.json)
	defer view.Close()
	if f.json && simulated(clouds) {
		view.Note(simulationNotice) // the event stream says it too
	}

	applyID := executor.NewApplyID()
	owner := executor.Owner(applyID)
	locker := &executor.Locker{
		Clouds: clouds, Project: desired.Project, Owner: owner, Timeout: f.lockTimeout,
		Waiting: func(h *cloud.LockedError) {
			view.Note(fmt.Sprintf("waiting for lock on %s held by %s (lease until %s; --lock-timeout %s)",
				h.Env, h.Owner, h.Expires.Local().Format("15:04:05"), f.lockTimeout))
		},
	}
	held, err := locker.Acquire(ctx, scope)
	if err != nil {
		return err
	}
	defer held.Release(context.WithoutCancel(ctx))

	plan, live, err := planApply(ctx, desired, clouds, saved, f)
	if err != nil {
		return err
	}
	if err := held.Add(ctx, planEnvs(plan, scope)); err != nil {
		return err
	}
	if plan.Empty() {
		for _, w := range plan.Warnings { // a release held (rule 8), what left the spec
			if f.json {
				view.Note("warning: " + w)
			} else {
				fmt.Fprintln(stdout, "Warning: "+w)
			}
		}
		if f.json {
			view.Note("No changes.")
		} else {
			fmt.Fprintln(stdout, "No changes. The live state matches the spec.")
		}
		return nil
	}
	if _, err := held.Keep(ctx, stepEnvs(plan)); err != nil {
		view.Note(fmt.Sprintf("%v (its lease will end it)", err))
	}
	warn := func(w string) {
		if f.json {
			view.Note("warning: " + w)
		} else {
			fmt.Fprintln(stdout, "Warning: "+w)
		}
	}
	if err := preflight(ctx, desired, clouds, plan, warn); err != nil {
		return err
	}
	if !f.yes {
		show := func() *render.Doc {
			return render.FromPlan(plan, render.Info{Commit: desired.Commit})
		}
		if err := confirm(ctx, stdin, stdout, show, f.json, f.withYes); err != nil {
			return err
		}
	}
	return execute(ctx, view, held, applyID, owner, desired, clouds, live, plan, f)
}

// commandWithYes rebuilds the command line of apply with --yes added,
// keeping what chooses what is applied (DIR, --env, --plan, --destroy,
// --rev, --allow-dirty), so that `apply --env staging` is told to run
// `apply --env staging --yes`: the refusal said `phoenix apply --yes`,
// which applies every environment, or drops --plan FILE.
func (f applyFlags) commandWithYes(args []string) string {
	words := append([]string{"phoenix", "apply"}, args...)
	for _, e := range f.envs {
		words = append(words, "--env", e)
	}
	if f.planFile != "" {
		words = append(words, "--plan", f.planFile)
	}
	if f.src.Rev != "" {
		words = append(words, "--rev", f.src.Rev)
	}
	if f.destroy {
		words = append(words, "--destroy")
	}
	if f.src.AllowDirty {
		words = append(words, "--allow-dirty")
	}
	return shellJoin(append(words, "--yes"))
}

// shellJoin writes words as a command line for the user to paste into a
// POSIX shell, quoting each word that needs it. Every command line the
// CLI suggests is built with it, so that a DIR or a --rev with a space or
// a quote is pasted back as it was given.
func shellJoin(words []string) string {
	quoted := make([]string, len(words))
	for i, w := range words {
		quoted[i] = shellQuote(w)
	}
	return strings.Join(quoted, " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=@,+") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// preflight refuses, before the prompt and before any step, a plan whose
// pools cannot start where they go (a secret this machine cannot
// resolve) or would pass an account's limit (executor.Quotas), naming
// every one, so that apply changes nothing rather than failing halfway.
// A limit a cloud could not read is passed to warn.
func preflight(ctx context.Context, d *model.Desired, clouds cloud.Set, p *planner.Plan, warn func(string)) error {
	e := &executor.Executor{Clouds: clouds, Desired: d}
	err := e.Preflight(ctx, p)
	skipped, qerr := e.Quotas(ctx, p)
	for _, w := range skipped {
		warn(w)
	}
	if err = errors.Join(err, qerr); err == nil {
		return nil
	}
	lines := strings.Split(err.Error(), "\n")
	return fmt.Errorf("the plan's pools cannot start, so nothing was changed:\n  %s", strings.Join(lines, "\n  "))
}

// envScope maps the environments to apply to their clouds, checking that
// every --env names one.
func envScope(d *model.Desired, only []string) (map[string]string, error) {
	scope := map[string]string{}
	for _, name := range only {
		e, ok := d.Environments[name]
		if !ok {
			return nil, fmt.Errorf("environment %q is not in the spec; defined environments: %s", name, strings.Join(d.EnvNames(), ", "))
		}
		scope[name] = e.Cloud
	}
	if len(only) == 0 {
		for name, e := range d.Environments {
			scope[name] = e.Cloud
		}
	}
	return scope, nil
}

// planEnvs adds to scope the environments the plan's steps touch (an
// environment that left the spec, with --destroy).
func planEnvs(p *planner.Plan, scope map[string]string) map[string]string {
	out := map[string]string{}
	for _, s := range p.Steps {
		if s.Env != "" {
			if _, ok := scope[s.Env]; !ok {
				out[s.Env] = s.Cloud
			}
		}
	}
	return out
}

// stepEnvs says which environments' locks the apply still needs once it
// has a plan: those its steps touch. An environment in scope with no step
// is released; `after` adds no need, since a swap waits only for swaps in
// the plan, so an environment with none gives it nothing to wait for.
// Image prunes (steps of no environment, planned only for a whole-project
// apply) decide from the pools of every environment that no pool needs
// the image, so a plan with one keeps every lock.
func stepEnvs(p *planner.Plan) func(env string) bool {
	touched := map[string]bool{}
	for _, s := range p.Steps {
		if s.Env == "" && s.Kind == planner.Prune {
			return func(string) bool { return true }
		}
		touched[s.Env] = true
	}
	return func(env string) bool { return touched[env] }
}

// planApply observes the clouds under the locks and makes the plan, or
// reads the saved one and checks that it still holds.
func planApply(ctx context.Context, d *model.Desired, clouds cloud.Set, saved *planfile.File, f applyFlags) (*planner.Plan, *cloud.Live, error) {
	live, err := executor.Observe(ctx, clouds, d.Project)
	if err != nil {
		return nil, nil, err
	}
	if saved != nil {
		if err := planfile.Check(saved, d, live); err != nil {
			return nil, nil, fmt.Errorf("refusing saved plan %s: %w", f.planFile, err)
		}
		return saved.Plan, live, nil
	}
	opts := planOptions(f.envs, f.destroy, f.retryRejected)
	opts.Explain, opts.ExplainImage = history.Reasons(ctx, compileAt, f.src.Dir, d, live, f.envs)
	p, err := planner.Make(d, live, opts)
	if err != nil {
		return nil, nil, fmt.Errorf("planning: %w", err)
	}
	return p, live, nil
}

// confirm shows the plan (made by show only when there is someone to ask)
// and asks; without a terminal to ask on it refuses, naming the command
// to run instead (withYes).
func confirm(ctx context.Context, stdin io.Reader, stdout io.Writer, show func() *render.Doc, asJSON bool, withYes string) error {
	if asJSON || !tty.IsTerminal(stdout) || !isTerminalReader(stdin) {
		if withYes == "" {
			withYes = "phoenix apply --yes"
		}
		return fmt.Errorf("refusing to apply without --yes: there is no terminal to ask on (review with phoenix plan, then run %s)", withYes)
	}
	if err := render.Text(stdout, show(), render.TextOptions{Color: tty.Color(stdout)}); err != nil {
		return err
	}
	return ask(ctx, stdin, stdout)
}

// errNotApplied is the answer to anything but "yes" at the prompt.
var errNotApplied = withExitCode(exitError, errors.New("apply cancelled; nothing was changed"))

// ask asks whether to apply and waits for the answer or for ctx to end
// (Ctrl-C or SIGTERM: main's context), whichever comes first: the
// environments are locked while the question is open, so an interrupt
// must not wait for a line that will never come. The read goes on in a
// goroutine that an interrupt leaves blocked on stdin; the process exits
// soon after, so it is not worth more.
func ask(ctx context.Context, stdin io.Reader, stdout io.Writer) error {
	fmt.Fprint(stdout, "\nApply this plan? Only 'yes' is accepted: ")
	answer := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdin).ReadString('\n')
		answer <- line
	}()
	select {
	case line := <-answer:
		if strings.TrimSpace(line) != "yes" {
			return errNotApplied
		}
		return nil
	case <-ctx.Done():
		fmt.Fprintln(stdout) // end the prompt's line before the error
		return withExitCode(exitError, errors.New("apply cancelled by an interrupt at the prompt; nothing was changed"))
	}
}

func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && tty.IsTerminal(f)
}

// newView picks how progress is shown: JSON if asked, a live view on a
// terminal outside CI, plain timestamped lines otherwise.
func newView(w io.Writer, asJSON bool) progress.View {
	switch {
	case asJSON:
		return progress.New(w, progress.JSON, false)
	case tty.Live(w):
		return progress.New(w, progress.Live, tty.Color(w))
	default:
		return progress.New(w, progress.Plain, tty.Color(w))
	}
}

// execute runs the plan with the journal, the locks and signal handling:
// the first SIGINT or SIGTERM (or a lost lock) stops starting steps and
// lets those in flight finish; a second signal aborts them too.
func execute(ctx context.Context, view progress.View, held *executor.Held, applyID, owner string, d *model.Desired,
	clouds cloud.Set, live *cloud.Live, p *planner.Plan, f applyFlags) error {
	home := localHome()
	if err := local.EnsureHome(home); err != nil {
		return err
	}
	journal, err := executor.OpenJournal(home, applyID, owner)
	if err != nil {
		return err
	}
	defer journal.Close()

	// The walk's context ends on the first signal or a lost lock; the
	// steps' context only on a second signal.
	walkCtx, stopWalk := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWalk()
	stepCtx, abort := context.WithCancel(context.WithoutCancel(ctx))
	defer abort()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM) // as main's context
	defer signal.Stop(sigs)
	finished := make(chan struct{})
	defer close(finished)
	w := &interruptWatch{sigs: sigs, lost: held.Lost(), lostErr: held.Err, note: view.Note, stopWalk: stopWalk, abort: abort}
	go w.run(ctx, finished)

	ex := &executor.Executor{
		Clouds: clouds, Desired: d, Live: live, Hooks: executor.Multi(view, journal),
		Parallelism: f.parallelism, StepContext: stepCtx, CanaryHold: f.canaryHold, Locks: held,
		Limits:     map[planner.Kind]int{planner.Bake: f.maxBakes, planner.Create: f.maxCreates},
		StepSource: stepSource(ctx, f.src),
	}
	rep, err := ex.Apply(walkCtx, p)
	if err != nil {
		return err
	}
	if line := servingLine(p); rep.OK() && !f.json && line != "" {
		view.Note(line)
	}
	if err := rep.Err(); err != nil {
		return withExitCode(exitError, err)
	}
	return nil
}

// interruptWatch turns signals into the two stages of stopping: the first
// SIGINT or SIGTERM (or a lost lock) stops starting steps and lets the
// steps in flight finish; a second signal aborts those too. Signals are
// counted on sigs alone: main's context also ends on the first one.
type interruptWatch struct {
	sigs     <-chan os.Signal
	lost     <-chan struct{}
	lostErr  func() error
	note     func(string)
	stopWalk func() // stops starting steps
	abort    func() // cancels the steps in flight
	stopping bool
}

// run watches until finished is closed or the steps were aborted.
func (w *interruptWatch) run(ctx context.Context, finished <-chan struct{}) {
	done, lost := ctx.Done(), w.lost
	signals := 0
	for {
		select {
		case s := <-w.sigs:
			if signals++; signals > 1 {
				w.note(secondSignalNote(s))
				w.abort()
				return
			}
			w.stop(firstSignalNote(s))
		case <-done:
			done = nil
			// main's context ends on the signals sigs gets too, and
			// os/signal delivers to sigs first: name the signal if it is
			// there, and word the note for both if not.
			select {
			case s := <-w.sigs:
				signals++
				w.stop(firstSignalNote(s))
			default:
				w.stop(firstSignalNote(nil))
			}
		case <-lost:
			lost = nil
			w.stop(fmt.Sprintf("%v; starting no more steps", w.lostErr())) // "lock of ENV lost: …"
		case <-finished:
			return
		}
	}
}

// stop stops starting steps once, saying why.
func (w *interruptWatch) stop(msg string) {
	if !w.stopping {
		w.stopping = true
		w.note(msg)
		w.stopWalk()
	}
}

// firstSignalNote says what the first signal does (a canary in flight
// does not finish: the executor sends its traffic back at its next weight)
// and how to abort; it names Ctrl-C only when the signal was an interrupt
// (a SIGTERM comes from a CI runner or a process manager, where no one
// pressed a key).
func firstSignalNote(s os.Signal) string {
	const what = "starting no more steps; steps in flight will finish, except a canary, whose traffic goes back to the pool it replaced"
	switch s {
	case os.Interrupt:
		return "interrupt: " + what + " (Ctrl-C again to abort them)"
	case syscall.SIGTERM:
		return "terminated (SIGTERM): " + what + " (a second SIGTERM aborts them)"
	default:
		return "interrupt: " + what + " (Ctrl-C or SIGTERM again to abort them)"
	}
}

// secondSignalNote says that the steps in flight are being aborted.
func secondSignalNote(s os.Signal) string {
	const what = "aborting the steps in flight; run phoenix apply again to converge"
	if s == syscall.SIGTERM {
		return "second SIGTERM: " + what
	}
	return "second interrupt: " + what
}

// endpointURL is what a person opens for an endpoint: a URL for a local
// host:port, the address as it is otherwise (an AWS listener ARN).
func endpointURL(addr string) string {
	if strings.HasPrefix(addr, "arn:") || strings.Contains(addr, "://") {
		return addr
	}
	return "http://" + addr + "/"
}

// servingLine names the endpoints the apply moved traffic on.
func servingLine(p *planner.Plan) string {
	var eps []string
	for _, s := range p.Steps {
		if s.Kind == planner.Swap && s.Pool != "" && s.Endpoint != "" {
			eps = append(eps, fmt.Sprintf("%s/%s %s", s.Env, s.Role, endpointURL(s.Endpoint)))
		}
	}
	if len(eps) == 0 {
		return ""
	}
	sort.Strings(eps)
	eps = slices.Compact(eps)
	return "Serving: " + strings.Join(eps, "  ")
}

// readSavedPlan reads a plan saved by phoenix plan --out.
func readSavedPlan(path string, d *model.Desired) (*planfile.File, error) {
	f, err := planfile.Read(path)
	if err != nil {
		return nil, err
	}
	if f.Project != d.Project {
		return nil, fmt.Errorf("refusing saved plan %s: it was made for project %s, the spec is project %s", path, f.Project, d.Project)
	}
	return f, nil
}
