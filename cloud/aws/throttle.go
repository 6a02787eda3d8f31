package aws

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go/middleware"
)

// Throttle safety
//
// AWS throttles per account and region, in token buckets shared by every
// client of the account: a fleet's worth of describes from one plan, or
// a release next to another team's deploy, empties them. Phoenix paces
// its own calls below the documented rates (a client-side token bucket
// per service and kind of call, rates.go), so that it does not provoke
// throttling, and retries what is throttled anyway where it happened: the
// one call or page, with the SDK's adaptive mode (which slows down after
// throttles), many attempts, and no retry quota, so that one throttled
// page never fails a whole Observe or step.

// Rate is a token bucket: Burst calls at once, then PerSecond a second.
type Rate struct {
	Burst     int
	PerSecond float64
}

// DefaultMaxAttempts is how often one call is tried before its error is
// returned (the SDK's default is 3, too few for a throttled fleet).
const DefaultMaxAttempts = 10

// throttled returns a copy of cfg whose clients retry throttling and
// transient errors per call in the SDK's adaptive mode, and, unless
// opt.NoRateLimit, wait for a token of their bucket before every attempt.
func throttled(cfg aws.Config, opt Options) aws.Config {
	out := cfg.Copy()
	out.Retryer = func() aws.Retryer {
		return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
			o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
				so.MaxAttempts = opt.MaxAttempts
				so.MaxBackoff = opt.MaxBackoff
				so.RateLimiter = ratelimit.None
			})
		})
	}
	if !opt.NoRateLimit {
		lim := newLimiters(opt.Rates)
		out.APIOptions = append(append([]func(*middleware.Stack) error(nil), out.APIOptions...), lim.install)
	}
	return out
}

// limiters are the token buckets of one cloud, by bucket name.
type limiters struct {
	mu      sync.Mutex
	rates   map[string]Rate
	buckets map[string]*tokenBucket
}

func newLimiters(rates map[string]Rate) *limiters {
	l := &limiters{rates: map[string]Rate{}, buckets: map[string]*tokenBucket{}}
	for _, b := range defaultBuckets {
		l.rates[b.name] = Rate{Burst: b.burst, PerSecond: b.rate}
	}
	for name, r := range rates {
		l.rates[name] = r
	}
	return l
}

// install puts the limiter inside the retry loop, so that every attempt,
// a retry too, takes a token.
func (l *limiters) install(st *middleware.Stack) error {
	mw := middleware.FinalizeMiddlewareFunc("PhoenixRateLimit",
		func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			op := awsmw.GetServiceID(ctx) + "." + awsmw.GetOperationName(ctx)
			if err := l.bucket(bucketOf(op).name).wait(ctx, time.Now, sleep); err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("waiting for a request token: %w", err)
			}
			return next.HandleFinalize(ctx, in)
		})
	if err := st.Finalize.Insert(mw, "Retry", middleware.After); err == nil {
		return nil
	}
	return st.Finalize.Add(mw, middleware.After)
}

// bucket returns the token bucket of a name, made on first use; a bucket
// without a rate is unlimited (nil).
func (l *limiters) bucket(name string) *tokenBucket {
	l.mu.Lock()
	defer l.mu.Unlock()
	if b, ok := l.buckets[name]; ok {
		return b
	}
	r := l.rates[name]
	var b *tokenBucket
	if r.PerSecond > 0 {
		b = &tokenBucket{rate: r, tokens: float64(max(r.Burst, 1))}
	}
	l.buckets[name] = b
	return b
}

// tokenBucket is one client-side bucket: it starts full.
type tokenBucket struct {
	mu     sync.Mutex
	rate   Rate
	tokens float64
	last   time.Time
}

// wait takes a token, waiting until one is there; a nil bucket never
// waits. now and sleep are the clock.
func (b *tokenBucket) wait(ctx context.Context, now func() time.Time, sleep func(context.Context, time.Duration) error) error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	t := now()
	if !b.last.IsZero() {
		b.tokens = min(float64(max(b.rate.Burst, 1)), b.tokens+t.Sub(b.last).Seconds()*b.rate.PerSecond)
	}
	b.last = t
	b.tokens-- // taken now; a debt is paid by waiting
	debt := -b.tokens
	b.mu.Unlock()
	if debt <= 0 {
		return nil
	}
	return sleep(ctx, time.Duration(debt/b.rate.PerSecond*float64(time.Second)))
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
