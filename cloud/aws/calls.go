package aws

import (
	"context"
	"sort"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

// CallCounter counts the AWS API calls made through a config, by
// "Service.Operation". Retries of one call count once: it is the first
// step of Finalize, before the retry loop. It is how the cost of a plan is
// measured.
//
// Calls of some kinds are counted apart from the rest (Apart), as the
// context they were made with says (countedAs): a waiter's polls
// (WaiterPolls), as many as the wait lasts, and a prune's second look
// (SecondLook), which an emulator may take where AWS does not.
type CallCounter struct {
	mu    sync.Mutex
	calls map[string]map[string]int // kind ("" for the rest) -> op -> calls
}

// Kinds of calls counted apart.
const (
	// WaiterPolls are the calls an SDK waiter makes while it waits (a
	// target group's health, a group's deletion, an image, a builder):
	// how many depends on how long the wait lasts, not on Phoenix.
	WaiterPolls = "waiter polls"
	// SecondLook is what a prune reads once the pool's own listener rule
	// is gone and its target group is still attached to a load balancer
	// (TargetGroup.LoadBalancerArns): the rules of every listener of that
	// load balancer, to see whether something else routes to the pool.
	// AWS takes it only while something does (or before it has caught up
	// with the rule's deletion); moto always, since it never clears
	// LoadBalancerArns.
	SecondLook = "prune's second look"
)

type kindKey struct{}

// countedAs marks the calls made with ctx as of kind, for CallCounter.
func countedAs(ctx context.Context, kind string) context.Context {
	return context.WithValue(ctx, kindKey{}, kind)
}

// CountCalls installs a counter on cfg; clients made from cfg afterwards
// report to it.
func CountCalls(cfg *aws.Config) *CallCounter {
	cc := &CallCounter{calls: map[string]map[string]int{}}
	cfg.APIOptions = append(cfg.APIOptions, func(st *middleware.Stack) error {
		return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("PhoenixCallCounter",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				kind, _ := ctx.Value(kindKey{}).(string)
				cc.add(kind, awsmw.GetServiceID(ctx)+"."+awsmw.GetOperationName(ctx))
				return next.HandleFinalize(ctx, in)
			}), middleware.Before)
	})
	return cc
}

func (cc *CallCounter) add(kind, op string) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if cc.calls[kind] == nil {
		cc.calls[kind] = map[string]int{}
	}
	cc.calls[kind][op]++
}

// Total returns the number of calls so far, but those counted apart.
func (cc *CallCounter) Total() int {
	return sum(cc.Calls())
}

// Calls returns the calls so far by operation, sorted by name, but those
// counted apart.
func (cc *CallCounter) Calls() []OpCount {
	return cc.Apart("")
}

// Apart returns the calls of a kind counted apart (WaiterPolls,
// SecondLook) by operation, sorted by name.
func (cc *CallCounter) Apart(kind string) []OpCount {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	out := make([]OpCount, 0, len(cc.calls[kind]))
	for k, v := range cc.calls[kind] {
		out = append(out, OpCount{Op: k, N: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Op < out[j].Op })
	return out
}

// Reset forgets the calls counted so far.
func (cc *CallCounter) Reset() {
	cc.mu.Lock()
	cc.calls = map[string]map[string]int{}
	cc.mu.Unlock()
}

// OpCount is one operation and how often it was called.
type OpCount struct {
	Op string
	N  int
}

// sum adds up the calls of ops.
func sum(ops []OpCount) int {
	n := 0
	for _, o := range ops {
		n += o.N
	}
	return n
}
