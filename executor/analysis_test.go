package executor

import (
	"strings"
	"testing"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
	"github.com/phoenix-gitops/phoenix/model"
)

func TestJudge(t *testing.T) {
	std := model.Analysis{MaxErrorRate: 1, MaxLatency: 300 * time.Millisecond, MinRequests: 20}
	cases := []struct {
		name   string
		a      model.Analysis
		f      cloud.TrafficFigures
		want   WindowResult
		reason string
	}{
		{"clean", std, cloud.TrafficFigures{Requests: 212, Failures: 0, P99: 20 * time.Millisecond},
			WindowPassed, "5xx 0.0% of 212 requests ≤ 1%, p99 20ms ≤ 300ms"},
		{"error rate on the bound passes", std, cloud.TrafficFigures{Requests: 100, Failures: 1, P99: time.Millisecond},
			WindowPassed, "5xx 1.0% of 100 requests ≤ 1%, p99 1ms ≤ 300ms"},
		{"error rate above", std, cloud.TrafficFigures{Requests: 212, Failures: 72, P99: time.Millisecond},
			WindowFailed, "5xx 34.0% of 212 requests > 1%"},
		{"slow", std, cloud.TrafficFigures{Requests: 50, P99: 500 * time.Millisecond},
			WindowFailed, "p99 500ms of 50 requests > 300ms"},
		{"errors before latency", std, cloud.TrafficFigures{Requests: 50, Failures: 50, P99: time.Second},
			WindowFailed, "5xx 100.0% of 50 requests > 1%"},
		{"too few requests, even all failing", std, cloud.TrafficFigures{Requests: 12, Failures: 12},
			WindowInconclusive, "12 requests < 20 (minRequests)"},
		{"minRequests 0 judges an empty window", model.Analysis{MaxErrorRate: 1}, cloud.TrafficFigures{},
			WindowPassed, "5xx 0.0% of 0 requests ≤ 1%"},
		{"minRequests 0 judges one failure", model.Analysis{MaxErrorRate: 0.5}, cloud.TrafficFigures{Requests: 1, Failures: 1},
			WindowFailed, "5xx 100.0% of 1 requests > 0.5%"},
		{"no latency bound", model.Analysis{MaxErrorRate: 5, MinRequests: 1}, cloud.TrafficFigures{Requests: 10, P99: time.Minute},
			WindowPassed, "5xx 0.0% of 10 requests ≤ 5%"},
		{"100% allows everything", model.Analysis{MaxErrorRate: 100}, cloud.TrafficFigures{Requests: 3, Failures: 3},
			WindowPassed, "5xx 100.0% of 3 requests ≤ 100%"},
	}
	for _, c := range cases {
		v := Judge(c.a, c.f)
		if v.Result != c.want || v.Reason != c.reason {
			t.Errorf("%s: Judge = %s %q, want %s %q", c.name, v.Result, v.Reason, c.want, c.reason)
		}
	}
}

func TestInconclusiveReasonSaysHowToRelax(t *testing.T) {
	got := inconclusiveReason(model.Analysis{MinRequests: 20}, cloud.TrafficFigures{Requests: 7}, 2*time.Minute)
	for _, want := range []string{"only 7 requests in 2m0s", "minRequests 20", "traffic.analysis.minRequests"} {
		if !strings.Contains(got, want) {
			t.Errorf("reason %q does not say %q", got, want)
		}
	}
}
