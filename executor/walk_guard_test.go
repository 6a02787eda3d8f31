package executor

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// TestWalkAFailureStopsNoIndependentBranch: a failure skips its own
// descendants and nothing else. The independent branch is held until the
// failure and its skipped descendant have been reported (so the walker has
// already handled the failure), then must still run to its end: a walker
// that stopped starting steps on any failure would leave "after" not
// started and call the walk stopped.
func TestWalkAFailureStopsNoIndependentBranch(t *testing.T) {
	//   fails -> child      (skipped)
	//   slow  -> after      (independent: must run)
	g := graphOf(map[string][]string{"child": {"fails"}, "after": {"slow"}}, "fails", "child", "slow", "after")
	reported := make(chan struct{})
	var once sync.Once
	res, err := Walk(context.Background(), g, func(_ context.Context, k string) error {
		switch k {
		case "fails":
			return errors.New("boom")
		case "slow":
			select {
			case <-reported:
			case <-time.After(10 * time.Second):
				return errors.New("the failure was never reported")
			}
		}
		return nil
	}, WalkOptions[string]{OnEnd: func(k string, o *Outcome[string]) {
		if k == "child" && o.Status == Skipped {
			once.Do(func() { close(reported) })
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]Status{"fails": Failed, "child": Skipped, "slow": Done, "after": Done}
	for k, s := range want {
		if got := res.Outcomes[k].Status; got != s {
			t.Errorf("%s: %v, want %v", k, got, s)
		}
	}
	if res.Stopped {
		t.Error("the walk says it was stopped, but nothing cancelled it")
	}
}
