package cloud

import (
	"context"
	"fmt"
	"time"
)

// Meter is implemented by clouds whose endpoints count the traffic each
// backend pool answers, so that a release can be judged on the new pool's
// own requests (see "Watching a release" in the design notes). It is
// optional: a cloud without it is watched for health only.
type Meter interface {
	// Traffic returns the figures of the requests the endpoint sent to
	// poolID since the instant given (as closely as the cloud's metering
	// resolution allows: TrafficFigures.Since says what is covered). A
	// pool that took no traffic has zero figures, not an error; an unknown
	// pool is ErrNotFound.
	Traffic(ctx context.Context, project, poolID string, since time.Time) (TrafficFigures, error)
}

// Rejecter is implemented by clouds that can record, in their own
// tags/state, that release analysis rejected a pool, so that every
// machine's next plan holds the release back (plan rule 8).
type Rejecter interface {
	// Reject marks poolID rejected with reason (figures included). It is
	// idempotent: rejecting a rejected pool keeps the first reason and
	// time. An unknown pool is ErrNotFound.
	Reject(ctx context.Context, project, poolID, reason string) error
}

// TrafficFigures are what a pool answered in a window.
type TrafficFigures struct {
	// Since is the start of the window the figures cover.
	Since time.Time `json:"since"`
	// Requests counts requests sent to the pool; Failures those answered
	// with a 5xx status or not answered at all (connection error, timeout).
	Requests int64 `json:"requests"`
	Failures int64 `json:"failures"`
	// P99 is the 99th percentile of the answer time (the upper bound of
	// the histogram bucket it falls in, so never an underestimate); zero
	// with no requests.
	P99 time.Duration `json:"p99,omitempty"`
}

// ErrorRate is the percent of requests that failed; 0 with no requests.
func (f TrafficFigures) ErrorRate() float64 {
	if f.Requests == 0 {
		return 0
	}
	return 100 * float64(f.Failures) / float64(f.Requests)
}

// String renders figures for logs: "212 requests, 5xx 33.8%, p99 120ms".
func (f TrafficFigures) String() string {
	return fmt.Sprintf("%d requests, 5xx %.1f%%, p99 %s", f.Requests, f.ErrorRate(), f.P99)
}

// LatencyBuckets are the upper bounds of the answer-time histogram every
// metering cloud keeps (a last, unbounded bucket follows them): fixed, so
// that counting an answer is a few comparisons and one atomic add, and
// two counts can be subtracted bucket by bucket.
var LatencyBuckets = [...]time.Duration{
	time.Millisecond, 2 * time.Millisecond, 3 * time.Millisecond, 5 * time.Millisecond,
	7 * time.Millisecond, 10 * time.Millisecond, 15 * time.Millisecond, 20 * time.Millisecond,
	30 * time.Millisecond, 50 * time.Millisecond, 75 * time.Millisecond, 100 * time.Millisecond,
	150 * time.Millisecond, 200 * time.Millisecond, 300 * time.Millisecond, 500 * time.Millisecond,
	750 * time.Millisecond, time.Second, 1500 * time.Millisecond, 2 * time.Second,
	3 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second,
}

// Histogram counts answers per LatencyBuckets bucket; the last element
// counts answers slower than the last bound.
type Histogram [len(LatencyBuckets) + 1]uint64

// Bucket returns the histogram index of an answer time.
func Bucket(d time.Duration) int {
	for i, b := range LatencyBuckets {
		if d <= b {
			return i
		}
	}
	return len(LatencyBuckets)
}

// Quantile returns the upper bound of the bucket holding the q-quantile
// (0 < q <= 1) of the answers counted; zero with none. An answer beyond
// the last bound counts as twice the last bound.
func (h *Histogram) Quantile(q float64) time.Duration {
	var total uint64
	for _, n := range h {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := uint64(q * float64(total))
	if float64(rank) < q*float64(total) {
		rank++ // ceil: the rank-th answer, counting from 1
	}
	var seen uint64
	for i, n := range h {
		seen += n
		if seen >= rank {
			if i == len(LatencyBuckets) {
				return 2 * LatencyBuckets[len(LatencyBuckets)-1]
			}
			return LatencyBuckets[i]
		}
	}
	return 2 * LatencyBuckets[len(LatencyBuckets)-1]
}

// Sub returns h minus an earlier count of the same answers.
func (h *Histogram) Sub(earlier *Histogram) Histogram {
	var out Histogram
	for i := range h {
		out[i] = h[i] - earlier[i]
	}
	return out
}
