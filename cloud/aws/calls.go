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
// step of Finalize, before the retry loop. It is how the cost of a plan is measured.
type CallCounter struct {
	mu    sync.Mutex
	calls map[string]int
}

// CountCalls installs a counter on cfg; clients made from cfg afterwards
// report to it.
func CountCalls(cfg *aws.Config) *CallCounter {
	cc := &CallCounter{calls: map[string]int{}}
	cfg.APIOptions = append(cfg.APIOptions, func(st *middleware.Stack) error {
		return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("PhoenixCallCounter",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				cc.add(awsmw.GetServiceID(ctx) + "." + awsmw.GetOperationName(ctx))
				return next.HandleFinalize(ctx, in)
			}), middleware.Before)
	})
	return cc
}

func (cc *CallCounter) add(op string) {
	cc.mu.Lock()
	cc.calls[op]++
	cc.mu.Unlock()
}

// Total returns the number of calls so far.
func (cc *CallCounter) Total() int {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	n := 0
	for _, v := range cc.calls {
		n += v
	}
	return n
}

// Calls returns the calls so far by operation, sorted by name.
func (cc *CallCounter) Calls() []OpCount {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	out := make([]OpCount, 0, len(cc.calls))
	for k, v := range cc.calls {
		out = append(out, OpCount{Op: k, N: v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Op < out[j].Op })
	return out
}

// Reset forgets the calls counted so far.
func (cc *CallCounter) Reset() {
	cc.mu.Lock()
	cc.calls = map[string]int{}
	cc.mu.Unlock()
}

// OpCount is one operation and how often it was called.
type OpCount struct {
	Op string
	N  int
}
