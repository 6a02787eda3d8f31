// Command srv is the server of the end-to-end tests: it answers /healthz
// with "ok" and / with its pool, VERSION and the image's release file, and
// drains on SIGTERM like a well-behaved server. A bad release is made with
// its config: FAIL_PERCENT=N answers N of every 100 requests to / with a
// 500 (the last N of each hundred, so smoke checks and warm-up, the first
// requests, pass), SLOW_MS=N answers / after N ms. /missing is not
// found (404), a health path gone wrong.
package main

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	release, _ := os.ReadFile("etc/release")
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/missing", http.NotFound)
	failPct, _ := strconv.Atoi(os.Getenv("FAIL_PERCENT"))
	slow, _ := strconv.Atoi(os.Getenv("SLOW_MS"))
	var n atomic.Int64
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		time.Sleep(time.Duration(slow) * time.Millisecond)
		if i := n.Add(1) % 100; failPct > 0 && i >= int64(100-failPct) {
			http.Error(w, "failing on purpose (FAIL_PERCENT)", http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "pool=%s version=%s release=%s\n", os.Getenv("PHOENIX_POOL"), os.Getenv("VERSION"), strings.TrimSpace(string(release)))
	})
	srv := &http.Server{Addr: "127.0.0.1:" + os.Getenv("PORT"), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut)
	}()
	if err := srv.ListenAndServe(); err != nil && err != http.ErrServerClosed {
		log.Fatal(err)
	}
}
