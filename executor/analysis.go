package executor

import (
	"fmt"
	"strconv"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

// WindowResult is the verdict on one watched window of a release.
type WindowResult string

const (
	// WindowPassed: the new pool met the analysis in the window.
	WindowPassed WindowResult = "passed"
	// WindowFailed: it broke a bound; the release is undone and rejected.
	WindowFailed WindowResult = "failed"
	// WindowInconclusive: too few requests to tell; the window is extended.
	WindowInconclusive WindowResult = "inconclusive"
)

// Verdict is an outcome with the figures it rests on, said for a person:
// "5xx 33.8% of 212 requests > 1%".
type Verdict struct {
	Result  WindowResult
	Reason  string
	Figures cloud.TrafficFigures
}

// Judge decides one window of figures against an analysis. It is pure: the
// same figures always get the same verdict. Too few requests is
// inconclusive before anything else (a few unlucky requests prove
// nothing); then the error rate, then the p99 answer time.
func Judge(a model.Analysis, f cloud.TrafficFigures) Verdict {
	v := Verdict{Figures: f}
	rate := f.ErrorRate()
	switch {
	case f.Requests < int64(a.MinRequests):
		v.Result = WindowInconclusive
		v.Reason = fmt.Sprintf("%d requests < %d (minRequests)", f.Requests, a.MinRequests)
	case rate > a.MaxErrorRate:
		v.Result = WindowFailed
		v.Reason = fmt.Sprintf("5xx %.1f%% of %d requests > %s%%", rate, f.Requests, pct(a.MaxErrorRate))
	case a.MaxLatency > 0 && f.P99 > a.MaxLatency:
		v.Result = WindowFailed
		v.Reason = fmt.Sprintf("p99 %s of %d requests > %s", f.P99, f.Requests, a.MaxLatency)
	default:
		v.Result = WindowPassed
		v.Reason = fmt.Sprintf("5xx %.1f%% of %d requests ≤ %s%%", rate, f.Requests, pct(a.MaxErrorRate))
		if a.MaxLatency > 0 {
			v.Reason += fmt.Sprintf(", p99 %s ≤ %s", f.P99, a.MaxLatency)
		}
	}
	return v
}

func pct(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }

// MaxExtensions is how many times an inconclusive window is extended (by
// its own length, the figures counted from its start) before the release
// is stopped for lack of requests.
const MaxExtensions = 3

// inconclusiveReason says, once the extensions are spent, how many
// requests were seen and how to get a verdict.
func inconclusiveReason(a model.Analysis, f cloud.TrafficFigures, watched time.Duration) string {
	return fmt.Sprintf("only %d requests in %s, fewer than minRequests %d, even after %d extensions: "+
		"send the new pool more traffic while it is watched, lengthen traffic.pause or traffic.bake, "+
		"or relax traffic.analysis.minRequests (0 judges any window)",
		f.Requests, watched.Round(time.Millisecond), a.MinRequests, MaxExtensions)
}
