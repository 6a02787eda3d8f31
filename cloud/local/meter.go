package local

import (
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// Metering (cloud.Meter): the proxy counts, per backend pool, the requests
// it sends, the failures (a 5xx answer, or none: the proxy's own 502 when
// no server answered counts) and a fixed-bucket histogram of answer times,
// with atomic adds on the request path. To answer "since an instant", a
// pool keeps marks: copies of its counters taken by the first request of
// each second (so at most one a second, and none while idle), for
// meterSpan. Between two marks every request falls in the first one's
// second, so the counters as of any instant t are known to the second: the
// last mark before t if t lies in that mark's second, else the next mark
// (or now, when none came since). Figures since t are the counters now
// minus those; TrafficFigures.Since says from when they count.

// meterSpan is how far back marks go: a watched window (with its
// extensions) longer than this is judged on its last meterSpan.
const meterSpan = 30 * time.Minute

// poolMeter is one pool's traffic counters. The zero value is ready.
type poolMeter struct {
	requests atomic.Uint64
	failures atomic.Uint64
	hist     [len(cloud.Histogram{})]atomic.Uint64
	markSec  atomic.Int64 // the unix second of the newest mark

	mu    sync.Mutex
	marks []meterMark // oldest first
}

// meterMark is a pool's counters at an instant.
type meterMark struct {
	at                 time.Time
	requests, failures uint64
	hist               cloud.Histogram
}

// meterWriter is the response writer of one metered request: it sees the
// status the pool answered with.
type meterWriter struct {
	http.ResponseWriter
	m      *poolMeter
	start  time.Time
	status int
}

// start begins metering one request to the pool answered through w.
func (m *poolMeter) start(w http.ResponseWriter) *meterWriter {
	return &meterWriter{ResponseWriter: w, m: m, start: time.Now()}
}

func (w *meterWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *meterWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController (which the reverse proxy uses to
// flush) reach the connection's writer.
func (w *meterWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// done counts the request once it is answered (or not).
func (w *meterWriter) done() {
	now := time.Now()
	w.m.record(now, now.Sub(w.start), w.status == 0 || w.status >= 500)
}

// record counts one request; a mark is taken first when a new second
// began since the last one.
func (m *poolMeter) record(now time.Time, took time.Duration, failed bool) {
	if sec := now.Unix(); m.markSec.Load() != sec {
		m.mark(now, sec)
	}
	m.hist[cloud.Bucket(took)].Add(1)
	if failed {
		m.failures.Add(1)
	}
	m.requests.Add(1)
}

// mark records the counters as of now, once per second.
func (m *poolMeter) mark(now time.Time, sec int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.markSec.Load() == sec {
		return // another request of this second marked it
	}
	m.marks = append(m.marks, m.snapshot(now))
	m.markSec.Store(sec)
	drop := 0
	for drop < len(m.marks)-1 && now.Sub(m.marks[drop].at) > meterSpan {
		drop++
	}
	m.marks = m.marks[drop:]
}

// snapshot reads the counters (each is exact; a request answered while
// they are read may show in some and not yet in others).
func (m *poolMeter) snapshot(at time.Time) meterMark {
	s := meterMark{at: at}
	for i := range m.hist {
		s.hist[i] = m.hist[i].Load()
	}
	s.failures = m.failures.Load()
	s.requests = m.requests.Load()
	return s
}

// figures returns the traffic since an instant.
func (m *poolMeter) figures(since time.Time) cloud.TrafficFigures {
	now := m.snapshot(time.Now())
	m.mu.Lock()
	base := m.asOf(since, now)
	m.mu.Unlock()
	h := now.hist.Sub(&base.hist)
	return cloud.TrafficFigures{
		Since: base.at, Requests: int64(now.requests - base.requests),
		Failures: int64(now.failures - base.failures), P99: h.Quantile(0.99),
	}
}

// asOf returns the counters as of an instant, to the second (see above);
// now is a snapshot taken after every mark. m.mu is held.
func (m *poolMeter) asOf(t time.Time, now meterMark) meterMark {
	i := sort.Search(len(m.marks), func(i int) bool { return m.marks[i].at.After(t) })
	switch {
	case i == 0 && len(m.marks) > 0 && m.marks[0].requests > 0:
		return m.marks[0] // older than the marks kept: the span they cover
	case i == 0:
		return meterMark{at: t} // before the first request
	case t.Unix() == m.marks[i-1].at.Unix():
		return m.marks[i-1] // within the mark's second: from the mark
	case i < len(m.marks):
		next := m.marks[i] // nothing was answered between t and the next mark
		next.at = t
		return next
	}
	now.at = t // nothing was answered since t
	return now
}
