package local

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestMeterFiguresSinceAnInstant(t *testing.T) {
	var m poolMeter
	t0 := time.Unix(1000, 0)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for range 5 { // second 1000: five good, fast answers
		m.record(at(100*time.Millisecond), 2*time.Millisecond, false)
	}
	for range 3 { // second 1003: three failures, slow
		m.record(at(3200*time.Millisecond), 400*time.Millisecond, true)
	}
	m.record(at(3900*time.Millisecond), time.Millisecond, false)
	cases := []struct {
		name        string
		since       time.Time
		req, failed int64
		p99         time.Duration
	}{
		{"before any request", at(-time.Hour), 9, 3, 500 * time.Millisecond},
		{"within the first second: from its mark", at(500 * time.Millisecond), 9, 3, 500 * time.Millisecond},
		{"in the idle gap: exact", at(2 * time.Second), 4, 3, 500 * time.Millisecond},
		{"within the last second: from its mark", at(3500 * time.Millisecond), 4, 3, 500 * time.Millisecond},
		{"after the last request", at(10 * time.Second), 0, 0, 0},
	}
	for _, c := range cases {
		m.mu.Lock()
		f := m.asOf(c.since, m.snapshot(at(20*time.Second)))
		m.mu.Unlock()
		now := m.snapshot(at(20 * time.Second))
		h := now.hist.Sub(&f.hist)
		if req, failed := int64(now.requests-f.requests), int64(now.failures-f.failures); req != c.req || failed != c.failed || h.Quantile(0.99) != c.p99 {
			t.Errorf("%s: %d requests, %d failed, p99 %s; want %d, %d, %s", c.name, req, failed, h.Quantile(0.99), c.req, c.failed, c.p99)
		}
	}
	if len(m.marks) != 2 {
		t.Errorf("%d marks for two seconds with traffic, want 2", len(m.marks))
	}
}

func TestMeterKeepsMarksForItsSpanOnly(t *testing.T) {
	var m poolMeter
	t0 := time.Unix(5000, 0)
	for s := range 3 * int(meterSpan/time.Second) {
		m.record(t0.Add(time.Duration(s)*time.Second), time.Millisecond, false)
	}
	if n := len(m.marks); n > int(meterSpan/time.Second)+1 {
		t.Errorf("%d marks kept, want at most one a second for %s", n, meterSpan)
	}
}

func TestMeterWriterCountsStatusAndSilence(t *testing.T) {
	var m poolMeter
	answer := func(h func(http.ResponseWriter)) {
		w := m.start(httptest.NewRecorder())
		h(w)
		w.done()
	}
	answer(func(w http.ResponseWriter) { _, _ = w.Write([]byte("ok")) })
	answer(func(w http.ResponseWriter) { w.WriteHeader(http.StatusNotFound) })
	answer(func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway) })
	answer(func(w http.ResponseWriter) {}) // no answer at all
	if r, f := m.requests.Load(), m.failures.Load(); r != 4 || f != 2 {
		t.Errorf("%d requests, %d failures; want 4 and 2 (a 502 and no answer)", r, f)
	}
}

// BenchmarkMeterRequest is the cost metering adds to one proxied request:
// a metered writer, two clock reads, the bucket and three atomic adds.
// Target: under 1 µs.
func BenchmarkMeterRequest(b *testing.B) {
	var m poolMeter
	w := httptest.NewRecorder()
	for b.Loop() {
		mw := m.start(w)
		mw.WriteHeader(http.StatusOK)
		mw.done()
	}
}

// BenchmarkMeterRequestParallel is the same from every CPU at once, the
// counters shared as they are between a pool's concurrent requests.
func BenchmarkMeterRequestParallel(b *testing.B) {
	var m poolMeter
	b.RunParallel(func(pb *testing.PB) {
		w := httptest.NewRecorder()
		for pb.Next() {
			mw := m.start(w)
			mw.WriteHeader(http.StatusOK)
			mw.done()
		}
	})
}
