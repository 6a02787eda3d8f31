package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/gitspec"
	"github.com/phoenix-gitops/phoenix/model"
	"github.com/phoenix-gitops/phoenix/planner"
	"github.com/phoenix-gitops/phoenix/render"
	"github.com/phoenix-gitops/phoenix/specdiff"
)

// historyOptions are the inputs of `phoenix history`.
type historyOptions struct {
	Env     string
	Dir     string
	Rev     string // where the walk starts
	Limit   int    // how many changes to show
	Offline bool
	Now     time.Time // ages are measured against it; zero: the clock
}

// History is what `phoenix history` reports, newest change first.
type History struct {
	Env     string          `json:"env"`
	Dir     string          `json:"dir"`
	Start   string          `json:"start"`
	Changes []HistoryChange `json:"changes"`
	// Live is false with --offline: pool states are unknown.
	Live bool `json:"live"`
	// Notes say where the walk stopped early (a shallow clone) and which
	// commits were skipped because their spec does not compile.
	Notes []string `json:"notes,omitempty"`
	// Simulation is true when the live state came from the in-memory
	// simulation (PHOENIX_CLOUD_OVERRIDE=memory): nothing in it is real.
	Simulation bool `json:"simulation,omitempty"`
}

// HistoryChange is one commit that changed what runs in the environment.
type HistoryChange struct {
	Commit  string        `json:"commit"`
	When    time.Time     `json:"when"`
	Author  string        `json:"author"`
	Subject string        `json:"subject"`
	Event   string        `json:"event,omitempty"` // "environment added" / "environment removed"
	Roles   []HistoryRole `json:"roles"`
	// Back says what returning the environment to this commit's spec
	// takes, as the planner decides it: "current" (it serves now), "swap"
	// (an instant rollback: swaps to retained pools only), "release"
	// (swaps to existing pools, but not an instant rollback: a canary
	// walks, or a cold serving pool starts), "rebuild" (bake and create),
	// or "unknown" without the live cloud.
	Back string `json:"back"`
}

// HistoryRole is the desired pool of one role at the commit and the live
// pool that has its key, if any.
type HistoryRole struct {
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

func newHistoryCmd(cl *clouds) *cobra.Command {
	var o historyOptions
	var format string
	cmd := &cobra.Command{
		Use:   "history --env NAME [DIR]",
		Short: "The commits that changed what runs in an environment, and which reverts are instant swaps",
		Long: `History walks first-parent history from HEAD (or --rev) and lists, newest
first, the commits that changed the pools of one environment: for each,
the pool every changed role got, whether that pool still exists in the
live cloud (serving, retained warm or cold, or gone), and what going back
to that commit takes, exactly as phoenix plan --rev COMMIT --env ENV
would plan it against the live state now: nothing (serving now), a swap
(an instant rollback to retained pools), a release (existing pools, but
no instant rollback: a canary walks) or a rebuild (a retained pool that
drifted, aged past maxAge, lost servers or predates a rebake is not
reused; a "plan:" line says why).

It compares the spec directory's tree hash between commits and compiles
only the commits where the spec changed, so long histories are cheap.
In a shallow clone it stops where history is cut off and says how to
deepen it.`,
		Example: `  phoenix history --env prod
  phoenix history --env prod --offline --limit 5    from git alone
  phoenix history --env staging --format json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if o.Env == "" {
				return errors.New("history needs --env NAME" + envChoices(cmd.Context(), specSource{Dir: specDir(args), Rev: o.Rev}))
			}
			if format != "text" && format != "json" {
				return fmt.Errorf("unknown --format %q: use text, json", format)
			}
			o.Dir = specDir(args)
			h, err := computeHistory(cmd.Context(), o, cl.openReadOnly)
			if err != nil {
				return err
			}
			if format == "json" {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(h)
			}
			writeHistoryText(cmd.OutOrStdout(), h)
			return nil
		},
	}
	cmd.Flags().StringVar(&o.Env, "env", "", "the environment (required)")
	cmd.Flags().StringVar(&o.Rev, "rev", "HEAD", "start the walk at this revision")
	cmd.Flags().IntVar(&o.Limit, "limit", 20, "show at most this many changes")
	cmd.Flags().BoolVar(&o.Offline, "offline", false, "do not read the live cloud (pool states unknown)")
	cmd.Flags().StringVar(&format, "format", "text", "output format: text or json")
	return cmd
}

// envChoices names the environments of the spec at src, to follow "needs
// --env NAME" (": one of ci, prod, staging"); "" when the spec does not
// compile there, as the bare message is still right.
func envChoices(ctx context.Context, src specSource) string {
	d, err := loadSpec(ctx, src)
	if err != nil || len(d.EnvNames()) == 0 {
		return ""
	}
	return ": one of " + strings.Join(d.EnvNames(), ", ")
}

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
	rel, dir string
	env      string
	changes  []gitspec.SpecCommit
	results  []envSpec
	done     []bool
	batch    int
}

func newSpecCompiler(repo *gitspec.Repo, rel, dir, env string, changes []gitspec.SpecCommit) *specCompiler {
	return &specCompiler{repo: repo, rel: rel, dir: dir, env: env, changes: changes,
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
				sc.results[j] = sc.compile(ctx, sc.changes[j])
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

func (sc *specCompiler) compile(ctx context.Context, c gitspec.SpecCommit) envSpec {
	if c.Spec.IsZero() {
		return envSpec{}
	}
	d, err := compileAt(ctx, sc.repo, c.Commit, sc.rel, sc.dir)
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

// computeHistory lists the changes of o.Env, newest first.
func computeHistory(ctx context.Context, o historyOptions, open cloudOpener) (*History, error) {
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
	h := &History{Env: o.Env, Dir: rel, Start: start.Hash.String(), Changes: []HistoryChange{}}
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
	sc := newSpecCompiler(repo, rel, o.Dir, o.Env, changes)
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
		h.Notes = append(h.Notes, fmt.Sprintf("%s whose spec does not compile skipped", countOf(broken, "commit")))
	}
	if newest == nil && len(h.Changes) == 0 {
		if err := unknownEnv(ctx, repo, start, rel, o.Dir, o.Env); err != nil {
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
	h.Simulation = simulated(clouds)
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	markLive(h, specs, live, now)
	return h, nil
}

// unknownEnv says so when env is not in the spec at start: a typo'd --env
// is an error, not an empty history. An environment that left the spec
// has a history (its removal), so this is asked only when none was found.
func unknownEnv(ctx context.Context, repo *gitspec.Repo, start *gitspec.Commit, rel, dir, env string) error {
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
func envChange(env string, c *gitspec.Commit, prev, cur *model.Desired) (HistoryChange, bool) {
	before, after := envPools(prev, env), envPools(cur, env)
	hc := HistoryChange{Commit: c.Hash.String(), When: c.When, Author: c.Author, Subject: c.Subject}
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
		r := HistoryRole{Role: role, Key: p.Key}
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
			hc.Roles = append(hc.Roles, HistoryRole{Role: role, Changed: true, Why: "role left this environment"})
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

// markLive says, for every change, what going back to its spec takes, as
// the planner decides it (see judgeChange), and shows for every role the
// live pool that decision rests on. A change whose spec the planner
// rejects gets "unknown" and a note.
func markLive(h *History, specs []*model.Desired, live *cloud.Live, now time.Time) {
	serving := servingIn(live, h.Env)
	for i := range h.Changes {
		hc := &h.Changes[i]
		if hc.Event == "environment removed" || specs[i] == nil {
			hc.Back = "rebuild"
			continue
		}
		if err := judgeChange(hc, specs[i], live, h.Env, now, serving); err != nil {
			hc.Back = "unknown"
			h.Notes = append(h.Notes, fmt.Sprintf("%s: %v", shortID(hc.Commit), err))
		}
	}
}

// servingIn is the set of pools that the endpoints of env route to.
func servingIn(live *cloud.Live, env string) map[string]bool {
	serving := map[string]bool{}
	for _, e := range live.Endpoints {
		if e.Env != env {
			continue
		}
		for _, id := range e.Serving() {
			serving[id] = true
		}
	}
	return serving
}

// judgeChange asks the planner what planning d (the spec at the change's
// commit) against live would do for each role of env, so that history
// never promises an instant swap where plan would bake and create: the
// rules (drift, maxAge, rebaked images, short or unhealthy pools, which
// generation, canary or rollback) live in the planner alone.
func judgeChange(hc *HistoryChange, d *model.Desired, live *cloud.Live, env string, now time.Time, serving map[string]bool) error {
	opts := planOptions([]string{env}, false, false)
	opts.Now = now
	ds, err := planner.Decide(d, live, opts)
	if err != nil {
		return fmt.Errorf("planning: %w", err)
	}
	byRole := make(map[string]planner.Decision, len(ds))
	for _, dc := range ds {
		byRole[dc.Role] = dc
	}
	var judged []planner.Decision
	for j := range hc.Roles {
		r := &hc.Roles[j]
		dc, ok := byRole[r.Role]
		if r.Key == "" || !ok {
			continue
		}
		judged = append(judged, dc)
		showPool(r, hc.Commit, dc, live.Pools, env, serving)
		if (dc.Verdict == planner.Build && r.Pool != "") || (dc.Verdict == planner.Reuse && !dc.Instant) {
			r.Plan = dc.Reason // a pool with the key is there, yet not reused, or not at once: why
		}
	}
	hc.Back = backOf(judged)
	return nil
}

// backOf sums up the decisions of a change's roles: "current" when every
// role keeps its serving pool, "rebuild" when one is created, "swap" when
// the others are all instant rollbacks, and "release" when a swap to an
// existing pool is not.
func backOf(ds []planner.Decision) string {
	back := "current"
	for _, dc := range ds {
		switch {
		case dc.Verdict == planner.Build:
			return "rebuild"
		case dc.Verdict == planner.Reuse && !dc.Instant:
			back = "release"
		case dc.Verdict == planner.Reuse && back == "current":
			back = "swap"
		}
	}
	return back
}

// showPool fills in the live pool a role's decision rests on, for display:
// the pool kept or swapped to, or for a build the newest live pool with
// the key (it exists, but the planner does not reuse it), if any.
func showPool(r *HistoryRole, commit string, dc planner.Decision, pools []cloud.Pool, env string, serving map[string]bool) {
	var p *cloud.Pool
	for i := range pools {
		q := &pools[i]
		if q.Env != env || q.Role != r.Role || q.Key != r.Key {
			continue
		}
		if dc.Verdict != planner.Build && q.ID == dc.Pool {
			p = q
			break
		}
		if dc.Verdict == planner.Build && (p == nil || q.Generation > p.Generation) {
			p = q
		}
	}
	if p == nil {
		r.State = "gone"
		return
	}
	r.Pool = p.ID
	r.State = poolState(p, serving[p.ID])
	if p.Commit != "" && !strings.HasPrefix(commit, strings.TrimSuffix(p.Commit, dirtySuffix)) {
		r.MadeAt = shortID(p.Commit)
	}
}

func poolState(p *cloud.Pool, isServing bool) string {
	switch {
	case isServing:
		return "serving"
	case p.State == cloud.PoolReady && p.Healthy:
		return "retained (warm)"
	case p.State == cloud.PoolCold:
		return "retained (cold)"
	case p.State == cloud.PoolReady:
		return "unhealthy"
	}
	return string(p.State)
}

func writeHistoryText(w io.Writer, h *History) {
	fmt.Fprintf(w, "History of %s · spec %s · from %s · %s (newest first)\n", h.Env, dirLabel(orRoot(h.Dir)), shortID(h.Start),
		countOf(len(h.Changes), "change"))
	if len(h.Changes) == 0 {
		fmt.Fprintf(w, "\nNo commit in reach changed what runs in %s.\n", h.Env)
	}
	// One line per commit, then one per role it changed, aligned across
	// the whole listing.
	var wr, wp, ws int
	for _, c := range h.Changes {
		for _, r := range c.Roles {
			wr, wp, ws = max(wr, len(r.Role)), max(wp, len(rolePool(r))), max(ws, len(r.State))
		}
	}
	for _, c := range h.Changes {
		subject := c.Subject
		if c.Event != "" {
			subject = c.Event + ": " + subject
		}
		fmt.Fprintf(w, "\n%s  %s  %-15s  %s (%s)\n", shortID(c.Commit), c.When.UTC().Format("2006-01-02"), backLabel(c.Back), subject, c.Author)
		for _, r := range c.Roles {
			if !r.Changed && r.Plan == "" {
				continue
			}
			state := r.State
			if state == "" {
				state = "-"
			}
			line := fmt.Sprintf("    %-*s  %-*s  %-*s  %s", wr, r.Role, wp, rolePool(r), ws, state, r.Why)
			fmt.Fprintln(w, strings.TrimRight(line, " "))
			if r.Plan != "" {
				fmt.Fprintf(w, "    %-*s  plan: %s\n", wr, "", r.Plan)
			}
		}
	}
	if h.Live && len(h.Changes) > 0 {
		writeHistoryFooter(w, h.Changes)
	}
	for _, n := range h.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

// writeHistoryFooter says in a sentence which states are an instant swap
// away. The newest change may not be applied yet: applying it is then the
// first thing to say.
func writeHistoryFooter(w io.Writer, changes []HistoryChange) {
	fmt.Fprintln(w)
	older := changes
	if newest := changes[0]; newest.Back != "current" {
		how := "creates new pools (baking only images whose inputs changed)"
		switch newest.Back {
		case "swap":
			how = "is a swap (instant)"
		case "release":
			how = "reuses existing pools, but not as an instant rollback (see plan: above)"
		}
		switch failed := failedPools(newest); {
		case len(failed) > 0: // so a rebuild, never a swap
			fmt.Fprintf(w, "%s is not serving: its apply failed (%s; phoenix status says why); applying it again %s.\n",
				shortID(newest.Commit), strings.Join(failed, ", "), how)
		case serves(newest):
			fmt.Fprintf(w, "%s serves now, but the plan does not keep all of its pools (see plan: above): applying it again %s.\n",
				shortID(newest.Commit), how)
		default:
			fmt.Fprintf(w, "%s is not applied yet: applying it %s.\n", shortID(newest.Commit), how)
		}
		older = changes[1:]
	}
	var swaps, releases []string
	rebuilds := 0
	for _, c := range older {
		switch c.Back {
		case "swap":
			swaps = append(swaps, shortID(c.Commit))
		case "release":
			releases = append(releases, shortID(c.Commit))
		case "rebuild":
			rebuilds++
		}
	}
	if len(swaps) > 0 {
		fmt.Fprintf(w, "Rollback is a swap (instant) to: %s. Revert the commits after it; the plan shows swaps only.\n", strings.Join(swaps, ", "))
	}
	if len(releases) > 0 {
		fmt.Fprintf(w, "Going back to %s reuses existing pools, but not as an instant rollback (see plan: above).\n", strings.Join(releases, ", "))
	}
	if len(swaps)+len(releases) == 0 && rebuilds > 0 {
		fmt.Fprintln(w, "No older pool can be reused: going back to any of these commits rebuilds.")
	}
}

// serves reports whether every role the change changed is served by the
// pool it made: the change was applied, though the plan would not leave
// it as it is (a drifted or aged serving pool is replaced).
func serves(c HistoryChange) bool {
	changed := 0
	for _, r := range c.Roles {
		if !r.Changed || r.Key == "" {
			continue
		}
		if r.State != "serving" {
			return false
		}
		changed++
	}
	return changed > 0
}

// failedPools names the failed pools of a change: a commit whose pools
// failed was applied, so "not applied yet" would send the user to apply
// it again unaware that it fails.
func failedPools(c HistoryChange) []string {
	var out []string
	for _, r := range c.Roles {
		if r.State == "failed" && r.Pool != "" {
			out = append(out, render.Short(r.Pool)+" failed")
		}
	}
	return out
}

func rolePool(r HistoryRole) string {
	if r.Pool == "" {
		return "-"
	}
	p := render.Short(r.Pool)
	if r.MadeAt != "" {
		p += " (made at " + r.MadeAt + ")"
	}
	return p
}

func backLabel(b string) string {
	switch b {
	case "current":
		return "serving now"
	case "swap":
		return "swap (instant)"
	case "rebuild":
		return "rebuild"
	case "release":
		return "swap (release)"
	}
	return "(live unknown)"
}
