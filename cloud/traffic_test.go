package cloud

import (
	"testing"
	"time"
)

func TestHistogramQuantile(t *testing.T) {
	fill := func(counts map[time.Duration]uint64) *Histogram {
		var h Histogram
		for d, n := range counts {
			h[Bucket(d)] += n
		}
		return &h
	}
	cases := []struct {
		name string
		h    *Histogram
		want time.Duration
	}{
		{"empty", fill(nil), 0},
		{"all fast", fill(map[time.Duration]uint64{800 * time.Microsecond: 100}), time.Millisecond},
		{"one slow in a hundred is the 99th", fill(map[time.Duration]uint64{4 * time.Millisecond: 99, 400 * time.Millisecond: 1}), 5 * time.Millisecond},
		{"two slow in a hundred", fill(map[time.Duration]uint64{4 * time.Millisecond: 98, 400 * time.Millisecond: 2}), 500 * time.Millisecond},
		{"on a bound", fill(map[time.Duration]uint64{300 * time.Millisecond: 10}), 300 * time.Millisecond},
		{"beyond the last bound", fill(map[time.Duration]uint64{time.Minute: 3}), time.Minute},
	}
	for _, c := range cases {
		if got := c.h.Quantile(0.99); got != c.want {
			t.Errorf("%s: p99 = %s, want %s", c.name, got, c.want)
		}
	}
}

func TestHistogramSub(t *testing.T) {
	var a, b Histogram
	a[Bucket(time.Millisecond)] = 5
	a[Bucket(time.Second)] = 7
	b[Bucket(time.Millisecond)] = 2
	d := a.Sub(&b)
	if d[Bucket(time.Millisecond)] != 3 || d[Bucket(time.Second)] != 7 {
		t.Errorf("a - b = %v", d)
	}
}

func TestFiguresErrorRate(t *testing.T) {
	if r := (TrafficFigures{}).ErrorRate(); r != 0 {
		t.Errorf("no requests: rate %v, want 0", r)
	}
	f := TrafficFigures{Requests: 212, Failures: 72, P99: 120 * time.Millisecond}
	if got, want := f.String(), "212 requests, 5xx 34.0%, p99 120ms"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}
