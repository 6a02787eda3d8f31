package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"
)

// planJSON runs phoenix plan --format json and returns its steps and
// endpoints.
func (e *env) planJSON() planDoc {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := e.command(ctx, "plan", e.dir, "--format", "json").Output()
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 2) {
		e.t.Fatalf("phoenix plan: %v\n%s", err, out)
	}
	var doc planDoc
	if err := json.Unmarshal(out, &doc); err != nil {
		e.t.Fatalf("plan JSON: %v\n%s", err, out)
	}
	return doc
}

type planStep struct {
	ID, Kind, Pool, Reason string
	MoveFrom               string `json:"move_from"`
	Weights                []int
	Rollback, Destructive  bool
}

type planDoc struct {
	Steps     []planStep `json:"steps"`
	Endpoints []struct {
		Env, Role, Address string
		MovedFrom          string `json:"moved_from"`
	} `json:"endpoints"`
}

// prober asks one address for / every few milliseconds and remembers when
// it first answered 200, the last failure before that, and the first
// failure after it.
type prober struct {
	mu             sync.Mutex
	firstOK, fail  time.Time
	lastFailBefore time.Time // the last failure before the first answer
	ok, failed     int
	failedBeforeOK int
	stop           chan struct{}
	done           chan struct{}
}

func probe(port int, max time.Duration) *prober {
	p := &prober{stop: make(chan struct{}), done: make(chan struct{})}
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	deadline := time.Now().Add(max)
	go func() {
		defer close(p.done)
		for time.Now().Before(deadline) {
			select {
			case <-p.stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
			good := err == nil && resp.StatusCode == 200
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			now := time.Now()
			p.mu.Lock()
			switch {
			case good:
				p.ok++
				if p.firstOK.IsZero() {
					p.firstOK = now
				}
			case p.firstOK.IsZero():
				p.failedBeforeOK++
				p.lastFailBefore = now
			default:
				p.failed++
				if p.fail.IsZero() {
					p.fail = now
				}
			}
			p.mu.Unlock()
		}
	}()
	return p
}

func (p *prober) Stop() {
	close(p.stop)
	<-p.done
}

// An endpoint moved to another address under load: the plan says so, the
// old address serves without a failure until the new one serves, and after
// apply the new address serves and the next plan is empty.
func TestEndpointMoveUnderLoad(t *testing.T) {
	e := newEnv(t, "prod")
	envs := []envSpec{{Name: "prod", Keep: 1, Warm: 1}}
	e.write(release{Version: "1", Leaf: "r1"}, 1, envs...)
	e.mustApply()
	oldPort, newPort := e.ports["prod"], freePort(t)

	e.ports["prod"] = newPort
	e.write(release{Version: "1", Leaf: "r1"}, 1, envs...)
	doc := e.planJSON()
	if len(doc.Steps) != 1 || doc.Steps[0].Kind != "swap" || doc.Steps[0].MoveFrom != fmt.Sprintf("127.0.0.1:%d", oldPort) || !doc.Steps[0].Destructive {
		t.Fatalf("plan of a moved endpoint: %+v", doc.Steps)
	}
	want := fmt.Sprintf("endpoint 127.0.0.1:%d → 127.0.0.1:%d", oldPort, newPort)
	if !strings.Contains(doc.Steps[0].Reason, want) {
		t.Fatalf("move reason %q, want %q", doc.Steps[0].Reason, want)
	}

	old, moved := probe(oldPort, 2*time.Minute), probe(newPort, 2*time.Minute)
	time.Sleep(300 * time.Millisecond) // the old address serves under load first
	e.mustApply()
	time.Sleep(300 * time.Millisecond)
	old.Stop()
	moved.Stop()
	t.Logf("old address: %d served, %d failed once released; new address: %d refused before it served, %d served",
		old.ok, old.failed, moved.failedBeforeOK, moved.ok)
	switch {
	case old.ok == 0 || old.failedBeforeOK > 0:
		t.Fatalf("the old address did not serve before the move: %d served, %d failed first", old.ok, old.failedBeforeOK)
	case moved.firstOK.IsZero():
		t.Fatal("the new address never served")
	case !old.fail.IsZero() && moved.lastFailBefore.After(old.fail):
		// The probes sample each address every few milliseconds: the
		// old address must not fail while the new one is still seen
		// refusing.
		t.Fatalf("the old address failed at %s, and the new one still refused at %s", old.fail, moved.lastFailBefore)
	}
	if body := get(t, newPort); !strings.Contains(body, "version=1") {
		t.Fatalf("the new address answers %q", body)
	}
	if sum, code := e.planSummary(); code != 0 {
		t.Fatalf("plan after the move has changes: %v", sum)
	}
}

// A canary interrupted with Ctrl-C at its first weight sends traffic back;
// the next plan reuses the new pool but as a canary from its first weight
// ("resuming an interrupted canary"), not as an instant rollback, and the
// apply walks the weights again.
func TestCanaryResumedAfterInterrupt(t *testing.T) {
	e := newEnv(t, "prod")
	envs := []envSpec{{Name: "prod", Keep: 2, Warm: 2, Canary: []int{25, 50}}}
	e.applyArgs = []string{"--canary-hold", "3s"}
	e.write(release{Version: "1", Leaf: "r1"}, 1, envs...)
	e.mustApply()

	e.write(release{Version: "2", Leaf: "r1"}, 1, envs...)
	r := e.startApply()
	defer r.cancel()
	if !waitAnswer(e.ports["prod"], "version=2", time.Minute) {
		t.Fatal("the new pool never took a share of the traffic")
	}
	if err := r.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	<-r.exited
	if body := get(t, e.ports["prod"]); !strings.Contains(body, "version=1") {
		t.Fatalf("after the interrupt the endpoint answers %q, want the old pool", body)
	}

	doc := e.planJSON()
	var swap *planStep
	for i := range doc.Steps {
		if doc.Steps[i].Kind == "swap" {
			swap = &doc.Steps[i]
		}
		if doc.Steps[i].Kind == "create" || doc.Steps[i].Kind == "bake" {
			t.Fatalf("the re-plan makes a new pool: %+v", doc.Steps)
		}
	}
	if swap == nil || swap.Rollback || fmt.Sprint(swap.Weights) != "[25 50 100]" || !strings.HasPrefix(swap.Reason, "resuming an interrupted canary") {
		t.Fatalf("re-plan after an interrupted canary: %+v", swap)
	}
	e.applyArgs = []string{"--canary-hold", "200ms"}
	out := e.mustApply()
	if !strings.Contains(out, "canary: 25%") || !strings.Contains(out, "canary: 50%") {
		t.Fatalf("the resumed release did not walk the canary:\n%s", out)
	}
	if body := get(t, e.ports["prod"]); !strings.Contains(body, "version=2") {
		t.Fatalf("after the resumed canary the endpoint answers %q", body)
	}
	if sum, code := e.planSummary(); code != 0 {
		t.Fatalf("plan after the resumed canary has changes: %v", sum)
	}
	// Reverting now is an instant rollback: the old pool completed a release.
	e.write(release{Version: "1", Leaf: "r1"}, 1, envs...)
	doc = e.planJSON()
	if len(doc.Steps) == 0 || !doc.Steps[0].Rollback || len(doc.Steps[0].Weights) != 0 {
		t.Fatalf("revert after the release: %+v, want an instant rollback", doc.Steps)
	}
}

// waitAnswer polls the endpoint until an answer contains want.
func waitAnswer(port int, want string, max time.Duration) bool {
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	for deadline := time.Now().Add(max); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		resp, err := c.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(b), want) {
			return true
		}
	}
	return false
}
