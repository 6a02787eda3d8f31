// Command app is the example application of the Phoenix demo: one binary
// that serves either role. "app web" is the frontend, "app api" the
// backend; the frontend asks the api (at $API_URL) for its data.
//
// Both serve HTTP on $PORT with /healthz, and describe themselves on /:
// the pool ($PHOENIX_POOL), the environment ($PHOENIX_ENV) and their
// configuration (VERSION, GREETING). Secrets are only reported as set or
// not, never printed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	log.SetFlags(log.LstdFlags | log.LUTC)
	role := "web"
	if len(os.Args) > 1 {
		role = os.Args[1]
	}
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	var h http.Handler
	switch role {
	case "api":
		h = apiHandler()
	case "web":
		h = webHandler(os.Getenv("API_URL"))
	default:
		log.Fatalf("unknown role %q: want web or api", role)
	}
	srv := &http.Server{Addr: "127.0.0.1:" + port, Handler: h, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shut) // drain in-flight requests
	}()
	log.Printf("%s listening on %s (pool %s, env %s)", role, srv.Addr, os.Getenv("PHOENIX_POOL"), os.Getenv("PHOENIX_ENV"))
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

// info is what a server says about itself.
type info struct {
	Role     string `json:"role"`
	Env      string `json:"env"`
	Pool     string `json:"pool"`
	Version  string `json:"version"`
	Greeting string `json:"greeting"`
	// TokenSet says whether the api token secret reached the server; its
	// value is never shown.
	TokenSet bool `json:"token_set"`
}

func self(role string) info {
	return info{
		Role: role, Env: os.Getenv("PHOENIX_ENV"), Pool: os.Getenv("PHOENIX_POOL"),
		Version: os.Getenv("VERSION"), Greeting: os.Getenv("GREETING"),
		TokenSet: os.Getenv("API_TOKEN") != "",
	}
}

func healthz(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") }

func apiHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(self("api"))
	})
	return mux
}

func webHandler(apiURL string) http.Handler {
	client := &http.Client{Timeout: 2 * time.Second}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", healthz)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		me := self("web")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "%s from %s (version %s, pool %s)\n", me.Greeting, me.Env, me.Version, me.Pool)
		if apiURL == "" {
			return
		}
		api, err := fetch(r.Context(), client, apiURL)
		if err != nil {
			fmt.Fprintf(w, "api: unavailable (%v)\n", err)
			return
		}
		fmt.Fprintf(w, "api: version %s, pool %s\n", api.Version, api.Pool)
	})
	return mux
}

// fetch asks the api at url to describe itself.
func fetch(ctx context.Context, client *http.Client, url string) (info, error) {
	var out info
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return out, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return out, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("status %s", resp.Status)
	}
	return out, json.NewDecoder(resp.Body).Decode(&out)
}
