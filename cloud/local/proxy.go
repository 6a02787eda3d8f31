package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"sync/atomic"
	"time"

	"github.com/phoenix-gitops/phoenix/cloud"
)

// An endpoint is a reverse proxy on its fixed address. Its backends are an
// immutable backendSet behind an atomic pointer: a swap stores a new set in
// one instruction, every request loads the set once when it arrives, so a
// request in flight finishes on the pool it started on while every later
// request goes to the new set. Nothing is drained by force: the old pool
// keeps running after a swap (it is retained), and stopping a pool waits
// for its in-flight requests first.
//
// A request that cannot reach the server picked for it (connection refused
// or reset before a response) is retried on the other servers of the same
// set when it is idempotent and has no body, so a server dying or a pool
// being stopped does not fail a GET.

// backendSet is what one endpoint routes to at one instant. Its order
// is a smooth weighted round robin (nginx's), worked out once when the set
// is made: every short run of requests follows the weights (a 25% canary
// gets one request in four, not the last 25 of each hundred), and a
// request only indexes it, with no lock.
type backendSet struct {
	backends []weightedPool
	order    []uint8 // backend index of request n % len(order)
}

type weightedPool struct {
	pool   *poolRT
	weight int
}

func newBackendSet(bs []cloud.Backend, pools map[string]*poolRT) *backendSet {
	set := &backendSet{}
	for _, b := range bs {
		if b.Weight > 0 {
			set.backends = append(set.backends, weightedPool{pool: pools[b.Pool], weight: b.Weight})
		}
	}
	set.order = smoothOrder(set.backends)
	return set
}

// smoothOrder is one period of smooth weighted round robin: each turn
// every backend gains its weight, the one with the most goes next and
// pays the total. Over a period each backend comes up exactly its weight
// times, spread as evenly as the weights allow. Weights sum to 100 (at
// most 100 backends), so a period is at most 100 long.
func smoothOrder(bs []weightedPool) []uint8 {
	total := 0
	for _, b := range bs {
		total += b.weight
	}
	current := make([]int, len(bs))
	order := make([]uint8, total)
	for n := range order {
		best := 0
		for i, b := range bs {
			current[i] += b.weight
			if current[i] > current[best] {
				best = i
			}
		}
		current[best] -= total
		order[n] = uint8(best)
	}
	return order
}

// pick chooses the pool of request n (n counts the endpoint's requests)
// by the set's order, and a server in it by round robin, preferring
// servers that pass their health checks.
func (s *backendSet) pick(n uint64) (*poolRT, *server) {
	if s == nil || len(s.order) == 0 {
		return nil, nil
	}
	b := s.backends[s.order[n%uint64(len(s.order))]]
	return b.pool, b.pool.pickServer()
}

type ctxKey int

const (
	keyTarget ctxKey = iota
)

// target is the pool and server picked for one request, and the set it was
// picked from (for retries).
type target struct {
	set    *backendSet
	pool   *poolRT
	server *server
}

// proxy is one endpoint's listener.
type proxy struct {
	address string
	ln      net.Listener
	srv     *http.Server
	set     atomic.Pointer[backendSet]
	n       atomic.Uint64 // requests seen, for picking
	served  atomic.Uint64
}

// sharedTransport is used by every proxy: keep-alive connections to the
// servers, short dial timeout so a dead server is found fast.
var sharedTransport = &http.Transport{
	Proxy:               nil,
	DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	MaxIdleConnsPerHost: 64,
	IdleConnTimeout:     30 * time.Second,
}

// startProxy listens on address and serves it.
func startProxy(address string, logf func(string, ...any)) (*proxy, error) {
	ln, err := net.Listen("tcp", address)
	if err != nil {
		return nil, fmt.Errorf("listening on endpoint %s: %w", address, err)
	}
	p := &proxy{address: address, ln: ln}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			t := pr.In.Context().Value(keyTarget).(*target)
			pr.Out.URL.Scheme = "http"
			pr.Out.URL.Host = t.server.addr
			pr.SetXForwarded()
		},
		Transport: retryTransport{},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if !errors.Is(err, context.Canceled) {
				logf("endpoint %s: %s %s: %v", address, r.Method, r.URL.Path, err)
			}
			http.Error(w, "phoenix: no backend answered: "+err.Error(), http.StatusBadGateway)
		},
	}
	p.srv = &http.Server{
		Handler:           p.handler(rp),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          nil,
	}
	go p.srv.Serve(ln)
	return p, nil
}

func (p *proxy) handler(rp *httputil.ReverseProxy) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		set, pool, srv := p.acquire()
		if srv == nil {
			if pool != nil {
				pool.inflight.Add(-1)
			}
			http.Error(w, noBackend(pool), http.StatusServiceUnavailable)
			return
		}
		defer pool.inflight.Add(-1)
		p.served.Add(1)
		ctx := context.WithValue(r.Context(), keyTarget, &target{set: set, pool: pool, server: srv})
		mw := pool.meter.start(w) // meter.go
		rp.ServeHTTP(mw, r.WithContext(ctx))
		mw.done()
	})
}

// afterPick, when set by a test, runs between a request's pick and the
// check that its backend set is still current.
var afterPick func()

// acquire picks a request's pool and server and counts the request in
// flight on the pool (the caller takes it off). A pool is stopped only
// after a swap replaced the set that named it, and stopPool waits for the
// pool's requests in flight: so a request counted while its set was still
// current is waited for, and one whose set was replaced in between picks
// again from the new set rather than reach a pool being stopped (a 503 or a
// refused connection during a swap). Swaps are rare: the loop is bounded.
func (p *proxy) acquire() (*backendSet, *poolRT, *server) {
	for try := 0; ; try++ {
		set := p.set.Load()
		pool, srv := set.pick(p.n.Add(1) - 1)
		if pool == nil {
			return set, nil, nil
		}
		pool.inflight.Add(1)
		if afterPick != nil {
			afterPick()
		}
		if p.set.Load() == set || try == 8 {
			return set, pool, srv
		}
		pool.inflight.Add(-1)
	}
}

// noBackend says why an endpoint answers 503: usually its pool was
// stopped by `phoenix cloud down` and nothing has started it again.
func noBackend(pool *poolRT) string {
	if pool == nil {
		return "phoenix: endpoint has no backend"
	}
	// rec.ID never changes after the pool is created: no lock needed.
	return "phoenix: no server of pool " + pool.rec.ID + " runs (stopped by phoenix cloud down, or kept cold); phoenix cloud up starts it, phoenix cloud status shows the pools"
}

// close stops listening and lets requests in flight finish (bounded).
func (p *proxy) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = p.srv.Shutdown(ctx)
}

// retryTransport retries idempotent, bodiless requests on connection
// errors, on the other servers of the request's backend set.
type retryTransport struct{}

func (retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := sharedTransport.RoundTrip(req)
	if err == nil || !retryable(req, err) {
		return resp, err
	}
	t, _ := req.Context().Value(keyTarget).(*target)
	if t == nil {
		return resp, err
	}
	tried := map[*server]bool{t.server: true}
	for _, alt := range t.set.alternatives(t.pool) {
		if tried[alt] || !alt.alive() {
			continue
		}
		tried[alt] = true
		r2 := req.Clone(req.Context())
		r2.URL.Host = alt.addr
		r2.Host = req.Host
		resp, err = sharedTransport.RoundTrip(r2)
		if err == nil || !retryable(req, err) {
			return resp, err
		}
	}
	return resp, err
}

// retryable: the request can be sent again safely and failed before any
// response came back.
func retryable(req *http.Request, err error) bool {
	if req.Context().Err() != nil {
		return false
	}
	switch req.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
	default:
		return false
	}
	if req.Body != nil && req.Body != http.NoBody {
		return false
	}
	var op *net.OpError
	return errors.As(err, &op) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// alternatives lists the servers to retry on: the same pool's first, then
// the other pools' of the set.
func (s *backendSet) alternatives(first *poolRT) []*server {
	out := append([]*server(nil), first.serverList()...)
	for _, b := range s.backends {
		if b.pool != first {
			out = append(out, b.pool.serverList()...)
		}
	}
	return out
}
