package executor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/phoenix-gitops/phoenix/dag"
)

// Status is what became of one node of a walk.
type Status int

const (
	// NotStarted: the walk stopped (context cancelled) before the node ran.
	NotStarted Status = iota
	// Done: the node ran and succeeded.
	Done
	// Failed: the node ran and returned an error.
	Failed
	// Skipped: a node it waits for failed (or was skipped), so it never ran.
	Skipped
)

func (s Status) String() string {
	switch s {
	case Done:
		return "done"
	case Failed:
		return "failed"
	case Skipped:
		return "skipped"
	default:
		return "not started"
	}
}

// Outcome is the fate of one node.
type Outcome[K cmp.Ordered] struct {
	Status Status
	Err    error // for Failed
	// Cause is the failed node that made this one Skipped (the root cause,
	// not merely the nearest skipped ancestor).
	Cause      K
	Start, End time.Time // zero unless the node ran
}

// Duration is how long the node ran.
func (o *Outcome[K]) Duration() time.Duration { return o.End.Sub(o.Start) }

// WalkOptions steer a walk. The zero value runs up to 16 nodes at once.
type WalkOptions[K cmp.Ordered] struct {
	// Parallelism bounds how many nodes run at once (default 16).
	Parallelism int
	// Class groups nodes for Limits (e.g. the step kind); nil puts every
	// node in class "".
	Class func(K) string
	// Limits bounds how many nodes of a class run at once; a class that is
	// absent or <= 0 is bounded only by Parallelism.
	Limits map[string]int
	// Cost estimates a node's duration in any unit; among ready nodes the
	// walker starts first those with the longest estimated path to the end
	// of the graph, so limits delay the critical path least. Nil means 1.
	Cost func(K) float64
	// StepContext is the context nodes run with. Cancelling the walk's own
	// context only stops new nodes from starting; in-flight nodes keep
	// StepContext (default: the walk's context without its cancellation),
	// so they finish or undo themselves instead of being torn mid-action.
	StepContext context.Context
	// OnStart is called when a node starts, OnEnd when it ends in any
	// status (Skipped and NotStarted included). Calls may be concurrent.
	OnStart func(K)
	OnEnd   func(K, *Outcome[K])
}

// Result is the outcome of a whole walk.
type Result[K cmp.Ordered] struct {
	// Order lists the nodes in dag's one topological order (insertion
	// order among ready nodes): a plan's own step order, for a plan.
	Order    []K
	Outcomes map[K]*Outcome[K]
	// Stopped is true when the context was cancelled before every node ran.
	Stopped bool
	// Makespan is the wall time from the first start to the last end.
	Makespan time.Duration
	// CriticalPath is the longest chain of dependent nodes by their actual
	// durations: the least time any walker could have taken.
	CriticalPath time.Duration
}

// Count returns how many nodes ended with status s.
func (r *Result[K]) Count(s Status) int {
	n := 0
	for _, o := range r.Outcomes {
		if o.Status == s {
			n++
		}
	}
	return n
}

// With returns the nodes that ended with status s, in topological order.
func (r *Result[K]) With(s Status) []K {
	var out []K
	for _, k := range r.Order {
		if r.Outcomes[k].Status == s {
			out = append(out, k)
		}
	}
	return out
}

// OK reports whether every node ran and succeeded.
func (r *Result[K]) OK() bool { return r.Count(Done) == len(r.Order) }

// Walk runs every node of g with run, each as soon as all the nodes it
// waits for are Done: there are no waves or barriers. A node whose run
// fails marks its descendants Skipped; independent branches carry on. It
// returns an error only if g is not a DAG (or names unknown nodes); the
// fate of every node is in the Result.
func Walk[K cmp.Ordered](ctx context.Context, g *dag.Graph[K], run func(context.Context, K) error, opts WalkOptions[K]) (*Result[K], error) {
	w, err := newWalker(g, opts)
	if err != nil {
		return nil, err
	}
	w.stepCtx = opts.StepContext
	if w.stepCtx == nil {
		w.stepCtx = context.WithoutCancel(ctx)
	}
	w.run = run
	w.ctx = ctx
	return w.walk(ctx), nil
}

// walker is the state of one walk. Nodes are indexed by their position in
// a topological order. All scheduling state (ready sets, counts, resolved
// nodes) belongs to the coordinator, the goroutine that called Walk; the
// steps run in an errgroup.Group and talk to it over a channel, so there is
// no lock and the walker's own cost stays in microseconds per node.
type walker[K cmp.Ordered] struct {
	opts    WalkOptions[K]
	graph   *dag.Indexed // nodes numbered by topological position
	keys    []K
	class   []int32 // index into limits
	rank    []float64
	ctx     context.Context // the walk's: once done, nothing more starts
	stepCtx context.Context
	run     func(context.Context, K) error

	// Coordinator state.
	waiting  []int32     // unfinished dependencies per node
	resolved []bool      // ended in any status, or decided (skipped)
	ready    []*dag.Heap // per class, ordered by before
	running  []int       // per class
	limits   []int       // per class, 0 = none
	inFlight int         // workers started and not yet freed
	left     int         // nodes not yet resolved
	stopped  bool

	// outcomes[i] is written by the coordinator before node i starts
	// (Start) or when it is skipped, and by node i's worker when it ends;
	// each hand-over goes through events, so the writes never race.
	outcomes []Outcome[K]
	events   chan event
}

// event is a worker's message to the coordinator. A node that succeeds
// sends one (evDone); a node that fails sends evFailed, waits on reply for
// the descendants it skipped, reports them, then sends evFreed.
type event struct {
	i     int32
	kind  eventKind
	reply chan []int32
}

type eventKind uint8

const (
	evDone   eventKind = iota // succeeded and reported: release users, free the slot
	evFailed                  // failed and reported: skip descendants, free the class slot
	evFreed                   // a failed node's skipped descendants are reported: free the slot
)

// newWalker indexes g: nodes numbered by their position in dag's one
// topological order (insertion order among ready nodes, as g.TopoSort),
// with classes and ranks.
func newWalker[K cmp.Ordered](g *dag.Graph[K], opts WalkOptions[K]) (*walker[K], error) {
	x, err := g.Index()
	if err != nil {
		return nil, err
	}
	topo, ok := x.Order(nil)
	if !ok {
		if _, err = g.TopoSort(); err == nil { // names the cycle
			err = errors.New("graph is not a DAG")
		}
		return nil, err
	}
	nodes := g.Nodes()
	n := len(nodes)
	if opts.Parallelism <= 0 {
		opts.Parallelism = 16
	}
	w := &walker[K]{
		opts: opts, graph: x.Renumber(topo), keys: make([]K, n),
		class: make([]int32, n), rank: make([]float64, n),
		waiting: make([]int32, n), resolved: make([]bool, n),
		outcomes: make([]Outcome[K], n), left: n,
		events: make(chan event, opts.Parallelism),
	}
	for p, i := range topo {
		w.keys[p] = nodes[i]
		w.waiting[p] = int32(len(w.graph.Deps(int32(p))))
	}
	w.classify()
	w.rankNodes()
	return w, nil
}

// classify puts every node in its class, with the class's limit and
// ready heap.
func (w *walker[K]) classify() {
	classes := map[string]int32{}
	for p, k := range w.keys {
		c := ""
		if w.opts.Class != nil {
			c = w.opts.Class(k)
		}
		ci, ok := classes[c]
		if !ok {
			ci = int32(len(classes))
			classes[c] = ci
			w.limits = append(w.limits, w.opts.Limits[c])
		}
		w.class[p] = ci
	}
	w.ready = make([]*dag.Heap, len(classes))
	w.running = make([]int, len(classes))
	for i := range w.ready {
		w.ready[i] = dag.NewHeap(w.before)
	}
}

// rankNodes sets each node's rank: the longest estimated path from it to
// the end, computed in reverse topological order.
func (w *walker[K]) rankNodes() {
	for i := len(w.keys) - 1; i >= 0; i-- {
		c := 1.0
		if w.opts.Cost != nil {
			c = w.opts.Cost(w.keys[i])
		}
		best := 0.0
		for _, u := range w.graph.Users(int32(i)) {
			best = max(best, w.rank[u])
		}
		w.rank[i] = c + best
	}
}

// before orders ready nodes: longest remaining path first, then
// topological position.
func (w *walker[K]) before(a, b int32) bool {
	if w.rank[a] != w.rank[b] {
		return w.rank[a] > w.rank[b]
	}
	return a < b
}

// walk is the coordinator: it starts ready nodes in an errgroup bounded by
// Parallelism (a plain Group: one failure must not cancel the others, and
// workers return nil because a step's error is its outcome, not the
// walk's), and turns the workers' events into released, skipped or freed
// nodes until nothing runs and nothing more can start.
//
// It never calls g.Go from a worker (a worker holding a slot would wait
// for another slot) and calls it only while inFlight < Parallelism: the
// slots in use are then those of inFlight workers plus those of workers
// that sent their last event and are returning, so g.Go waits at most for
// a return already under way.
func (w *walker[K]) walk(ctx context.Context) *Result[K] {
	var g errgroup.Group
	g.SetLimit(w.opts.Parallelism)
	for i := range w.keys {
		if w.waiting[i] == 0 {
			w.push(int32(i))
		}
	}
	cancelled := ctx.Done()
	for {
		w.dispatch(&g)
		if w.inFlight == 0 {
			break // everything resolved, or stopped with nothing running
		}
		select {
		case ev := <-w.events:
			w.handle(ev)
		case <-cancelled:
			cancelled = nil
			w.stopped = true
		}
	}
	_ = g.Wait() // workers return nil; this waits for the last returns
	return w.result()
}

// push marks node i ready.
func (w *walker[K]) push(i int32) { w.ready[w.class[i]].Push(i) }

// dispatch starts ready nodes, longest remaining path first, while the
// global and per-class limits allow and the walk's context is live.
func (w *walker[K]) dispatch(g *errgroup.Group) {
	if w.ctx.Err() != nil {
		w.stopped = true
	}
	for !w.stopped && w.inFlight < w.opts.Parallelism {
		best := int32(-1)
		for c := range w.ready {
			h := w.ready[c]
			if h.Len() == 0 || (w.limits[c] > 0 && w.running[c] >= w.limits[c]) {
				continue
			}
			if best < 0 || w.before(h.Peek(), best) {
				best = h.Peek()
			}
		}
		if best < 0 {
			return
		}
		w.ready[w.class[best]].Pop()
		w.running[w.class[best]]++
		w.inFlight++
		w.outcomes[best].Start = time.Now()
		g.Go(func() error {
			w.exec(best)
			return nil
		})
	}
}

// handle applies one worker event to the coordinator's state.
func (w *walker[K]) handle(ev event) {
	i := ev.i
	switch ev.kind {
	case evDone:
		w.end(i)
		w.inFlight--
		// The node's end was reported before this event was sent: a
		// step's "done" is always told before the steps waiting for it
		// say "started".
		for _, u := range w.graph.Users(i) {
			w.waiting[u]--
			if w.waiting[u] == 0 && !w.resolved[u] {
				w.push(u)
			}
		}
	case evFailed:
		w.end(i)
		ev.reply <- w.skipFrom(i, w.keys[i])
	case evFreed:
		w.inFlight--
	}
}

// end resolves node i, which ran, and frees its class slot.
func (w *walker[K]) end(i int32) {
	w.resolved[i] = true
	w.left--
	w.running[w.class[i]]--
}

// exec runs node i in a worker, reports its end and tells the coordinator.
func (w *walker[K]) exec(i int32) {
	k := w.keys[i]
	if w.opts.OnStart != nil {
		w.opts.OnStart(k)
	}
	err := w.safeRun(k)
	o := &w.outcomes[i]
	o.End = time.Now()
	o.Status, o.Err = Done, err
	if err != nil {
		o.Status = Failed
	}
	out := *o
	w.emit(i, &out)
	if err == nil {
		w.events <- event{i: i, kind: evDone}
		return
	}
	reply := make(chan []int32, 1)
	w.events <- event{i: i, kind: evFailed, reply: reply}
	for _, s := range <-reply {
		w.emit(s, &w.outcomes[s]) // skipped outcomes no longer change
	}
	w.events <- event{i: i, kind: evFreed}
}

// safeRun runs node k, turning a panic into its failure: one broken step
// must not tear down the steps in flight beside it.
func (w *walker[K]) safeRun(k K) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	return w.run(w.stepCtx, k)
}

// skipFrom marks every unresolved descendant of failed node i Skipped with
// cause k, in the coordinator.
func (w *walker[K]) skipFrom(i int32, cause K) []int32 {
	var out []int32
	stack := []int32{i}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, u := range w.graph.Users(n) {
			if w.resolved[u] {
				continue
			}
			w.resolved[u] = true
			w.left--
			w.outcomes[u] = Outcome[K]{Status: Skipped, Cause: cause}
			out = append(out, u)
			stack = append(stack, u)
		}
	}
	return out
}

// emit reports an ended node to OnEnd, from a worker.
func (w *walker[K]) emit(i int32, o *Outcome[K]) {
	if w.opts.OnEnd != nil {
		w.opts.OnEnd(w.keys[i], o)
	}
}

func (w *walker[K]) result() *Result[K] {
	r := &Result[K]{Order: w.keys, Outcomes: make(map[K]*Outcome[K], len(w.keys)), Stopped: w.stopped && w.left > 0}
	var first, last time.Time
	finish := make([]time.Duration, len(w.keys))
	for i, k := range w.keys {
		o := &w.outcomes[i]
		r.Outcomes[k] = o
		if o.Start.IsZero() {
			if o.Status == NotStarted && w.opts.OnEnd != nil {
				w.opts.OnEnd(k, o)
			}
			continue
		}
		if first.IsZero() || o.Start.Before(first) {
			first = o.Start
		}
		if o.End.After(last) {
			last = o.End
		}
		var before time.Duration
		for _, d := range w.graph.Deps(int32(i)) {
			before = max(before, finish[d])
		}
		finish[i] = before + o.Duration()
		r.CriticalPath = max(r.CriticalPath, finish[i])
	}
	if !first.IsZero() {
		r.Makespan = last.Sub(first)
	}
	return r
}
